#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Dynamic flags, "whose flag", the audit trail and the reaper daemon.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Fixture, bin, repo};
use ctfdeck::domain::{FlagOwner, flags};
use ctfdeck::engine::Engine;
use ctfdeck::store::{InstanceStatus, now_millis};
use futures_util::StreamExt;

#[tokio::test(flavor = "multi_thread")]
async fn flags_are_unique_reproducible_and_never_in_logs_or_audit() {
    let f = Fixture::new().await;
    let mut flags_seen = Vec::new();
    let mut ids = Vec::new();
    for team in ["team:f1", "team:f2", "team:f3"] {
        let rec = f
            .lifecycle
            .spawn("web-cmdinject", &team.parse().unwrap())
            .await
            .unwrap()
            .instance;
        let flag = rec.flag.clone().unwrap();
        assert!(flag.starts_with("flag{") && flag.len() == 22, "{flag}");
        // Reproducible from the store's secret and the instance id.
        let secret = f.lifecycle.store().setting("flag_secret").unwrap().unwrap();
        assert_eq!(
            flags::render("flag{<hex:16>}", secret.as_bytes(), &rec.id),
            flag
        );
        // The instance really holds it (through the challenge's own bug).
        let port = rec.ports[0].host_port;
        let out = Command::new(repo().join("challenges/web-cmdinject/solve.sh"))
            .args(["--connection-info", &format!("http://127.0.0.1:{port}")])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), flag);
        flags_seen.push(flag);
        ids.push((rec.id.clone(), rec.container_id.clone().unwrap()));
    }
    flags_seen.sort();
    flags_seen.dedup();
    assert_eq!(flags_seen.len(), 3, "unique per instance");

    for (id, container) in &ids {
        let logs: Vec<String> = f
            .engine
            .logs(container, false, None)
            .map(|l| l.unwrap())
            .collect()
            .await;
        for flag in &flags_seen {
            assert!(
                !logs.concat().contains(flag.as_str()),
                "flag in logs of {id}"
            );
        }
    }
    f.lifecycle.stop(&ids[0].0, "test").await.unwrap();
    let audit = f.lifecycle.store().audit_tail(1000).unwrap();
    let text = format!("{audit:?}");
    for flag in &flags_seen {
        assert!(!text.contains(flag.as_str()), "flag in the audit");
    }

    // whose: the stopped one and a live one.
    let stopped_flag = f
        .lifecycle
        .store()
        .instance(&ids[0].0)
        .unwrap()
        .unwrap()
        .flag
        .unwrap();
    let found = f
        .lifecycle
        .whose_flag(&format!(" {stopped_flag}\n"))
        .unwrap();
    match found.as_slice() {
        [FlagOwner::Instance(i)] => {
            assert_eq!(i.id, ids[0].0);
            assert_eq!(i.owner, "team:f1");
            assert_eq!(i.status, "stopped");
        }
        other => panic!("{other:?}"),
    }
    let live_flag = f
        .lifecycle
        .store()
        .instance(&ids[2].0)
        .unwrap()
        .unwrap()
        .flag
        .unwrap();
    let out = Command::new(bin())
        .arg("--store")
        .arg(f.store_path())
        .arg("--catalog")
        .arg(repo().join("challenges"))
        .args(["flag", "whose", &live_flag, "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["kind"], "instance");
    assert_eq!(v[0]["owner"], "team:f3");
    assert!(
        f.lifecycle
            .whose_flag("flag{0000000000000000}")
            .unwrap()
            .is_empty()
    );
    f.cleanup().await;
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
    let mut reaper = Command::new(bin())
        .arg("--store")
        .arg(f.store_path())
        .arg("--catalog")
        .arg(repo().join("challenges"))
        .args(["reap", "--watch"])
        .stdout(std::fs::File::create(f.dir.path().join("reaper.log")).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
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
    let log_path = f.dir.path().join("reaper.log");
    while !std::fs::read_to_string(&log_path)
        .unwrap()
        .contains(&format!("cleared {}", rec.id))
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = reaper.kill();
    let _ = reaper.wait();
    assert_eq!(row.status, InstanceStatus::Stopped);
    assert_eq!(row.stop_reason.as_deref(), Some("expired"));
    assert!(row.stopped_at.unwrap() >= expires, "not before expiry");
    assert_eq!(f.leftovers().await, (0, 0));
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains(&format!("reaped {}", rec.id)), "{log}");
    assert!(log.contains(&format!("cleared {}", rec.id)), "{log}");
}
