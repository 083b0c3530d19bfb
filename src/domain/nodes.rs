//! The nodes of an engine that spreads instances over several (a Swarm): each with how many
//! live instances it runs, and kept from taking new ones (or let back) by an admin, audited.

use crate::engine::SwarmNode;
use crate::store::{InstanceFilter, InstanceRecord};

use super::{DomainError, Lifecycle};

/// Audit action of keeping a node from taking new instances.
pub const DRAIN_ACTION: &str = "node-drain";
/// Audit action of letting it take them again.
pub const ACTIVATE_ACTION: &str = "node-activate";

/// A node and the live instances it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeView {
    pub node: SwarmNode,
    pub instances: usize,
}

impl NodeView {
    /// `0.5/2`: CPUs ctfdeck's instances reserve here, of those the node offers the
    /// scheduler (`-` when it did not say).
    pub fn cpus(&self) -> String {
        let text = |nano: i64| {
            let s = format!("{:.2}", nano as f64 / 1e9);
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        };
        let (reserved, of) = (self.node.reserved.nano_cpus, self.node.reservable.nano_cpus);
        let of = if of > 0 { text(of) } else { "-".to_string() };
        format!("{}/{of}", text(reserved))
    }

    /// `256.0M/1.9G`, as [`NodeView::cpus`].
    pub fn memory(&self) -> String {
        let text = |b: i64| match u64::try_from(b).unwrap_or(0) {
            0 => "0".to_string(),
            b => super::view::bytes(b),
        };
        let (reserved, of) = (
            self.node.reserved.memory_bytes,
            self.node.reservable.memory_bytes,
        );
        let of = if of > 0 { text(of) } else { "-".to_string() };
        format!("{}/{of}", text(reserved))
    }
}

/// Each node with the live instances published on its address (an instance's address is its
/// node's on a Swarm).
pub fn with_instances(nodes: Vec<SwarmNode>, live: &[InstanceRecord]) -> Vec<NodeView> {
    nodes
        .into_iter()
        .map(|node| {
            let instances = live
                .iter()
                .filter(|r| r.ports.first().is_some_and(|p| p.host_ip == node.address))
                .count();
            NodeView { node, instances }
        })
        .collect()
}

impl Lifecycle {
    /// The engine's nodes (none on a single-host engine), with their live instances.
    pub async fn nodes(&self) -> Result<Vec<NodeView>, DomainError> {
        let nodes = self.engine.cluster_nodes().await?;
        if nodes.is_empty() {
            return Ok(Vec::new());
        }
        let live = self.store.list_instances(&InstanceFilter::default())?;
        Ok(with_instances(nodes, &live))
    }

    /// Keep node `name` from taking new instances (`take` false; those it runs stay until
    /// they end) or let it take them again. Admin only; audited either way.
    pub async fn set_node_taking(&self, name: &str, take: bool) -> Result<SwarmNode, DomainError> {
        let action = if take { ACTIVATE_ACTION } else { DRAIN_ACTION };
        self.require_admin(action)?;
        match self.engine.set_node_taking(name, take).await {
            Ok(node) => {
                self.audit(action, None, name, "ok");
                Ok(node)
            }
            Err(e) => {
                self.audit(action, None, &format!("{name}: {e}"), "failed");
                Err(e.into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shared::PublishedPort;

    fn node(host: &str, address: &str) -> SwarmNode {
        SwarmNode::ready_for_tests(host, address)
    }

    #[test]
    fn reserved_and_reservable_read_as_cpus_and_bytes() {
        let mut view = NodeView {
            node: node("n1", "10.0.0.1"),
            instances: 3,
        };
        view.node.reserved = crate::engine::NodeResources {
            nano_cpus: 1_250_000_000,
            memory_bytes: 384 << 20,
        };
        view.node.reservable = crate::engine::NodeResources {
            nano_cpus: 8_000_000_000,
            memory_bytes: 16 << 30,
        };
        assert_eq!(view.cpus(), "1.25/8");
        assert_eq!(view.memory(), "384.0M/16.0G");
        view.node.reserved = Default::default();
        view.node.reservable = Default::default();
        assert_eq!(view.cpus(), "0/-");
        assert_eq!(view.memory(), "0/-");
    }

    fn on(address: &str) -> InstanceRecord {
        InstanceRecord {
            id: "abc234".into(),
            challenge: "web".into(),
            owner: "team:red".into(),
            status: crate::store::InstanceStatus::Running,
            container_id: None,
            network_id: None,
            ports: vec![PublishedPort {
                container: 8080,
                host_ip: address.into(),
                host_port: 30000,
                protocol: "http".into(),
            }],
            flag: None,
            created_at: 0,
            expires_at: 0,
            stopped_at: None,
            renewals: 0,
            max_renewals: 0,
            max_total_at: 0,
            stop_reason: None,
            updated_at: 0,
        }
    }

    #[test]
    fn each_node_counts_the_instances_on_its_address() {
        let live = [on("10.0.0.2"), on("10.0.0.2"), on("10.0.0.3")];
        let views = with_instances(
            vec![
                node("a", "10.0.0.2"),
                node("b", "10.0.0.3"),
                node("c", "10.0.0.4"),
            ],
            &live,
        );
        let counts: Vec<(&str, usize)> = views
            .iter()
            .map(|v| (v.node.hostname.as_str(), v.instances))
            .collect();
        assert_eq!(counts, [("a", 2), ("b", 1), ("c", 0)]);
    }
}
