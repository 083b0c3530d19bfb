//! Containers: create hardened, start, find published ports, remove, list, exec.

use std::collections::{BTreeMap, HashMap};

use bollard::Docker;
use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerSummaryStateEnum, DeviceMapping,
    ExecConfig,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, RemoveContainerOptionsBuilder,
};
use futures_util::StreamExt;

use super::egress;
use super::host_config::{self, Limits};
use crate::engine::error::is_not_found;
use crate::engine::{ContainerPlan, Egress, EngineError, ExecOutput, ManagedContainer, labels};
use crate::shared::PublishedPort;

/// The engine request for a plan. Everything that weakens isolation is set explicitly to its
/// safe value rather than left to daemon defaults (see `host_config`).
pub fn create_body(plan: &ContainerPlan) -> ContainerCreateBody {
    let h = &plan.hardening;
    let g = &h.grants;
    let port_key = |p: u16| format!("{p}/tcp");
    let egress_denied = matches!(h.egress, Egress::Denied { .. });
    // Without egress the instance's network is internal and cannot publish: its proxy does.
    // On the host's network stack there is nothing to publish either.
    let publishes = !egress_denied && g.network_mode.is_none();
    let published = plan.ports.iter().filter(|_| publishes).map(|p| p.container);
    let mut host_config = host_config::host_config(Limits {
        read_only: h.read_only,
        extra_security_opt: h
            .seccomp
            .iter()
            .map(|profile| format!("seccomp={profile}"))
            .collect(),
        memory_bytes: h.memory_bytes,
        nano_cpus: h.nano_cpus,
        pids_limit: h.pids_limit,
        shm_bytes: h.shm_bytes,
        network_mode: g
            .network_mode
            .clone()
            .unwrap_or_else(|| plan.network.clone()),
        port_bindings: host_config::bindings(published, &plan.bind_address),
    });
    host_config.cap_add = (!h.cap_add.is_empty()).then(|| h.cap_add.clone());
    host_config.tmpfs = Some(h.tmpfs_options().into_iter().collect());
    // Only what the admin granted this challenge.
    host_config.privileged = Some(g.privileged);
    host_config.pid_mode = g.pid_mode.clone();
    host_config.ipc_mode = g.ipc_mode.clone();
    host_config.uts_mode = g.uts_mode.clone();
    host_config.binds = (!g.binds.is_empty()).then(|| g.binds.clone());
    host_config.devices =
        (!g.devices.is_empty()).then(|| g.devices.iter().map(|d| device(d)).collect());
    let mut labels = plan.labels.clone();
    if let Egress::Denied {
        proxy_image,
        edge_pool,
    } = &h.egress
    {
        // What `start` needs to build the port proxy, carried by the container itself.
        labels.insert(
            labels::EGRESS.to_string(),
            labels::EGRESS_DENIED.to_string(),
        );
        labels.insert(labels::PROXY_IMAGE.to_string(), proxy_image.clone());
        labels.insert(labels::PROXY_BIND.to_string(), plan.bind_address.clone());
        if edge_pool.capacity() > 0 {
            labels.insert(labels::EDGE_POOL.to_string(), edge_pool.to_label());
        }
    }
    labels.insert(labels::PORTS.to_string(), ports_label(plan));
    // Every ctfdeck key explicitly, so that none can come from the image's labels.
    let labels = labels::overriding(&labels, []);
    ContainerCreateBody {
        image: Some(plan.image.clone()),
        user: Some(plan.user.clone()),
        env: Some(plan.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        cmd: plan.command.clone(),
        exposed_ports: Some(plan.ports.iter().map(|p| port_key(p.container)).collect()),
        labels: Some(labels.into_iter().collect()),
        hostname: Some(plan.name.chars().take(63).collect()),
        host_config: Some(host_config),
        ..Default::default()
    }
}

/// The catalog's container ports, as the [`labels::PORTS`] label carries them.
fn ports_label(plan: &ContainerPlan) -> String {
    let ports: Vec<String> = plan.ports.iter().map(|p| p.container.to_string()).collect();
    ports.join(",")
}

/// The catalog's ports of an instance, from its [`labels::PORTS`] label.
pub fn catalog_ports(labels: &HashMap<String, String>) -> Vec<u16> {
    labels::value(labels, labels::PORTS)
        .unwrap_or_default()
        .split(',')
        .filter_map(|p| p.parse().ok())
        .collect()
}

pub async fn create(client: &Docker, plan: &ContainerPlan) -> Result<String, EngineError> {
    let options = CreateContainerOptionsBuilder::new()
        .name(&plan.name)
        .build();
    let mut body = create_body(plan);
    // The image's own `org.ctfdeck.*` labels, also those ctfdeck does not know (yet), are
    // blanked: the container would inherit them.
    let image_labels = match client.inspect_image(&plan.image).await {
        Ok(image) => image.config.and_then(|c| c.labels).unwrap_or_default(),
        Err(e) if is_not_found(&e) => {
            return Err(EngineError::ImageMissing {
                image: plan.image.clone(),
            });
        }
        Err(e) => return Err(EngineError::api(format!("inspecting image {}", plan.image))(e)),
    };
    if let Some(labels) = body.labels.as_mut() {
        for key in image_labels.into_keys() {
            if key.starts_with(labels::PREFIX) {
                labels.entry(key).or_default();
            }
        }
    }
    match client.create_container(Some(options), body).await {
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

/// `/dev/x`, `/dev/x:/dev/y` or `/dev/x:/dev/y:rwm`.
fn device(spec: &str) -> DeviceMapping {
    let mut parts = spec.split(':');
    let host = parts.next().unwrap_or_default().to_string();
    let inside = parts.next().map_or_else(|| host.clone(), str::to_string);
    DeviceMapping {
        path_on_host: Some(host),
        path_in_container: Some(inside),
        cgroup_permissions: Some(parts.next().unwrap_or("rwm").to_string()),
    }
}

/// Start the container, and for an instance without egress, its port proxy.
pub async fn start(client: &Docker, id: &str) -> Result<(), EngineError> {
    client
        .start_container(id, None::<bollard::query_parameters::StartContainerOptions>)
        .await
        .map_err(EngineError::api(format!("starting container {id}")))?;
    let inspect = inspect(client, id).await?;
    if egress::is_denied(&inspect) {
        egress::start_proxy(client, &inspect).await?;
    }
    Ok(())
}

/// Start a container that ran before and stopped. An instance without egress gets a fresh
/// proxy: the old one (and its edge network) would clash with the new one by name, and it
/// relays to the address the instance had, which the engine may have changed.
pub async fn start_again(client: &Docker, id: &str) -> Result<(), EngineError> {
    let before = inspect(client, id).await?;
    if egress::is_denied(&before) {
        let labels = before.config.as_ref().and_then(|c| c.labels.as_ref());
        let get = |key: &str| labels.and_then(|l| l.get(key)).map(String::as_str);
        if let (Some(store), Some(instance)) = (get(labels::STORE), get(labels::INSTANCE)) {
            egress::remove_companions(client, store, instance).await?;
        }
    }
    start(client, id).await
}

pub(super) async fn inspect(
    client: &Docker,
    id: &str,
) -> Result<ContainerInspectResponse, EngineError> {
    super::inspect_settled::container(client, id)
        .await
        .map_err(EngineError::api(format!("inspecting container {id}")))
}

/// Where the container's ports are published; for an instance without egress, where its
/// proxy publishes them.
pub async fn published_ports(
    client: &Docker,
    id: &str,
    protocols: &BTreeMap<u16, String>,
) -> Result<Vec<PublishedPort>, EngineError> {
    let mut inspect = inspect(client, id).await?;
    if egress::is_denied(&inspect) {
        let proxy = egress::proxy_name(&inspect);
        inspect = self::inspect(client, &proxy).await?;
    }
    Ok(ports_of(&inspect, protocols))
}

/// The published ports an inspect answer lists, one per container port (IPv4 first).
fn ports_of(
    inspect: &ContainerInspectResponse,
    protocols: &BTreeMap<u16, String>,
) -> Vec<PublishedPort> {
    let map = inspect
        .network_settings
        .as_ref()
        .and_then(|n| n.ports.clone())
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
    ports
}

/// Pause the container: every process in it is frozen before this returns.
pub async fn freeze(client: &Docker, id_or_name: &str) -> Result<(), EngineError> {
    client
        .pause_container(id_or_name)
        .await
        .map_err(EngineError::api(format!("freezing container {id_or_name}")))
}

/// Force-remove the container, and the port proxy of an instance without egress (its edge
/// network goes with the instance's network, see `networks::remove`).
pub async fn remove(client: &Docker, id_or_name: &str) -> Result<(), EngineError> {
    match super::inspect_settled::container(client, id_or_name).await {
        Ok(found) if egress::is_denied(&found) => {
            remove_one(client, &egress::proxy_name(&found)).await?;
        }
        Ok(_) => {}
        Err(e) if is_not_found(&e) => {}
        Err(e) => {
            return Err(EngineError::api(format!(
                "inspecting container {id_or_name}"
            ))(e));
        }
    }
    remove_one(client, id_or_name).await
}

pub(super) async fn remove_one(client: &Docker, id_or_name: &str) -> Result<(), EngineError> {
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
    let proxy_ports = egress::proxy_ports(client, store_id).await?;
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
            ports: {
                let own = summary_ports(c.ports.unwrap_or_default());
                let instance = c.labels.as_ref().and_then(|l| l.get(labels::INSTANCE));
                match instance.and_then(|i| proxy_ports.get(i)) {
                    // An instance without egress is reached through its proxy.
                    Some(proxied) if own.is_empty() => proxied.clone(),
                    _ => own,
                }
            },
            labels: c.labels.unwrap_or_default().into_iter().collect(),
            state: c.state.map(state_name).unwrap_or("unknown").to_string(),
            created: c.created.unwrap_or_default(),
        })
        .collect())
}

pub(super) fn summary_ports(ports: Vec<bollard::models::PortSummary>) -> Vec<PublishedPort> {
    ports
        .into_iter()
        .filter_map(|p| {
            Some(PublishedPort {
                container: p.private_port,
                host_ip: p.ip.unwrap_or_default(),
                host_port: p.public_port?,
                protocol: "tcp".to_string(),
            })
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Grants, sample_plan};

    fn plan(egress: Egress, grants: Grants) -> ContainerPlan {
        let mut p = sample_plan(egress);
        p.hardening.nano_cpus = 1;
        p.hardening.seccomp = Some("{\"defaultAction\":\"SCMP_ACT_ALLOW\"}".into());
        p.hardening.grants = grants;
        p
    }

    #[test]
    fn an_instance_with_egress_publishes_its_own_ports() {
        let body = create_body(&plan(Egress::Allowed, Grants::default()));
        let h = body.host_config.unwrap_or_default();
        assert_eq!(h.port_bindings.unwrap_or_default().len(), 1);
        assert_eq!(h.privileged, Some(false));
        // The plan's /dev/shm size, never 0 (which the engine reads as its 64 MiB default).
        assert_eq!(h.shm_size, Some(1 << 20));
        assert_eq!(h.binds, None);
        assert_eq!(
            h.security_opt.unwrap_or_default(),
            [
                "no-new-privileges:true",
                "seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\"}"
            ]
        );
        let l = body.labels.unwrap_or_default();
        // Present but empty: an image's label of the same name cannot show through.
        assert_eq!(l.get(labels::EGRESS).map(String::as_str), Some(""));
        assert_eq!(l.get(labels::COMPANION).map(String::as_str), Some(""));
        assert_eq!(l.get(labels::PORTS).map(String::as_str), Some("8080"));
        for key in labels::ALL {
            assert!(l.contains_key(key), "{key}");
        }
        // Only the catalog's ports, never every port the image exposes.
        assert_eq!(h.publish_all_ports, Some(false));
        assert_eq!(
            body.exposed_ports.unwrap_or_default(),
            vec!["8080/tcp".to_string()]
        );
    }

    #[test]
    fn an_instance_without_egress_leaves_publishing_to_its_proxy() {
        let body = create_body(&plan(
            Egress::Denied {
                proxy_image: "busybox:1.36".into(),
                edge_pool: Default::default(),
            },
            Grants::default(),
        ));
        let h = body.host_config.unwrap_or_default();
        assert!(h.port_bindings.unwrap_or_default().is_empty());
        assert_eq!(body.exposed_ports.unwrap_or_default().len(), 1);
        let l = body.labels.unwrap_or_default();
        assert_eq!(l.get(labels::EGRESS).map(String::as_str), Some("denied"));
        assert_eq!(
            l.get(labels::PROXY_IMAGE).map(String::as_str),
            Some("busybox:1.36")
        );
        assert_eq!(
            l.get(labels::PROXY_BIND).map(String::as_str),
            Some("127.0.0.1")
        );
    }

    #[test]
    fn only_granted_exceptions_reach_the_engine() {
        let grants = Grants {
            privileged: true,
            pid_mode: Some("host".into()),
            binds: vec!["/srv:/srv:ro".into()],
            devices: vec!["/dev/fuse".into()],
            ..Grants::default()
        };
        let mut p = plan(Egress::Allowed, grants);
        p.hardening.pids_limit = -1;
        p.hardening.memory_bytes = 0;
        let h = create_body(&p).host_config.unwrap_or_default();
        assert_eq!(h.privileged, Some(true));
        assert_eq!(h.pid_mode.as_deref(), Some("host"));
        assert_eq!(h.binds, Some(vec!["/srv:/srv:ro".to_string()]));
        let devices = h.devices.unwrap_or_default();
        assert_eq!(devices[0].path_in_container.as_deref(), Some("/dev/fuse"));
        assert_eq!(devices[0].cgroup_permissions.as_deref(), Some("rwm"));
        assert_eq!(h.pids_limit, Some(-1));
        assert_eq!(h.memory, None);
        // Still dropped and read-only: a grant adds one thing, it does not unlock the rest.
        assert_eq!(h.cap_drop, Some(vec!["ALL".to_string()]));
        assert_eq!(h.readonly_rootfs, Some(true));
    }
}
