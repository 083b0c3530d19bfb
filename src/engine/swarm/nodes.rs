//! The Swarm's nodes: where each is reached, whether it takes instances, and how much of it
//! ctfdeck's instances have reserved.

use std::collections::HashMap;

use bollard::Docker;
use bollard::models::{Node, NodeSpecAvailabilityEnum, NodeState, Task, TaskState};
use bollard::query_parameters::ListTasksOptionsBuilder;

use super::SwarmSettings;
use crate::engine::{EngineError, labels};

/// CPU and memory, as the Swarm counts them for placement.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeResources {
    /// Billionths of a CPU.
    pub nano_cpus: i64,
    pub memory_bytes: i64,
}

/// One node as ctfdeck shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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
    /// What the node offers the scheduler to reserve (all its CPUs and memory).
    pub reservable: NodeResources,
    /// What ctfdeck's instances placed on it reserve. Only [`list_with_reservations`] counts
    /// it (one more call to the manager); zero from [`list`].
    pub reserved: NodeResources,
}

impl SwarmNode {
    /// A worker that is up and takes instances, for tests of what is built on nodes.
    #[cfg(test)]
    pub fn ready_for_tests(host: &str, address: &str) -> SwarmNode {
        SwarmNode {
            id: format!("id-{host}"),
            hostname: host.into(),
            address: address.into(),
            state: "ready".into(),
            availability: "active".into(),
            manager: false,
            engine_version: "20.10.24".into(),
            ..Default::default()
        }
    }

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

/// As [`list`], with what ctfdeck's instances reserve on each node: one listing of the tasks
/// meant to run, from the manager, whatever the number of instances.
pub async fn list_with_reservations(
    client: &Docker,
    settings: &SwarmSettings,
) -> Result<Vec<SwarmNode>, EngineError> {
    let mut nodes = list(client, settings).await?;
    let filters = HashMap::from([("desired-state".to_string(), vec!["running".to_string()])]);
    let options = ListTasksOptionsBuilder::new().filters(&filters).build();
    let tasks = client
        .list_tasks(Some(options))
        .await
        .map_err(EngineError::api("listing tasks"))?;
    add_reservations(&mut nodes, &tasks);
    Ok(nodes)
}

/// Add each ctfdeck task's reservation to the node it is placed on. A task holds its
/// reservation while it is meant to run and has not ended, as the scheduler counts it.
fn add_reservations(nodes: &mut [SwarmNode], tasks: &[Task]) {
    for task in tasks {
        let spec = task.spec.as_ref();
        let ours = spec
            .and_then(|s| s.container_spec.as_ref())
            .and_then(|c| c.labels.as_ref())
            .is_some_and(|l| l.get(labels::MANAGED).is_some_and(|v| v == "true"));
        let holding = task.desired_state == Some(TaskState::RUNNING)
            && task.status.as_ref().and_then(|s| s.state).is_some_and(|s| {
                matches!(
                    s,
                    TaskState::ASSIGNED
                        | TaskState::ACCEPTED
                        | TaskState::PREPARING
                        | TaskState::READY
                        | TaskState::STARTING
                        | TaskState::RUNNING
                )
            });
        if !ours || !holding {
            continue;
        }
        let Some(node) = nodes
            .iter_mut()
            .find(|n| Some(n.id.as_str()) == task.node_id.as_deref())
        else {
            continue;
        };
        let reservation = spec
            .and_then(|s| s.resources.as_ref())
            .and_then(|r| r.reservations.as_ref());
        if let Some(r) = reservation {
            node.reserved.nano_cpus += r.nano_cpus.unwrap_or(0);
            node.reserved.memory_bytes += r.memory_bytes.unwrap_or(0);
        }
    }
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
        reservable: node
            .description
            .as_ref()
            .and_then(|d| d.resources.as_ref())
            .map(|r| NodeResources {
                nano_cpus: r.nano_cpus.unwrap_or(0),
                memory_bytes: r.memory_bytes.unwrap_or(0),
            })
            .unwrap_or_default(),
        reserved: NodeResources::default(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{
        ResourceObject, TaskSpec, TaskSpecContainerSpec, TaskSpecResources, TaskStatus,
    };

    fn node(id: &str) -> SwarmNode {
        SwarmNode {
            id: id.into(),
            hostname: format!("host-{id}"),
            ..Default::default()
        }
    }

    fn task(node: &str, ours: bool, desired: TaskState, state: TaskState) -> Task {
        let mut container_labels = HashMap::new();
        if ours {
            container_labels.insert(labels::MANAGED.to_string(), "true".to_string());
        }
        Task {
            node_id: Some(node.into()),
            desired_state: Some(desired),
            status: Some(TaskStatus {
                state: Some(state),
                ..Default::default()
            }),
            spec: Some(TaskSpec {
                container_spec: Some(TaskSpecContainerSpec {
                    labels: Some(container_labels),
                    ..Default::default()
                }),
                resources: Some(TaskSpecResources {
                    reservations: Some(ResourceObject {
                        nano_cpus: Some(250_000_000),
                        memory_bytes: Some(16 << 20),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn only_ctfdecks_tasks_meant_to_run_count_on_their_node() {
        let mut nodes = [node("a"), node("b")];
        let tasks = [
            task("a", true, TaskState::RUNNING, TaskState::RUNNING),
            task("a", true, TaskState::RUNNING, TaskState::PREPARING),
            // Another tool's service, a task being shut down, one that failed.
            task("a", false, TaskState::RUNNING, TaskState::RUNNING),
            task("a", true, TaskState::SHUTDOWN, TaskState::RUNNING),
            task("b", true, TaskState::RUNNING, TaskState::FAILED),
            task("b", true, TaskState::RUNNING, TaskState::RUNNING),
            // On a node that left the Swarm.
            task("gone", true, TaskState::RUNNING, TaskState::RUNNING),
        ];
        add_reservations(&mut nodes, &tasks);
        assert_eq!(
            nodes[0].reserved,
            NodeResources {
                nano_cpus: 500_000_000,
                memory_bytes: 32 << 20
            }
        );
        assert_eq!(
            nodes[1].reserved,
            NodeResources {
                nano_cpus: 250_000_000,
                memory_bytes: 16 << 20
            }
        );
    }
}
