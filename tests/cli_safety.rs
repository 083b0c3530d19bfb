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
