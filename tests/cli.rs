#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The real binary: exit codes, JSON shapes, messages.

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

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn an_unreachable_engine_exits_3_naming_the_socket() {
    let dir = tempfile::tempdir().unwrap();
    let o = ctfdeck(
        &dir.path().join("s.db"),
        &["--engine", "unix:///nonexistent/docker.sock", "list"],
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("/nonexistent/docker.sock"),
        "{}",
        stderr(&o)
    );
    assert!(stdout(&o).is_empty());
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let o = ctfdeck(&dir.path().join("s.db"), &["spawn", "web-robots"]);
    assert_eq!(o.status.code(), Some(2), "missing --owner: {}", stderr(&o));
    let o = ctfdeck(
        &dir.path().join("s.db"),
        &["extend", "x", "--by", "soonish"],
    );
    assert_eq!(o.status.code(), Some(2), "bad duration: {}", stderr(&o));
}

#[test]
fn catalog_check_prints_each_fixture_problem_and_exits_1() {
    let fixtures = repo().join("tests/fixtures/catalog");
    let mut checked = 0;
    for entry in std::fs::read_dir(&fixtures).unwrap() {
        let case = entry.unwrap().path();
        if !case.join("expected.txt").is_file() {
            continue;
        }
        let o = Command::new(bin())
            .args(["catalog", "check"])
            .arg(&case)
            .output()
            .unwrap();
        let prefix = format!("{}/", case.display());
        assert_eq!(
            o.status.code(),
            Some(1),
            "{}: {}",
            case.display(),
            stderr(&o)
        );
        let expected = std::fs::read_to_string(case.join("expected.txt")).unwrap();
        let got: Vec<String> = stdout(&o).lines().map(|l| l.replace(&prefix, "")).collect();
        let want: Vec<&str> = expected.lines().collect();
        assert_eq!(got, want, "{}", case.display());
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} fixture cases found");
}

#[test]
fn the_bundled_catalog_checks_clean() {
    let o = Command::new(bin())
        .args(["catalog", "check"])
        .arg(repo().join("challenges"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let list = Command::new(bin())
        .args(["--catalog"])
        .arg(repo().join("challenges"))
        .args(["catalog", "list", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let ids: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["nc-calc", "web-cmdinject", "web-robots"]);
}

#[test]
fn spawn_list_extend_purge_through_the_binary() {
    ensure_images();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.db");

    let o = ctfdeck(
        &store,
        &["spawn", "web-robots", "--owner", "team:cli", "--json"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let inst: serde_json::Value =
        serde_json::from_slice(&o.stdout).expect("spawn --json is one object");
    for key in [
        "id",
        "challenge",
        "owner",
        "status",
        "container_id",
        "ports",
        "created_at",
        "expires_at",
        "renewals",
        "max_renewals",
    ] {
        assert!(inst.get(key).is_some(), "spawn --json has {key}: {inst}");
    }
    assert_eq!(inst["status"], "running");
    assert_eq!(inst["ports"][0]["container"], 8080);
    assert_eq!(inst["ports"][0]["protocol"], "http");
    assert!(inst["ports"][0]["host_port"].as_u64().unwrap() > 0);
    assert!(inst["expires_at"].as_str().unwrap().ends_with('Z'));
    let id = inst["id"].as_str().unwrap().to_string();

    let o = ctfdeck(&store, &["list", "--json"]);
    let list: serde_json::Value =
        serde_json::from_slice(&o.stdout).expect("list --json is an array");
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], id.as_str());

    let o = ctfdeck(&store, &["extend", &id[..3], "--by", "10m", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let ext: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(ext["renewals"], 1);

    // Read-only refuses, and changes nothing.
    let o = ctfdeck(&store, &["--read-only", "stop", &id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("read-only"), "{}", stderr(&o));

    // Without --yes and without a terminal, purge refuses and says what it would do.
    let o = ctfdeck(&store, &["purge", "--challenge", "web-robots"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("1 instance of web-robots owned by team:cli"),
        "{}",
        stderr(&o)
    );
    let o = ctfdeck(&store, &["purge", "--all", "--dry-run"]);
    assert!(o.status.success());
    assert!(
        stdout(&o).contains("would stop 1 instance"),
        "{}",
        stdout(&o)
    );
    let o = ctfdeck(&store, &["list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1, "dry run stopped nothing");

    let o = ctfdeck(&store, &["purge", "--challenge", "web-robots", "--yes"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("purged 1"), "{}", stdout(&o));
    let o = ctfdeck(&store, &["list", "--json"]);
    assert_eq!(stdout(&o).trim(), "[]");

    let o = ctfdeck(&store, &["audit", "--json"]);
    let audit: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["spawn", "extend", "stop"]);

    // Filters: every condition given must hold.
    let actions_of = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["audit", "--json"];
        all.extend_from_slice(args);
        let o = ctfdeck(&store, &all);
        assert!(o.status.success(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        actions_of(&["--action", "extend", "--since", "1h"]),
        ["extend"]
    );
    let actor = audit[0]["actor"].as_str().unwrap();
    assert_eq!(actions_of(&["--actor", actor]).len(), 3);
    assert!(actions_of(&["--actor", "nobody-at-all"]).is_empty());
    let o = ctfdeck(&store, &["audit", "--since", "soon"]);
    assert_eq!(o.status.code(), Some(2), "a bad duration is a usage error");
    assert!(stderr(&o).contains("--since"), "{}", stderr(&o));
}

#[test]
fn unknown_challenge_and_bad_owner_are_clear_errors() {
    ensure_images();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.db");
    let o = ctfdeck(&store, &["spawn", "nope", "--owner", "team:x"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("unknown challenge \"nope\""),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("web-robots"),
        "lists the known ones: {}",
        stderr(&o)
    );
    let o = ctfdeck(&store, &["spawn", "web-robots", "--owner", "red"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("team:NAME or user:NAME"),
        "{}",
        stderr(&o)
    );
    let o = ctfdeck(&store, &["stop", "zzzzzz"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no instance matches"), "{}", stderr(&o));
}

#[test]
fn a_monitor_gets_a_refusal_from_mutating_commands() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[roles]\ndefault = \"monitor\"\n").unwrap();
    let store = dir.path().join("s.db");
    for args in [
        vec!["spawn", "web-robots", "--owner", "team:m"],
        vec!["stop", "abc"],
        vec!["purge", "--all", "--yes"],
        vec!["extend", "abc"],
    ] {
        let o = Command::new(bin())
            .arg("--store")
            .arg(&store)
            .arg("--config")
            .arg(&config)
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("monitor role"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
    // Reading still works for a monitor.
    let o = Command::new(bin())
        .arg("--store")
        .arg(&store)
        .arg("--config")
        .arg(&config)
        .args(["audit", "--json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn the_readme_config_examples_are_valid() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let mut loaded = Vec::new();
    for block in readme.split("```toml\n").skip(1) {
        let text = &block[..block.find("```").unwrap()];
        std::fs::write(&path, text).unwrap();
        let cfg = ctfdeck::config::Config::load(Some(&path))
            .unwrap_or_else(|e| panic!("README config block does not load: {e:#}\n{text}"));
        loaded.push(cfg);
    }
    assert!(
        loaded.len() >= 2,
        "README config blocks found: {}",
        loaded.len()
    );
    let full = loaded
        .iter()
        .find(|c| c.quotas.per_challenge.is_some())
        .expect("the policy example");
    assert_eq!(full.quotas.per_challenge, Some(100));
    assert_eq!(full.roles.admins, ["@ctf-admins"]);
    assert_eq!(
        full.lifetime.renew_window,
        Some(std::time::Duration::from_secs(600))
    );
}

#[cfg(unix)]
#[test]
fn doctor_fails_a_store_every_user_can_read() {
    use std::os::unix::fs::PermissionsExt;
    ensure_images();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.db");
    // `doctor` after the store got `mode` (None: as doctor itself creates it): its exit code
    // and a line it must print.
    let doctor_says = |mode: Option<u32>, code: i32, line: &str| {
        if let Some(mode) = mode {
            std::fs::set_permissions(&store, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        let o = ctfdeck(&store, &["doctor"]);
        assert_eq!(o.status.code(), Some(code), "{}{}", stdout(&o), stderr(&o));
        assert!(stdout(&o).contains(line), "{}", stdout(&o));
    };
    doctor_says(
        None,
        0,
        "ok    access     the store is private to its owner (mode 0600)",
    );
    doctor_says(Some(0o660), 0, "the store is shared with group ");
    doctor_says(
        Some(0o640),
        0,
        "can read the store but not write it (mode 0640)",
    );
    doctor_says(
        Some(0o644),
        1,
        "FAIL  access     the store is readable by every user on this host (mode 0644)",
    );
}

#[test]
fn doctor_warns_when_instances_would_run_as_a_host_account() {
    ensure_images();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.db");
    // The default: an id nobody on this host has.
    let o = ctfdeck(&store, &["doctor"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains(&format!(
            "ok    users      [container] user: an instance runs as {}, no host account",
            ctfdeck::domain::DEFAULT_USER
        )),
        "{}",
        stdout(&o)
    );
    assert!(!stdout(&o).contains("warn  users"), "{}", stdout(&o));

    // An admin who picks the uid of an account of this host is told which one.
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    let (name, uid) = passwd
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some((f.first()?.to_string(), f.get(2)?.parse::<u32>().ok()?))
        })
        .find(|(_, uid)| *uid != 0)
        .expect("a non-root account on this host");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!("[container]\nuser = \"{uid}:4000000000\"\n"),
    )
    .unwrap();
    let o = ctfdeck(&store, &["--config", config.to_str().unwrap(), "doctor"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    // The gid may be in a subordinate range of this host too (CI's rootless Podman user has
    // one up to 4100000000): then the warning names both, the uid first.
    let warning = stdout(&o)
        .lines()
        .find(|l| l.starts_with("warn  users"))
        .unwrap_or_else(|| panic!("no users warning:\n{}", stdout(&o)))
        .to_string();
    assert!(
        warning.starts_with(&format!(
            "warn  users      [container] user: an instance runs as {uid}:4000000000, and uid {uid} is the host account {name}"
        )),
        "{warning}"
    );
    assert!(
        warning.contains("any process of that account can read the instance's flag"),
        "{warning}"
    );
}

#[test]
fn the_audit_marks_an_origin_from_the_environment_as_unverified() {
    ensure_images();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.db");
    // Anyone can set SSH_CONNECTION for their own command: the audit says where it came from.
    let o = Command::new(bin())
        .arg("--store")
        .arg(&store)
        .arg("--catalog")
        .arg(repo().join("challenges"))
        .args(["spawn", "web-robots", "--owner", "team:origin", "--json"])
        .env_remove("CTFDECK_CONFIG")
        .env("SSH_CONNECTION", "203.0.113.7 50022 10.0.0.5 22")
        .env_remove("SUDO_USER")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let id = serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let o = Command::new(bin())
        .arg("--store")
        .arg(&store)
        .arg("--catalog")
        .arg(repo().join("challenges"))
        .args(["stop", &id])
        .env_remove("CTFDECK_CONFIG")
        .env_remove("SSH_CONNECTION")
        .env_remove("SUDO_USER")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));

    let o = ctfdeck(&store, &["audit", "--json"]);
    let audit: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let origins: Vec<(&str, &str)> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["origin"].as_str().unwrap()))
        .collect();
    assert_eq!(
        origins,
        [
            ("spawn", "ssh:203.0.113.7 (from environment, unverified)"),
            ("stop", "local")
        ]
    );
    let o = ctfdeck(&store, &["audit"]);
    assert!(
        stdout(&o).contains("ssh:203.0.113.7 (from environment, unverified)"),
        "{}",
        stdout(&o)
    );
}
