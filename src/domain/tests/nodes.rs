//! Draining a Swarm node and letting it take instances again: admins only, audited either way,
//! whoever asks (the CLI's `node drain`, the console's key).

use super::Deck;
use crate::domain::DomainError;
use crate::domain::nodes::{ACTIVATE_ACTION, DRAIN_ACTION};
use crate::engine::SwarmNode;

fn node(host: &str, address: &str) -> SwarmNode {
    SwarmNode::ready_for_tests(host, address)
}

fn swarm_deck() -> Deck {
    let d = Deck::new();
    d.engine.set_nodes(vec![
        node("node-1", "10.99.0.2"),
        node("node-2", "10.99.0.3"),
    ]);
    d
}

fn availability(d: &Deck, host: &str) -> String {
    d.engine
        .nodes()
        .into_iter()
        .find(|n| n.hostname == host)
        .map(|n| n.availability)
        .unwrap_or_default()
}

#[tokio::test]
async fn an_admin_drains_then_activates_a_node_and_both_are_audited() {
    let d = swarm_deck();
    let drained = d.lifecycle.set_node_taking("node-2", false).await.unwrap();
    assert_eq!(drained.availability, "pause");
    assert_eq!(availability(&d, "node-2"), "pause");
    assert_eq!(availability(&d, "node-1"), "active", "only the one named");
    let activated = d.lifecycle.set_node_taking("node-2", true).await.unwrap();
    assert_eq!(activated.availability, "active");
    let drains = d.audit(DRAIN_ACTION);
    let activations = d.audit(ACTIVATE_ACTION);
    assert_eq!(drains.len(), 1);
    assert_eq!(activations.len(), 1);
    assert_eq!(
        (drains[0].detail.as_str(), drains[0].outcome.as_str()),
        ("node-2", "ok")
    );
    assert_eq!(drains[0].actor, "tester");
}

#[tokio::test]
async fn a_monitor_is_refused_and_the_node_keeps_taking_instances() {
    let d = swarm_deck();
    let e = d
        .monitor()
        .set_node_taking("node-1", false)
        .await
        .unwrap_err();
    assert!(matches!(e, DomainError::NotAllowed { .. }), "{e}");
    assert_eq!(availability(&d, "node-1"), "active");
    assert!(d.audit(DRAIN_ACTION).is_empty(), "nothing was done");
}

#[tokio::test]
async fn an_unknown_node_fails_and_the_failure_is_audited() {
    let d = swarm_deck();
    let e = d
        .lifecycle
        .set_node_taking("node-9", false)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("node-9"), "{e}");
    let drains = d.audit(DRAIN_ACTION);
    assert_eq!(drains.len(), 1);
    assert_eq!(drains[0].outcome, "failed");
}
