//! Inspecting a container's isolation, for drift detection and the console's detail.

use bollard::Docker;
use bollard::models::ContainerInspectResponse;

use super::containers::inspect;
use super::{egress, libpod, podman, seccomp_file};
use crate::engine::error::is_not_found;
use crate::engine::{
    AppliedHardening, AttachedNetwork, EngineError, EngineInfo, EngineKind, ProxyState,
    SecurityState, labels,
};

pub async fn security_state(
    client: &Docker,
    engine: &EngineInfo,
    id: &str,
) -> Result<SecurityState, EngineError> {
    let c = inspect(client, id).await?;
    let own_id = c.id.clone().unwrap_or_default();
    let labels: std::collections::BTreeMap<String, String> = c
        .config
        .as_ref()
        .and_then(|cfg| cfg.labels.clone())
        .unwrap_or_default()
        .into_iter()
        .collect();
    let mut networks = Vec::new();
    for name in attached(&c) {
        let mut n = network(client, &name, &own_id).await?;
        // Podman's compatible answer leaves the bridge out; its own API names it.
        if engine.kind == EngineKind::Podman && n.bridge.is_none() {
            n.bridge = libpod::network_interface(&engine.target, &name).await?;
        }
        networks.push(n);
    }
    let proxy = if egress::is_denied(&c) {
        match (labels.get(labels::STORE), labels.get(labels::INSTANCE)) {
            (Some(store), Some(instance)) => {
                match egress::find_proxy(client, store, instance).await? {
                    Some(proxy) => Some(proxy_state(client, &proxy).await?),
                    None => None,
                }
            }
            _ => None,
        }
    } else {
        None
    };
    let mut state = SecurityState {
        engine: engine.kind,
        running: c.state.as_ref().and_then(|s| s.running).unwrap_or(false),
        applied: applied(&c),
        networks,
        labels,
        proxy,
    };
    if engine.kind == EngineKind::Podman {
        seccomp_file::inline(&mut state.applied.security_opt);
        podman::in_docker_words(&mut state);
    }
    Ok(state)
}

/// The settings an inspect answer reports: the one reading of them, for drift and for the
/// console's detail.
pub(super) fn applied(c: &ContainerInspectResponse) -> AppliedHardening {
    let h = c.host_config.clone().unwrap_or_default();
    let mounts = c.mounts.clone().unwrap_or_default();
    let is_bind = |m: &bollard::models::MountPoint| m.typ.as_deref() == Some("bind");
    let mut host_mounts = h.binds.clone().unwrap_or_default();
    host_mounts.extend(
        mounts
            .iter()
            .filter(|m| is_bind(m))
            .filter_map(|m| m.source.clone()),
    );
    host_mounts.sort();
    host_mounts.dedup();
    let mut other_mounts: Vec<String> = mounts
        .iter()
        .filter(|m| !is_bind(m))
        .map(|m| {
            format!(
                "{} {}",
                m.typ.as_deref().unwrap_or("mount"),
                m.destination.as_deref().unwrap_or("?")
            )
        })
        .collect();
    other_mounts.sort();
    AppliedHardening {
        user: c
            .config
            .as_ref()
            .and_then(|cfg| cfg.user.clone())
            .unwrap_or_default(),
        privileged: h.privileged.unwrap_or(false),
        cap_add: h.cap_add.clone().unwrap_or_default(),
        cap_drop: h.cap_drop.clone().unwrap_or_default(),
        security_opt: h.security_opt.clone().unwrap_or_default(),
        read_only: h.readonly_rootfs.unwrap_or(false),
        init: h.init.unwrap_or(false),
        tmpfs: h.tmpfs.clone().unwrap_or_default().into_iter().collect(),
        memory: h.memory.unwrap_or(0),
        memory_swap: h.memory_swap.unwrap_or(0),
        nano_cpus: h.nano_cpus.unwrap_or(0),
        pids_limit: h.pids_limit.unwrap_or(0),
        shm_size: h.shm_size.unwrap_or(0),
        ulimits: h
            .ulimits
            .clone()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|u| {
                // Docker says `nofile`, Podman `RLIMIT_NOFILE`.
                let name = u.name?.to_ascii_lowercase();
                let name = name.strip_prefix("rlimit_").unwrap_or(&name).to_string();
                Some((name, (u.soft.unwrap_or(0), u.hard.unwrap_or(0))))
            })
            .collect(),
        network_mode: h.network_mode.clone().unwrap_or_default(),
        pid_mode: h.pid_mode.clone().unwrap_or_default(),
        ipc_mode: h.ipc_mode.clone().unwrap_or_default(),
        uts_mode: h.uts_mode.clone().unwrap_or_default(),
        host_mounts,
        other_mounts,
        devices: h
            .devices
            .clone()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|d| d.path_on_host)
            .collect(),
        published_on: published_on(c),
    }
}

fn attached(c: &ContainerInspectResponse) -> Vec<String> {
    let mut names: Vec<String> = c
        .network_settings
        .as_ref()
        .and_then(|n| n.networks.as_ref())
        .map(|n| n.keys().cloned().collect())
        .unwrap_or_default();
    names.sort();
    names
}

fn published_on(c: &ContainerInspectResponse) -> Vec<String> {
    let mut ips: Vec<String> = c
        .host_config
        .as_ref()
        .and_then(|h| h.port_bindings.clone())
        .unwrap_or_default()
        .into_values()
        .flatten()
        .flatten()
        .map(|b| b.host_ip.unwrap_or_default())
        .collect();
    ips.sort();
    ips.dedup();
    ips
}

/// Network `name` as seen from the container `own_id` attached to it.
async fn network(
    client: &Docker,
    name: &str,
    own_id: &str,
) -> Result<AttachedNetwork, EngineError> {
    match client
        .inspect_network(
            name,
            None::<bollard::query_parameters::InspectNetworkOptions>,
        )
        .await
    {
        Ok(n) => {
            let options = n.options.unwrap_or_default();
            let mut others: Vec<String> = n
                .containers
                .unwrap_or_default()
                .into_iter()
                .filter(|(id, _)| id != own_id)
                .map(|(id, c)| c.name.unwrap_or(id))
                .collect();
            others.sort();
            Ok(AttachedNetwork {
                name: name.to_string(),
                internal: n.internal.unwrap_or(false),
                bridge: options.get("com.docker.network.bridge.name").cloned(),
                icc: options
                    .get("com.docker.network.bridge.enable_icc")
                    .is_none_or(|v| v != "false"),
                others,
            })
        }
        // Gone while we looked: report it attached, unknown.
        Err(e) if is_not_found(&e) => Ok(AttachedNetwork {
            name: name.to_string(),
            ..AttachedNetwork::default()
        }),
        Err(e) => Err(EngineError::api(format!("inspecting network {name}"))(e)),
    }
}

async fn proxy_state(client: &Docker, id: &str) -> Result<ProxyState, EngineError> {
    let c = inspect(client, id).await?;
    let h = c.host_config.clone().unwrap_or_default();
    Ok(ProxyState {
        running: c.state.as_ref().and_then(|s| s.running).unwrap_or(false),
        read_only: h.readonly_rootfs.unwrap_or(false),
        cap_drop: h.cap_drop.unwrap_or_default(),
        user: c
            .config
            .as_ref()
            .and_then(|cfg| cfg.user.clone())
            .unwrap_or_default(),
        networks: attached(&c),
        published_on: published_on(&c),
    })
}
