//! The Swarm's nodes: where each is reached, and whether it takes instances.

use bollard::Docker;
use bollard::models::{Node, NodeSpecAvailabilityEnum, NodeState};

use super::SwarmSettings;
use crate::engine::EngineError;

/// One node as ctfdeck shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwarmNode {
    pub id: String,
    pub hostname: String,
    /// Where teams reach the node's instances: `[swarm.nodes.<hostname>] public_host`, else
    /// the address the node joined the Swarm with.
    pub address: String,
    /// `ready`, `down`, `unknown`, `disconnected`.
    pub state: String,
    /// `active`, `pause`, `drain`.
    pub availability: String,
    pub manager: bool,
    /// The node's engine API version.
    pub engine_version: String,
}

impl SwarmNode {
    /// New instances can be placed here.
    pub fn takes_instances(&self) -> bool {
        self.state == "ready" && self.availability == "active"
    }
}

pub async fn list(
    client: &Docker,
    settings: &SwarmSettings,
) -> Result<Vec<SwarmNode>, EngineError> {
    let nodes = client
        .list_nodes(None::<bollard::query_parameters::ListNodesOptions>)
        .await
        .map_err(EngineError::api("listing Swarm nodes"))?;
    let mut out: Vec<SwarmNode> = nodes.iter().map(|n| describe(n, settings)).collect();
    out.sort_by(|a, b| a.hostname.cmp(&b.hostname));
    Ok(out)
}

fn describe(node: &Node, settings: &SwarmSettings) -> SwarmNode {
    let hostname = node
        .description
        .as_ref()
        .and_then(|d| d.hostname.clone())
        .unwrap_or_default();
    let status = node.status.as_ref();
    let joined = status.and_then(|s| s.addr.clone()).unwrap_or_default();
    let address = settings
        .nodes
        .get(&hostname)
        .and_then(|n| n.public_host.clone())
        .unwrap_or(joined);
    SwarmNode {
        id: node.id.clone().unwrap_or_default(),
        address,
        state: status
            .and_then(|s| s.state)
            .map_or("unknown", |s| match s {
                NodeState::READY => "ready",
                NodeState::DOWN => "down",
                NodeState::DISCONNECTED => "disconnected",
                NodeState::UNKNOWN => "unknown",
            })
            .to_string(),
        availability: node
            .spec
            .as_ref()
            .and_then(|s| s.availability)
            .map_or("active", |a| match a {
                NodeSpecAvailabilityEnum::ACTIVE => "active",
                NodeSpecAvailabilityEnum::PAUSE => "pause",
                NodeSpecAvailabilityEnum::DRAIN => "drain",
                NodeSpecAvailabilityEnum::EMPTY => "active",
            })
            .to_string(),
        manager: node.manager_status.is_some(),
        engine_version: node
            .description
            .as_ref()
            .and_then(|d| d.engine.as_ref())
            .and_then(|e| e.engine_version.clone())
            .unwrap_or_default(),
        hostname,
    }
}

/// Let `name` (a hostname or node id) take new instances, or not. Not taking them is Swarm's
/// `pause`, never its `drain`: a drain moves the node's running tasks to other nodes, on ports
/// and addresses the teams were never given.
pub async fn set_taking(
    client: &Docker,
    settings: &SwarmSettings,
    name: &str,
    take: bool,
) -> Result<SwarmNode, EngineError> {
    let all = client
        .list_nodes(None::<bollard::query_parameters::ListNodesOptions>)
        .await
        .map_err(EngineError::api("listing Swarm nodes"))?;
    let node = all
        .iter()
        .find(|n| {
            n.id.as_deref() == Some(name)
                || n.description.as_ref().and_then(|d| d.hostname.as_deref()) == Some(name)
        })
        .ok_or_else(|| EngineError::Unexpected(format!("the Swarm has no node {name}")))?;
    let id = node.id.clone().unwrap_or_default();
    let version = node
        .version
        .as_ref()
        .and_then(|v| v.index)
        .unwrap_or_default();
    let mut spec = node.spec.clone().unwrap_or_default();
    spec.availability = Some(if take {
        NodeSpecAvailabilityEnum::ACTIVE
    } else {
        NodeSpecAvailabilityEnum::PAUSE
    });
    let options = bollard::query_parameters::UpdateNodeOptionsBuilder::new()
        .version(i64::try_from(version).unwrap_or(i64::MAX))
        .build();
    client
        .update_node(&id, spec.clone(), options)
        .await
        .map_err(EngineError::api(format!("updating node {name}")))?;
    let mut updated = node.clone();
    updated.spec = Some(spec);
    Ok(describe(&updated, settings))
}
