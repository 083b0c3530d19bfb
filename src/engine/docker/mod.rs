//! The Docker implementation of [`Engine`](super::Engine), over bollard. Podman's
//! Docker-compatible socket is served by the same code.

mod connect;
mod containers;
mod egress;
mod events;
mod host_config;
mod images;
mod inspect;
mod inspect_security;
mod inspect_settled;
mod libpod;
mod logs;
pub(crate) mod networks;
mod podman;
mod pull;
mod seccomp_file;
mod socket_get;
mod stats;

use std::collections::BTreeMap;
use std::path::Path;

use bollard::Docker;
use futures_util::stream::BoxStream;

use super::{
    BuildNetwork, BuildProgress, ContainerDetail, ContainerEvent, ContainerPlan, ContainerState,
    ContainerStats, Engine, EngineError, EngineInfo, ExecOutput, ManagedContainer, ManagedNetwork,
    SecurityState, SubnetPool,
};
use crate::shared::PublishedPort;

/// A connected Docker (or Podman) engine.
#[derive(Clone)]
pub struct DockerEngine {
    client: Docker,
    info: EngineInfo,
}

impl std::fmt::Debug for DockerEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerEngine")
            .field("info", &self.info)
            .finish()
    }
}

impl DockerEngine {
    /// The underlying client, for tests that inspect what the engine really did.
    pub fn client(&self) -> &Docker {
        &self.client
    }

    /// The engine's confinement as `docker info` lists it (`name=seccomp,profile=default`, …).
    pub async fn security_options(&self) -> Result<Vec<String>, EngineError> {
        let info = self
            .client
            .info()
            .await
            .map_err(EngineError::api("reading engine info"))?;
        Ok(info.security_options.unwrap_or_default())
    }

    /// Whether containers keep running while the engine itself restarts (`live-restore` in
    /// daemon.json). Off, an engine restart stops every instance.
    pub async fn live_restore(&self) -> Result<bool, EngineError> {
        let info = self
            .client
            .info()
            .await
            .map_err(EngineError::api("reading engine info"))?;
        Ok(info.live_restore_enabled.unwrap_or(false))
    }
}

#[async_trait::async_trait]
impl Engine for DockerEngine {
    fn info(&self) -> &EngineInfo {
        &self.info
    }

    async fn image_present(&self, image: &str) -> Result<bool, EngineError> {
        images::present(&self.client, image).await
    }

    async fn image_volumes(&self, image: &str) -> Result<Vec<String>, EngineError> {
        images::volumes(&self.client, image).await
    }

    async fn build_image(
        &self,
        context: &Path,
        tag: &str,
        network: BuildNetwork,
        progress: BuildProgress<'_>,
    ) -> Result<(), EngineError> {
        images::build(&self.client, context, tag, network, progress).await
    }

    async fn create_network(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<String, EngineError> {
        networks::create_kind(&self.client, name, labels, networks::kind_for(labels), None).await
    }

    async fn create_network_in(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
        pool: &SubnetPool,
    ) -> Result<String, EngineError> {
        let kind = networks::kind_for(labels);
        networks::create_in_pool(&self.client, name, labels, kind, pool).await
    }

    async fn create_container(&self, plan: &ContainerPlan) -> Result<String, EngineError> {
        if let Some(reason) = self.info.limits_unenforceable() {
            return Err(EngineError::Refused {
                target: self.info.target.clone(),
                reason,
            });
        }
        let mut plan = plan.clone();
        plan.hardening.cover_engine_writable_paths(self.info.kind);
        if self.info.kind == crate::engine::EngineKind::Podman
            && let Some(json) = plan.hardening.seccomp.take()
        {
            let path = seccomp_file::write(&json)?;
            plan.hardening.seccomp = Some(path.display().to_string());
        }
        containers::create(&self.client, &plan).await
    }

    async fn start_container(&self, id: &str) -> Result<(), EngineError> {
        containers::start(&self.client, id).await
    }

    async fn start_again(&self, id: &str) -> Result<(), EngineError> {
        containers::start_again(&self.client, id).await
    }

    async fn published_ports(
        &self,
        id: &str,
        protocols: &BTreeMap<u16, String>,
    ) -> Result<Vec<PublishedPort>, EngineError> {
        containers::published_ports(&self.client, id, protocols).await
    }

    async fn freeze_container(&self, id_or_name: &str) -> Result<(), EngineError> {
        containers::freeze(&self.client, id_or_name).await
    }

    async fn disconnect(&self, network: &str, container: &str) -> Result<(), EngineError> {
        networks::disconnect(&self.client, network, container).await
    }

    async fn remove_container(&self, id_or_name: &str) -> Result<(), EngineError> {
        containers::remove(&self.client, id_or_name).await
    }

    async fn remove_network(&self, id_or_name: &str) -> Result<(), EngineError> {
        networks::remove(&self.client, id_or_name).await
    }

    async fn managed_containers(
        &self,
        store_id: &str,
    ) -> Result<Vec<ManagedContainer>, EngineError> {
        containers::managed(&self.client, store_id).await
    }

    async fn managed_networks(&self, store_id: &str) -> Result<Vec<ManagedNetwork>, EngineError> {
        networks::managed(&self.client, store_id).await
    }

    fn logs(
        &self,
        id: &str,
        follow: bool,
        tail: Option<usize>,
    ) -> BoxStream<'static, Result<String, EngineError>> {
        logs::stream(self.client.clone(), id.to_string(), follow, tail)
    }

    async fn exec_with_env(
        &self,
        id: &str,
        cmd: &[&str],
        env: &[(&str, &str)],
    ) -> Result<ExecOutput, EngineError> {
        containers::exec(&self.client, id, cmd, env).await
    }

    async fn container_state(&self, id: &str) -> Result<ContainerState, EngineError> {
        inspect::state(&self.client, id).await
    }

    async fn pull_image(
        &self,
        image: &str,
        progress: BuildProgress<'_>,
    ) -> Result<(), EngineError> {
        pull::pull(&self.client, image, progress).await
    }

    async fn inspect_security(&self, id: &str) -> Result<SecurityState, EngineError> {
        inspect_security::security_state(&self.client, &self.info, id).await
    }

    async fn ping(&self) -> Result<(), EngineError> {
        self.client
            .ping()
            .await
            .map(|_| ())
            .map_err(|e| EngineError::Unreachable {
                target: self.info.target.clone(),
                reason: e.to_string(),
            })
    }

    fn container_events(
        &self,
        store_id: &str,
    ) -> BoxStream<'static, Result<ContainerEvent, EngineError>> {
        events::stream(self.client.clone(), store_id)
    }

    async fn container_stats(&self, id: &str) -> Result<ContainerStats, EngineError> {
        stats::sample(&self.client, id).await
    }

    async fn inspect_container(&self, id: &str) -> Result<ContainerDetail, EngineError> {
        stats::inspect(&self.client, self.info.kind, id).await
    }

    fn logs_timestamped(
        &self,
        id: &str,
        follow: bool,
        tail: Option<usize>,
    ) -> BoxStream<'static, Result<String, EngineError>> {
        logs::stream_with(self.client.clone(), id.to_string(), follow, tail, true)
    }
}

/// Label filter selecting what one store manages.
pub(crate) fn managed_filter(store_id: &str) -> std::collections::HashMap<String, Vec<String>> {
    std::collections::HashMap::from([(
        "label".to_string(),
        vec![
            format!("{}=true", super::labels::MANAGED),
            format!("{}={store_id}", super::labels::STORE),
        ],
    )])
}
