#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The real console binary in a real terminal (tmux) against the real engine: spawn by keys,
//! watch the countdown, extend, stop, purge, quit — the screen read back at every step.
//! Needs tmux and an engine; without either it fails, it never skips.

mod common;
mod console_support;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{bin, ensure_images, repo};
use console_support::EngineCleanup;
use ctfdeck::engine::Engine;
use ctfdeck::store::{InstanceFilter, Store};

const WAIT: Duration = Duration::from_secs(40);

/// A tmux session running one command; killed on drop, whatever happened.
struct Tmux {
    name: String,
}

fn tmux(args: &[&str]) -> std::process::Output {
    Command::new("tmux")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "this test needs tmux ({e}); install it (apt-get install tmux) (CI={:?})",
                std::env::var("CI").ok()
            )
        })
}

impl Tmux {
    fn start(name: &str, command: &str, width: u16, height: u16) -> Tmux {
        let _ = tmux(&["kill-session", "-t", name]);
        let out = tmux(&[
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            command,
        ]);
        assert!(
            out.status.success(),
            "tmux: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmux {
            name: name.to_string(),
        }
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", &self.name];
        args.extend_from_slice(keys);
        assert!(tmux(&args).status.success());
    }

    fn text(&self, text: &str) {
        assert!(
            tmux(&["send-keys", "-t", &self.name, "-l", text])
                .status
                .success()
        );
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", &self.name]).stdout)
            .into_owned()
    }

    /// Poll the screen until `ok` holds, failing with the screen after `WAIT`.
    fn wait(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if ok(&screen) {
                return screen;
            }
            if start.elapsed() > WAIT {
                panic!("timed out waiting for {what}; the screen shows:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn wait_for(&self, text: &str) -> String {
        self.wait(&format!("{text:?}"), |s| s.contains(text))
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = tmux(&["kill-session", "-t", &self.name]);
    }
}

/// The instance row of `owner`, if on screen.
fn row<'a>(screen: &'a str, owner: &str) -> Option<&'a str> {
    screen.lines().find(|l| l.contains(owner))
}

/// Seconds left, read from the row's countdown: the column just before the renewals (`0/3`).
fn countdown(row: &str) -> Option<i64> {
    let words: Vec<&str> = row.split_whitespace().collect();
    let renewals = words.iter().position(|w| {
        w.split_once('/')
            .is_some_and(|(a, b)| a.parse::<u32>().is_ok() && b.parse::<u32>().is_ok())
    })?;
    parse_remaining(words.get(renewals.checked_sub(1)?)?)
}

/// `44m58s`, `1h14m`, `9s` → seconds.
fn parse_remaining(w: &str) -> Option<i64> {
    let mut total = 0;
    let mut number = String::new();
    for c in w.chars() {
        match c {
            '0'..='9' => number.push(c),
            'h' | 'm' | 's' => {
                let n: i64 = number.parse().ok()?;
                number.clear();
                total += n * match c {
                    'h' => 3600,
                    'm' => 60,
                    _ => 1,
                };
            }
            _ => return None,
        }
    }
    number.is_empty().then_some(total)
}

#[test]
fn countdown_parsing_reads_the_console_formats() {
    let row = "┃  ab12cd team:x web-robots running localhost:3 2s    44m58s  0/3   0.0%   1M ┃";
    assert_eq!(countdown(row), Some(44 * 60 + 58));
    assert_eq!(countdown("team:x 3m 1h14m 1/3"), Some(3600 + 14 * 60));
    assert_eq!(countdown("team:x 9s 2/3"), Some(9));
    assert_eq!(countdown("team:x starting"), None);
}

#[test]
fn console_spawn_extend_stop_purge_quit_in_a_real_terminal() {
    ensure_images();
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog");
    common::copy_dir(
        &repo().join("challenges/web-robots"),
        &catalog.join("web-robots"),
    );
    let store = dir.path().join("console.db");
    let _cleanup = EngineCleanup {
        store: store.clone(),
    };
    let command = format!(
        "env -u NO_COLOR -u CTFDECK_CONFIG CTFDECK_LOG=off {} --store {} --catalog {}; echo \"console exited $?\"; sleep 600",
        bin().display(),
        store.display(),
        catalog.display()
    );
    let name = format!("ctfdeck-e2e-{}", std::process::id());
    let t = Tmux::start(&name, &command, 120, 32);

    // Started: the panes, the engine, an empty instances table.
    let s = t.wait("the console", |s| {
        s.contains("Instances 0/0") && s.contains("● engine")
    });
    assert!(s.contains("Catalog 1 challenges"), "{s}");
    assert!(s.contains("web-robots"), "{s}");
    assert!(s.contains("admin"), "{s}");

    // Spawn by keys: the challenge is preselected, the owner typed.
    t.keys(&["s"]);
    t.wait_for("Spawn web-robots");
    t.text("team:e2e");
    t.keys(&["Enter"]);
    let s = t.wait("a running instance", |s| {
        row(s, "team:e2e").is_some_and(|r| r.contains("running"))
    });
    assert!(s.contains("Instances 1/1"), "{s}");
    let first = countdown(row(&s, "team:e2e").unwrap()).expect("a countdown");
    assert!(
        (40 * 60..=45 * 60).contains(&first),
        "45m lifetime, read {first}s"
    );
    // It ticks.
    t.wait("the countdown to tick", |s| {
        row(s, "team:e2e")
            .and_then(countdown)
            .is_some_and(|c| c < first)
    });

    // Extend: the countdown jumps by the challenge's extend_by (30m).
    let before = countdown(row(&t.screen(), "team:e2e").unwrap()).unwrap();
    t.keys(&["e"]);
    let s = t.wait("the extended countdown", |s| {
        row(s, "team:e2e")
            .and_then(countdown)
            .is_some_and(|c| c > before + 25 * 60)
    });
    assert!(
        row(&s, "team:e2e").unwrap().contains("1/3"),
        "renewals used: {s}"
    );
    assert!(s.contains("extended"), "{s}");

    // Stop: the confirmation says exactly what goes; yes stops it.
    t.keys(&["x"]);
    let s = t.wait_for("Confirm stop");
    assert!(
        s.contains("stop 1 instance of web-robots owned by team:e2e"),
        "{s}"
    );
    t.keys(&["y"]);
    t.wait("the instance gone", |s| {
        s.contains("Instances 0/0") && s.contains("stopped 1 instance(s)")
    });

    // Whose flag: the stopped instance's flag, pasted, names its owner.
    let stopped = Store::open(&store)
        .unwrap()
        .list_instances(&InstanceFilter {
            all: true,
            ..Default::default()
        })
        .unwrap();
    let flag = stopped[0].flag.clone().expect("a per-instance flag");
    t.keys(&["F"]);
    t.wait_for("whose flag:");
    t.text(&flag);
    t.keys(&["Enter"]);
    let s = t.wait_for("Whose flag");
    assert!(
        s.contains(&format!("Instance {} (stopped)", stopped[0].id)),
        "{s}"
    );
    assert!(s.contains("team:e2e"), "{s}");
    t.keys(&["Escape"]);
    t.wait("the lookup closed", |s| !s.contains("Whose flag"));

    // Two more, then purge everything of this challenge.
    for owner in ["team:alpha", "team:beta"] {
        t.keys(&["s"]);
        t.wait_for("Spawn web-robots");
        t.text(owner);
        t.keys(&["Enter"]);
        t.wait(owner, |s| {
            row(s, owner).is_some_and(|r| r.contains("running"))
        });
    }
    t.wait_for("Instances 2/2");

    // Another process (the CLI) extends one: the console shows it without any key pressed.
    let cli = |args: &[&str]| {
        let out = Command::new(bin())
            .arg("--store")
            .arg(&store)
            .arg("--catalog")
            .arg(&catalog)
            .args(args)
            .env_remove("CTFDECK_CONFIG")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let list: serde_json::Value = serde_json::from_str(&cli(&["list", "--json"])).unwrap();
    let beta = list
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["owner"] == "team:beta")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let before = countdown(row(&t.screen(), "team:beta").unwrap()).unwrap();
    cli(&["extend", &beta]);
    t.wait("the CLI's extend on screen", |s| {
        row(s, "team:beta").is_some_and(|r| {
            r.contains("1/3") && countdown(r).is_some_and(|c| c > before + 25 * 60)
        })
    });

    // A scoreboard's hook finds team:beta handing in team:e2e's flag: the console says so
    // in the status bar, unasked.
    let hook = Command::new(bin())
        .arg("--store")
        .arg(&store)
        .arg("--catalog")
        .arg(&catalog)
        .args(["flag", "whose", &flag, "--submitted-by", "team:beta"])
        .env_remove("CTFDECK_CONFIG")
        .output()
        .unwrap();
    assert_eq!(hook.status.code(), Some(1), "{hook:?}");
    let s = t.wait_for("flag sharing:");
    assert!(
        s.contains("of team:e2e submitted by team:beta"),
        "the alert names both owners: {s}"
    );

    t.keys(&["P"]);
    t.wait_for("Purge: what goes?");
    t.keys(&["Down", "Enter"]);
    let s = t.wait_for("Confirm purge");
    assert!(
        s.contains("stop 2 instances of web-robots owned by 2 owners"),
        "{s}"
    );
    t.keys(&["y"]);
    // The rows turn stopped as soon as the instances are halted; the purge is over when the
    // console says how many it stopped (containers and networks removed).
    t.wait("the purge", |s| {
        s.contains("Instances 0/0") && s.contains("stopped 2 instance(s)")
    });

    // Nothing of this store is left on the engine.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let id = Store::open(&store)
        .unwrap()
        .setting("store_id")
        .unwrap()
        .unwrap();
    let left = rt.block_on(async {
        let engine = common::engine().await;
        engine.managed_containers(&id).await.unwrap().len()
    });
    assert_eq!(left, 0, "containers left after the purge");

    // Quit restores the terminal: the shell's line shows on the normal screen.
    t.keys(&["q"]);
    let s = t.wait_for("console exited 0");
    assert!(
        !s.contains("Instances"),
        "the console's screen is gone: {s}"
    );
}

#[test]
fn sigterm_and_sighup_restore_the_screen() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("signal.db");
    let _cleanup = EngineCleanup {
        store: store.clone(),
    };
    for signal in ["TERM", "HUP"] {
        let command = format!(
            "env -u NO_COLOR -u CTFDECK_CONFIG CTFDECK_LOG=off {} --store {} --catalog {}; echo \"console exited $?\"; sleep 600",
            bin().display(),
            store.display(),
            repo().join("challenges").display()
        );
        let name = format!("ctfdeck-sig{signal}-{}", std::process::id());
        let t = Tmux::start(&name, &command, 100, 30);
        t.wait("the console", |s| s.contains("● engine"));
        let pattern = format!("{} --store {}", bin().display(), store.display());
        let pid = String::from_utf8_lossy(
            &Command::new("pgrep")
                .args(["-f", "-n", &pattern])
                .output()
                .unwrap()
                .stdout,
        )
        .trim()
        .to_string();
        assert!(!pid.is_empty(), "console process not found");
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .unwrap();
        assert!(sent.success());
        let s = t.wait_for("console exited 0");
        assert!(
            !s.contains("Instances"),
            "SIG{signal}: the console's screen is gone: {s}"
        );
    }
}

#[test]
fn without_a_terminal_the_console_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(bin())
        .arg("--store")
        .arg(dir.path().join("s.db"))
        .arg("--catalog")
        .arg(repo().join("challenges"))
        .env_remove("CTFDECK_CONFIG")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("needs a terminal"), "{err}");
}

#[test]
fn a_key_clash_in_the_config_is_reported_at_start_naming_both_actions() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[keys]\nextend = \"x\"\n").unwrap();
    let out = Command::new(bin())
        .arg("--store")
        .arg(dir.path().join("s.db"))
        .arg("--config")
        .arg(&config)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`x`") && err.contains("extend") && err.contains("stop"),
        "{err}"
    );
}
