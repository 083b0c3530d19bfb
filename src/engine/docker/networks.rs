use std::collections::{BTreeMap, HashMap};

use bollard::Docker;
use bollard::models::{Ipam, IpamConfig, NetworkCreateRequest};
use bollard::query_parameters::ListNetworksOptionsBuilder;

use crate::engine::error::is_not_found;
use crate::engine::{EngineError, ManagedNetwork};

pub async fn create(
    client: &Docker,
    name: &str,
    labels: &BTreeMap<String, String>,
    subnet: Option<&str>,
) -> Result<String, EngineError> {
    let request = NetworkCreateRequest {
        ipam: subnet.map(|subnet| Ipam {
            driver: Some("default".to_string()),
            config: Some(vec![IpamConfig {
                subnet: Some(subnet.to_string()),
                ..Default::default()
            }]),
            options: None,
        }),
        name: name.to_string(),
        driver: Some("bridge".to_string()),
        internal: Some(false),
        attachable: Some(false),
        labels: Some(labels.clone().into_iter().collect()),
        options: Some(HashMap::from([(
            // One container per network; inter-container traffic on it has no use.
            "com.docker.network.bridge.enable_icc".to_string(),
            "false".to_string(),
        )])),
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
        Err(e) => Err(EngineError::api(format!("creating network {name}"))(e)),
    }
}

pub async fn remove(client: &Docker, id_or_name: &str) -> Result<(), EngineError> {
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
