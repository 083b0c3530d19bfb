//! The Docker Swarm implementation of [`Engine`](super::Engine): an instance is a service with
//! one replica on its own attachable overlay network, its ports published in host mode on the
//! node that runs it. Reached through the manager's API (bollard, like the Docker engine);
//! what only a node's own engine can do (exec, stats, the drift check) goes to that node's
//! engine when `[swarm.nodes.<hostname>] engine` names it.

mod events;
mod images;
mod networks;
pub mod nodes;
mod services;
mod settings;
mod spec;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use bollard::models::Task;
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
use tokio::sync::Mutex;

pub use nodes::{NodeResources, SwarmNode};
pub use settings::{ChallengePlacement, NodeSettings, OnNodeDown, SwarmSettings};
pub use spec::{Gap, gaps};

use super::{
    BuildNetwork, BuildProgress, ContainerDetail, ContainerEvent, ContainerPlan, ContainerState,
    ContainerStats, DockerEngine, Engine, EngineError, EngineInfo, EngineKind, ExecOutput,
    ManagedContainer, ManagedNetwork, SecurityState, SubnetPool,
};
use crate::shared::PublishedPort;

/// A connected Swarm manager.
#[derive(Clone)]
pub struct SwarmEngine {
    manager: DockerEngine,
    info: EngineInfo,
    settings: Arc<SwarmSettings>,
    /// The nodes' own engines, connected on first use, by hostname.
    node_engines: Arc<Mutex<HashMap<String, DockerEngine>>>,
    /// Service removals in flight at once (see [`REMOVALS_AT_ONCE`]).
    removals: Arc<tokio::sync::Semaphore>,
}

/// A purge halts up to 64 instances at once; a Docker 20.10 manager asked to remove 98 services
/// that way crashed (a nil dereference in swarmkit's `SetServiceTasksRemove`). Removals on a
/// Swarm wait their turn beyond this many.
pub const REMOVALS_AT_ONCE: usize = 8;

impl std::fmt::Debug for SwarmEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SwarmEngine")
            .field("info", &self.info)
            .finish()
    }
}

impl SwarmEngine {
    /// Connect to the manager at `explicit` (else `DOCKER_HOST`, else the local socket) and check
    /// that it manages a Swarm.
    pub async fn connect(
        explicit: Option<&str>,
        settings: SwarmSettings,
    ) -> Result<SwarmEngine, EngineError> {
        let manager = DockerEngine::connect(explicit).await?;
        let mut info = manager.info().clone();
        let system = manager
            .client()
            .info()
            .await
            .map_err(EngineError::api("reading engine info"))?;
        let is_manager = system
            .swarm
            .as_ref()
            .and_then(|s| s.control_available)
            .unwrap_or(false);
        if !is_manager {
            return Err(EngineError::Refused {
                target: info.target.clone(),
                reason: "this engine is not a Swarm manager ([engine] kind = \"swarm\" needs \
                         --engine to name a manager; `docker swarm init` makes one)"
                    .to_string(),
            });
        }
        info.kind = EngineKind::Swarm;
        Ok(SwarmEngine {
            manager,
            info,
            settings: Arc::new(settings),
            node_engines: Arc::new(Mutex::new(HashMap::new())),
            removals: Arc::new(tokio::sync::Semaphore::new(REMOVALS_AT_ONCE)),
        })
    }

    /// The manager's own engine.
    pub fn manager(&self) -> &DockerEngine {
        &self.manager
    }

    pub fn settings(&self) -> &SwarmSettings {
        &self.settings
    }

    pub async fn nodes(&self) -> Result<Vec<SwarmNode>, EngineError> {
        nodes::list(self.manager.client(), &self.settings).await
    }

    /// What the services of this Swarm cannot be told (see [`gaps`]).
    pub fn gaps(&self) -> Vec<Gap> {
        spec::gaps(&self.info.api_version)
    }

    /// The engine of `node`, when the config names it (or it is the manager itself).
    pub async fn node_engine(&self, node: &SwarmNode) -> Result<DockerEngine, EngineError> {
        let mut engines = self.node_engines.lock().await;
        if let Some(engine) = engines.get(&node.hostname) {
            return Ok(engine.clone());
        }
        let configured = self
            .settings
            .nodes
            .get(&node.hostname)
            .and_then(|n| n.engine.clone());
        let engine = match configured {
            Some(url) => DockerEngine::connect(Some(&url)).await?,
            None if self.is_manager_node(node).await => self.manager.clone(),
            None => {
                return Err(EngineError::Unexpected(format!(
                    "node {} runs it, and its engine is not reachable from here: name it with \
                     [swarm.nodes.{}] engine = \"tcp://…\"",
                    node.hostname, node.hostname
                )));
            }
        };
        engines.insert(node.hostname.clone(), engine.clone());
        Ok(engine)
    }

    async fn is_manager_node(&self, node: &SwarmNode) -> bool {
        let own = self.manager.client().info().await.ok();
        own.and_then(|i| i.swarm).and_then(|s| s.node_id).as_deref() == Some(node.id.as_str())
    }

    /// The running task of a service, the node it runs on, and that node's engine with the
    /// task's container id.
    async fn task_container(&self, service: &str) -> Result<(DockerEngine, String), EngineError> {
        let tasks = services::tasks(self.manager.client(), service).await?;
        let task = running(&tasks).ok_or_else(|| {
            EngineError::Unexpected(format!("service {service} has no running task"))
        })?;
        let nodes = self.nodes().await?;
        let node = services::node_of(task, &nodes).ok_or_else(|| {
            EngineError::Unexpected(format!("the node running service {service} is unknown"))
        })?;
        let container = task
            .status
            .as_ref()
            .and_then(|s| s.container_status.as_ref())
            .and_then(|c| c.container_id.clone())
            .ok_or_else(|| {
                EngineError::Unexpected(format!(
                    "the task of service {service} has no container yet"
                ))
            })?;
        Ok((self.node_engine(node).await?, container))
    }
}

fn running(tasks: &[Task]) -> Option<&Task> {
    tasks
        .iter()
        .find(|t| services::state(t) == Some(bollard::models::TaskState::RUNNING))
}

#[async_trait::async_trait]
impl Engine for SwarmEngine {
    fn info(&self) -> &EngineInfo {
        &self.info
    }

    async fn image_present(&self, image: &str) -> Result<bool, EngineError> {
        self.manager.image_present(image).await
    }

    async fn image_volumes(&self, image: &str) -> Result<Vec<String>, EngineError> {
        self.manager.image_volumes(image).await
    }

    /// Built on the manager, then pushed to the registry so every node can pull it.
    async fn build_image(
        &self,
        context: &Path,
        tag: &str,
        network: BuildNetwork,
        progress: BuildProgress<'_>,
    ) -> Result<(), EngineError> {
        self.manager
            .build_image(context, tag, network, progress)
            .await?;
        if !self.settings.registry.is_empty() {
            let pushed =
                images::distribute(self.manager.client(), &self.settings.registry, tag).await?;
            progress(&format!("pushed {pushed} for the Swarm's nodes"));
        }
        Ok(())
    }

    async fn create_network(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<String, EngineError> {
        networks::create(self.manager.client(), name, labels, None).await
    }

    async fn create_network_in(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
        pool: &SubnetPool,
    ) -> Result<String, EngineError> {
        networks::create_in_pool(self.manager.client(), name, labels, pool).await
    }

    /// Create the service (the Swarm starts its task at once); `start_container` waits for it.
    async fn create_container(&self, plan: &ContainerPlan) -> Result<String, EngineError> {
        if let Some(reason) = spec::refusal(plan) {
            return Err(EngineError::Refused {
                target: self.info.target.clone(),
                reason: format!("{} cannot run as a Swarm service: {reason}", plan.name),
            });
        }
        if !self.manager.image_present(&plan.image).await? {
            return Err(EngineError::ImageMissing {
                image: plan.image.clone(),
            });
        }
        let image =
            images::distribute(self.manager.client(), &self.settings.registry, &plan.image).await?;
        let spec = spec::service_spec(plan, &image, &self.settings, &self.info.api_version);
        services::create(self.manager.client(), spec).await
    }

    async fn start_container(&self, id: &str) -> Result<(), EngineError> {
        services::wait_running(self.manager.client(), id, self.settings.start_timeout)
            .await
            .map(|_| ())
    }

    /// A service whose task stopped gets a fresh task (a forced update), and this waits for
    /// that task: the old one, or one the Swarm started by itself before the update, is not it.
    async fn start_again(&self, id: &str) -> Result<(), EngineError> {
        let older = services::force_update(self.manager.client(), id).await?;
        services::wait_new_running(
            self.manager.client(),
            id,
            self.settings.start_timeout,
            &older,
        )
        .await
        .map(|_| ())
    }

    async fn published_ports(
        &self,
        id: &str,
        protocols: &BTreeMap<u16, String>,
    ) -> Result<Vec<PublishedPort>, EngineError> {
        // Right after a restart the Swarm may be between tasks (its own restart policy and a
        // forced update can overlap): wait for a running task rather than record no ports.
        let deadline = tokio::time::Instant::now() + self.settings.start_timeout;
        loop {
            let tasks = services::tasks(self.manager.client(), id).await?;
            if let Some(task) = running(&tasks) {
                let nodes = self.nodes().await?;
                return Ok(services::ports(task, &nodes, protocols));
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(Vec::new());
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
    }

    /// Services are not frozen: the caller removes them outright.
    async fn freeze_container(&self, id_or_name: &str) -> Result<(), EngineError> {
        Err(EngineError::Unexpected(format!(
            "service {id_or_name} is removed, not frozen, on a Swarm"
        )))
    }

    /// Host-mode ports are not on the overlay network: removing the service closes them.
    async fn disconnect(&self, _network: &str, _container: &str) -> Result<(), EngineError> {
        Ok(())
    }

    async fn remove_container(&self, id_or_name: &str) -> Result<(), EngineError> {
        let _turn =
            self.removals.acquire().await.map_err(|e| {
                EngineError::Unexpected(format!("waiting to remove {id_or_name}: {e}"))
            })?;
        let nodes = self.nodes().await?;
        services::remove(self.manager.client(), id_or_name, &nodes).await
    }

    async fn remove_network(&self, id_or_name: &str) -> Result<(), EngineError> {
        networks::remove(self.manager.client(), id_or_name).await
    }

    async fn managed_containers(
        &self,
        store_id: &str,
    ) -> Result<Vec<ManagedContainer>, EngineError> {
        let nodes = self.nodes().await?;
        services::managed(self.manager.client(), store_id, &nodes).await
    }

    async fn managed_networks(&self, store_id: &str) -> Result<Vec<ManagedNetwork>, EngineError> {
        networks::managed(self.manager.client(), store_id).await
    }

    /// The service's logs, as the manager collects them from whichever node runs it.
    fn logs(
        &self,
        id: &str,
        follow: bool,
        tail: Option<usize>,
    ) -> BoxStream<'static, Result<String, EngineError>> {
        let tail = tail.map_or_else(|| "all".to_string(), |n| n.to_string());
        let options = bollard::query_parameters::LogsOptionsBuilder::new()
            .follow(follow)
            .stdout(true)
            .stderr(true)
            .tail(&tail)
            .build();
        let action = format!("reading logs of service {id}");
        self.manager
            .client()
            .service_logs(id, Some(options))
            .map_ok(|out| String::from_utf8_lossy(&out.into_bytes()).into_owned())
            .map_err(move |e| EngineError::api(action.clone())(e))
            .boxed()
    }

    async fn exec_with_env(
        &self,
        id: &str,
        cmd: &[&str],
        env: &[(&str, &str)],
    ) -> Result<ExecOutput, EngineError> {
        let (engine, container) = self.task_container(id).await?;
        engine.exec_with_env(&container, cmd, env).await
    }

    /// The newest task's state, told as a container's.
    async fn container_state(&self, id: &str) -> Result<ContainerState, EngineError> {
        let tasks = services::tasks(self.manager.client(), id).await?;
        let task = tasks
            .first()
            .ok_or_else(|| EngineError::Unexpected(format!("service {id} has no task")))?;
        Ok(services::container_state(task))
    }

    async fn inspect_security(&self, id: &str) -> Result<SecurityState, EngineError> {
        let (engine, container) = self.task_container(id).await?;
        engine.inspect_security(&container).await
    }

    async fn ping(&self) -> Result<(), EngineError> {
        self.manager.ping().await
    }

    /// Made by looking at the services every `[swarm] watch_every` (see [`events`]).
    fn container_events(
        &self,
        store_id: &str,
    ) -> BoxStream<'static, Result<ContainerEvent, EngineError>> {
        events::stream(
            self.manager.client().clone(),
            self.settings.clone(),
            store_id,
        )
    }

    async fn cluster_nodes(&self) -> Result<Vec<SwarmNode>, EngineError> {
        nodes::list_with_reservations(self.manager.client(), &self.settings).await
    }

    async fn set_node_taking(&self, name: &str, take: bool) -> Result<SwarmNode, EngineError> {
        nodes::set_taking(self.manager.client(), &self.settings, name, take).await
    }

    async fn container_stats(&self, id: &str) -> Result<ContainerStats, EngineError> {
        let (engine, container) = self.task_container(id).await?;
        engine.container_stats(&container).await
    }

    async fn inspect_container(&self, id: &str) -> Result<ContainerDetail, EngineError> {
        let (engine, container) = self.task_container(id).await?;
        engine.inspect_container(&container).await
    }
}
