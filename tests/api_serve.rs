#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `ctfdeck serve` as a scoreboard meets it: the real binary on a loopback port, the real
//! engine, a real HTTP client (curl), tokens made with `ctfdeck token add`.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use ctfdeck::engine::labels;
use ctfdeck::store::Store;
use serde_json::Value;

use common::{bin, ensure_images, http_status_line, repo};

/// A `ctfdeck serve` on a port of its own, over its own store; on drop it is killed and
/// whatever its store started is removed from the engine.
struct Server {
    dir: tempfile::TempDir,
    child: Child,
    base: String,
}

struct Reply {
    status: u16,
    headers: String,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    fn error_code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

impl Server {
    fn start() -> Server {
        ensure_images();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.toml"),
            "public_host = \"ctf.example.org\"\n[container]\nbind_address = \"127.0.0.1\"\n[quotas]\nper_owner = 1\n",
        )
        .unwrap();
        let mut child = ctfdeck_command(dir.path())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start ctfdeck serve");
        // The first line names the address it bound (port 0: the system chose a free one).
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        let addr = line
            .trim()
            .rsplit(' ')
            .next()
            .filter(|_| line.contains("serving the API on"))
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_string();
        // Keep draining its output so that it never blocks on a full pipe.
        std::thread::spawn(move || for _ in out.lines() {});
        Server {
            dir,
            child,
            base: format!("http://{addr}"),
        }
    }

    fn store_path(&self) -> PathBuf {
        self.dir.path().join("s.db")
    }

    fn ctfdeck(&self, args: &[&str]) -> Output {
        ctfdeck_command(self.dir.path())
            .args(args)
            .output()
            .unwrap()
    }

    fn token(&self, name: &str, role: &str) -> String {
        let o = self.ctfdeck(&["token", "add", name, "--role", role]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let out = String::from_utf8(o.stdout).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "token add printed more than the token: {out:?}"
        );
        assert!(lines[0].starts_with("ctfd_"), "{out:?}");
        lines[0].to_string()
    }

    /// One request through curl; `headers` as `Name: value`.
    fn call(&self, method: &str, path: &str, headers: &[String], body: Option<&[u8]>) -> Reply {
        let mut cmd = Command::new("curl");
        cmd.args(["-s", "-i", "--max-time", "120", "-X", method])
            .arg(format!("{}{path}", self.base));
        for h in headers {
            cmd.arg("-H").arg(h);
        }
        if body.is_some() {
            cmd.args([
                "-H",
                "Content-Type: application/json",
                "--data-binary",
                "@-",
            ]);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run curl");
        let mut stdin = child.stdin.take().unwrap();
        if let Some(body) = body {
            stdin.write_all(body).unwrap();
        }
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no HTTP answer to {method} {path}: {text:?}"));
        Reply {
            status,
            headers: head.to_ascii_lowercase(),
            body: body.to_string(),
        }
    }

    /// SIGTERM, and the exit status.
    fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        self.child.wait().unwrap()
    }

    /// Containers and networks of this server's store still on the engine.
    fn leftovers(&self) -> (Vec<String>, Vec<String>) {
        let store_id = Store::open(&self.store_path())
            .unwrap()
            .setting("store_id")
            .unwrap()
            .unwrap_or_default();
        let filter = format!("label={}={store_id}", labels::STORE);
        let list = |args: &[&str]| -> Vec<String> {
            let o = Command::new("docker")
                .args(args)
                .args(["--filter", &filter])
                .output()
                .unwrap();
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .map(str::to_string)
                .collect()
        };
        (list(&["ps", "-aq"]), list(&["network", "ls", "-q"]))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (containers, networks) = self.leftovers();
        if !containers.is_empty() {
            let _ = Command::new("docker")
                .args(["rm", "-f"])
                .args(&containers)
                .output();
        }
        if !networks.is_empty() {
            let _ = Command::new("docker")
                .args(["network", "rm"])
                .args(&networks)
                .output();
        }
    }
}

fn ctfdeck_command(dir: &Path) -> Command {
    let mut cmd = Command::new(bin());
    cmd.arg("--store")
        .arg(dir.join("s.db"))
        .arg("--catalog")
        .arg(repo().join("challenges"))
        .arg("--config")
        .arg(dir.join("config.toml"));
    cmd
}

fn auth(token: &str, owner: &str) -> Vec<String> {
    vec![
        format!("Authorization: Bearer {token}"),
        format!("X-Ctfdeck-Owner: {owner}"),
        "X-Ctfdeck-Actor: alice (user 17)".to_string(),
    ]
}

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
    let mut server = Server::start();
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
    let mut server = Server::start();
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
    let mut server = Server::start();
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
