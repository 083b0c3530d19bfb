#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The reaper daemon (`ctfdeck reap --watch`) as a real process on a real store and engine.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Fixture, bin, repo};
use ctfdeck::store::{InstanceStatus, now_millis};

/// Start a reaper daemon on the fixture's store, its output going to `log`.
fn start_reaper(f: &Fixture, log: &Path) -> Child {
    Command::new(bin())
        .arg("--store")
        .arg(f.store_path())
        .arg("--catalog")
        .arg(repo().join("challenges"))
        .args(["reap", "--watch"])
        .stdout(std::fs::File::create(log).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn stop_reaper(mut reaper: Child) {
    let _ = reaper.kill();
    let _ = reaper.wait();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reaper_stops_an_instance_that_expires_while_no_console_runs() {
    let f = Fixture::new().await;
    let rec = f
        .lifecycle
        .spawn("nc-calc", &"team:late".parse().unwrap())
        .await
        .unwrap()
        .instance;
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
    stop_reaper(reaper);
    assert_eq!(row.status, InstanceStatus::Stopped);
    assert_eq!(row.stop_reason.as_deref(), Some("expired"));
    assert!(row.stopped_at.unwrap() >= expires, "not before expiry");
    assert_eq!(f.leftovers().await, (0, 0));
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains(&format!("reaped {}", rec.id)), "{log}");
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
        stop_reaper(reaper);
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
