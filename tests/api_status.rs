#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The heartbeat `ctfdeck serve` writes into the store, as another process (a console,
//! `ctfdeck status`) reads it: listening, requests in the last minute, stopped on SIGTERM.

mod api_support;
mod common;

use std::time::{Duration, Instant};

use serde_json::Value;

use api_support::Server;

fn status(server: &Server) -> Value {
    let o = server.ctfdeck(&["status", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Wait (bounded) for a heartbeat that satisfies `done`; the heartbeat comes every 5 s.
fn wait_for(server: &Server, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s = status(server);
        if done(&s) || Instant::now() > deadline {
            return s;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn serve_reports_its_address_and_traffic_and_its_stop() {
    let mut server = Server::start(api_support::CONFIG);
    let first = status(&server);
    assert_eq!(first["state"], "up", "{first}");
    assert_eq!(first["errors_per_min"], 0, "{first}");
    assert_eq!(first["queue_length"], 0, "{first}");
    let listen = first["listen"].as_str().unwrap().to_string();
    assert!(listen.starts_with("127.0.0.1:"), "{listen}");

    for _ in 0..3 {
        assert_eq!(server.call("GET", "/healthz", &[], None).status, 200);
    }
    assert_eq!(server.call("GET", "/no/such/route", &[], None).status, 404);
    let counted = wait_for(&server, |s| s["requests_per_min"].as_u64() >= Some(4));
    assert_eq!(counted["state"], "up", "{counted}");
    assert_eq!(counted["requests_per_min"], 4, "{counted}");
    assert_eq!(counted["errors_per_min"], 0, "{counted}");
    assert_eq!(counted["listen"], listen.as_str());

    let plain = server.ctfdeck(&["status"]);
    let text = String::from_utf8_lossy(&plain.stdout);
    assert!(
        text.contains(&format!("API listening on {listen}")) && text.contains("4 req/min"),
        "{text}"
    );

    assert!(server.terminate().success());
    let stopped = status(&server);
    assert_eq!(stopped["state"], "stopped", "{stopped}");
}

#[test]
fn a_store_no_serve_ran_on_says_so() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.toml"), "").unwrap();
    let o = api_support::ctfdeck_command(dir.path(), dir.path())
        .args(["status", "--json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s["state"], "never", "{s}");
    assert_eq!(s["listen"], Value::Null, "{s}");
}
