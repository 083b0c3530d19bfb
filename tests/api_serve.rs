#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `ctfdeck serve` as a scoreboard meets it: the real binary on a loopback port, the real
//! engine, a real HTTP client (curl), tokens made with `ctfdeck token add`.

mod api_support;
mod common;

use ctfdeck::store::Store;
use serde_json::Value;

use api_support::{Server, auth};
use common::http_status_line;

fn port_of(instance: &Value) -> u16 {
    let url = instance["connection"][0].as_str().unwrap();
    let port = url
        .trim_start_matches("http://127.0.0.1:")
        .trim_end_matches('/');
    port.parse().unwrap_or_else(|_| panic!("connection {url}"))
}

fn audit(server: &Server, action: &str) -> Vec<Value> {
    let o = server.ctfdeck(&["audit", "--json", "--action", action]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn a_scoreboard_drives_an_instance_through_every_route() {
    let mut server = Server::start(api_support::CONFIG);
    let token = server.token("board", "scoreboard");
    let red = auth(&token, "team:red");
    let blue = auth(&token, "team:blue");

    let health = server.call("GET", "/healthz", &[], None);
    assert_eq!(health.status, 200, "{}", health.body);
    assert_eq!(
        health.json(),
        serde_json::json!({"engine": "ok", "store": "ok"})
    );

    let challenges = server.call("GET", "/v1/challenges", &red, None).json();
    let robots = challenges
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "web-robots")
        .expect("web-robots listed");
    assert_eq!(robots["ports"][0]["protocol"], "http");

    // Spawn: 201, and a connection string that reaches the instance.
    let spawned = server.call(
        "POST",
        "/v1/instances",
        &red,
        Some(br#"{"challenge": "web-robots"}"#),
    );
    assert_eq!(spawned.status, 201, "{}", spawned.body);
    let instance = spawned.json();
    let id = instance["id"].as_str().unwrap().to_string();
    assert_eq!(instance["owner"], "team:red");
    assert_eq!(instance["status"], "running");
    assert!(instance["seconds_left"].as_i64().unwrap() > 0);
    assert_eq!(instance["renewals_left"], instance["max_renewals"]);
    assert_eq!(instance["can_extend_now"], true);
    assert!(http_status_line(port_of(&instance)).starts_with("HTTP/"));
    let flag = Store::open(&server.store_path())
        .unwrap()
        .instance(&id)
        .unwrap()
        .unwrap()
        .flag
        .expect("a per-instance flag");
    assert!(
        !spawned.body.contains(&flag),
        "the flag leaked: {}",
        spawned.body
    );

    // The same request again: the owner's existing instance, 200.
    let again = server.call(
        "POST",
        "/v1/instances",
        &red,
        Some(br#"{"challenge": "web-robots"}"#),
    );
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.json()["id"], id.as_str());

    // Another challenge is over the per-owner quota: 429 with Retry-After.
    let refused = server.call(
        "POST",
        "/v1/instances",
        &red,
        Some(br#"{"challenge": "nc-calc"}"#),
    );
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert_eq!(refused.error_code(), "per-owner-quota");
    assert!(
        refused.headers.contains("retry-after: "),
        "{}",
        refused.headers
    );

    // Metrics, for a scoreboard token too: what is live, what was asked and how it went.
    let scraped = server.call("GET", "/metrics", &red, None);
    assert_eq!(scraped.status, 200, "{}", scraped.body);
    for line in [
        "ctfdeck_live_instances{challenge=\"web-robots\",status=\"running\"} 1",
        "ctfdeck_actions_total{action=\"spawn\",outcome=\"ok\"} 2",
        "ctfdeck_actions_total{action=\"spawn\",outcome=\"per-owner-quota\"} 1",
        "ctfdeck_spawn_duration_seconds_count 1",
        "ctfdeck_engine_up 1",
        "ctfdeck_api_requests_total{route=\"/v1/instances\",code=\"429\"} 1",
    ] {
        assert!(
            scraped.body.lines().any(|l| l == line),
            "no {line:?} in\n{}",
            scraped.body
        );
    }
    assert!(!scraped.body.contains(&flag));

    let list = server.call("GET", "/v1/instances", &red, None).json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(
        server
            .call("GET", "/v1/instances", &blue, None)
            .json()
            .as_array()
            .unwrap()
            .is_empty()
    );
    let shown = server.call("GET", &format!("/v1/instances/{id}"), &red, None);
    assert_eq!(shown.status, 200);
    assert!(!shown.body.contains(&flag));

    // Another owner's instance: 403 for every verb, audited as refused.
    for (method, path) in [
        ("GET", format!("/v1/instances/{id}")),
        ("POST", format!("/v1/instances/{id}/extend")),
        ("POST", format!("/v1/instances/{id}/reset")),
        ("DELETE", format!("/v1/instances/{id}")),
    ] {
        let r = server.call(method, &path, &blue, None);
        assert_eq!(r.status, 403, "{method} {path}: {}", r.body);
        assert_eq!(r.error_code(), "not-owner");
    }
    let refusals = audit(&server, "stop");
    assert!(
        refusals
            .iter()
            .any(|e| e["outcome"].as_str().unwrap().starts_with("refused")
                && e["actor"] == "api:board (alice (user 17))"
                && e["origin"] == "api:127.0.0.1"),
        "{refusals:?}"
    );

    let extended = server.call("POST", &format!("/v1/instances/{id}/extend"), &red, None);
    assert_eq!(extended.status, 200, "{}", extended.body);
    assert_eq!(extended.json()["renewals"], 1);

    // Flags: own, shared (audited as flag-shared), wrong.
    let verify = |who: &[String], challenge: &str, flag: &str| {
        let body = serde_json::json!({"challenge": challenge, "flag": flag}).to_string();
        let r = server.call("POST", "/v1/flags/verify", who, Some(body.as_bytes()));
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()["verdict"].as_str().unwrap().to_string()
    };
    assert_eq!(verify(&red, "web-robots", &flag), "own");
    assert_eq!(verify(&red, "web-robots", "flag{nope}"), "wrong");
    assert_eq!(verify(&red, "nc-calc", &flag), "wrong");
    assert!(audit(&server, "flag-shared").is_empty());
    assert_eq!(verify(&blue, "web-robots", &flag), "shared");
    let shared = audit(&server, "flag-shared");
    assert_eq!(shared.len(), 1, "{shared:?}");
    assert!(
        shared[0]["detail"]
            .as_str()
            .unwrap()
            .contains("submitted by team:blue")
    );

    // Reset: a fresh instance; the old one's container is gone.
    let reset = server.call("POST", &format!("/v1/instances/{id}/reset"), &red, None);
    assert_eq!(reset.status, 200, "{}", reset.body);
    let fresh = reset.json();
    let fresh_id = fresh["id"].as_str().unwrap().to_string();
    assert_ne!(fresh_id, id);
    assert!(http_status_line(port_of(&fresh)).starts_with("HTTP/"));
    assert_eq!(server.leftovers().0.len(), 1);

    // Delete: 204, and nothing of the store is left on the engine.
    let deleted = server.call("DELETE", &format!("/v1/instances/{fresh_id}"), &red, None);
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    let gone = server.call("GET", &format!("/v1/instances/{fresh_id}"), &red, None);
    assert_eq!(gone.json()["status"], "stopped");
    assert_eq!(server.leftovers(), (Vec::new(), Vec::new()));

    let status = server.terminate();
    assert_eq!(status.code(), Some(0), "{status:?}");
}

#[test]
fn bad_callers_and_bad_requests_get_precise_errors() {
    let mut server = Server::start(api_support::CONFIG);
    let token = server.token("board", "scoreboard");
    let metrics = server.token("prom", "metrics");
    let red = auth(&token, "team:red");

    // 401: no token, an unknown one, a revoked one.
    let none = server.call(
        "GET",
        "/v1/instances",
        &["X-Ctfdeck-Owner: team:red".into()],
        None,
    );
    assert_eq!(
        (none.status, none.error_code().as_str()),
        (401, "unauthorized")
    );
    let unknown = server.call("GET", "/v1/instances", &auth("ctfd_0000", "team:red"), None);
    assert_eq!(unknown.status, 401);
    let doomed = server.token("doomed", "scoreboard");
    assert_eq!(
        server
            .call("GET", "/v1/instances", &auth(&doomed, "team:red"), None)
            .status,
        200
    );
    assert!(
        server
            .ctfdeck(&["token", "revoke", "doomed"])
            .status
            .success()
    );
    assert_eq!(
        server
            .call("GET", "/v1/instances", &auth(&doomed, "team:red"), None)
            .status,
        401
    );

    // The list names tokens, never shows them or their hashes.
    let listed = server.ctfdeck(&["token", "list", "--json"]);
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["board", "doomed", "prom"]);
    assert!(listed[1]["revoked_at"].is_string(), "{listed}");
    let text = listed.to_string();
    for secret in [&token, &metrics, &doomed] {
        assert!(!text.contains(&secret[5..]), "{text}");
    }
    assert!(listed[0].get("hash").is_none(), "{listed}");

    // A metrics token may not act for owners.
    let r = server.call("GET", "/v1/instances", &auth(&metrics, "team:red"), None);
    assert_eq!((r.status, r.error_code().as_str()), (403, "token-role"));

    // /metrics takes a metrics token, and no token is a 401 there too.
    let scraped = server.call(
        "GET",
        "/metrics",
        &[format!("Authorization: Bearer {metrics}")],
        None,
    );
    assert_eq!(scraped.status, 200, "{}", scraped.body);
    assert!(
        scraped.body.lines().any(|l| l == "ctfdeck_engine_up 1"),
        "{}",
        scraped.body
    );
    assert!(
        scraped
            .body
            .lines()
            .any(|l| l == "ctfdeck_api_requests_total{route=\"/v1/instances\",code=\"401\"} 3"),
        "{}",
        scraped.body
    );
    assert_eq!(server.call("GET", "/metrics", &[], None).status, 401);

    // Owners: required, and of the --owner syntax (never smoke:).
    let r = server.call(
        "GET",
        "/v1/instances",
        &[format!("Authorization: Bearer {token}")],
        None,
    );
    assert_eq!((r.status, r.error_code().as_str()), (400, "owner-required"));
    for bad in ["smoke:x", "red", "team:a b"] {
        let r = server.call("GET", "/v1/instances", &auth(&token, bad), None);
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (400, "invalid-owner"),
            "{bad}"
        );
    }

    // 404: an unknown instance, challenge or route.
    let r = server.call("GET", "/v1/instances/zzzzzz", &red, None);
    assert_eq!((r.status, r.error_code().as_str()), (404, "not-found"));
    let r = server.call(
        "POST",
        "/v1/instances",
        &red,
        Some(br#"{"challenge": "nope"}"#),
    );
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (404, "unknown-challenge")
    );
    assert_eq!(server.call("GET", "/v2/nothing", &red, None).status, 404);

    // Bodies: too large, not JSON (with the position), unknown fields.
    let big = vec![b' '; 20 * 1024];
    assert_eq!(
        server
            .call("POST", "/v1/instances", &red, Some(&big))
            .status,
        413
    );
    let r = server.call("POST", "/v1/instances", &red, Some(b"{\"challenge\": "));
    assert_eq!((r.status, r.error_code().as_str()), (400, "invalid-json"));
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("line 1 column 14"),
        "{}",
        r.body
    );
    let r = server.call(
        "POST",
        "/v1/flags/verify",
        &red,
        Some(br#"{"challenge": "web-robots", "flag": "x", "team": 1}"#),
    );
    assert_eq!(r.status, 400);
    assert!(r.body.contains("unknown field `team`"), "{}", r.body);

    // Nothing was started by any of it.
    assert_eq!(server.leftovers(), (Vec::new(), Vec::new()));
    let status = server.terminate();
    assert_eq!(status.code(), Some(0), "{status:?}");
}

#[test]
fn the_reaper_runs_inside_serve() {
    let mut server = Server::start(api_support::CONFIG);
    let token = server.token("board", "scoreboard");
    let red = auth(&token, "team:red");
    let spawned = server.call(
        "POST",
        "/v1/instances",
        &red,
        Some(br#"{"challenge": "nc-calc"}"#),
    );
    assert_eq!(spawned.status, 201, "{}", spawned.body);
    let id = spawned.json()["id"].as_str().unwrap().to_string();
    // Expired a moment ago, as far as the store (which the server shares) says.
    let store = Store::open(&server.store_path()).unwrap();
    let now = ctfdeck::store::now_millis();
    store.set_times(&id, now - 60_000, now - 1).unwrap();
    drop(store);
    // No `reap` runs beside it: only the server's own reaper can stop the instance.
    let mut status = String::new();
    for _ in 0..300 {
        status = server
            .call("GET", &format!("/v1/instances/{id}"), &red, None)
            .json()["status"]
            .as_str()
            .unwrap()
            .to_string();
        if status == "stopped" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(status, "stopped");
    let scraped = server.call("GET", "/metrics", &red, None).body;
    assert!(
        scraped
            .lines()
            .any(|l| l == "ctfdeck_reap_lateness_seconds_count 1"),
        "{scraped}"
    );
    // Its container and network are cleared beside the reaper's loop; wait for that.
    for _ in 0..300 {
        if server.leftovers() == (Vec::new(), Vec::new()) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(server.leftovers(), (Vec::new(), Vec::new()));
    assert_eq!(server.terminate().code(), Some(0));
}

#[test]
fn metrics_count_the_actions_of_every_process() {
    let mut server = Server::start(api_support::CONFIG);
    let token = server.token("board", "scoreboard");
    // A spawn and a stop from the CLI, in another process on the same store.
    let spawned = server.ctfdeck(&["spawn", "nc-calc", "--owner", "team:cli", "--json"]);
    assert!(
        spawned.status.success(),
        "{}",
        String::from_utf8_lossy(&spawned.stderr)
    );
    let id = serde_json::from_slice::<Value>(&spawned.stdout).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let stopped = server.ctfdeck(&["stop", &id]);
    assert!(
        stopped.status.success(),
        "{}",
        String::from_utf8_lossy(&stopped.stderr)
    );
    let scraped = server
        .call("GET", "/metrics", &auth(&token, "team:red"), None)
        .body;
    for line in [
        "ctfdeck_audited_actions{action=\"spawn\",outcome=\"ok\"} 1",
        "ctfdeck_audited_actions{action=\"stop\",outcome=\"ok\"} 1",
    ] {
        assert!(
            scraped.lines().any(|l| l == line),
            "no {line:?} in\n{scraped}"
        );
    }
    // The API's own counters saw none of it.
    assert!(
        !scraped.contains("ctfdeck_actions_total{action=\"spawn\""),
        "{scraped}"
    );
    assert_eq!(server.leftovers(), (Vec::new(), Vec::new()));
    assert_eq!(server.terminate().code(), Some(0));
}
