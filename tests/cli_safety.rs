#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The real binary refusing what would be unsafe: an empty instance id that would match
//! anything, a flag secret anyone could guess.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{bin, ensure_images, repo};

fn ctfdeck(store: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .arg("--store")
        .arg(store)
        .arg("--catalog")
        .arg(repo().join("challenges"))
        .args(args)
        .env_remove("CTFDECK_CONFIG")
        .output()
        .expect("run ctfdeck")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn set_secret(store: &Path, secret: &str) {
    let conn = rusqlite::Connection::open(store).unwrap();
    conn.execute(
        "INSERT INTO settings(key, value) VALUES ('flag_secret', ?1)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [secret],
    )
    .unwrap();
}

#[test]
fn doctor_fails_a_zero_or_short_flag_secret() {
    ensure_images();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.db");
    let o = ctfdeck(&store, &["doctor"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("ok    secret     no flag secret yet"),
        "{}",
        text(&o)
    );

    // A command that needs the secret creates a sound one.
    let o = ctfdeck(&store, &["list"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = ctfdeck(&store, &["doctor"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("ok    secret     the flag secret is sound"),
        "{}",
        text(&o)
    );

    for (secret, says) in [
        (
            "0".repeat(64),
            "FAIL  secret     the flag secret is all zero: anyone can forge",
        ),
        (
            "c0ffee".to_string(),
            "FAIL  secret     the flag secret is only 6 characters long",
        ),
    ] {
        set_secret(&store, &secret);
        let o = ctfdeck(&store, &["doctor"]);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        assert!(text(&o).contains(says), "{}", text(&o));
        assert!(text(&o).contains("1 check(s) failed"), "{}", text(&o));
    }
}

/// Whatever the store's instances left on the engine goes when the test ends, pass or fail.
struct EngineCleanup<'a>(&'a Path);

impl Drop for EngineCleanup<'_> {
    fn drop(&mut self) {
        let Ok(conn) = rusqlite::Connection::open(self.0) else {
            return;
        };
        let Ok(store_id) = conn.query_row(
            "SELECT value FROM settings WHERE key = 'store_id'",
            [],
            |r| r.get::<_, String>(0),
        ) else {
            return;
        };
        let filter = format!("label={}={store_id}", ctfdeck::engine::labels::STORE);
        for (list, remove) in [
            (vec!["ps", "-aq"], vec!["rm", "-f"]),
            (vec!["network", "ls", "-q"], vec!["network", "rm"]),
        ] {
            let found = Command::new("docker")
                .args(&list)
                .args(["--filter", &filter])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default();
            let ids: Vec<&str> = found.split_whitespace().collect();
            if !ids.is_empty() {
                let _ = Command::new("docker").args(&remove).args(&ids).output();
            }
        }
    }
}

#[test]
fn an_empty_instance_id_matches_nothing() {
    ensure_images();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.db");
    let _cleanup = EngineCleanup(&store);
    let o = ctfdeck(
        &store,
        &["spawn", "web-robots", "--owner", "team:only", "--json"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let inst: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let id = inst["id"].as_str().unwrap().to_string();

    // The only live instance, so a prefix matching everything would pick it.
    for args in [
        &["extend", ""][..],
        &["stop", ""],
        &["stop", " "],
        &["reset", ""],
    ] {
        let o = ctfdeck(&store, args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", text(&o));
        assert!(
            text(&o).contains("an instance id (or a unique prefix of one) is needed"),
            "{args:?}: {}",
            text(&o)
        );
    }
    let o = ctfdeck(&store, &["list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(list[0]["id"], id.as_str());
    assert_eq!(list[0]["status"], "running", "nothing stopped it");
    assert_eq!(list[0]["renewals"], 0, "nothing extended it");

    let o = ctfdeck(&store, &["stop", &id]);
    assert!(o.status.success(), "{}", text(&o));
}
