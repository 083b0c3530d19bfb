//! `node ls|drain|activate`: the nodes of a Swarm, and keeping one from taking new instances.
//! The domain keeps the rules (admins only, audited); this only prints.

use color_eyre::eyre::Result;
use serde::Serialize;

use crate::cli::context::Context;
use crate::cli::output::{print_json, table};

#[derive(Serialize)]
struct NodeJson {
    hostname: String,
    id: String,
    address: String,
    state: String,
    availability: String,
    manager: bool,
    instances: usize,
}

pub async fn list(ctx: &Context, json: bool) -> Result<()> {
    let lifecycle = ctx.lifecycle().await?;
    let rows: Vec<NodeJson> = lifecycle
        .nodes()
        .await?
        .into_iter()
        .map(|v| NodeJson {
            hostname: v.node.hostname,
            id: v.node.id,
            address: v.node.address,
            state: v.node.state,
            availability: v.node.availability,
            manager: v.node.manager,
            instances: v.instances,
        })
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
                "INSTANCES"
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
