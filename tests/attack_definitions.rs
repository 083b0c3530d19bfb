#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Definitions asking for a privileged container, a host bind mount or SYS_ADMIN are refused
//! twice: by `catalog check`, and again at spawn when a definition reaches the lifecycle without
//! passing the check. The refused spawn leaves nothing on the engine.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use common::{bin, repo};
use ctfdeck::catalog::{Catalog, Challenge};
use ctfdeck::config::Config;
use ctfdeck::domain::{Actor, DomainError, Lifecycle};
use ctfdeck::engine::Engine;
use ctfdeck::store::{InstanceFilter, InstanceStatus, Store};

/// (fixture folder, what the refusal must say)
const DANGEROUS: &[(&str, &str)] = &[
    (
        "privileged",
        "security.privileged is refused: a privileged container has every capability",
    ),
    (
        "bind-mount",
        "security.volumes \"/etc/passwd:/etc/passwd:ro\" is refused: bind mounts expose host paths",
    ),
    (
        "cap-not-allowed",
        "capability \"SYS_ADMIN\" is refused: it is nearly root on the host",
    ),
];

fn fixture(case: &str) -> PathBuf {
    repo().join("tests/fixtures/catalog").join(case)
}

#[test]
fn catalog_check_refuses_them_with_the_reason() {
    for (case, reason) in DANGEROUS {
        let out = Command::new(bin())
            .args(["catalog", "check"])
            .arg(fixture(case))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{case}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains(reason), "{case}: {stdout}");
        assert!(
            stdout.contains("challenge.json:"),
            "{case}: reported at a position: {stdout}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn spawn_refuses_them_even_without_the_catalog_check() {
    common::ensure_images();
    let dir = tempfile::tempdir().unwrap();
    // Read the definitions straight into the lifecycle's catalog, skipping the check, and point
    // them at an image that exists: were the spawn to go ahead, it would really run.
    let challenges: Vec<Challenge> = DANGEROUS
        .iter()
        .map(|(case, _)| {
            let text = std::fs::read_to_string(fixture(case).join("challenge.json")).unwrap();
            let mut ch: Challenge = serde_json::from_str(&text).unwrap();
            ch.container.image = "ctfdeck/web-robots:latest".into();
            ch.dir = fixture(case);
            ch
        })
        .collect();
    let engine = common::engine().await;
    let lifecycle = Lifecycle::new(
        Arc::new(engine.clone()) as Arc<dyn Engine>,
        Store::open(&dir.path().join("ctfdeck.db")).unwrap(),
        Arc::new(Catalog {
            root: dir.path().to_path_buf(),
            challenges,
        }),
        {
            let mut policy = Config::default().policy();
            policy.container.bind_address = "127.0.0.1".into();
            policy
        },
        Actor::admin("attacker"),
    )
    .unwrap();

    for (case, reason) in DANGEROUS {
        let err = lifecycle
            .spawn(case, &"team:x".parse().unwrap())
            .await
            .expect_err(case);
        assert!(
            matches!(err, DomainError::Unspawnable { .. }),
            "{case}: {err}"
        );
        assert!(err.to_string().contains(reason), "{case}: {err}");
    }
    let rows = lifecycle
        .store()
        .list_instances(&InstanceFilter {
            all: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(rows.len(), DANGEROUS.len());
    assert!(rows.iter().all(|r| r.status == InstanceStatus::Failed));
    assert!(rows.iter().all(|r| r.container_id.is_none()));
    let store = lifecycle.store_id();
    assert!(engine.managed_containers(store).await.unwrap().is_empty());
    assert!(engine.managed_networks(store).await.unwrap().is_empty());
}

#[test]
fn the_cli_cannot_spawn_them() {
    let dir = tempfile::tempdir().unwrap();
    for (case, _) in DANGEROUS {
        let out = Command::new(bin())
            .arg("--store")
            .arg(dir.path().join("s.db"))
            .arg("--catalog")
            .arg(fixture(case))
            .args(["spawn", case, "--owner", "team:x"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{case}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("unknown challenge"), "{case}: {stderr}");
    }
}
