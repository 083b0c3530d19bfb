#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Instances whose container stops by itself — killed behind ctfdeck's back, crashing,
//! OOM-killed — against the real engine: the store learns it (`exited`, with the reason),
//! `list` and `doctor` say so, and `[lifetime] on_exit = "restart"` brings them back a bounded
//! number of times, each attempt audited.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{Fixture, bin, repo};
use ctfdeck::domain::StopOutcome;
use ctfdeck::domain::exits::{EXIT_ACTION, MAX_RESTARTS, RESTART_ACTION, RESTART_LIMIT_ACTION};
use ctfdeck::store::{AuditEntry, AuditFilter, InstanceRecord, InstanceStatus, Store, now_millis};
use futures_util::StreamExt;

/// The longest any wait below may take before the test fails (the engine is shared and slow
/// at times; the waits end as soon as what they wait for happens).
const PATIENCE: Duration = Duration::from_secs(90);

fn catalog() -> PathBuf {
    repo().join("tests/fixtures/exits")
}

/// A config file for the binary: loopback ports, and `on_exit`.
fn config(dir: &Path, on_exit: &str) -> PathBuf {
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        format!("[lifetime]\non_exit = \"{on_exit}\"\n[container]\nbind_address = \"127.0.0.1\"\n"),
    )
    .unwrap();
    path
}

fn ctfdeck(f: &Fixture, config: &Path) -> Command {
    let mut c = Command::new(bin());
    c.arg("--store")
        .arg(f.store_path())
        .arg("--catalog")
        .arg(catalog())
        .arg("--config")
        .arg(config)
        .env_remove("CTFDECK_CONFIG")
        .env("NO_COLOR", "1");
    c
}

fn run(f: &Fixture, config: &Path, args: &[&str]) -> Output {
    ctfdeck(f, config).args(args).output().expect("run ctfdeck")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().expect("docker");
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        text(&out.stderr)
    );
    text(&out.stdout).trim().to_string()
}

fn audit(store: &Store, instance: &str, action: &str) -> Vec<AuditEntry> {
    let filter = AuditFilter {
        instance: Some(instance.to_string()),
        action: Some(action.to_string()),
        ..Default::default()
    };
    store.audit_matching(&filter, 100).unwrap()
}

fn row(store: &Store, id: &str) -> InstanceRecord {
    store.instance(id).unwrap().expect("row")
}

/// Wait until the engine says the container has stopped.
async fn until_stopped(f: &Fixture, container: &str) {
    let start = Instant::now();
    while !f
        .engine
        .container_state(container)
        .await
        .unwrap()
        .has_exited()
    {
        assert!(start.elapsed() < PATIENCE, "{container} never stopped");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A `reap --watch` of this test's own, ended when the test ends, however it ends.
struct Reaper {
    child: Child,
    log: PathBuf,
}

impl Reaper {
    fn start(f: &Fixture, config: &Path) -> Reaper {
        let log = f.dir.path().join("reaper.log");
        let file = std::fs::File::create(&log).unwrap();
        let child = ctfdeck(f, config)
            .args(["reap", "--watch"])
            .stdout(Stdio::from(file.try_clone().unwrap()))
            .stderr(Stdio::from(file))
            .spawn()
            .expect("start the reaper");
        Reaper { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_and_oom_killed_instances_are_listed_exited_and_doctor_fails_naming_them() {
    let f = Fixture::with_catalog(&catalog()).await;
    let cfg = config(f.dir.path(), "keep");
    let killed = f.spawn("steady", "team:red").await;
    let oom = f.spawn("eats-memory", "team:blue").await;
    let killed_container = killed.container_id.clone().unwrap();
    let oom_container = oom.container_id.clone().unwrap();

    // Behind ctfdeck's back; nothing of ctfdeck runs meanwhile.
    docker(&["kill", &killed_container]);
    until_stopped(&f, &oom_container).await;
    until_stopped(&f, &killed_container).await;

    // doctor notices before anything recorded the exits, and records nothing itself.
    let out = run(&f, &cfg, &["doctor"]);
    let said = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.lines().any(|l| l.starts_with("FAIL")
            && l.contains(killed.id.as_str())
            && l.contains("not yet recorded")),
        "{said}"
    );
    let store = f.lifecycle.store();
    assert_eq!(row(store, &killed.id).status, InstanceStatus::Running);
    // Nor does a read-only caller's reconcile.
    let out = run(&f, &cfg, &["--read-only", "list", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(row(store, &killed.id).status, InstanceStatus::Running);
    assert!(audit(store, &killed.id, EXIT_ACTION).is_empty());

    let out = run(&f, &cfg, &["list", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let listed = |id: &str| {
        list.iter()
            .find(|i| i["id"] == id)
            .unwrap_or_else(|| panic!("{id} not listed: {list:?}"))
            .clone()
    };
    let k = listed(&killed.id);
    assert_eq!(k["status"], "exited", "{k}");
    let reason = k["stop_reason"].as_str().unwrap();
    assert!(reason.contains("code 137"), "{reason}");
    let o = listed(&oom.id);
    assert_eq!(o["status"], "exited", "{o}");
    let reason = o["stop_reason"].as_str().unwrap();
    if common::on_podman(&*f.engine) {
        // Podman 4.3 on cgroup v1 does not tell an OOM kill from any SIGKILL (`OOMKilled`
        // false, exit 137): the reason says what is known and what it most likely was.
        assert_eq!(
            reason, "exited with code 137 (killed by SIGKILL: over its memory limit?)",
            "{o}"
        );
    } else {
        assert!(reason.contains("OOM-killed"), "{reason}");
    }
    assert_eq!(audit(store, &killed.id, EXIT_ACTION).len(), 1);

    // The plain table says why too.
    let out = run(&f, &cfg, &["list"]);
    let table = text(&out.stdout);
    let line = table.lines().find(|l| l.starts_with(&killed.id)).unwrap();
    assert!(
        line.contains("exited") && line.contains("code 137"),
        "{table}"
    );

    let out = run(&f, &cfg, &["doctor"]);
    let said = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{said}");
    for id in [&killed.id, &oom.id] {
        assert!(
            said.lines()
                .any(|l| l.starts_with("FAIL") && l.contains("exited") && l.contains(id.as_str())),
            "doctor does not name {id}:\n{said}"
        );
    }
    if common::on_podman(&*f.engine) {
        // Podman has no live-restore: its containers outlive its API service.
        assert!(said.contains("instances outlive its API service"), "{said}");
    } else {
        assert!(said.contains("live-restore is"), "{said}");
    }

    // An admin gets the killed one back fresh; the other stops cleanly. Container and network
    // of each go.
    let out = run(&f, &cfg, &["reset", &killed.id, "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let fresh: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(fresh["status"], "running", "{fresh}");
    assert_eq!(row(store, &killed.id).status, InstanceStatus::Stopped);
    let out = run(&f, &cfg, &["stop", &oom.id, fresh["id"].as_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(row(store, &oom.id).status, InstanceStatus::Stopped);
    assert_eq!(f.leftovers().await, (0, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reaper_restarts_a_killed_instance_with_its_flag_and_audits_the_attempt() {
    let f = Fixture::with_catalog(&catalog()).await;
    let cfg = config(f.dir.path(), "restart");
    let rec = f.spawn("steady", "team:red").await;
    let container = rec.container_id.clone().unwrap();
    docker(&["kill", &container]);
    until_stopped(&f, &container).await;

    let reaper = Reaper::start(&f, &cfg);
    let store = f.lifecycle.store();
    let start = Instant::now();
    while audit(store, &rec.id, RESTART_ACTION).is_empty()
        || row(store, &rec.id).status != InstanceStatus::Running
    {
        assert!(
            start.elapsed() < PATIENCE,
            "not restarted: {:?}\nreaper:\n{}",
            row(store, &rec.id),
            reaper.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let attempts = audit(store, &rec.id, RESTART_ACTION);
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert_eq!(attempts[0].outcome, "ok");
    assert!(
        attempts[0].detail.contains("attempt 1 of") && attempts[0].detail.contains("code 137"),
        "{attempts:?}"
    );
    // The exit was recorded before it was restarted.
    assert_eq!(audit(store, &rec.id, EXIT_ACTION).len(), 1);

    // Back for players: it answers on the port the row says, and its flag file (in a tmpfs
    // that the restart emptied) is there again.
    let running = row(store, &rec.id);
    assert_eq!(running.stop_reason, None);
    assert!(common::http_status_line(running.ports[0].host_port).contains("200"));
    let flag = docker(&["exec", &container, "cat", "/tmp/flag"]);
    assert_eq!(Some(flag), running.flag);

    // Killed again while the reaper watches: it learns from the engine's event, at once, and
    // makes the second attempt.
    docker(&["kill", &container]);
    let start = Instant::now();
    while audit(store, &rec.id, RESTART_ACTION).len() < 2
        || row(store, &rec.id).status != InstanceStatus::Running
    {
        assert!(
            start.elapsed() < PATIENCE,
            "not restarted again: {:?}\nreaper:\n{}",
            row(store, &rec.id),
            reaper.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let log = reaper.log();
    assert!(
        log.contains(&format!("exited {}: exited with code 137", rec.id)),
        "{log}"
    );
    assert!(
        log.contains(&format!("restarted {} (attempt 2 of", rec.id)),
        "{log}"
    );

    drop(reaper);
    let out = run(&f, &cfg, &["stop", &rec.id]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(f.leftovers().await, (0, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crashing_challenge_is_restarted_at_most_the_bound_each_attempt_audited() {
    let f = Fixture::with_catalog(&catalog()).await;
    let lifecycle = &f.lifecycle;
    let store = lifecycle.store();
    // Follow the engine as the reaper does: exits are learnt from its events alone.
    let mut events = lifecycle.engine().container_events(lifecycle.store_id());
    let rec = f.spawn("crashes", "team:red").await;

    let start = Instant::now();
    while audit(store, &rec.id, RESTART_LIMIT_ACTION).is_empty() {
        assert!(
            start.elapsed() < PATIENCE,
            "no end to the restarts: {:?}",
            store.audit_for_instance(&rec.id, 50).unwrap()
        );
        tokio::select! {
            ev = events.next() => {
                let ev = ev.expect("event stream open").expect("event");
                if ev.may_have_exited() && let Some(instance) = &ev.instance {
                    lifecycle.note_exit(instance).await.unwrap();
                }
            }
            () = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
        lifecycle.handle_exits().await.unwrap();
    }

    let attempts = audit(store, &rec.id, RESTART_ACTION);
    assert_eq!(attempts.len(), MAX_RESTARTS as usize, "{attempts:?}");
    for (n, a) in attempts.iter().enumerate() {
        assert_eq!(a.outcome, "ok");
        assert!(
            a.detail
                .starts_with(&format!("attempt {} of {MAX_RESTARTS}", n + 1)),
            "{a:?}"
        );
    }
    // Each start of it ended in an exit the store recorded: the first and one per restart.
    assert_eq!(
        audit(store, &rec.id, EXIT_ACTION).len(),
        MAX_RESTARTS as usize + 1
    );
    let exited = row(store, &rec.id);
    assert_eq!(exited.stop_reason.as_deref(), Some("exited with code 3"));
    // Bounded: nothing more is tried, however often asked.
    assert!(lifecycle.handle_exits().await.unwrap().is_empty());
    assert!(lifecycle.handle_exits().await.unwrap().is_empty());
    assert_eq!(
        audit(store, &rec.id, RESTART_ACTION).len(),
        MAX_RESTARTS as usize
    );
    assert_eq!(audit(store, &rec.id, RESTART_LIMIT_ACTION).len(), 1);

    // It stays its owner's until it expires; then the reaper takes it, container and network.
    store
        .set_times(&rec.id, rec.created_at, now_millis() - 1)
        .unwrap();
    let reaped = lifecycle.reap_once().await.unwrap();
    assert!(
        matches!(reaped.as_slice(), [(id, Ok(StopOutcome::Stopped))] if *id == rec.id),
        "{reaped:?}"
    );
    assert_eq!(row(store, &rec.id).status, InstanceStatus::Stopped);
    assert_eq!(f.leftovers().await, (0, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_instance_without_egress_comes_back_through_a_new_proxy() {
    let f = Fixture::with_catalog(&catalog()).await;
    let lifecycle = &f.lifecycle;
    let store = lifecycle.store();
    let rec = f.spawn("sealed", "team:red").await;
    let container = rec.container_id.clone().unwrap();
    assert!(common::http_status_line(rec.ports[0].host_port).contains("200"));
    // Its process dies; its port proxy, a container of its own, runs on.
    docker(&["kill", &container]);
    until_stopped(&f, &container).await;

    let start = Instant::now();
    loop {
        lifecycle.reconcile().await.unwrap();
        let done = lifecycle.handle_exits().await.unwrap();
        if !done.is_empty() {
            assert!(
                matches!(done[0], ctfdeck::domain::ExitHandled::Restarted { .. }),
                "{done:?}"
            );
            break;
        }
        assert!(start.elapsed() < PATIENCE, "{:?}", row(store, &rec.id));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let running = row(store, &rec.id);
    assert_eq!(running.status, InstanceStatus::Running);
    assert_eq!(audit(store, &rec.id, RESTART_ACTION)[0].outcome, "ok");
    assert!(common::http_status_line(running.ports[0].host_port).contains("200"));

    lifecycle.stop(&rec.id, "test over").await.unwrap();
    assert_eq!(f.leftovers().await, (0, 0));
}
