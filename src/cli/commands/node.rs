//! `node ls|drain|activate`: the nodes of a Swarm, and keeping one from taking new instances.
//! The domain keeps the rules (admins only, audited); this only prints.

use color_eyre::eyre::Result;
use serde::Serialize;

use crate::cli::context::Context;
use crate::cli::output::{print_json, table};
use crate::domain::nodes::NodeView;

#[derive(Serialize)]
struct NodeJson {
    hostname: String,
    id: String,
    address: String,
    state: String,
    availability: String,
    manager: bool,
    instances: usize,
    /// What ctfdeck's instances reserve on the node, of what it offers the scheduler.
    cpus_reserved: f64,
    cpus_reservable: f64,
    memory_reserved_bytes: i64,
    memory_reservable_bytes: i64,
    /// `1.25/8` and `384.0M/16.0G`, as the table shows them.
    #[serde(skip)]
    cpus: String,
    #[serde(skip)]
    memory: String,
}

impl From<NodeView> for NodeJson {
    fn from(v: NodeView) -> NodeJson {
        NodeJson {
            cpus: v.cpus(),
            memory: v.memory(),
            cpus_reserved: v.node.reserved.nano_cpus as f64 / 1e9,
            cpus_reservable: v.node.reservable.nano_cpus as f64 / 1e9,
            memory_reserved_bytes: v.node.reserved.memory_bytes,
            memory_reservable_bytes: v.node.reservable.memory_bytes,
            hostname: v.node.hostname,
            id: v.node.id,
            address: v.node.address,
            state: v.node.state,
            availability: v.node.availability,
            manager: v.node.manager,
            instances: v.instances,
        }
    }
}

pub async fn list(ctx: &Context, json: bool) -> Result<()> {
    let lifecycle = ctx.lifecycle().await?;
    let rows: Vec<NodeJson> = lifecycle
        .nodes()
        .await?
        .into_iter()
        .map(NodeJson::from)
        .collect();
    if json {
        return print_json(&rows);
    }
    if rows.is_empty() {
        eprintln!(
            "no nodes: the engine runs everything on one host ([engine] kind = \"swarm\" has nodes)"
        );
        return Ok(());
    }
    let cells: Vec<Vec<String>> = rows
        .into_iter()
        .map(|n| {
            vec![
                n.hostname,
                n.address,
                n.state,
                n.availability,
                if n.manager { "manager" } else { "worker" }.to_string(),
                n.instances.to_string(),
                n.cpus,
                n.memory,
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &[
                "NODE",
                "ADDRESS",
                "STATE",
                "AVAILABILITY",
                "ROLE",
                "INSTANCES",
                "CPU RESERVED",
                "MEM RESERVED"
            ],
            &cells
        )
    );
    Ok(())
}

/// `take` false: drain (no new instances; the running ones stay), true: activate.
pub async fn set_taking(ctx: &Context, name: &str, take: bool) -> Result<()> {
    let what = if take { "node activate" } else { "node drain" };
    ctx.require_write(what)?;
    let lifecycle = ctx.lifecycle().await?;
    let node = lifecycle.set_node_taking(name, take).await?;
    if take {
        println!(
            "{}: takes new instances ({})",
            node.hostname, node.availability
        );
    } else {
        println!(
            "{}: takes no new instances ({}); the ones it runs stay until they end",
            node.hostname, node.availability
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{NodeResources, SwarmNode};

    #[test]
    fn a_node_lists_what_its_instances_reserve_of_what_it_offers() {
        let view = NodeView {
            node: SwarmNode {
                hostname: "node-1".into(),
                state: "ready".into(),
                availability: "active".into(),
                reserved: NodeResources {
                    nano_cpus: 500_000_000,
                    memory_bytes: 128 << 20,
                },
                reservable: NodeResources {
                    nano_cpus: 4_000_000_000,
                    memory_bytes: 8 << 30,
                },
                ..SwarmNode::default()
            },
            instances: 2,
        };
        let row = NodeJson::from(view);
        assert_eq!(
            (row.cpus.as_str(), row.memory.as_str()),
            ("0.5/4", "128.0M/8.0G")
        );
        let json = serde_json::to_value(&row).unwrap();
        assert_eq!(json["cpus_reserved"], 0.5);
        assert_eq!(json["cpus_reservable"], 4.0);
        assert_eq!(json["memory_reserved_bytes"], 128 << 20);
        assert_eq!(json["memory_reservable_bytes"], 8_i64 << 30);
        assert_eq!(json["instances"], 2);
        assert!(
            json.get("cpus").is_none(),
            "the table's text stays out of --json"
        );
    }
}
