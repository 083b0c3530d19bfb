//! A Swarm node going down, on the fake Swarm: its instances are `lost` (the default) or, with
//! `[swarm] on_node_down = "reschedule"`, placed again on a node that takes instances and kept
//! running there — once, whoever else reconciles — and `lost` after all when no node can.

use super::Deck;
use crate::domain::node_down::{NODE_DOWN_REASON, RESCHEDULE_ACTION};
use crate::engine::SwarmNode;
use crate::engine::fake::FakeEngine;
use crate::engine::swarm::OnNodeDown;
use crate::store::InstanceStatus;

fn node(host: &str, address: &str, availability: &str) -> SwarmNode {
    SwarmNode {
        id: format!("id-{host}"),
        hostname: host.into(),
        address: address.into(),
        state: "ready".into(),
        availability: availability.into(),
        ..Default::default()
    }
}

/// Two nodes; node-1 paused so that the first instance lands on node-2, then let take
/// instances again.
async fn deck_with_one_on_node_2(on_node_down: OnNodeDown) -> (Deck, String) {
    let engine = FakeEngine::swarm(vec![
        node("node-1", "10.99.0.2", "pause"),
        node("node-2", "10.99.0.3", "active"),
    ]);
    let d = Deck::on(engine, |p| p.on_node_down = on_node_down);
    let rec = d.spawn("web", "team:a").await;
    assert_eq!(rec.ports[0].host_ip, "10.99.0.3");
    d.lifecycle.set_node_taking("node-1", true).await.unwrap();
    (d, rec.id)
}

#[tokio::test]
async fn by_default_an_instance_on_a_node_that_goes_down_is_lost() {
    let (d, id) = deck_with_one_on_node_2(OnNodeDown::Lost).await;
    d.engine.node_down("node-2");
    let report = d.lifecycle.reconcile().await.unwrap();
    assert_eq!(report.lost, [id.as_str()]);
    assert!(report.rescheduled.is_empty());
    let row = d.row(&id);
    assert_eq!(row.status, InstanceStatus::Lost);
    assert_eq!(row.stop_reason.as_deref(), Some(NODE_DOWN_REASON));
    assert_eq!(
        d.engine_objects(),
        (0, 0),
        "its service and network are gone"
    );
}

#[tokio::test]
async fn rescheduled_it_keeps_running_on_the_other_node_with_its_flag() {
    let (d, id) = deck_with_one_on_node_2(OnNodeDown::Reschedule).await;
    let before = d.row(&id);
    d.engine.node_down("node-2");
    let report = d.lifecycle.reconcile().await.unwrap();
    assert_eq!(report.rescheduled, [id.as_str()]);
    assert!(report.lost.is_empty(), "{report:?}");
    let row = d.row(&id);
    assert_eq!(row.status, InstanceStatus::Running);
    assert_eq!(row.ports[0].host_ip, "10.99.0.2", "on node-1 now");
    assert_ne!(row.ports[0].host_port, before.ports[0].host_port);
    assert_eq!(
        row.ports[0].protocol, "http",
        "the challenge's protocol kept"
    );
    assert_eq!(
        (&row.flag, &row.container_id, row.expires_at, &row.owner),
        (
            &before.flag,
            &before.container_id,
            before.expires_at,
            &before.owner
        )
    );
    let audit = d.audit(RESCHEDULE_ACTION);
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].outcome, "ok");
    assert!(audit[0].detail.contains("10.99.0.2"), "{}", audit[0].detail);
    // A second reconcile (the console's, after the reaper's) has nothing left to do.
    let again = d.lifecycle.reconcile().await.unwrap();
    assert!(again.is_empty(), "{again:?}");
    assert_eq!(d.audit(RESCHEDULE_ACTION).len(), 1);
}

#[tokio::test]
async fn with_no_node_to_take_it_a_rescheduled_instance_is_lost_and_says_why() {
    let (d, id) = deck_with_one_on_node_2(OnNodeDown::Reschedule).await;
    d.lifecycle.set_node_taking("node-1", false).await.unwrap();
    d.engine.node_down("node-2");
    let report = d.lifecycle.reconcile().await.unwrap();
    assert_eq!(report.lost, [id.as_str()]);
    let row = d.row(&id);
    assert_eq!(row.status, InstanceStatus::Lost);
    let reason = row.stop_reason.unwrap_or_default();
    assert!(
        reason.starts_with(NODE_DOWN_REASON) && reason.contains("no other node could take it"),
        "{reason}"
    );
    assert_eq!(d.engine_objects(), (0, 0));
    let audit = d.audit(RESCHEDULE_ACTION);
    assert!(audit[0].outcome.starts_with("failed"), "{audit:?}");
}

#[tokio::test]
async fn a_second_process_leaves_a_claimed_reschedule_alone() {
    let (d, id) = deck_with_one_on_node_2(OnNodeDown::Reschedule).await;
    d.engine.node_down("node-2");
    // Another process claimed it a moment ago and is placing it.
    assert!(d.lifecycle.store().claim_reschedule(&id, None).unwrap());
    let report = d.lifecycle.reconcile().await.unwrap();
    assert!(report.is_empty(), "{report:?}");
    assert_eq!(d.row(&id).status, InstanceStatus::Starting);
    assert!(d.audit(RESCHEDULE_ACTION).is_empty());
}

#[tokio::test]
async fn a_monitor_only_reports_what_would_be_rescheduled() {
    let (d, id) = deck_with_one_on_node_2(OnNodeDown::Reschedule).await;
    d.engine.node_down("node-2");
    let report = d.monitor().reconcile().await.unwrap();
    assert!(report.pending);
    assert_eq!(report.rescheduled, [id.as_str()]);
    assert_eq!(d.row(&id).status, InstanceStatus::Running);
    assert_eq!(d.row(&id).ports[0].host_ip, "10.99.0.3");
}

#[tokio::test]
async fn an_instance_the_swarm_moved_by_itself_is_followed() {
    let (d, id) = deck_with_one_on_node_2(OnNodeDown::Reschedule).await;
    let service = d.row(&id).container_id.unwrap();
    d.engine.node_down("node-2");
    // The Swarm's own restart policy placed a task on node-1 before ctfdeck looked.
    d.engine.move_to(&service, "node-1");
    let report = d.lifecycle.reconcile().await.unwrap();
    assert_eq!(report.rescheduled, [id.as_str()]);
    let row = d.row(&id);
    assert_eq!(row.status, InstanceStatus::Running);
    assert_eq!(row.ports[0].host_ip, "10.99.0.2");
    assert_eq!(row.ports[0].protocol, "http");
}

#[tokio::test]
async fn a_task_the_swarm_restarted_on_a_new_port_is_followed_whatever_on_node_down_says() {
    let (d, id) = deck_with_one_on_node_2(OnNodeDown::Lost).await;
    let before = d.row(&id);
    let service = before.container_id.clone().unwrap();
    // Its task failed and the Swarm's restart policy started one on the same node, which
    // picked another port; every node is up.
    d.engine.move_to(&service, "node-2");
    let report = d.lifecycle.reconcile().await.unwrap();
    assert_eq!(report.rescheduled, [id.as_str()]);
    let row = d.row(&id);
    assert_eq!(row.status, InstanceStatus::Running);
    assert_eq!(row.ports[0].host_ip, "10.99.0.3");
    assert_ne!(row.ports[0].host_port, before.ports[0].host_port);
    let published = d.engine.containers()[&service].managed.ports.clone();
    assert_eq!(row.ports[0].host_port, published[0].host_port);
    assert_eq!(row.ports[0].protocol, before.ports[0].protocol);
    // Once followed, the next pass has nothing to do.
    assert!(d.lifecycle.reconcile().await.unwrap().is_empty());
}
