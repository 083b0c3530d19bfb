#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `ctfdeck serve` as a long-running daemon: it starts while the engine is down (answering
//! from the store, 503 for what needs the engine), takes the engine on when it answers, and
//! follows edits to the catalog folder — the real binary, the real engine behind a socket
//! relay this test cuts, real HTTP clients.

mod api_support;
mod common;

use std::time::Duration;

use serde_json::Value;

use api_support::{CONFIG, Reply, Server, auth};
use common::relay::Relay;
use common::{copy_dir, repo};

/// Ask until `done` holds for the reply (at most about two minutes, a hang guard).
fn until(mut ask: impl FnMut() -> Reply, done: impl Fn(&Reply) -> bool) -> Reply {
    let mut reply = ask();
    for _ in 0..600 {
        if done(&reply) {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
        reply = ask();
    }
    reply
}

fn challenge_ids(reply: &Reply) -> Vec<String> {
    let mut ids: Vec<String> = reply
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

#[test]
fn serve_starts_while_the_engine_is_down_and_takes_it_on_when_it_answers() {
    let sockets = tempfile::tempdir().unwrap();
    let socket = sockets.path().join("engine.sock");
    let relay = Relay::new(&socket);
    relay.down();
    let engine = format!("unix://{}", socket.display());
    let mut server = Server::launch(
        CONFIG,
        &repo().join("challenges"),
        &["--engine", engine.as_str()],
    );
    let token = server.token("board", "scoreboard");
    let red = auth(&token, "team:red");

    let health = server.call("GET", "/healthz", &[], None);
    assert_eq!(health.status, 503, "{}", health.body);
    assert_eq!(
        health.json(),
        serde_json::json!({"engine": "down", "store": "ok"})
    );
    // What the store knows is answered; what needs the engine is refused, and says why.
    let challenges = server.call("GET", "/v1/challenges", &red, None);
    assert_eq!(challenges.status, 200, "{}", challenges.body);
    assert!(challenge_ids(&challenges).contains(&"web-robots".to_string()));
    let list = server.call("GET", "/v1/instances", &red, None);
    assert_eq!((list.status, list.json()), (200, Value::Array(Vec::new())));
    let refused = server.call(
        "POST",
        "/v1/instances",
        &red,
        Some(br#"{"challenge": "nc-calc"}"#),
    );
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert_eq!(refused.error_code(), "engine-unreachable");

    // The engine comes back: serve takes it on by itself.
    relay.up();
    let health = until(
        || server.call("GET", "/healthz", &[], None),
        |r| r.status == 200,
    );
    assert_eq!(health.status, 200, "{}", health.body);
    let spawned = server.call(
        "POST",
        "/v1/instances",
        &red,
        Some(br#"{"challenge": "nc-calc"}"#),
    );
    assert_eq!(spawned.status, 201, "{}", spawned.body);
    assert_eq!(spawned.json()["status"], "running");
    let id = spawned.json()["id"].as_str().unwrap().to_string();
    let deleted = server.call("DELETE", &format!("/v1/instances/{id}"), &red, None);
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    assert_eq!(server.leftovers(), (Vec::new(), Vec::new()));
    assert_eq!(server.terminate().code(), Some(0));
}

#[test]
fn serve_follows_edits_to_the_catalog() {
    let catalog = tempfile::tempdir().unwrap();
    copy_dir(
        &repo().join("challenges/web-robots"),
        &catalog.path().join("web-robots"),
    );
    let mut server = Server::launch(CONFIG, catalog.path(), &[]);
    let token = server.token("board", "scoreboard");
    let red = auth(&token, "team:red");
    let ask = || server.call("GET", "/v1/challenges", &red, None);
    assert_eq!(challenge_ids(&ask()), ["web-robots"]);

    // A challenge added while it runs is offered...
    copy_dir(
        &repo().join("challenges/nc-calc"),
        &catalog.path().join("nc-calc"),
    );
    let both = until(ask, |r| challenge_ids(r).len() == 2);
    assert_eq!(challenge_ids(&both), ["nc-calc", "web-robots"]);
    // ...and can be spawned at once.
    let spawned = server.call(
        "POST",
        "/v1/instances",
        &red,
        Some(br#"{"challenge": "nc-calc"}"#),
    );
    assert_eq!(spawned.status, 201, "{}", spawned.body);
    let id = spawned.json()["id"].as_str().unwrap().to_string();
    assert_eq!(
        server
            .call("DELETE", &format!("/v1/instances/{id}"), &red, None)
            .status,
        204
    );

    // A challenge removed is no longer offered, nor spawned.
    std::fs::remove_dir_all(catalog.path().join("web-robots")).unwrap();
    let one = until(ask, |r| challenge_ids(r).len() == 1);
    assert_eq!(challenge_ids(&one), ["nc-calc"]);
    let gone = server.call(
        "POST",
        "/v1/instances",
        &red,
        Some(br#"{"challenge": "web-robots"}"#),
    );
    assert_eq!(
        (gone.status, gone.error_code().as_str()),
        (404, "unknown-challenge")
    );
    assert_eq!(server.leftovers(), (Vec::new(), Vec::new()));
    assert_eq!(server.terminate().code(), Some(0));
}
