#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Losing the engine: the console reaches the real engine through a socket relay this test
//! controls, so the engine can "go away" without restarting the daemon other tests share.
//! The banner must show, the console must keep every instance on screen, and on return it
//! must reconnect and say so.

mod common;
mod console_support;

use std::process::Command;
use std::time::{Duration, Instant};

use common::relay::Relay;
use common::{bin, ensure_images, repo};
use console_support::EngineCleanup;

const WAIT: Duration = Duration::from_secs(60);

fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "this test needs tmux ({e}) (CI={:?})",
                std::env::var("CI").ok()
            )
        });
    String::from_utf8_lossy(&out.stdout).into_owned()
}

struct Session(String);

impl Drop for Session {
    fn drop(&mut self) {
        tmux(&["kill-session", "-t", &self.0]);
    }
}

impl Session {
    fn wait(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = tmux(&["capture-pane", "-p", "-t", &self.0]);
            if ok(&screen) {
                return screen;
            }
            assert!(
                start.elapsed() < WAIT,
                "timed out waiting for {what}; the screen shows:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[test]
fn the_console_survives_losing_the_engine_and_resyncs_on_return() {
    ensure_images();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("reconnect.db");
    let socket = dir.path().join("engine.sock");
    let _cleanup = EngineCleanup {
        store: store.clone(),
    };
    let relay = Relay::new(&socket);
    let ctl = |args: &[&str]| {
        let out = Command::new(bin())
            .arg("--store")
            .arg(&store)
            .arg("--catalog")
            .arg(repo().join("challenges"))
            .args(args)
            .env_remove("CTFDECK_CONFIG")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    ctl(&["spawn", "web-robots", "--owner", "team:steady"]);

    let name = format!("ctfdeck-reconnect-{}", std::process::id());
    let command = format!(
        "env -u NO_COLOR -u CTFDECK_CONFIG CTFDECK_LOG=off {} --engine unix://{} --store {} --catalog {}; sleep 600",
        bin().display(),
        socket.display(),
        store.display(),
        repo().join("challenges").display()
    );
    tmux(&["kill-session", "-t", &name]);
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &name,
        "-x",
        "120",
        "-y",
        "32",
        &command,
    ]);
    let session = Session(name);
    session.wait("the console with the instance", |s| {
        s.contains("team:steady") && s.contains("running") && s.contains("● engine")
    });

    relay.down();
    let s = session.wait("the engine-lost banner", |s| s.contains("ENGINE LOST"));
    assert!(
        s.contains("team:steady"),
        "the instance stays on screen: {s}"
    );
    assert!(s.contains("reconnecting"), "{s}");

    relay.up();
    let s = session.wait("the reconnection", |s| {
        !s.contains("ENGINE LOST") && s.contains("● engine")
    });
    assert!(s.contains("team:steady") && s.contains("running"), "{s}");

    // Live again: a change made meanwhile by another process shows up.
    ctl(&["spawn", "nc-calc", "--owner", "team:later"]);
    session.wait("an instance spawned by the CLI", |s| {
        s.contains("team:later") && s.contains("Instances 2/2")
    });

    drop(session);
    relay.down();
}

/// During an incident the engine may be down when staff open the console: it starts on the
/// store's view under the banner, keeps trying, and connects when the engine answers. Its
/// warning goes to the activity pane and to the log file beside the store, never to the
/// terminal.
#[test]
fn the_console_starts_without_the_engine_and_connects_when_it_answers() {
    ensure_images();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("incident.db");
    let socket = dir.path().join("engine.sock");
    let stderr = dir.path().join("stderr.txt");
    let _cleanup = EngineCleanup {
        store: store.clone(),
    };
    let out = Command::new(bin())
        .arg("--store")
        .arg(&store)
        .arg("--catalog")
        .arg(repo().join("challenges"))
        .args(["spawn", "web-robots", "--owner", "team:early"])
        .env_remove("CTFDECK_CONFIG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let relay = Relay::new(&socket);
    relay.down();

    let name = format!("ctfdeck-engine-down-{}", std::process::id());
    let command = format!(
        "env -u NO_COLOR -u CTFDECK_CONFIG -u CTFDECK_LOG {} --engine unix://{} --store {} --catalog {} 2>{}; echo \"console exited $?\"; sleep 600",
        bin().display(),
        socket.display(),
        store.display(),
        repo().join("challenges").display(),
        stderr.display()
    );
    tmux(&["kill-session", "-t", &name]);
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &name,
        "-x",
        "120",
        "-y",
        "32",
        &command,
    ]);
    let session = Session(name);
    let s = session.wait("the store's view under the banner", |s| {
        s.contains("ENGINE LOST") && s.contains("team:early")
    });
    assert!(
        s.contains(&socket.display().to_string()),
        "names the engine: {s}"
    );
    assert!(s.contains("○ reconnecting"), "{s}");

    // The warning is in the activity pane.
    tmux(&["send-keys", "-t", &session.0, "l", "a"]);
    session.wait("the warning in the activity pane", |s| {
        s.contains("Activity") && s.contains("warning: engine unreachable at start")
    });

    relay.up();
    let s = session.wait("the connection", |s| {
        !s.contains("ENGINE LOST") && s.contains("● engine")
    });
    assert!(
        s.lines()
            .any(|l| l.contains("team:early") && l.contains("running")),
        "{s}"
    );

    tmux(&["send-keys", "-t", &session.0, "q"]);
    session.wait("the console to exit", |s| s.contains("console exited 0"));
    let written = std::fs::read_to_string(&stderr).unwrap();
    assert!(
        written.is_empty(),
        "nothing may be written to the terminal: {written:?}"
    );
    let log = std::fs::read_to_string(dir.path().join("ctfdeck-console.log")).unwrap();
    assert!(log.contains("engine unreachable at start"), "{log}");
    assert!(log.contains(&socket.display().to_string()), "{log}");

    drop(session);
    relay.down();
}

/// What happened while the engine was out of reach (an engine restart ends every container
/// whose restart policy is `no`; here one is killed behind the console's back, so no event can
/// tell it) is learnt on reconnection: the admin console reconciles and shows the instance
/// exited, with its reason, instead of `running`.
#[test]
fn exits_missed_while_the_engine_was_away_are_reconciled_on_return() {
    ensure_images();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("missed.db");
    let socket = dir.path().join("engine.sock");
    let config = dir.path().join("config.toml");
    // Kept exited, so that the screen shows what reconcile learnt (restart would hide it).
    std::fs::write(&config, "[lifetime]\non_exit = \"keep\"\n").unwrap();
    let _cleanup = EngineCleanup {
        store: store.clone(),
    };
    let relay = Relay::new(&socket);
    let out = Command::new(bin())
        .arg("--store")
        .arg(&store)
        .arg("--catalog")
        .arg(repo().join("challenges"))
        .arg("--config")
        .arg(&config)
        .args(["spawn", "web-robots", "--owner", "team:missed", "--json"])
        .env_remove("CTFDECK_CONFIG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let spawned: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = spawned["id"]
        .as_str()
        .expect("the instance's id")
        .to_string();
    // The challenge's own container (a port proxy, when there is one, is its companion).
    let listed = Command::new("docker")
        .args([
            "ps",
            "-q",
            "--filter",
            &format!("label=org.ctfdeck.instance={id}"),
            "--format",
            "{{.ID}} {{.Label \"org.ctfdeck.companion\"}}",
        ])
        .output()
        .unwrap();
    let container = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .find(|l| l.split_whitespace().count() == 1)
        .unwrap_or_else(|| panic!("no container for {id}: {listed:?}"))
        .trim()
        .to_string();

    let name = format!("ctfdeck-missed-{}", std::process::id());
    let command = format!(
        "env -u NO_COLOR -u CTFDECK_CONFIG CTFDECK_LOG=off {} --engine unix://{} --store {} --catalog {} --config {}; sleep 600",
        bin().display(),
        socket.display(),
        store.display(),
        repo().join("challenges").display(),
        config.display()
    );
    tmux(&["kill-session", "-t", &name]);
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &name,
        "-x",
        "120",
        "-y",
        "32",
        &command,
    ]);
    let session = Session(name);
    session.wait("the console with the instance", |s| {
        s.lines()
            .any(|l| l.contains("team:missed") && l.contains("running"))
            && s.contains("● engine")
    });

    relay.down();
    session.wait("the engine-lost banner", |s| s.contains("ENGINE LOST"));
    let killed = Command::new("docker")
        .args(["kill", &container])
        .output()
        .unwrap();
    assert!(
        killed.status.success(),
        "{}",
        String::from_utf8_lossy(&killed.stderr)
    );
    // Still as last seen while the engine is away: the console cannot know yet.
    let s = session.wait("the banner, unchanged", |s| s.contains("ENGINE LOST"));
    assert!(
        s.lines()
            .any(|l| l.contains("team:missed") && l.contains("running")),
        "{s}"
    );

    relay.up();
    let s = session.wait("the exit learnt on reconnection", |s| {
        !s.contains("ENGINE LOST")
            && s.lines()
                .any(|l| l.contains("team:missed") && l.contains("exited"))
    });
    assert!(s.contains("● engine"), "{s}");

    drop(session);
    relay.down();
}
