//! The request layer under random input: methods, paths, ids, headers and bodies that no
//! scoreboard would send. Nothing panics, nothing answers 500, and every error is the
//! documented JSON shape. Runs on the in-memory engine, through the real router.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use tower::ServiceExt;

use crate::catalog::Catalog;
use crate::domain::tokens::{TokenRole, add_token};
use crate::domain::{Actor, Lifecycle, Policy};
use crate::engine::fake::FakeEngine;
use crate::store::Store;

use super::{ApiState, Current, Metrics, RateLimiter, router};

const PATHS: &[&str] = &[
    "/healthz",
    "/metrics",
    "/v1/challenges",
    "/v1/instances",
    "/v1/instances/{id}",
    "/v1/instances/{id}/extend",
    "/v1/instances/{id}/reset",
    "/v1/flags/verify",
    "/v1/queue",
    "/v1/queue/{id}",
    "/v1/{id}",
];

/// The router on the in-memory engine, with one scoreboard token.
pub fn app(dir: &std::path::Path) -> (axum::Router, String) {
    let store = Store::open(&dir.join("s.db")).unwrap();
    let token = add_token(&store, &Actor::admin("t"), "board", TokenRole::Scoreboard).unwrap();
    let catalog = Catalog {
        root: dir.to_path_buf(),
        challenges: Vec::new(),
    };
    let lifecycle = Lifecycle::new(
        Arc::new(FakeEngine::new()),
        store,
        Arc::new(catalog),
        Policy::default(),
        Actor::admin("t"),
    )
    .unwrap();
    let app = router(Arc::new(ApiState {
        current: Current::new(lifecycle, true),
        public_host: "ctf.example.org".into(),
        metrics: Arc::new(Metrics::default()),
        rate: RateLimiter::new(0),
        queue: Default::default(),
        queue_by_default: false,
        engine_slots: Arc::new(tokio::sync::Semaphore::new(4)),
        spawn_wait: std::time::Duration::from_secs(60),
    }));
    (app, token)
}

#[test]
fn an_id_that_is_not_utf8_is_a_json_error() {
    let dir = tempfile::tempdir().unwrap();
    let (app, token) = app(dir.path());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let req = Request::builder()
        .method("GET")
        .uri("/v1/instances/%FF")
        .header("authorization", format!("Bearer {token}"))
        .header("x-ctfdeck-owner", "team:red")
        .body(Body::empty())
        .unwrap();
    let response = rt.block_on(app.oneshot(req)).unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let bytes = rt
        .block_on(axum::body::to_bytes(response.into_body(), 1 << 20))
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(json["error"]["code"], "bad-instance-id", "{json}");
}

#[test]
fn random_requests_never_panic_and_errors_keep_their_shape() {
    let dir = tempfile::tempdir().unwrap();
    let (app, token) = app(dir.path());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let header_text = proptest::collection::vec(
        prop_oneof![Just(b'\t'), 0x20u8..0x7f, 0x80u8..=0xff],
        0..120,
    );
    let strategy = (
        proptest::sample::select(vec!["GET", "POST", "DELETE", "PUT"]),
        proptest::sample::select(PATHS.to_vec()),
        "[a-z0-9%._-]{0,12}",
        any::<bool>(),
        prop_oneof![
            Just(b"team:red".to_vec()),
            Just(b"user:bob".to_vec()),
            header_text.clone()
        ],
        header_text,
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..300),
            Just(br#"{"challenge": "web"}"#.to_vec()),
            Just(br#"{"challenge": "web", "flag": "x"}"#.to_vec()),
            Just(br#"{"challenge": 1}"#.to_vec()),
        ],
    );
    let mut runner = TestRunner::new(Config {
        cases: 400,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(
            &strategy,
            |(method, path, id, authed, owner, actor, body)| {
                let mut req = Request::builder()
                    .method(method)
                    .uri(path.replace("{id}", &id));
                if authed {
                    req = req.header("authorization", format!("Bearer {token}"));
                }
                req = req
                    .header("x-ctfdeck-owner", owner.as_slice())
                    .header("x-ctfdeck-actor", actor.as_slice());
                let Ok(req) = req.body(Body::from(body)) else {
                    return Ok(());
                };
                let response = rt.block_on(app.clone().oneshot(req)).unwrap();
                let status = response.status();
                prop_assert!(status.as_u16() < 500, "{method} {path} ({id}): {status}");
                if status.as_u16() >= 400 {
                    let bytes = rt
                        .block_on(axum::body::to_bytes(response.into_body(), 1 << 20))
                        .unwrap();
                    let json: serde_json::Value = serde_json::from_slice(&bytes)
                        .unwrap_or_else(|e| panic!("{status}: {e}: {bytes:?}"));
                    prop_assert!(json["error"]["code"].is_string(), "{json}");
                    prop_assert!(json["error"]["message"].is_string(), "{json}");
                }
                Ok(())
            },
        )
        .unwrap();
}
