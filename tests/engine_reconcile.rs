#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Reconcile after crashes: interrupted spawns, containers without rows, rows without
//! containers — all against the real engine.

mod common;

use common::Fixture;
use ctfdeck::domain::plan::{PlanInput, plan_for};
use ctfdeck::store::{InstanceRecord, InstanceStatus, now_millis};

/// What a spawning process leaves when it is killed after creating the engine objects but
/// before completing the row: a `starting` row, a network, a created (maybe started) container.
async fn half_spawn(f: &Fixture, id: &str, start: bool) -> String {
    let catalog_challenge = f.lifecycle.catalog().get("web-robots").unwrap().clone();
    let now = now_millis();
    let rec = InstanceRecord {
        id: id.to_string(),
        challenge: "web-robots".into(),
        owner: "team:crash".into(),
        status: InstanceStatus::Starting,
        container_id: None,
        network_id: None,
        ports: vec![],
        flag: f.lifecycle.flag_for(&catalog_challenge, id),
        created_at: now,
        expires_at: now + 60_000,
        stopped_at: None,
        renewals: 0,
        max_renewals: 3,
        max_total_at: now + 600_000,
        stop_reason: None,
        updated_at: now,
    };
    f.lifecycle.store().insert_instance(&rec).unwrap();
    let plan = plan_for(
        &catalog_challenge,
        f.lifecycle.policy(),
        PlanInput {
            instance_id: id,
            owner: "team:crash",
            store_id: f.lifecycle.store_id(),
            expires_at: rec.expires_at,
            env: vec![("FLAG".into(), rec.flag.clone().unwrap())],
        },
    )
    .unwrap();
    f.engine
        .create_network(&plan.network, &plan.labels)
        .await
        .unwrap();
    let cid = f.engine.create_container(&plan).await.unwrap();
    if start {
        f.engine.start_container(&cid).await.unwrap();
    }
    cid
}

/// Make a row look older than the spawn grace period.
fn age(f: &Fixture, id: &str) {
    let old = now_millis() - 10 * 60_000;
    let conn = rusqlite::Connection::open(f.store_path()).unwrap();
    conn.execute(
        "UPDATE instances SET updated_at = ?2 WHERE id = ?1",
        rusqlite::params![id, old],
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_spawn_is_repaired_by_reconcile() {
    let f = Fixture::new().await;
    // Killed after start: the container runs, so it is adopted.
    half_spawn(&f, "crash2", true).await;
    // Killed between create and start: cleaned up, row failed.
    half_spawn(&f, "crash3", false).await;
    // A fresh starting row may be another process's spawn in progress: left alone.
    let report = f.lifecycle.reconcile().await.unwrap();
    assert!(report.repaired.is_empty(), "{report:?}");

    age(&f, "crash2");
    age(&f, "crash3");
    let report = f.lifecycle.reconcile().await.unwrap();
    assert_eq!(report.repaired.len(), 2, "{report:?}");
    let adopted = f.lifecycle.store().instance("crash2").unwrap().unwrap();
    assert_eq!(adopted.status, InstanceStatus::Running);
    assert_eq!(adopted.ports.len(), 1, "ports recovered from the engine");
    assert_eq!(adopted.ports[0].protocol, "http");
    let failed = f.lifecycle.store().instance("crash3").unwrap().unwrap();
    assert_eq!(failed.status, InstanceStatus::Failed);
    assert_eq!(failed.stop_reason.as_deref(), Some("spawn interrupted"));
    assert_eq!(
        f.leftovers().await,
        (1, 1),
        "only the adopted instance remains"
    );

    f.lifecycle.stop("crash2", "test").await.unwrap();
    assert_eq!(f.leftovers().await, (0, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn containers_without_rows_are_adopted_and_rows_without_containers_are_lost() {
    let f = Fixture::new().await;
    let a = f.spawn("web-robots", "team:a").await;
    let b = f.spawn("nc-calc", "team:b").await;

    // Someone removes B's container by hand; A's row vanishes from the store.
    f.engine
        .remove_container(b.container_id.as_deref().unwrap())
        .await
        .unwrap();
    let conn = rusqlite::Connection::open(f.store_path()).unwrap();
    conn.execute("DELETE FROM instances WHERE id = ?1", [&a.id])
        .unwrap();

    let report = f.lifecycle.reconcile().await.unwrap();
    assert_eq!(report.lost, vec![b.id.clone()]);
    assert_eq!(report.adopted, vec![a.id.clone()]);
    let lost = f.lifecycle.store().instance(&b.id).unwrap().unwrap();
    assert_eq!(lost.status, InstanceStatus::Lost);
    let adopted = f.lifecycle.store().instance(&a.id).unwrap().unwrap();
    assert_eq!(adopted.status, InstanceStatus::Running);
    assert_eq!(adopted.owner, "team:a");
    assert_eq!(
        adopted.expires_at, a.expires_at,
        "expiry rebuilt from the label"
    );
    assert_eq!(
        adopted.flag, a.flag,
        "flag re-derived from the store secret"
    );
    // B's network went with it.
    assert_eq!(f.leftovers().await, (1, 1));

    // A second reconcile has nothing to do.
    assert!(f.lifecycle.reconcile().await.unwrap().is_empty());
    f.lifecycle.stop(&a.id, "test").await.unwrap();
    assert_eq!(f.leftovers().await, (0, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn another_stores_instances_are_never_touched() {
    let mine = Fixture::new().await;
    let theirs = Fixture::new().await;
    let rec = theirs.spawn("web-robots", "team:other").await;
    let report = mine.lifecycle.reconcile().await.unwrap();
    assert!(report.is_empty(), "{report:?}");
    assert_eq!(theirs.leftovers().await, (1, 1));
    theirs.lifecycle.stop(&rec.id, "test").await.unwrap();
}
