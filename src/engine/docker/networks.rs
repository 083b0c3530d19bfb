//! Networks: one per instance (internal when egress is denied), plus the edge network of a
//! port proxy.

use std::collections::{BTreeMap, HashMap};

use bollard::Docker;
use bollard::models::{Ipam, IpamConfig, NetworkCreateRequest, NetworkDisconnectRequest};
use bollard::query_parameters::ListNetworksOptionsBuilder;

use crate::engine::error::is_not_found;
use crate::engine::firewall::{BRIDGE_PREFIX, INTERNAL_PREFIX};
use crate::engine::{EngineError, ManagedNetwork, SubnetPool, labels};

/// The kinds of network an instance uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkKind {
    /// An instance with egress: an ordinary bridge its ports are published on.
    Published,
    /// An instance without egress: `internal` (the engine routes nothing in or out) and no
    /// address on the host side, so even the host's own services are out of reach. Its two
    /// members (the instance and its port proxy) must talk, so inter-container traffic is on.
    Internal,
    /// The ordinary network a port proxy publishes on.
    Edge,
}

/// An instance's network is internal when its labels deny egress.
pub fn kind_for(labels: &BTreeMap<String, String>) -> NetworkKind {
    let denied = labels
        .get(crate::engine::labels::EGRESS)
        .map(String::as_str)
        == Some(crate::engine::labels::EGRESS_DENIED);
    if denied {
        NetworkKind::Internal
    } else {
        NetworkKind::Published
    }
}

/// A network on a free subnet of `pool`; the engine's own pools when `pool` is empty (a stock
/// daemon has only about 30 subnets there). Subnets are tried from a random start so
/// concurrent spawns rarely collide; a collision (the engine says the subnet overlaps) moves
/// on to another.
pub async fn create_in_pool(
    client: &Docker,
    name: &str,
    labels: &BTreeMap<String, String>,
    kind: NetworkKind,
    pool: &SubnetPool,
) -> Result<String, EngineError> {
    let invalid = |e: String| EngineError::Unexpected(e);
    if pool.subnet(0).map_err(invalid)?.is_none() {
        return create_kind(client, name, labels, kind, None).await;
    }
    let mut start = [0u8; 4];
    let _ = getrandom::fill(&mut start);
    let start = u32::from_le_bytes(start);
    let tries = pool.capacity().min(64) as u32;
    let mut last = None;
    for i in 0..tries {
        let Some(subnet) = pool
            .subnet(start.wrapping_add(i.wrapping_mul(7919)))
            .map_err(invalid)?
        else {
            break;
        };
        match create_kind(client, name, labels, kind, Some(&subnet)).await {
            Err(e @ EngineError::SubnetTaken { .. }) => last = Some(e),
            other => return other,
        }
    }
    Err(last.unwrap_or_else(|| invalid("no free subnet in the network pool".into())))
}

pub async fn create_kind(
    client: &Docker,
    name: &str,
    labels: &BTreeMap<String, String>,
    kind: NetworkKind,
    subnet: Option<&str>,
) -> Result<String, EngineError> {
    let internal = kind == NetworkKind::Internal;
    let mut options = HashMap::from([(
        // One container per published network: inter-container traffic on it has no use.
        "com.docker.network.bridge.enable_icc".to_string(),
        internal.to_string(),
    )]);
    if internal {
        options.insert(
            "com.docker.network.bridge.inhibit_ipv4".to_string(),
            "true".to_string(),
        );
    }
    if let Some(bridge) = bridge_name(name, kind) {
        options.insert("com.docker.network.bridge.name".to_string(), bridge);
    }
    let request = NetworkCreateRequest {
        ipam: subnet.map(ipam_of),
        name: name.to_string(),
        driver: Some("bridge".to_string()),
        internal: Some(internal),
        attachable: Some(false),
        labels: Some(labels.clone().into_iter().collect()),
        options: Some(options),
        ..Default::default()
    };
    match client.create_network(request).await {
        Ok(created) => Ok(created.id),
        Err(bollard::errors::Error::DockerResponseServerError { message, .. })
            if subnet.is_some() && subnet_taken(&message) =>
        {
            Err(EngineError::SubnetTaken {
                subnet: subnet.unwrap_or_default().to_string(),
            })
        }
        Err(e) => Err(EngineError::api(format!("creating network {name}"))(e)),
    }
}

/// Whether the engine refused a subnet because it is in use: Docker says it "overlaps", Podman
/// that it "is already used on the host or by another config".
/// The default IPAM driver with one subnet: a subnet from ctfdeck's pool, on either engine kind.
pub(crate) fn ipam_of(subnet: &str) -> Ipam {
    Ipam {
        driver: Some("default".to_string()),
        config: Some(vec![IpamConfig {
            subnet: Some(subnet.to_string()),
            ..Default::default()
        }]),
        options: None,
    }
}

fn subnet_taken(message: &str) -> bool {
    message.contains("overlaps") || message.contains("is already used")
}

/// The host-side bridge interface of a network: named so that one host firewall rule
/// (`ctfdeck firewall apply`) covers every instance.
/// `ctfdeck-<id>` → `ctfd-<id>` (`ctfd-i-<id>` when internal: the firewall lets an instance
/// and its proxy talk on those), `ctfdeck-<id>-edge` → `ctfd-<id>-e`; `None` for other names or
/// when the result would not fit an interface name (15 bytes).
pub fn bridge_name(network: &str, kind: NetworkKind) -> Option<String> {
    let rest = network.strip_prefix("ctfdeck-")?;
    let bridge = match (rest.strip_suffix("-edge"), kind) {
        (Some(id), _) => format!("{BRIDGE_PREFIX}{id}-e"),
        (None, NetworkKind::Internal) => format!("{INTERNAL_PREFIX}{rest}"),
        (None, _) => format!("{BRIDGE_PREFIX}{rest}"),
    };
    let fits = bridge.len() <= 15
        && bridge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    fits.then_some(bridge)
}

/// Remove a network; for an instance without egress, its proxy and edge network first (the
/// proxy is attached to it, which would otherwise block the removal).
/// Force a container off a network. Done when either is gone already.
pub async fn disconnect(
    client: &Docker,
    network: &str,
    container: &str,
) -> Result<(), EngineError> {
    let request = NetworkDisconnectRequest {
        container: container.to_string(),
        force: Some(true),
    };
    match client.disconnect_network(network, request).await {
        Ok(()) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(EngineError::api(format!(
            "disconnecting container {container} from network {network}"
        ))(e)),
    }
}

pub async fn remove(client: &Docker, id_or_name: &str) -> Result<(), EngineError> {
    let found = client
        .inspect_network(
            id_or_name,
            None::<bollard::query_parameters::InspectNetworkOptions>,
        )
        .await;
    match found {
        Ok(network) => {
            let l = network.labels.unwrap_or_default();
            let has_companions = l.get(labels::EGRESS).map(String::as_str)
                == Some(labels::EGRESS_DENIED)
                || l.contains_key(labels::COMPANION);
            if let (true, Some(instance), Some(store)) = (
                has_companions,
                l.get(labels::INSTANCE),
                l.get(labels::STORE),
            ) {
                super::egress::remove_companions(client, store, instance).await?;
            }
        }
        Err(e) if is_not_found(&e) => return Ok(()),
        Err(e) => return Err(EngineError::api(format!("inspecting network {id_or_name}"))(e)),
    }
    match client.remove_network(id_or_name).await {
        Ok(()) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(EngineError::api(format!("removing network {id_or_name}"))(
            e,
        )),
    }
}

pub async fn managed(client: &Docker, store_id: &str) -> Result<Vec<ManagedNetwork>, EngineError> {
    let options = ListNetworksOptionsBuilder::new()
        .filters(&super::managed_filter(store_id))
        .build();
    let networks = client
        .list_networks(Some(options))
        .await
        .map_err(EngineError::api("listing networks"))?;
    Ok(networks
        .into_iter()
        .map(|n| ManagedNetwork {
            id: n.id.unwrap_or_default(),
            name: n.name.unwrap_or_default(),
            labels: n.labels.unwrap_or_default().into_iter().collect(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subnet_in_use_is_recognised_in_both_engines_words() {
        assert!(subnet_taken(
            "Pool overlaps with other one on this address space"
        ));
        assert!(subnet_taken(
            "subnet 10.213.182.208/28 is already used on the host or by another config"
        ));
        assert!(!subnet_taken("network with name ctfdeck-x already exists"));
    }

    #[test]
    fn instance_networks_get_recognisable_bridge_names() {
        use NetworkKind::*;
        assert_eq!(
            bridge_name("ctfdeck-abc234", Published).as_deref(),
            Some("ctfd-abc234")
        );
        assert_eq!(
            bridge_name("ctfdeck-abc234", Internal).as_deref(),
            Some("ctfd-i-abc234")
        );
        assert_eq!(
            bridge_name("ctfdeck-abc234-edge", Edge).as_deref(),
            Some("ctfd-abc234-e")
        );
        assert_eq!(bridge_name("other", Published), None);
        assert_eq!(bridge_name("ctfdeck-muchtoolongname", Published), None);
        assert_eq!(bridge_name("ctfdeck-a b", Published), None);
    }
}
