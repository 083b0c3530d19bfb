#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The spawn queue on the real engine: with the global capacity reached, a spawn that asks to
//! queue gets a place (202), first come first served, one per owner and challenge; leaving
//! works; when a slot frees, the front place's instance starts by itself.

mod api_support;
mod common;

use std::time::Duration;

use serde_json::Value;

use api_support::{CONFIG, Server, auth};

const NC: &[u8] = br#"{"challenge": "nc-calc"}"#;
const NC_QUEUED: &[u8] = br#"{"challenge": "nc-calc", "queue": true}"#;

#[test]
fn a_full_event_queues_spawns_and_starts_them_as_slots_free() {
    // CONFIG ends in [quotas]: a capacity of one instance.
    let mut server = Server::start(&format!("{CONFIG}global = 1\n"));
    let token = server.token("board", "scoreboard");
    let [red, blue, green] = ["team:red", "team:blue", "team:green"].map(|o| auth(&token, o));

    let first = server.call("POST", "/v1/instances", &red, Some(NC));
    assert_eq!(first.status, 201, "{}", first.body);
    let red_id = first.json()["id"].as_str().unwrap().to_string();

    // Full: without asking to queue, the refusal; asking, a place.
    let refused = server.call("POST", "/v1/instances", &blue, Some(NC));
    assert_eq!(
        (refused.status, refused.error_code().as_str()),
        (429, "global-capacity")
    );
    let place = server.call("POST", "/v1/instances", &blue, Some(NC_QUEUED));
    assert_eq!(place.status, 202, "{}", place.body);
    let place = place.json();
    assert_eq!(place["status"], "queued");
    assert_eq!(place["queue_position"], 1);
    assert!(place["estimate_seconds"].as_i64().unwrap() > 0, "{place}");
    let behind = server.call("POST", "/v1/instances", &green, Some(NC_QUEUED));
    assert_eq!(
        (behind.status, behind.json()["queue_position"].clone()),
        (202, Value::from(2))
    );
    // Asking again keeps the place; GET shows it.
    let again = server.call("POST", "/v1/instances", &blue, Some(NC_QUEUED));
    assert_eq!(again.json()["queue_position"], 1);
    let mine = server.call("GET", "/v1/queue", &blue, None).json();
    assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");
    assert_eq!(mine[0]["challenge"], "nc-calc");
    // What every console's status bar shows: the queue's length, from serve's heartbeat.
    let status = queue_length_reaches(&server, 2);
    assert_eq!(status["queue_length"], 2, "{status}");

    // Green leaves; leaving twice is a 404.
    let left = server.call("DELETE", "/v1/queue/nc-calc", &green, None);
    assert_eq!(left.status, 204, "{}", left.body);
    let twice = server.call("DELETE", "/v1/queue/nc-calc", &green, None);
    assert_eq!(
        (twice.status, twice.error_code().as_str()),
        (404, "not-queued")
    );

    // Red's instance goes: blue's starts by itself.
    let stopped = server.call("DELETE", &format!("/v1/instances/{red_id}"), &red, None);
    assert_eq!(stopped.status, 204, "{}", stopped.body);
    let mut blue_instances = Value::Null;
    for _ in 0..600 {
        blue_instances = server.call("GET", "/v1/instances", &blue, None).json();
        if blue_instances[0]["status"] == "running" {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(blue_instances[0]["status"], "running", "{blue_instances}");
    assert_eq!(blue_instances[0]["challenge"], "nc-calc");
    let queue = server.call("GET", "/v1/queue", &blue, None).json();
    assert_eq!(queue, Value::Array(Vec::new()));
    // Green left: nothing started for it.
    let green_instances = server.call("GET", "/v1/instances", &green, None).json();
    assert_eq!(green_instances, Value::Array(Vec::new()));

    let blue_id = blue_instances[0]["id"].as_str().unwrap().to_string();
    let stopped = server.call("DELETE", &format!("/v1/instances/{blue_id}"), &blue, None);
    assert_eq!(stopped.status, 204, "{}", stopped.body);
    assert_eq!(server.leftovers(), (Vec::new(), Vec::new()));
    assert_eq!(server.terminate().code(), Some(0));
}

#[test]
fn engine_work_waits_its_turn_and_a_slow_spawn_answers_starting() {
    // One engine action at a time; no spawn request waits for its instance.
    let config = format!("{CONFIG}[api]\nengine_concurrency = 1\nspawn_wait = \"0s\"\n");
    let mut server = Server::start(&config);
    let token = server.token("board", "scoreboard");
    let owners = ["team:a", "team:b", "team:c"];
    let answers: Vec<(u16, Value)> = std::thread::scope(|scope| {
        let asks: Vec<_> = owners
            .iter()
            .map(|owner| {
                let (server, headers) = (&server, auth(&token, owner));
                scope.spawn(move || {
                    let r = server.call("POST", "/v1/instances", &headers, Some(NC));
                    (r.status, r.json())
                })
            })
            .collect();
        asks.into_iter().map(|a| a.join().unwrap()).collect()
    });
    for (status, body) in &answers {
        assert_eq!(*status, 202, "{body}");
        assert_eq!(body["status"], "starting", "{body}");
    }
    // Each instance ends running, one engine action after the other.
    for owner in owners {
        let who = auth(&token, owner);
        let mut mine = Value::Null;
        for _ in 0..600 {
            mine = server.call("GET", "/v1/instances", &who, None).json();
            if mine[0]["status"] == "running" {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        assert_eq!(mine[0]["status"], "running", "{owner}: {mine}");
        let id = mine[0]["id"].as_str().unwrap().to_string();
        let stopped = server.call("DELETE", &format!("/v1/instances/{id}"), &who, None);
        assert_eq!(stopped.status, 204, "{}", stopped.body);
    }
    let scraped = server.call("GET", "/metrics", &auth(&token, "team:a"), None);
    assert!(
        scraped
            .body
            .lines()
            .any(|l| l == "ctfdeck_actions_total{action=\"spawn\",outcome=\"ok\"} 3"),
        "{}",
        scraped.body
    );
    assert_eq!(server.leftovers(), (Vec::new(), Vec::new()));
    assert_eq!(server.terminate().code(), Some(0));
}

/// `ctfdeck status --json` once the heartbeat (every 5 s) reports `length` places, or after a
/// bounded wait, whatever it says then.
fn queue_length_reaches(server: &Server, length: u64) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let o = server.ctfdeck(&["status", "--json"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let status: Value = serde_json::from_slice(&o.stdout).unwrap();
        if status["queue_length"] == length || std::time::Instant::now() > deadline {
            return status;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}
