#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Deliberately broken challenges (`tests/fixtures/smoke`): each must fail at the stage its
//! `expected.txt` names, with a message and details that say why, and leave nothing behind on
//! the engine. Also: Ctrl-C in the middle of a run still tears down.

mod common;
mod smoke_support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{ensure_images, repo};
use ctfdeck::store::{InstanceStatus, Store};
use smoke_support::{command, leftovers, reports, run, stage, stderr};

fn fixtures() -> PathBuf {
    repo().join("tests/fixtures/smoke")
}

/// What a fixture's `expected.txt` says: the failing stage, and text its message and its
/// details must contain.
struct Expected {
    stage: String,
    message: Vec<String>,
    details: Vec<String>,
}

fn expected(case: &Path) -> Expected {
    let text = std::fs::read_to_string(case.join("expected.txt"))
        .unwrap_or_else(|e| panic!("{}: {e}", case.display()));
    let mut out = Expected {
        stage: String::new(),
        message: Vec::new(),
        details: Vec::new(),
    };
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let (key, value) = line.split_once(": ").expect("key: value");
        match key {
            "stage" => out.stage = value.to_string(),
            "message" => out.message.push(value.to_string()),
            "details" => out.details.push(value.to_string()),
            other => panic!("{}: unknown key {other}", case.display()),
        }
    }
    assert!(!out.stage.is_empty(), "{}: no stage", case.display());
    out
}

/// A live process (a zombie waiting for its new parent to reap it is dead enough).
fn process_alive(pid: &str) -> bool {
    match std::fs::read_to_string(Path::new("/proc").join(pid).join("stat")) {
        // `pid (comm) state …`: the state follows the last `)`.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => false,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn each_broken_fixture_fails_at_its_stage_and_leaves_nothing() {
    ensure_images();
    let mut names: Vec<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("expected.txt").is_file())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for required in [
        "build-error",
        "check-hangs",
        "exits-at-once",
        "invalid-definition",
        "never-listens",
        "oom-killed",
        "wrong-flag",
    ] {
        assert!(
            names.iter().any(|n| n == required),
            "fixture {required} is missing"
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("smoke.db");
    let pidfile = dir.path().join("check-hangs.pid");
    let mut args: Vec<&str> = names.iter().map(String::as_str).collect();
    args.extend(["--json", "--ready-timeout", "3s", "--jobs", "8"]);
    let out = command(&fixtures(), &store, &args)
        .env("SMOKE_FIXTURE_PIDFILE", &pidfile)
        .output()
        .expect("run ctfdeck smoke");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let reports = reports(&out);
    assert_eq!(reports.len(), names.len());

    let mut problems = Vec::new();
    for (name, report) in names.iter().zip(&reports) {
        let want = expected(&fixtures().join(name));
        assert_eq!(report["challenge"], name.as_str());
        if report["status"] != "failed" || report["failed_stage"] != want.stage.as_str() {
            problems.push(format!(
                "{name}: expected to fail at {}, got {} at {}: {report:#}",
                want.stage, report["status"], report["failed_stage"]
            ));
            continue;
        }
        let failed = stage(report, &want.stage);
        let message = failed["message"].as_str().unwrap();
        for needle in &want.message {
            if !message.contains(needle.as_str()) {
                problems.push(format!("{name}: message {message:?} lacks {needle:?}"));
            }
        }
        let details: Vec<&str> = failed["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap())
            .collect();
        for needle in &want.details {
            if !details.iter().any(|d| d.contains(needle.as_str())) {
                problems.push(format!("{name}: details {details:#?} lack {needle:?}"));
            }
        }
        // Later stages are skipped; teardown runs whenever something was started.
        let mut after = false;
        for s in report["stages"].as_array().unwrap() {
            if after && s["stage"] != "teardown" && s["status"] != "skipped" {
                problems.push(format!("{name}: {} ran after the failure", s["stage"]));
            }
            after |= s["stage"] == want.stage.as_str();
        }
        let teardown = stage(report, "teardown");
        let spawned = report["instance"].is_string();
        let want_teardown = if spawned { "passed" } else { "skipped" };
        if teardown["status"] != want_teardown {
            problems.push(format!("{name}: teardown {teardown}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // The summary on stderr names every failure with its stage.
    let err = stderr(&out);
    let summary = err.lines().last().unwrap_or_default();
    assert!(summary.starts_with("smoke failed: "), "{err}");
    for (name, report) in names.iter().zip(&reports) {
        let item = format!("{name} ({})", report["failed_stage"].as_str().unwrap());
        assert!(summary.contains(&item), "{summary} lacks {item}");
    }

    // Nothing left: no container, no network, every spawned row stopped.
    assert_eq!(leftovers(&store).await, Vec::<String>::new());
    let rows = Store::open(&store).unwrap();
    for report in &reports {
        if let Some(id) = report["instance"].as_str() {
            let row = rows.instance(id).unwrap().unwrap();
            assert_eq!(row.status, InstanceStatus::Stopped, "{id}");
            assert!(row.owner.starts_with("smoke:"), "{}", row.owner);
        }
    }

    // The hanging check's child was killed with it.
    let pid = std::fs::read_to_string(&pidfile).expect("check-hangs wrote its child's pid");
    assert!(!process_alive(pid.trim()), "sleep {pid} outlived the check");
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_interrupts_the_run_and_still_tears_down() {
    ensure_images();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("smoke.db");
    let mut child = command(
        &fixtures(),
        &store,
        &["never-listens", "--json", "--ready-timeout", "5m"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("start ctfdeck smoke");

    // Wait until the instance exists and the ready stage is waiting on it.
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let started = Instant::now();
    let mut seen = Vec::new();
    loop {
        let line = lines.next().expect("stderr closed before spawn").unwrap();
        seen.push(line.clone());
        if line.starts_with("never-listens: spawn passed") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no spawn: {seen:#?}"
        );
    }
    std::thread::sleep(Duration::from_millis(300));
    let pid = child.id().to_string();
    let kill = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(kill.success());

    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{rest:#?}");
    assert!(
        rest.iter().any(|l| l.starts_with("interrupted:")),
        "{rest:#?}"
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let report = &report[0];
    assert_eq!(report["interrupted"], true);
    assert_eq!(report["status"], "failed");
    assert_eq!(stage(report, "ready")["status"], "failed");
    assert_eq!(stage(report, "ready")["message"], "interrupted");
    assert_eq!(stage(report, "check")["status"], "skipped");
    assert_eq!(stage(report, "teardown")["status"], "passed");
    assert!(
        stage(report, "ready")["duration_ms"].as_u64().unwrap() < 60_000,
        "interrupted long before its 5m timeout"
    );
    assert_eq!(leftovers(&store).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn keep_leaves_the_instance_running_until_stopped() {
    ensure_images();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("smoke.db");
    let out = run(
        &repo().join("challenges"),
        &store,
        &["web-robots", "--keep", "--no-check", "--json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = &reports(&out)[0];
    assert_eq!(report["kept"], true);
    assert_eq!(stage(report, "check")["status"], "skipped");
    let teardown = stage(report, "teardown");
    assert_eq!(teardown["status"], "skipped");
    let id = report["instance"].as_str().unwrap();
    assert!(
        teardown["message"]
            .as_str()
            .unwrap()
            .contains(&format!("ctfdeck stop {id}")),
        "{teardown}"
    );
    assert_eq!(
        leftovers(&store).await.len(),
        2,
        "container and network kept"
    );

    let stop = Command::new(common::bin())
        .arg("--store")
        .arg(&store)
        .arg("--catalog")
        .arg(repo().join("challenges"))
        .args(["stop", id])
        .output()
        .unwrap();
    assert!(stop.status.success(), "{}", stderr(&stop));
    assert_eq!(leftovers(&store).await, Vec::<String>::new());
}
