//! The only code that speaks to the container engine. It knows labels, hardening, networks,
//! ports, logs and exec; it knows nothing of teams, quotas or flags.

mod absent;
pub(crate) mod docker;
mod error;
#[cfg(any(test, feature = "fake-engine"))]
pub mod fake;
pub mod firewall;
pub mod labels;
mod observe;
mod plan;
mod security_state;
mod state;
mod subnets;
pub mod swarm;

use std::collections::BTreeMap;
use std::path::Path;

use futures_util::stream::BoxStream;

pub use absent::AbsentEngine;
pub use docker::DockerEngine;
pub use error::EngineError;
pub use observe::{ContainerDetail, ContainerEvent, ContainerStats};
#[cfg(test)]
pub(crate) use plan::sample_plan;
pub use plan::{
    ContainerPlan, ENGINE_PATH_TMPFS, ENGINE_WRITABLE_PATHS, Egress, Grants, Hardening,
    PortRequest, ULIMITS,
};
pub use security_state::{AppliedHardening, AttachedNetwork, ProxyState, SecurityState};
pub use state::{ContainerState, Health};
pub use subnets::SubnetPool;
pub use swarm::{NodeResources, SwarmEngine, SwarmNode, SwarmSettings};

use crate::shared::PublishedPort;

/// Which engine answers on the Docker-compatible API. They differ in what they apply by
/// default (Podman adds writable tmpfs mounts, reports dropped capabilities as a list), so
/// the hardening and drift check need to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EngineKind {
    #[default]
    Docker,
    Podman,
    /// A Docker Swarm manager: instances are services spread over its nodes.
    Swarm,
}

impl EngineKind {
    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Docker => "Docker",
            EngineKind::Podman => "Podman",
            EngineKind::Swarm => "Swarm",
        }
    }
}

/// Who answered, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineInfo {
    /// What was connected to (socket path or URL), for messages and the status bar.
    pub target: String,
    pub kind: EngineKind,
    pub version: String,
    pub api_version: String,
    pub os: String,
    /// A user's own engine (rootless Podman), not the system's.
    pub rootless: bool,
    /// The host's cgroup version as the engine reports it (`1`, `2`; empty: not asked).
    pub cgroup_version: String,
}

impl EngineInfo {
    /// Why instances cannot run with their limits on this engine, if they cannot: rootless
    /// Podman on cgroup v1 has no cgroup of its own to set memory, CPU and pids limits in, and
    /// silently runs containers without them. Refused rather than run unlimited.
    pub fn limits_unenforceable(&self) -> Option<String> {
        (self.kind == EngineKind::Podman && self.rootless && self.cgroup_version == "1").then(
            || {
                "rootless Podman on cgroup v1 cannot apply memory, CPU or pids limits; run \
             rootful Podman (or Docker), or boot the host with cgroup v2 \
             (systemd.unified_cgroup_hierarchy=1)"
                    .to_string()
            },
        )
    }

    /// The version as people say it: Docker's bare (as it always was shown), Podman's named.
    pub fn described_version(&self) -> String {
        match self.kind {
            EngineKind::Docker => self.version.clone(),
            EngineKind::Podman => format!("podman {}", self.version),
            EngineKind::Swarm => format!("swarm {}", self.version),
        }
    }
}

/// A container carrying ctfdeck's labels, as the engine reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct ManagedContainer {
    pub id: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// Engine state: `created`, `running`, `exited`, …; `lost` when nothing can answer for it
    /// any more (on a Swarm: its node is down).
    pub state: String,
    pub ports: Vec<PublishedPort>,
    /// Unix seconds.
    pub created: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ManagedNetwork {
    pub id: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
}

/// Output of a command run inside a container.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecOutput {
    pub exit_code: i64,
    pub output: String,
}

/// One line of build output, forwarded as it arrives.
pub type BuildProgress<'a> = &'a (dyn Fn(&str) + Send + Sync);

/// The network a build's `RUN` steps get. The engine's default bridge reaches the host's own
/// services and the cloud metadata address, which the host firewall does not cover, so builds
/// run without one unless the challenge asks and the admin lets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildNetwork {
    /// No network at all: `RUN` steps see only a loopback interface.
    None,
    /// The engine's default build network.
    Default,
}

/// The container engine as ctfdeck needs it. One Docker implementation (which also serves
/// Podman's compatible socket); a Swarm one can implement the same operations.
#[async_trait::async_trait]
pub trait Engine: Send + Sync {
    fn info(&self) -> &EngineInfo;

    async fn image_present(&self, image: &str) -> Result<bool, EngineError>;

    /// The paths the image declares with `VOLUME` (sorted). Fails with `ImageMissing` when the
    /// image is not there.
    async fn image_volumes(&self, image: &str) -> Result<Vec<String>, EngineError>;

    /// Build `tag` from the folder `context` (holding a Dockerfile), reporting progress lines.
    /// Links in the context travel as links, as `docker build` sends them: what they point at
    /// outside the context never reaches the engine.
    async fn build_image(
        &self,
        context: &Path,
        tag: &str,
        network: BuildNetwork,
        progress: BuildProgress<'_>,
    ) -> Result<(), EngineError>;

    /// A per-instance bridge network. Not `internal`: an internal network gets no published
    /// ports. Isolation between instances comes from each having its own bridge.
    async fn create_network(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<String, EngineError>;

    /// As [`Engine::create_network`], on a free subnet of `pool` (the engine's own pools when
    /// `pool` is empty).
    async fn create_network_in(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
        pool: &SubnetPool,
    ) -> Result<String, EngineError>;

    /// Create (not start) a hardened container from the plan; returns its id.
    async fn create_container(&self, plan: &ContainerPlan) -> Result<String, EngineError>;

    async fn start_container(&self, id: &str) -> Result<(), EngineError>;

    /// Start a container that ran before and stopped by itself, with whatever accompanies it
    /// made anew. Engines with nothing accompanying a container just start it.
    async fn start_again(&self, id: &str) -> Result<(), EngineError> {
        self.start_container(id).await
    }

    /// Where the engine published the container's ports.
    async fn published_ports(
        &self,
        id: &str,
        protocols: &BTreeMap<u16, String>,
    ) -> Result<Vec<PublishedPort>, EngineError>;

    /// Freeze every process of a running container (the cgroup freezer): it stops answering at
    /// once, however slowly the engine later tears it down. Fails when the container is gone or
    /// not running; the caller then removes it outright.
    async fn freeze_container(&self, id_or_name: &str) -> Result<(), EngineError>;

    /// Force a container off a network: its published ports on it close and it can no longer
    /// send anything there. Succeeds when the container or the network is already gone.
    async fn disconnect(&self, network: &str, container: &str) -> Result<(), EngineError>;

    /// Force-remove; succeeds when the container is already gone.
    async fn remove_container(&self, id_or_name: &str) -> Result<(), EngineError>;

    /// Remove; succeeds when the network is already gone.
    async fn remove_network(&self, id_or_name: &str) -> Result<(), EngineError>;

    /// Every container (running or not) carrying `org.ctfdeck.managed=true` and the given store label.
    async fn managed_containers(
        &self,
        store_id: &str,
    ) -> Result<Vec<ManagedContainer>, EngineError>;

    async fn managed_networks(&self, store_id: &str) -> Result<Vec<ManagedNetwork>, EngineError>;

    /// Container logs as text lines (stdout and stderr interleaved).
    fn logs(
        &self,
        id: &str,
        follow: bool,
        tail: Option<usize>,
    ) -> BoxStream<'static, Result<String, EngineError>>;

    /// Run a command inside a running container and collect its output.
    async fn exec(&self, id: &str, cmd: &[&str]) -> Result<ExecOutput, EngineError> {
        self.exec_with_env(id, cmd, &[]).await
    }

    /// As [`Engine::exec`], with extra environment for that process only.
    async fn exec_with_env(
        &self,
        id: &str,
        cmd: &[&str],
        env: &[(&str, &str)],
    ) -> Result<ExecOutput, EngineError>;

    /// The container's process state (running, exit code, OOM kill) and healthcheck status.
    /// Engines that cannot tell say so; the default keeps other implementations compiling.
    async fn container_state(&self, id: &str) -> Result<ContainerState, EngineError> {
        Err(EngineError::Unexpected(format!(
            "this engine cannot report the state of container {id}"
        )))
    }

    /// Pull `image` from its registry, reporting progress lines.
    async fn pull_image(
        &self,
        image: &str,
        _progress: BuildProgress<'_>,
    ) -> Result<(), EngineError> {
        Err(EngineError::Pull {
            image: image.to_string(),
            message: "this engine cannot pull images".to_string(),
        })
    }

    /// The isolation a container really runs with (for drift detection).
    async fn inspect_security(&self, id: &str) -> Result<SecurityState, EngineError> {
        Err(EngineError::Unexpected(format!(
            "this engine cannot report the isolation of {id}"
        )))
    }

    /// Cheap liveness probe, for reconnecting after the engine went away.
    async fn ping(&self) -> Result<(), EngineError> {
        Err(EngineError::Unexpected(
            "this engine cannot be probed".into(),
        ))
    }

    /// Lifecycle events of one store's managed containers, as they happen. The stream ends or
    /// yields an error when the engine goes away. Engines without events give a stream that never
    /// yields: an ended stream means the engine is gone.
    fn container_events(
        &self,
        _store_id: &str,
    ) -> BoxStream<'static, Result<ContainerEvent, EngineError>> {
        Box::pin(futures_util::stream::pending())
    }

    /// One resource sample of a container.
    async fn container_stats(&self, id: &str) -> Result<ContainerStats, EngineError> {
        Err(EngineError::Unexpected(format!(
            "this engine reports no stats (for {id})"
        )))
    }

    /// What the engine says about a container, environment values left out.
    async fn inspect_container(&self, id: &str) -> Result<ContainerDetail, EngineError> {
        Err(EngineError::Unexpected(format!(
            "this engine cannot inspect {id}"
        )))
    }

    /// The nodes instances run on, for an engine that spreads them over several (a Swarm); a
    /// single-host engine has none.
    async fn cluster_nodes(&self) -> Result<Vec<SwarmNode>, EngineError> {
        Ok(Vec::new())
    }

    /// Let the node `name` take new instances, or not (the ones it runs stay). Returns the
    /// node as it is now.
    async fn set_node_taking(&self, name: &str, _take: bool) -> Result<SwarmNode, EngineError> {
        Err(EngineError::Unexpected(format!(
            "this engine runs everything on one host: there is no node {name}"
        )))
    }

    /// As [`Engine::logs`], each line prefixed with the engine's RFC 3339 timestamp and a space.
    fn logs_timestamped(
        &self,
        id: &str,
        follow: bool,
        tail: Option<usize>,
    ) -> BoxStream<'static, Result<String, EngineError>> {
        self.logs(id, follow, tail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(kind: EngineKind, rootless: bool, cgroup: &str) -> EngineInfo {
        EngineInfo {
            target: "unix:///run/user/1000/podman/podman.sock".into(),
            kind,
            version: "4.3.1".into(),
            api_version: "1.41".into(),
            os: "linux/amd64".into(),
            rootless,
            cgroup_version: cgroup.into(),
        }
    }

    #[test]
    fn only_rootless_podman_on_cgroup_v1_is_refused_for_its_missing_limits() {
        let refused = info(EngineKind::Podman, true, "1").limits_unenforceable();
        assert!(refused.is_some_and(|r| r.contains("cgroup v1")));
        assert_eq!(
            info(EngineKind::Podman, true, "2").limits_unenforceable(),
            None
        );
        assert_eq!(
            info(EngineKind::Podman, false, "1").limits_unenforceable(),
            None
        );
        assert_eq!(
            info(EngineKind::Docker, false, "1").limits_unenforceable(),
            None
        );
    }
}
