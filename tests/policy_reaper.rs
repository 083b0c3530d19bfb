#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The reaper daemon (`ctfdeck reap --watch`) as a real process on a real store and engine.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Fixture;
use common::relay::Relay;
use ctfdeck::store::{InstanceStatus, now_millis};

/// A running reaper daemon; killed when dropped, so a failing test leaves no daemon behind.
struct Reaper(Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start a reaper daemon on the fixture's store, its output going to `log`.
fn start_reaper(f: &Fixture, log: &Path) -> Reaper {
    Reaper(
        reaper_command(f)
            .stdout(std::fs::File::create(log).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

fn reaper_command(f: &Fixture) -> Command {
    let mut cmd = f.cli();
    cmd.args(["reap", "--watch"]);
    cmd
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reaper_stops_an_instance_that_expires_while_no_console_runs() {
    let f = Fixture::new().await;
    let rec = f.spawn("nc-calc", "team:late").await;
    let log_path = f.dir.path().join("reaper.log");
    let reaper = start_reaper(&f, &log_path);
    let expires = now_millis() + 1_000;
    f.lifecycle
        .store()
        .set_times(&rec.id, rec.created_at, expires)
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let row = loop {
        let row = f.lifecycle.store().instance(&rec.id).unwrap().unwrap();
        if row.status == InstanceStatus::Stopped || Instant::now() > deadline {
            break row;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // The row is final once the instance is halted (frozen); its container and network are
    // removed right after, beside the reaper's loop.
    while f.leftovers().await != (0, 0) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    while !std::fs::read_to_string(&log_path)
        .unwrap()
        .contains(&format!("cleared {}", rec.id))
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(reaper);
    assert_eq!(row.status, InstanceStatus::Stopped);
    assert_eq!(row.stop_reason.as_deref(), Some("expired"));
    assert!(row.stopped_at.unwrap() >= expires, "not before expiry");
    assert_eq!(f.leftovers().await, (0, 0));
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        log.contains(&format!("reaped {} (nc-calc of team:late), ", rec.id)),
        "{log}"
    );
    assert!(log.contains(" ms after expiry"), "{log}");
    assert!(log.contains(&format!("cleared {}", rec.id)), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_reapers_stop_each_instance_exactly_once() {
    let f = Fixture::new().await;
    let mut ids = Vec::new();
    for n in 0..6 {
        let owner = format!("team:pair{n}").parse().unwrap();
        let rec = f.lifecycle.spawn("nc-calc", &owner).await.unwrap().instance;
        ids.push((rec.id, rec.created_at));
    }
    let logs = [f.dir.path().join("a.log"), f.dir.path().join("b.log")];
    let reapers = [start_reaper(&f, &logs[0]), start_reaper(&f, &logs[1])];
    let expires = now_millis() + 1_500;
    for (id, created) in &ids {
        f.lifecycle
            .store()
            .set_times(id, *created, expires)
            .unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while f.leftovers().await != (0, 0) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for reaper in reapers {
        drop(reaper);
    }
    assert_eq!(f.leftovers().await, (0, 0), "everything removed");
    let said: String = logs
        .iter()
        .map(|l| std::fs::read_to_string(l).unwrap())
        .collect();
    for (id, _) in &ids {
        let row = f.lifecycle.store().instance(id).unwrap().unwrap();
        assert_eq!(row.status, InstanceStatus::Stopped, "{id}");
        assert!(
            row.stopped_at.unwrap() >= expires,
            "{id} stopped before expiry"
        );
        let stops: Vec<_> = f
            .lifecycle
            .store()
            .audit_for_instance(id, 50)
            .unwrap()
            .into_iter()
            .filter(|e| e.action == "stop")
            .collect();
        assert_eq!(stops.len(), 1, "{id} stopped once: {stops:?}");
        assert_eq!(stops[0].outcome, "ok");
        assert_eq!(
            said.matches(&format!("reaped {id}")).count(),
            1,
            "one reaper reaped {id}:\n{said}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reaper_reconciles_on_start_and_says_what_it_changed() {
    let f = Fixture::new().await;
    let rec = f.spawn("nc-calc", "team:gone").await;
    // Its container disappears behind ctfdeck's back (an admin's `docker rm -f`).
    f.engine
        .remove_container(rec.container_id.as_deref().unwrap())
        .await
        .unwrap();
    let log_path = f.dir.path().join("reaper.log");
    let reaper = start_reaper(&f, &log_path);
    let said = wait_for_text(
        &log_path,
        &format!("lost ({})", rec.id),
        Instant::now() + Duration::from_secs(20),
    );
    drop(reaper);
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(said, "{log}");
    assert!(log.contains("reconciled: 1 lost"), "{log}");
    let row = f.lifecycle.store().instance(&rec.id).unwrap().unwrap();
    assert_eq!(row.status, InstanceStatus::Lost);
}

/// Wait until `file` contains `text`; false at the deadline.
fn wait_for_text(file: &Path, text: &str, deadline: Instant) -> bool {
    while Instant::now() < deadline {
        if std::fs::read_to_string(file).is_ok_and(|t| t.contains(text)) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// The engine goes away (for the reaper only, through a relay) just as an instance expires. The
/// reaper must not leave the row claimed-but-running; once the engine is back, it stops it.
#[test]
fn the_reaper_rides_out_an_engine_outage() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let f = rt.block_on(Fixture::new());
    let rec = rt
        .block_on(
            f.lifecycle
                .spawn("nc-calc", &"team:outage".parse().unwrap()),
        )
        .unwrap()
        .instance;
    let relay = Relay::to(&f.dir.path().join("engine.sock"), &f.engine_socket());
    let (out, err) = (f.dir.path().join("out.log"), f.dir.path().join("err.log"));
    let reaper = Reaper(
        reaper_command(&f)
            .arg("--engine")
            .arg(format!("unix://{}", relay.path.display()))
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    assert!(
        wait_for_text(&out, "reaper watching", deadline),
        "reaper did not start"
    );

    relay.down();
    let expires = now_millis() + 500;
    f.lifecycle
        .store()
        .set_times(&rec.id, rec.created_at, expires)
        .unwrap();
    assert!(
        wait_for_text(&err, "lost the engine", deadline),
        "the reaper did not notice the outage: {}",
        std::fs::read_to_string(&err).unwrap()
    );
    let row = f.lifecycle.store().instance(&rec.id).unwrap().unwrap();
    assert_eq!(
        row.status,
        InstanceStatus::Running,
        "while the engine is away the row must stay claimable, not stuck in stopping"
    );

    relay.up();
    let back = Instant::now();
    while Instant::now() < back + Duration::from_secs(30) {
        let row = f.lifecycle.store().instance(&rec.id).unwrap().unwrap();
        if row.status == InstanceStatus::Stopped && rt.block_on(f.leftovers()) == (0, 0) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(reaper);
    let row = f.lifecycle.store().instance(&rec.id).unwrap().unwrap();
    assert_eq!(
        row.status,
        InstanceStatus::Stopped,
        "stopped once the engine is back"
    );
    assert_eq!(row.stop_reason.as_deref(), Some("expired"));
    assert_eq!(rt.block_on(f.leftovers()), (0, 0));
    let said = std::fs::read_to_string(&out).unwrap();
    assert!(said.contains(&format!("reaped {}", rec.id)), "{said}");
    drop(f);
    drop(relay);
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_notices_when_no_reaper_runs() {
    let f = Fixture::new().await;
    let rec = f.spawn("nc-calc", "team:forgotten").await;
    let doctor = || f.cli().arg("doctor").output().unwrap();
    let fine = doctor();
    let said = String::from_utf8_lossy(&fine.stdout).to_string();
    assert!(fine.status.success(), "{said}");
    assert!(said.contains("ok    reaper"), "{said}");

    // Expired a minute ago and still running: nobody reaps.
    let minute_ago = now_millis() - 60_000;
    f.lifecycle
        .store()
        .set_times(&rec.id, rec.created_at, minute_ago)
        .unwrap();
    let late = doctor();
    let said = String::from_utf8_lossy(&late.stdout).to_string();
    assert_eq!(late.status.code(), Some(1), "{said}");
    assert!(said.contains("FAIL  reaper"), "{said}");
    assert!(said.contains("1 instance(s) expired"), "{said}");
    assert!(said.contains("reap --watch"), "{said}");
}
