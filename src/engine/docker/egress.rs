//! Instances without egress. The instance's own network is `internal` and its bridge has no
//! address on the host (see `networks.rs`), so the instance has no route to anything but the
//! members of that network. A port proxy container joins that network and a second, ordinary
//! one (the "edge"), where it publishes the instance's ports; it runs `nc`, which can only
//! connect to the instance.
//!
//! The proxy and the edge network are companions of the instance: created by `start`, found by
//! labels, removed with the instance's container or network. The proxy has no
//! `org.ctfdeck.managed` label, so reconcile never mistakes it for an instance.

use std::collections::{BTreeMap, HashMap};

use bollard::Docker;
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerSummary, EndpointSettings,
    NetworkConnectRequest,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, ListNetworksOptionsBuilder,
};

use super::containers::{catalog_ports, remove_one, summary_ports};
use super::host_config::{self, Limits};
use super::networks::{self, NetworkKind};
use crate::engine::error::is_not_found;
use crate::engine::plan::TMPFS_FORCED_OPTIONS;
use crate::engine::{ENGINE_PATH_TMPFS, ENGINE_WRITABLE_PATHS, EngineError, SubnetPool, labels};
use crate::shared::PublishedPort;

/// Unprivileged, like every instance, and like the instances' default user an id no host
/// account has (not `nobody`, which host daemons run as): no host process of the same uid can
/// signal or trace the proxy, which sits on the instance's internal network.
const PROXY_USER: &str = "2000000001:2000000001";
/// One `nc` per open connection plus the listeners: this bounds concurrent connections.
const PROXY_PIDS: i64 = 256;
const PROXY_MEMORY: i64 = 64 << 20;
const PROXY_NANO_CPUS: i64 = 500_000_000;
/// `nc` uses no shared memory: the smallest `/dev/shm`.
const PROXY_SHM: i64 = 1 << 20;

/// Whether an inspected container is an instance without egress (not a companion).
pub fn is_denied(inspect: &ContainerInspectResponse) -> bool {
    let l = inspect.config.as_ref().and_then(|c| c.labels.as_ref());
    l.is_some_and(|l| {
        labels::value(l, labels::EGRESS) == Some(labels::EGRESS_DENIED)
            && labels::value(l, labels::COMPANION).is_none()
    })
}

/// The proxy container's name: the instance container's, with `-proxy`.
pub fn proxy_name(instance: &ContainerInspectResponse) -> String {
    let name = instance.name.as_deref().unwrap_or_default();
    format!("{}-proxy", name.trim_start_matches('/'))
}

/// The edge network's name: the instance network's, with `-edge`.
pub fn edge_network_name(network: &str) -> String {
    format!("{network}-edge")
}

fn label<'a>(inspect: &'a ContainerInspectResponse, key: &str) -> Option<&'a str> {
    inspect
        .config
        .as_ref()
        .and_then(|c| c.labels.as_ref())
        .and_then(|l| labels::value(l, key))
}

/// Create the edge network and the proxy of a started instance, and start the proxy.
pub async fn start_proxy(
    client: &Docker,
    instance: &ContainerInspectResponse,
) -> Result<(), EngineError> {
    let fail = |what: &str| {
        EngineError::Unexpected(format!(
            "cannot build the egress proxy of {}: {what}",
            instance.name.as_deref().unwrap_or_default()
        ))
    };
    let mode = instance
        .host_config
        .as_ref()
        .and_then(|h| h.network_mode.clone())
        .ok_or_else(|| fail("the instance has no network"))?;
    let attached = instance
        .network_settings
        .as_ref()
        .and_then(|n| n.networks.clone())
        .unwrap_or_default();
    // Podman names the mode `bridge`; the network it means is the only one attached.
    let (network, endpoint) = match (attached.get(&mode), attached.len()) {
        (Some(e), _) => (mode.clone(), Some(e.clone())),
        (None, 1) => attached
            .into_iter()
            .next()
            .map_or((mode.clone(), None), |(name, e)| (name, Some(e))),
        (None, _) => (mode.clone(), None),
    };
    let target = endpoint
        .and_then(|e| e.ip_address)
        .filter(|ip| !ip.is_empty())
        .ok_or_else(|| fail("the instance has no address on its network"))?;
    let image = label(instance, labels::PROXY_IMAGE)
        .ok_or_else(|| fail("no proxy image label"))?
        .to_string();
    let bind = label(instance, labels::PROXY_BIND)
        .unwrap_or("127.0.0.1")
        .to_string();
    // The catalog's ports only: the instance's exposed ports include every `EXPOSE` of its
    // image, and a port the catalog does not list must not become public.
    let mut ports: Vec<u16> = instance
        .config
        .as_ref()
        .and_then(|c| c.labels.as_ref())
        .map(catalog_ports)
        .unwrap_or_default();
    ports.sort_unstable();
    if ports.is_empty() {
        // Nothing to publish, nothing to proxy.
        return Ok(());
    }

    let mut edge_labels: BTreeMap<String, String> = BTreeMap::new();
    for key in [labels::INSTANCE, labels::STORE, labels::CHALLENGE] {
        if let Some(v) = label(instance, key) {
            edge_labels.insert(key.to_string(), v.to_string());
        }
    }
    let mut proxy_labels = edge_labels.clone();
    proxy_labels.insert(
        labels::COMPANION.to_string(),
        labels::COMPANION_PROXY.to_string(),
    );
    // The edge network is managed like the instance's own, so reconcile's network sweep finds
    // it when its instance is gone.
    edge_labels.insert(labels::MANAGED.to_string(), "true".to_string());
    edge_labels.insert(
        labels::COMPANION.to_string(),
        labels::COMPANION_EDGE.to_string(),
    );

    let edge = edge_network_name(&network);
    // From ctfdeck's pool like the instance's own network: the engine's default pools hold
    // only about 30 subnets, which would cap an event at 30 instances without egress.
    let pool = label(instance, labels::EDGE_POOL)
        .and_then(SubnetPool::from_label)
        .unwrap_or(SubnetPool {
            pool: String::new(),
            prefix: 0,
        });
    networks::create_in_pool(client, &edge, &edge_labels, NetworkKind::Edge, &pool).await?;
    let name = proxy_name(instance);
    let body = proxy_body(&image, &target, &ports, &bind, &edge, proxy_labels);
    let options = CreateContainerOptionsBuilder::new().name(&name).build();
    match client.create_container(Some(options), body).await {
        Ok(_) => {}
        Err(e) if is_not_found(&e) => {
            return Err(EngineError::Unexpected(format!(
                "the egress proxy image {image} is not present on the engine (run scripts/busybox-base, or set [profiles] proxy_image)"
            )));
        }
        Err(e) => return Err(EngineError::api(format!("creating container {name}"))(e)),
    }
    client
        .connect_network(
            &network,
            NetworkConnectRequest {
                container: name.clone(),
                endpoint_config: Some(EndpointSettings::default()),
            },
        )
        .await
        .map_err(EngineError::api(format!("connecting {name} to {network}")))?;
    client
        .start_container(
            &name,
            None::<bollard::query_parameters::StartContainerOptions>,
        )
        .await
        .map_err(EngineError::api(format!("starting container {name}")))
}

/// The proxy: one `nc` listener per port, each connection relayed to the instance by a fresh
/// `nc`. Hardened like an instance, and unable to route: forwarding is off in its namespace.
pub(super) fn proxy_body(
    image: &str,
    target: &str,
    ports: &[u16],
    bind: &str,
    edge: &str,
    labels: BTreeMap<String, String>,
) -> ContainerCreateBody {
    let script = ports
        .iter()
        .map(|p| format!("nc -ll -p {p} -e nc {target} {p} &"))
        .chain(std::iter::once("wait".to_string()))
        .collect::<Vec<_>>()
        .join(" ");
    let mut host_config = host_config::host_config(Limits {
        read_only: true,
        extra_security_opt: Vec::new(),
        memory_bytes: PROXY_MEMORY,
        nano_cpus: PROXY_NANO_CPUS,
        pids_limit: PROXY_PIDS,
        shm_bytes: PROXY_SHM,
        network_mode: edge.to_string(),
        port_bindings: host_config::bindings(ports.iter().copied(), bind),
    });
    // Podman mounts writable, executable tmpfs on these over a read-only root; ctfdeck's own
    // take their place. On Docker they only add a little noexec space nothing in `nc` uses.
    host_config.tmpfs = Some(
        ENGINE_WRITABLE_PATHS
            .iter()
            .map(|p| {
                (
                    p.to_string(),
                    format!("{ENGINE_PATH_TMPFS},{TMPFS_FORCED_OPTIONS}"),
                )
            })
            .collect(),
    );
    host_config.sysctls = Some(HashMap::from([
        ("net.ipv4.ip_forward".to_string(), "0".to_string()),
        ("net.ipv4.conf.all.forwarding".to_string(), "0".to_string()),
    ]));
    ContainerCreateBody {
        image: Some(image.to_string()),
        user: Some(PROXY_USER.to_string()),
        cmd: Some(vec!["sh".to_string(), "-c".to_string(), script]),
        exposed_ports: Some(ports.iter().map(|p| format!("{p}/tcp")).collect()),
        // Every ctfdeck key explicitly, so that none comes from the proxy image's labels.
        labels: Some(labels::overriding(&labels, []).into_iter().collect()),
        host_config: Some(host_config),
        ..Default::default()
    }
}

fn companion_filter(
    kind: &str,
    store: &str,
    instance: Option<&str>,
) -> HashMap<String, Vec<String>> {
    let mut wanted = vec![
        format!("{}={kind}", labels::COMPANION),
        format!("{}={store}", labels::STORE),
    ];
    if let Some(instance) = instance {
        wanted.push(format!("{}={instance}", labels::INSTANCE));
    }
    HashMap::from([("label".to_string(), wanted)])
}

/// The proxy containers of one store, or of one of its instances, stopped ones included.
async fn list_proxies(
    client: &Docker,
    store: &str,
    instance: Option<&str>,
) -> Result<Vec<ContainerSummary>, EngineError> {
    let options = ListContainersOptionsBuilder::new()
        .all(true)
        .filters(&companion_filter(labels::COMPANION_PROXY, store, instance))
        .build();
    client
        .list_containers(Some(options))
        .await
        .map_err(EngineError::api("listing egress proxies"))
}

/// Published ports of every proxy of one store, by instance id.
pub async fn proxy_ports(
    client: &Docker,
    store: &str,
) -> Result<HashMap<String, Vec<PublishedPort>>, EngineError> {
    Ok(list_proxies(client, store, None)
        .await?
        .into_iter()
        .filter_map(|c| {
            let instance = c.labels.as_ref()?.get(labels::INSTANCE)?.clone();
            Some((instance, summary_ports(c.ports.unwrap_or_default())))
        })
        .collect())
}

/// The proxy container of one instance, if it exists (for inspection).
pub async fn find_proxy(
    client: &Docker,
    store: &str,
    instance: &str,
) -> Result<Option<String>, EngineError> {
    let list = list_proxies(client, store, Some(instance)).await?;
    Ok(list.into_iter().find_map(|c| c.id))
}

/// Remove an instance's proxy containers, then its edge networks. Idempotent.
pub async fn remove_companions(
    client: &Docker,
    store: &str,
    instance: &str,
) -> Result<(), EngineError> {
    let proxies = list_proxies(client, store, Some(instance)).await?;
    for id in proxies.into_iter().filter_map(|c| c.id) {
        remove_one(client, &id).await?;
    }
    let options = ListNetworksOptionsBuilder::new()
        .filters(&companion_filter(
            labels::COMPANION_EDGE,
            store,
            Some(instance),
        ))
        .build();
    let edges = client
        .list_networks(Some(options))
        .await
        .map_err(EngineError::api("listing edge networks"))?;
    for id in edges.into_iter().filter_map(|n| n.id) {
        match client.remove_network(&id).await {
            Ok(()) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(EngineError::api(format!("removing network {id}"))(e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_proxy_relays_each_port_and_cannot_route() {
        let body = proxy_body(
            "busybox:1.36",
            "10.0.0.2",
            &[1337, 8080],
            "127.0.0.1",
            "ctfdeck-abc-edge",
            BTreeMap::new(),
        );
        let cmd = body.cmd.unwrap_or_default();
        assert_eq!(
            cmd[2],
            "nc -ll -p 1337 -e nc 10.0.0.2 1337 & nc -ll -p 8080 -e nc 10.0.0.2 8080 & wait"
        );
        let h = body.host_config.unwrap_or_default();
        assert_eq!(h.cap_drop, Some(vec!["ALL".to_string()]));
        assert_eq!(h.readonly_rootfs, Some(true));
        assert_eq!(
            h.sysctls.unwrap_or_default().get("net.ipv4.ip_forward"),
            Some(&"0".to_string())
        );
        assert_eq!(h.network_mode.as_deref(), Some("ctfdeck-abc-edge"));
        let bindings = h.port_bindings.unwrap_or_default();
        assert_eq!(bindings.len(), 2);
        assert_eq!(body.user.as_deref(), Some(PROXY_USER));
    }

    #[test]
    fn the_proxy_runs_as_no_usual_host_account() {
        let usual = crate::domain::HostAccounts::from_texts(
            "root:x:0:0::/root:/bin/sh\nnobody:x:65534:65534::/:/usr/sbin/nologin\nalice:x:1000:1000::/home/alice:/bin/sh\n",
            "root:x:0:\nnogroup:x:65534:\nalice:x:1000:\n",
            "alice:100000:65536\n",
            "alice:100000:65536\n",
        );
        assert!(usual.clashes(PROXY_USER).is_empty(), "{PROXY_USER}");
        assert_ne!(PROXY_USER, crate::domain::DEFAULT_USER);
    }
}
