//! Services: one per instance. Created with one replica; a spawn waits until its task runs (or
//! says why it cannot), and a stop waits until the task's container is gone.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use bollard::Docker;
use bollard::models::{Service, Task, TaskState};
use bollard::query_parameters::{ListServicesOptionsBuilder, ListTasksOptionsBuilder};

use super::nodes::SwarmNode;
use crate::engine::error::is_not_found;
use crate::engine::{EngineError, ManagedContainer};
use crate::shared::PublishedPort;

/// Between two looks at a task that is getting ready (or going away).
const POLL: Duration = Duration::from_millis(200);
/// How long a removal waits for the task's container to be gone.
const REMOVE_TIMEOUT: Duration = Duration::from_secs(60);

pub async fn create(
    client: &Docker,
    spec: bollard::models::ServiceSpec,
) -> Result<String, EngineError> {
    let name = spec.name.clone().unwrap_or_default();
    let created = client
        .create_service(spec, None)
        .await
        .map_err(EngineError::api(format!("creating service {name}")))?;
    created
        .id
        .ok_or_else(|| EngineError::Unexpected(format!("the Swarm gave service {name} no id")))
}

/// The service's tasks, newest first.
pub async fn tasks(client: &Docker, service: &str) -> Result<Vec<Task>, EngineError> {
    let filters = HashMap::from([("service".to_string(), vec![service.to_string()])]);
    let options = ListTasksOptionsBuilder::new().filters(&filters).build();
    let mut tasks = match client.list_tasks(Some(options)).await {
        Ok(tasks) => tasks,
        // The service is gone, and its tasks with it.
        Err(e) if is_not_found(&e) => Vec::new(),
        Err(e) => {
            return Err(EngineError::api(format!(
                "listing tasks of service {service}"
            ))(e));
        }
    };
    sort_newest_first(&mut tasks);
    Ok(tasks)
}

/// By creation time, then by version. The version alone is not the task's age: it grows with
/// every change, so an old task the Swarm shuts down during a forced update sorts above the new
/// one it is being replaced by.
fn sort_newest_first(tasks: &mut [Task]) {
    tasks.sort_by_key(|t| {
        std::cmp::Reverse((
            t.created_at
                .as_ref()
                .and_then(|c| unix_nanos(&c.to_string())),
            t.version.as_ref().and_then(|v| v.index).unwrap_or(0),
        ))
    });
}

/// An engine timestamp (`2026-12-03T11:55:49.848010268Z`) in nanoseconds since the epoch.
fn unix_nanos(text: &str) -> Option<i128> {
    let text = text.trim_end_matches('Z');
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let seconds = humantime::parse_rfc3339_weak(whole)
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    let digits: String = fraction
        .chars()
        .take_while(char::is_ascii_digit)
        .chain(std::iter::repeat('0'))
        .take(9)
        .collect();
    let nanos: i128 = digits.parse().ok()?;
    Some(i128::from(seconds) * 1_000_000_000 + nanos)
}

/// `running`, `failed`, … of a task.
pub fn state(task: &Task) -> Option<TaskState> {
    task.status.as_ref().and_then(|s| s.state)
}

/// The task's own words about its state: its error, else its message.
pub fn reason(task: &Task) -> String {
    let status = task.status.as_ref();
    status
        .and_then(|s| s.err.clone())
        .filter(|e| !e.is_empty())
        .or_else(|| status.and_then(|s| s.message.clone()))
        .unwrap_or_default()
}

fn finished(state: TaskState) -> bool {
    matches!(
        state,
        TaskState::COMPLETE
            | TaskState::SHUTDOWN
            | TaskState::FAILED
            | TaskState::REJECTED
            | TaskState::REMOVE
            | TaskState::ORPHANED
    )
}

/// Wait until the service's newest task runs. A task that fails (no image, no node it may run
/// on, a command that does not exist) fails the wait with its reason; one still getting ready
/// when `timeout` runs out fails it with the state it is stuck in.
pub async fn wait_running(
    client: &Docker,
    service: &str,
    timeout: Duration,
) -> Result<Task, EngineError> {
    wait_new_running(client, service, timeout, &HashSet::new()).await
}

/// [`wait_running`] for a task that is not one of `older`: after a forced update the old task
/// is still listed (failed, or running until the Swarm stops it) until the new one is created,
/// and must not pass for it.
pub async fn wait_new_running(
    client: &Docker,
    service: &str,
    timeout: Duration,
    older: &HashSet<String>,
) -> Result<Task, EngineError> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let mut tasks = tasks(client, service).await?;
        tasks.retain(|t| t.id.as_ref().is_none_or(|id| !older.contains(id)));
        if let Some(task) = tasks.first() {
            match state(task) {
                Some(TaskState::RUNNING) => return Ok(task.clone()),
                Some(s) if finished(s) => {
                    return Err(EngineError::NotStarted {
                        service: service.to_string(),
                        reason: format!("its task is {s}: {}", reason(task)),
                    });
                }
                _ => {}
            }
        }
        if tokio::time::Instant::now() >= deadline {
            let stuck = tasks.first().map_or_else(
                || "no task was created (no node satisfies its placement?)".to_string(),
                |t| {
                    format!(
                        "its task is still {} after {timeout:?}: {}",
                        state(t).map_or_else(|| "unknown".to_string(), |s| s.to_string()),
                        reason(t)
                    )
                },
            );
            return Err(EngineError::NotStarted {
                service: service.to_string(),
                reason: stuck,
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Remove the service once its task has stopped, so that its published ports are closed on
/// return. Scaled to zero first: the Swarm reports a task `shutdown` only once its node has
/// stopped the container, where a deleted service's tasks vanish from the list before that.
/// A task whose node does not answer (it is down) is given [`REMOVE_TIMEOUT`], then the service
/// goes anyway. Succeeds when the service is already gone.
pub async fn remove(
    client: &Docker,
    service: &str,
    nodes: &[SwarmNode],
) -> Result<(), EngineError> {
    let found = match client
        .inspect_service(
            service,
            None::<bollard::query_parameters::InspectServiceOptions>,
        )
        .await
    {
        Ok(found) => found,
        Err(e) if is_not_found(&e) => return Ok(()),
        Err(e) => return Err(EngineError::api(format!("inspecting service {service}"))(e)),
    };
    let id = found.id.clone().unwrap_or_else(|| service.to_string());
    if scale_to_zero(client, &id, found).await? {
        let deadline = tokio::time::Instant::now() + REMOVE_TIMEOUT;
        loop {
            let tasks = tasks(client, &id).await?;
            // A node that is down reports nothing; its tasks are not waited for.
            let stopped = |t: &Task| {
                state(t).is_none_or(finished)
                    || node_of(t, nodes).is_some_and(|n| n.state != "ready")
            };
            if tasks.iter().all(stopped) {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                tracing::warn!(
                    "service {service}: its task did not report stopping within {REMOVE_TIMEOUT:?} (is its node down?); removing the service anyway"
                );
                break;
            }
            tokio::time::sleep(POLL).await;
        }
    }
    match client.delete_service(&id).await {
        Ok(()) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(EngineError::api(format!("removing service {service}"))(e)),
    }
}

/// Ask for no replica; false when the service is already gone.
async fn scale_to_zero(client: &Docker, id: &str, found: Service) -> Result<bool, EngineError> {
    let version = found.version.and_then(|v| v.index).unwrap_or_default();
    let mut spec = found.spec.unwrap_or_default();
    spec.mode = Some(bollard::models::ServiceSpecMode {
        replicated: Some(bollard::models::ServiceSpecModeReplicated { replicas: Some(0) }),
        ..Default::default()
    });
    let options = bollard::query_parameters::UpdateServiceOptionsBuilder::new()
        .version(i32::try_from(version).unwrap_or(i32::MAX))
        .build();
    match client.update_service(id, spec, options, None).await {
        Ok(_) => Ok(true),
        Err(e) if is_not_found(&e) => Ok(false),
        Err(e) => Err(EngineError::api(format!("stopping service {id}"))(e)),
    }
}

/// Every service carrying `org.ctfdeck.managed=true` and the store's label, as containers.
pub async fn managed(
    client: &Docker,
    store_id: &str,
    nodes: &[SwarmNode],
) -> Result<Vec<ManagedContainer>, EngineError> {
    let options = ListServicesOptionsBuilder::new()
        .filters(&crate::engine::docker::managed_filter(store_id))
        .build();
    let services = client
        .list_services(Some(options))
        .await
        .map_err(EngineError::api("listing services"))?;
    if services.is_empty() {
        return Ok(Vec::new());
    }
    // One call for every task, grouped by service: a call per service would not scale.
    let all = client
        .list_tasks(None::<bollard::query_parameters::ListTasksOptions>)
        .await
        .map_err(EngineError::api("listing tasks"))?;
    let mut by_service: HashMap<String, Vec<Task>> = HashMap::new();
    for task in all {
        by_service
            .entry(task.service_id.clone().unwrap_or_default())
            .or_default()
            .push(task);
    }
    for tasks in by_service.values_mut() {
        sort_newest_first(tasks);
    }
    Ok(services
        .iter()
        .map(|s| {
            summary(
                s,
                by_service.get(s.id.as_deref().unwrap_or_default()),
                nodes,
            )
        })
        .collect())
}

fn summary(service: &Service, tasks: Option<&Vec<Task>>, nodes: &[SwarmNode]) -> ManagedContainer {
    let spec = service.spec.as_ref();
    let tasks: &[Task] = tasks.map_or(&[], Vec::as_slice);
    let (state, task) = service_state(tasks, nodes);
    ManagedContainer {
        id: service.id.clone().unwrap_or_default(),
        name: spec.and_then(|s| s.name.clone()).unwrap_or_default(),
        labels: spec
            .and_then(|s| s.labels.clone())
            .unwrap_or_default()
            .into_iter()
            .collect(),
        state: state.to_string(),
        ports: task
            .map(|t| ports(t, nodes, &BTreeMap::new()))
            .unwrap_or_default(),
        created: service
            .created_at
            .as_ref()
            .and_then(|c| unix_seconds(&c.to_string()))
            .unwrap_or_default(),
    }
}

/// A service's state in the words the rest of ctfdeck uses for containers, and the task it
/// comes from (tasks newest first). `running` while a task runs on a node that is up; `lost`
/// when the task that ran is on a node that went down (Swarm may already be trying to place a
/// new one, which then waits or runs elsewhere); else the newest task's state.
fn service_state<'a>(tasks: &'a [Task], nodes: &[SwarmNode]) -> (&'static str, Option<&'a Task>) {
    let node_up = |t: &Task| node_of(t, nodes).is_some_and(|n| n.state == "ready");
    if let Some(t) = tasks
        .iter()
        .find(|t| state(t) == Some(TaskState::RUNNING) && node_up(t))
    {
        return ("running", Some(t));
    }
    let stranded = tasks.iter().find(|t| {
        !node_up(t)
            && t.node_id.is_some()
            && state(t).is_some_and(|s| s == TaskState::ORPHANED || !finished(s))
    });
    if let Some(t) = stranded {
        return ("lost", Some(t));
    }
    let newest = tasks.first();
    let name = match newest.and_then(state) {
        Some(TaskState::RUNNING) => "running",
        Some(s) if finished(s) => "exited",
        _ => "created",
    };
    (name, newest)
}

pub fn node_of<'a>(task: &Task, nodes: &'a [SwarmNode]) -> Option<&'a SwarmNode> {
    let id = task.node_id.as_deref()?;
    nodes.iter().find(|n| n.id == id)
}

/// Where the task's ports are published: its node's address, the port the node picked. The
/// node lists a port once per address family, IPv4 first, and Docker 20.10 may pick a different
/// ephemeral port for IPv6; the address is the node's IPv4 one, so the first entry is the port.
pub fn ports(
    task: &Task,
    nodes: &[SwarmNode],
    protocols: &BTreeMap<u16, String>,
) -> Vec<PublishedPort> {
    let address = node_of(task, nodes)
        .map(|n| n.address.clone())
        .unwrap_or_default();
    task.status
        .as_ref()
        .and_then(|s| s.port_status.as_ref())
        .and_then(|p| p.ports.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let container = u16::try_from(p.target_port?).ok()?;
            Some(PublishedPort {
                container,
                host_ip: address.clone(),
                host_port: u16::try_from(p.published_port?).ok()?,
                protocol: protocols
                    .get(&container)
                    .cloned()
                    .unwrap_or_else(|| "tcp".to_string()),
            })
        })
        .fold(Vec::new(), |mut out: Vec<PublishedPort>, p| {
            if !out.iter().any(|o| o.container == p.container) {
                out.push(p);
            }
            out
        })
}

/// Unix seconds of an engine timestamp.
fn unix_seconds(text: &str) -> Option<i64> {
    i64::try_from(unix_nanos(text)? / 1_000_000_000).ok()
}

/// Replace the service's task with a fresh one. Returns the ids of the tasks it had before,
/// for [`wait_new_running`].
pub async fn force_update(client: &Docker, service: &str) -> Result<HashSet<String>, EngineError> {
    let older: HashSet<String> = tasks(client, service)
        .await?
        .into_iter()
        .filter_map(|t| t.id)
        .collect();
    let found = client
        .inspect_service(
            service,
            None::<bollard::query_parameters::InspectServiceOptions>,
        )
        .await
        .map_err(EngineError::api(format!("inspecting service {service}")))?;
    let version = found.version.and_then(|v| v.index).unwrap_or_default();
    let mut spec = found.spec.unwrap_or_default();
    if let Some(task) = spec.task_template.as_mut() {
        task.force_update = Some(task.force_update.unwrap_or(0) + 1);
    }
    let options = bollard::query_parameters::UpdateServiceOptionsBuilder::new()
        .version(i32::try_from(version).unwrap_or(i32::MAX))
        .build();
    client
        .update_service(service, spec, options, None)
        .await
        .map_err(EngineError::api(format!("restarting service {service}")))?;
    Ok(older)
}

/// A task's state in the shape of a container's.
pub fn container_state(task: &Task) -> crate::engine::ContainerState {
    let s = state(task);
    let status = match s {
        Some(TaskState::RUNNING) => "running",
        Some(x) if finished(x) => "exited",
        _ => "created",
    };
    let exit_code = task
        .status
        .as_ref()
        .and_then(|st| st.container_status.as_ref())
        .and_then(|c| c.exit_code);
    let error = task
        .status
        .as_ref()
        .and_then(|st| st.err.clone())
        .filter(|e| !e.is_empty());
    crate::engine::ContainerState {
        status: status.to_string(),
        running: s == Some(TaskState::RUNNING),
        exit_code: exit_code.filter(|_| status == "exited"),
        oom_killed: false,
        error,
        health: None,
    }
}

#[cfg(test)]
mod tests;
