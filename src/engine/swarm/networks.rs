//! Each instance's own attachable overlay network, on a subnet of ctfdeck's pool.

use std::collections::BTreeMap;

use bollard::Docker;
use bollard::models::NetworkCreateRequest;

use crate::engine::{EngineError, ManagedNetwork, SubnetPool};

/// An overlay network on a free subnet of `pool` (the Swarm's own pools when it is empty),
/// tried from a random start so concurrent spawns rarely collide.
pub async fn create_in_pool(
    client: &Docker,
    name: &str,
    labels: &BTreeMap<String, String>,
    pool: &SubnetPool,
) -> Result<String, EngineError> {
    let invalid = |e: String| EngineError::Unexpected(e);
    if pool.subnet(0).map_err(invalid)?.is_none() {
        return create(client, name, labels, None).await;
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
        match create(client, name, labels, Some(&subnet)).await {
            Err(e @ EngineError::SubnetTaken { .. }) => last = Some(e),
            other => return other,
        }
    }
    Err(last.unwrap_or_else(|| invalid("no free subnet in the network pool".into())))
}

/// Attachable, so a node's engine can also put a container of its own on it (a probe, a solve
/// script); not internal, so its task's host-mode ports answer.
pub async fn create(
    client: &Docker,
    name: &str,
    labels: &BTreeMap<String, String>,
    subnet: Option<&str>,
) -> Result<String, EngineError> {
    let request = NetworkCreateRequest {
        ipam: subnet.map(crate::engine::docker::networks::ipam_of),
        name: name.to_string(),
        driver: Some("overlay".to_string()),
        attachable: Some(true),
        internal: Some(false),
        labels: Some(labels.clone().into_iter().collect()),
        ..Default::default()
    };
    match client.create_network(request).await {
        Ok(created) => Ok(created.id),
        Err(bollard::errors::Error::DockerResponseServerError { message, .. })
            if subnet.is_some() && message.contains("overlaps") =>
        {
            Err(EngineError::SubnetTaken {
                subnet: subnet.unwrap_or_default().to_string(),
            })
        }
        Err(e) => Err(EngineError::api(format!("creating overlay network {name}"))(e)),
    }
}

pub async fn remove(client: &Docker, id_or_name: &str) -> Result<(), EngineError> {
    crate::engine::docker::networks::remove(client, id_or_name).await
}

pub async fn managed(client: &Docker, store_id: &str) -> Result<Vec<ManagedNetwork>, EngineError> {
    crate::engine::docker::networks::managed(client, store_id).await
}
