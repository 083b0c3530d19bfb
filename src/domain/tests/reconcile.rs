//! Reconcile: the engine is the truth for what runs, the store for who owns it until when.

use std::collections::BTreeMap;

use super::Deck;
use crate::engine::{Engine, labels};
use crate::store::{InstanceStatus, now_millis};

fn instance_labels(instance: &str, store: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (labels::MANAGED.to_string(), "true".to_string()),
        (labels::STORE.to_string(), store.to_string()),
        (labels::INSTANCE.to_string(), instance.to_string()),
        (labels::CHALLENGE.to_string(), "web".to_string()),
        (labels::OWNER.to_string(), "team:a".to_string()),
        (
            labels::EXPIRES.to_string(),
            (now_millis() + 600_000).to_string(),
        ),
    ])
}

#[tokio::test]
async fn a_row_whose_container_vanished_is_lost_and_its_network_released() {
    let d = Deck::new();
    let rec = d.spawn("web", "team:a").await;
    let keep = d.spawn("pwn", "team:a").await;
    d.engine
        .remove_container(rec.container_id.as_deref().unwrap())
        .await
        .unwrap();
    let report = d.lifecycle.reconcile().await.unwrap();
    assert_eq!(report.lost, [rec.id.as_str()]);
    let row = d.row(&rec.id);
    assert_eq!(row.status, InstanceStatus::Lost);
    assert_eq!(d.row(&keep.id).status, InstanceStatus::Running);
    assert_eq!(
        d.engine_objects(),
        (1, 1),
        "only the other instance is left"
    );
    assert_eq!(d.audit("reconcile").len(), 1);
    // Nothing left to do the second time.
    assert!(d.lifecycle.reconcile().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_running_container_without_a_row_is_adopted_from_its_labels() {
    let d = Deck::new();
    let store = d.lifecycle.store_id().to_string();
    d.engine.insert_container(
        "ctfdeck-web-abc234",
        instance_labels("abc234", &store),
        now_millis() / 1000,
    );
    let report = d.lifecycle.reconcile().await.unwrap();
    assert_eq!(report.adopted, ["abc234"]);
    let row = d.row("abc234");
    assert_eq!(row.status, InstanceStatus::Running);
    assert_eq!(
        (row.challenge.as_str(), row.owner.as_str()),
        ("web", "team:a")
    );
    let web = d.lifecycle.catalog().get("web").unwrap();
    assert_eq!(
        row.flag,
        d.lifecycle.flag_for(web, "abc234"),
        "its flag is derived again"
    );
}

#[tokio::test]
async fn containers_nobody_can_own_are_removed_and_other_stores_are_left_alone() {
    let d = Deck::new();
    let store = d.lifecycle.store_id().to_string();
    // Labels too thin to rebuild a row from.
    let mut thin = instance_labels("def567", &store);
    thin.remove(labels::OWNER);
    d.engine.insert_container("ctfdeck-web-def567", thin, 0);
    // Another store's instance on the same engine.
    d.engine.insert_container(
        "ctfdeck-web-ghi789",
        instance_labels("ghi789", "another-store"),
        0,
    );
    let report = d.lifecycle.reconcile().await.unwrap();
    assert_eq!(report.removed, ["ctfdeck-web-def567"]);
    assert!(report.adopted.is_empty());
    let left: Vec<String> = d
        .engine
        .containers()
        .into_values()
        .map(|c| c.managed.name)
        .collect();
    assert_eq!(left, ["ctfdeck-web-ghi789"]);
}

#[tokio::test]
async fn a_network_left_behind_by_a_finished_instance_is_removed() {
    let d = Deck::new();
    let rec = d.spawn("web", "team:a").await;
    // A crash after the halt and container removal, before the network went.
    let mut halted = d.lifecycle.halt_many(vec![rec.clone()], "test").await;
    let Some((_, Ok(crate::domain::Halt::Halted(leftover)))) = halted.pop() else {
        panic!("not halted");
    };
    d.lifecycle.remove_frozen(&leftover).await.unwrap();
    assert_eq!(d.engine_objects(), (0, 1));
    let report = d.lifecycle.reconcile().await.unwrap();
    assert_eq!(report.removed, [format!("ctfdeck-{}", rec.id)]);
    assert_eq!(d.engine_objects(), (0, 0));
}

#[tokio::test]
async fn an_unreachable_engine_fails_reconcile_and_changes_no_row() {
    let d = Deck::new();
    let rec = d.spawn("web", "team:a").await;
    d.engine.set_unreachable(true);
    let e = d.lifecycle.reconcile().await.unwrap_err();
    assert!(e.is_unreachable(), "{e}");
    assert_eq!(d.row(&rec.id).status, InstanceStatus::Running);
}
