#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Text that others control never drives the admin's terminal: a challenge container's logs
//! (OSC 52 writes the clipboard, OSC 0 the title) unless `--raw` asks for the bytes as they
//! are, and a challenge's name in `catalog list`.

mod common;
mod console_support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{bin, ensure_images};
use console_support::EngineCleanup;

/// OSC 52 (write "evil" to the clipboard), OSC 0 (set the title), a colour, then plain text.
const HOSTILE: &str = r"printf '\033]52;c;ZXZpbA==\007\033]0;owned\007\033[31mred\033[0m hello\n'";

fn ctfdeck(store: &Path, catalog: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .arg("--store")
        .arg(store)
        .arg("--catalog")
        .arg(catalog)
        .args(args)
        .env_remove("CTFDECK_CONFIG")
        .output()
        .expect("run ctfdeck")
}

/// A challenge on the example nc-calc image whose container prints `HOSTILE` at start.
fn hostile_catalog(dir: &Path, name: &str) -> std::path::PathBuf {
    let catalog = dir.join("catalog");
    let chal = catalog.join("noisy");
    std::fs::create_dir_all(&chal).unwrap();
    let definition = serde_json::json!({
        "schema_version": 1,
        "id": "noisy", "name": name, "category": "misc", "difficulty": "easy",
        "points": 1, "description": "prints escape sequences",
        "container": {
            "image": "ctfdeck/nc-calc:latest",
            "ports": [{"container": 1337, "protocol": "tcp"}],
            "command": ["sh", "-c", format!("{HOSTILE}; exec nc -ll -p 1337 -e /chal/game.sh")],
            "user": "1000:1000",
            "resources": {"memory": "64m", "cpus": 0.5, "pids": 64},
            "security": {"profile": "default", "tmpfs": {"/tmp": "size=16m"}}
        },
        "flag": {"template": "flag{<hex:16>}", "inject": "env:FLAG"}
    });
    std::fs::write(
        chal.join("challenge.json"),
        serde_json::to_string_pretty(&definition).unwrap(),
    )
    .unwrap();
    catalog
}

#[test]
fn logs_strip_terminal_control_sequences_unless_raw() {
    ensure_images();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("logs.db");
    let catalog = hostile_catalog(dir.path(), "noisy");
    let _cleanup = EngineCleanup {
        store: store.clone(),
    };
    let o = ctfdeck(
        &store,
        &catalog,
        &["spawn", "noisy", "--owner", "team:logs", "--json"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let id = serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let stop = || ctfdeck(&store, &catalog, &["purge", "--all", "--yes"]);

    // The container prints at start; wait until the engine has the line.
    let start = Instant::now();
    let raw = loop {
        let o = ctfdeck(&store, &catalog, &["logs", &id, "--raw"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        if String::from_utf8_lossy(&o.stdout).contains("hello") {
            break o.stdout;
        }
        if start.elapsed() > Duration::from_secs(30) {
            stop();
            panic!("no output from the container");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let raw = String::from_utf8(raw).unwrap();
    assert!(
        raw.contains("\u{1b}]52;c;ZXZpbA==\u{7}"),
        "--raw keeps the bytes: {raw:?}"
    );

    let o = ctfdeck(&store, &catalog, &["logs", &id]);
    let clean = String::from_utf8(o.stdout).unwrap();
    stop();
    assert!(o.status.success());
    assert!(
        !clean.contains('\u{1b}'),
        "no ESC may reach the terminal: {clean:?}"
    );
    assert!(!clean.contains('\u{7}'), "{clean:?}");
    assert_eq!(clean, "red hello\n");
}

#[test]
fn catalog_list_prints_no_escape_sequence_from_a_challenge_name() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = hostile_catalog(dir.path(), "Evil\u{1b}]0;owned\u{7}\u{1b}[2J Name");
    let o = ctfdeck(&dir.path().join("s.db"), &catalog, &["catalog", "list"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out:?}");
    assert!(out.contains("Evil Name"), "{out}");
    // The JSON keeps the name as written (escaped by JSON itself).
    let o = ctfdeck(
        &dir.path().join("s.db"),
        &catalog,
        &["catalog", "list", "--json"],
    );
    let items: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(items[0]["name"], "Evil\u{1b}]0;owned\u{7}\u{1b}[2J Name");
}
