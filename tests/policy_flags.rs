#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Dynamic flags, "whose flag" and the audit trail.

mod common;

use std::process::Command;

use common::{Fixture, bin, repo};
use ctfdeck::domain::{FlagOwner, flags};
use ctfdeck::engine::Engine;
use futures_util::StreamExt;

#[tokio::test(flavor = "multi_thread")]
async fn flags_are_unique_reproducible_and_never_in_logs_or_audit() {
    let f = Fixture::new().await;
    let mut flags_seen = Vec::new();
    let mut ids = Vec::new();
    for team in ["team:f1", "team:f2", "team:f3"] {
        let rec = f.spawn("web-cmdinject", team).await;
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
