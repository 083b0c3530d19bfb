#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `ctfdeck smoke` at the edges: usage errors, an unreachable engine, read-only mode, an unknown
//! challenge.

mod common;
mod smoke_support;

use common::repo;
use smoke_support::{command, reports, stage, stderr};

#[test]
fn smoke_without_a_challenge_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let o = command(&repo().join("challenges"), &dir.path().join("s.db"), &[])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = command(
        &repo().join("challenges"),
        &dir.path().join("s.db"),
        &["web-robots", "--all"],
    )
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(2), "ids and --all: {}", stderr(&o));
}

#[test]
fn an_unreachable_engine_exits_3_before_any_stage() {
    let dir = tempfile::tempdir().unwrap();
    let o = command(
        &repo().join("challenges"),
        &dir.path().join("s.db"),
        &["web-robots"],
    )
    .arg("--engine")
    .arg("unix:///nonexistent/docker.sock")
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("/nonexistent/docker.sock"),
        "{}",
        stderr(&o)
    );
    assert!(o.stdout.is_empty());
}

#[test]
fn read_only_mode_refuses_a_smoke_test() {
    let dir = tempfile::tempdir().unwrap();
    let o = command(
        &repo().join("challenges"),
        &dir.path().join("s.db"),
        &["web-robots"],
    )
    .arg("--read-only")
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("read-only"), "{}", stderr(&o));
}

#[test]
fn an_unknown_challenge_fails_validation_naming_the_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    let o = command(
        &repo().join("challenges"),
        &dir.path().join("s.db"),
        &["no-such-thing", "--json"],
    )
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let report = &reports(&o)[0];
    assert_eq!(report["failed_stage"], "validate");
    let message = stage(report, "validate")["message"].as_str().unwrap();
    assert!(
        message.contains("unknown challenge \"no-such-thing\"") && message.contains("web-robots"),
        "{message}"
    );
    assert_eq!(stage(report, "teardown")["message"], "nothing was started");
    assert!(
        stderr(&o).contains("smoke failed: no-such-thing (validate)"),
        "{}",
        stderr(&o)
    );
}
