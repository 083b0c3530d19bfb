//! Containers: create hardened, start, find published ports, remove, list, exec.

use std::collections::{BTreeMap, HashMap};

use bollard::Docker;
use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::{
    ContainerCreateBody, ContainerSummaryStateEnum, ExecConfig, HostConfig, HostConfigLogConfig,
    PortBinding, RestartPolicy, RestartPolicyNameEnum,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, RemoveContainerOptionsBuilder,
};
use futures_util::StreamExt;

use crate::engine::error::is_not_found;
use crate::engine::{ContainerPlan, EngineError, ExecOutput, ManagedContainer};
use crate::store::PublishedPort;

/// The engine request for a plan. Everything that weakens isolation is set explicitly to its
/// safe value rather than left to daemon defaults.
pub fn create_body(plan: &ContainerPlan) -> ContainerCreateBody {
    let h = &plan.hardening;
    let port_key = |p: u16| format!("{p}/tcp");
    let port_bindings: HashMap<String, Option<Vec<PortBinding>>> = plan
        .ports
        .iter()
        .map(|p| {
            (
                port_key(p.container),
                Some(vec![PortBinding {
                    host_ip: Some(plan.bind_address.clone()),
                    // Empty: the engine picks a free ephemeral port.
                    host_port: Some(String::new()),
                }]),
            )
        })
        .collect();
    let host_config = HostConfig {
        cap_drop: Some(vec!["ALL".to_string()]),
        cap_add: (!h.cap_add.is_empty()).then(|| h.cap_add.clone()),
        security_opt: Some(vec!["no-new-privileges:true".to_string()]),
        readonly_rootfs: Some(true),
        privileged: Some(false),
        tmpfs: Some(h.tmpfs_options().into_iter().collect()),
        memory: Some(h.memory_bytes),
        // Same as memory: no swap beyond the limit.
        memory_swap: Some(h.memory_bytes),
        nano_cpus: Some(h.nano_cpus),
        pids_limit: Some(h.pids_limit),
        init: Some(true),
        network_mode: Some(plan.network.clone()),
        port_bindings: Some(port_bindings),
        publish_all_ports: Some(false),
        binds: None,
        mounts: None,
        devices: None,
        restart_policy: Some(RestartPolicy {
            name: Some(RestartPolicyNameEnum::NO),
            maximum_retry_count: None,
        }),
        // Bounded logs: a chatty challenge cannot fill the host's disk.
        log_config: Some(HostConfigLogConfig {
            typ: Some("json-file".to_string()),
            config: Some(HashMap::from([
                ("max-size".to_string(), "1m".to_string()),
                ("max-file".to_string(), "2".to_string()),
            ])),
        }),
        ..Default::default()
    };
    ContainerCreateBody {
        image: Some(plan.image.clone()),
        user: Some(plan.user.clone()),
        env: Some(plan.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        cmd: plan.command.clone(),
        exposed_ports: Some(plan.ports.iter().map(|p| port_key(p.container)).collect()),
        labels: Some(plan.labels.clone().into_iter().collect()),
        hostname: Some(plan.name.chars().take(63).collect()),
        host_config: Some(host_config),
        ..Default::default()
    }
}

pub async fn create(client: &Docker, plan: &ContainerPlan) -> Result<String, EngineError> {
    let options = CreateContainerOptionsBuilder::new()
        .name(&plan.name)
        .build();
    match client
        .create_container(Some(options), create_body(plan))
        .await
    {
        Ok(created) => Ok(created.id),
        Err(e) if is_not_found(&e) => Err(EngineError::ImageMissing {
            image: plan.image.clone(),
        }),
        Err(e) => Err(EngineError::api(format!(
            "creating container {}",
            plan.name
        ))(e)),
    }
}

pub async fn start(client: &Docker, id: &str) -> Result<(), EngineError> {
    client
        .start_container(id, None::<bollard::query_parameters::StartContainerOptions>)
        .await
        .map_err(EngineError::api(format!("starting container {id}")))
}

pub async fn published_ports(
    client: &Docker,
    id: &str,
    protocols: &BTreeMap<u16, String>,
) -> Result<Vec<PublishedPort>, EngineError> {
    let inspect = client
        .inspect_container(
            id,
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
        .map_err(EngineError::api(format!("inspecting container {id}")))?;
    let map = inspect
        .network_settings
        .and_then(|n| n.ports)
        .unwrap_or_default();
    let mut ports = Vec::new();
    for (key, bindings) in map {
        let Some(container) = key.split('/').next().and_then(|p| p.parse::<u16>().ok()) else {
            continue;
        };
        for b in bindings.unwrap_or_default() {
            let Some(host_port) = b.host_port.as_deref().and_then(|p| p.parse::<u16>().ok()) else {
                continue;
            };
            ports.push(PublishedPort {
                container,
                host_ip: b.host_ip.clone().unwrap_or_default(),
                host_port,
                protocol: protocols
                    .get(&container)
                    .cloned()
                    .unwrap_or_else(|| "tcp".to_string()),
            });
        }
    }
    // The engine may list an IPv6 twin of each binding; keep one per container port.
    ports.sort_by(|a, b| {
        (a.container, a.host_ip.contains(':')).cmp(&(b.container, b.host_ip.contains(':')))
    });
    ports.dedup_by_key(|p| p.container);
    Ok(ports)
}

pub async fn remove(client: &Docker, id_or_name: &str) -> Result<(), EngineError> {
    let options = RemoveContainerOptionsBuilder::new()
        .force(true)
        .v(true)
        .build();
    match client.remove_container(id_or_name, Some(options)).await {
        Ok(()) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        // "removal already in progress": someone else is removing it, which is what we want.
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 409, ..
        }) => Ok(()),
        Err(e) => Err(EngineError::api(format!("removing container {id_or_name}"))(e)),
    }
}

pub async fn managed(
    client: &Docker,
    store_id: &str,
) -> Result<Vec<ManagedContainer>, EngineError> {
    let options = ListContainersOptionsBuilder::new()
        .all(true)
        .filters(&super::managed_filter(store_id))
        .build();
    let list = client
        .list_containers(Some(options))
        .await
        .map_err(EngineError::api("listing containers"))?;
    Ok(list
        .into_iter()
        .map(|c| ManagedContainer {
            id: c.id.unwrap_or_default(),
            name: c
                .names
                .and_then(|n| n.into_iter().next())
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_string(),
            labels: c.labels.unwrap_or_default().into_iter().collect(),
            state: c.state.map(state_name).unwrap_or("unknown").to_string(),
            ports: c
                .ports
                .unwrap_or_default()
                .into_iter()
                .filter_map(|p| {
                    Some(PublishedPort {
                        container: p.private_port,
                        host_ip: p.ip.unwrap_or_default(),
                        host_port: p.public_port?,
                        protocol: "tcp".to_string(),
                    })
                })
                .collect(),
            created: c.created.unwrap_or_default(),
        })
        .collect())
}

fn state_name(state: ContainerSummaryStateEnum) -> &'static str {
    match state {
        ContainerSummaryStateEnum::CREATED => "created",
        ContainerSummaryStateEnum::RUNNING => "running",
        ContainerSummaryStateEnum::PAUSED => "paused",
        ContainerSummaryStateEnum::RESTARTING => "restarting",
        ContainerSummaryStateEnum::EXITED => "exited",
        ContainerSummaryStateEnum::REMOVING => "removing",
        ContainerSummaryStateEnum::DEAD => "dead",
        ContainerSummaryStateEnum::STOPPING => "stopping",
        ContainerSummaryStateEnum::EMPTY => "unknown",
    }
}

pub async fn exec(
    client: &Docker,
    id: &str,
    cmd: &[&str],
    env: &[(&str, &str)],
) -> Result<ExecOutput, EngineError> {
    let action = format!("exec in {id}");
    let created = client
        .create_exec(
            id,
            ExecConfig {
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
                env: Some(env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
                ..Default::default()
            },
        )
        .await
        .map_err(EngineError::api(action.clone()))?;
    let mut output = String::new();
    if let StartExecResults::Attached {
        output: mut out, ..
    } = client
        .start_exec(&created.id, None::<StartExecOptions>)
        .await
        .map_err(EngineError::api(action.clone()))?
    {
        while let Some(chunk) = out.next().await {
            let chunk = chunk.map_err(EngineError::api(action.clone()))?;
            output.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
        }
    }
    let inspect = client
        .inspect_exec(&created.id)
        .await
        .map_err(EngineError::api(action))?;
    Ok(ExecOutput {
        exit_code: inspect.exit_code.unwrap_or(-1),
        output,
    })
}
