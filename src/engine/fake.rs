//! An engine in memory, for fast tests of the domain's rules (quotas, renewals, teardown,
//! reconcile, the reaper) without a container engine. It keeps containers, networks and
//! images in maps and answers as the Docker engine does where the rules depend on it:
//! removals of what is gone succeed, a frozen container is `paused`, a missing image refuses
//! the create. It enforces no isolation at all: what the engine itself does is tested against
//! the real engine.
//!
//! Built for the crate's own tests, and with the `fake-engine` feature for other test code.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use futures_util::stream::BoxStream;

use super::{
    BuildProgress, ContainerPlan, ContainerState, Engine, EngineError, EngineInfo, ExecOutput,
    ManagedContainer, ManagedNetwork, SubnetPool, SwarmNode, labels,
};
use crate::shared::PublishedPort;

/// Where the fake publishes ports: from here up, one per port.
const FIRST_HOST_PORT: u16 = 40_000;

/// A container as the fake keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeContainer {
    pub managed: ManagedContainer,
    /// The network it was created on (its name).
    pub network: String,
    /// Commands run in it with `exec`, with the extra environment names they got.
    pub execs: Vec<(Vec<String>, Vec<String>)>,
}

#[derive(Debug, Default)]
struct State {
    containers: BTreeMap<String, FakeContainer>,
    networks: BTreeMap<String, ManagedNetwork>,
    images: BTreeSet<String>,
    next: u64,
    next_port: u16,
    unreachable: bool,
    /// The next builds fail with this message.
    failing_builds: Option<String>,
    /// The next `start_container` fails with this message.
    failing_start: Option<String>,
    /// Built images, in order, with their contexts.
    builds: Vec<(String, String)>,
    /// The nodes of a Swarm it plays (none: a single host).
    nodes: Vec<SwarmNode>,
}

/// See the module documentation.
#[derive(Debug)]
pub struct FakeEngine {
    info: EngineInfo,
    state: Mutex<State>,
}

impl Default for FakeEngine {
    fn default() -> Self {
        FakeEngine::new()
    }
}

impl FakeEngine {
    pub fn new() -> FakeEngine {
        FakeEngine {
            info: EngineInfo {
                target: "fake://memory".to_string(),
                kind: super::EngineKind::Docker,
                version: "0".to_string(),
                api_version: "1.41".to_string(),
                os: "fake".to_string(),
                rootless: false,
                cgroup_version: String::new(),
            },
            state: Mutex::new(State {
                next_port: FIRST_HOST_PORT,
                ..State::default()
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock has failed already; its state is still
        // worth reading.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The state, or the error of an engine that cannot be reached.
    fn reach(&self) -> Result<MutexGuard<'_, State>, EngineError> {
        let state = self.state();
        if state.unreachable {
            return Err(EngineError::Unreachable {
                target: self.info.target.clone(),
                reason: "the fake engine is down".to_string(),
            });
        }
        Ok(state)
    }

    /// Make every call fail as an engine that went away does (or answer again).
    pub fn set_unreachable(&self, down: bool) {
        self.state().unreachable = down;
    }

    /// The image is there, as if pulled or built.
    pub fn add_image(&self, image: &str) {
        self.state().images.insert(image.to_string());
    }

    /// The next builds fail with `message` (`None`: they succeed again).
    pub fn fail_builds(&self, message: Option<&str>) {
        self.state().failing_builds = message.map(str::to_string);
    }

    /// The next container start fails with `message`, once.
    pub fn fail_next_start(&self, message: &str) {
        self.state().failing_start = Some(message.to_string());
    }

    /// Images built so far, with the contexts they were built from.
    pub fn builds(&self) -> Vec<(String, String)> {
        self.state().builds.clone()
    }

    /// Play a Swarm of these nodes (an empty list: a single host again).
    pub fn set_nodes(&self, nodes: Vec<SwarmNode>) {
        self.state().nodes = nodes;
    }

    /// A fake that says it is a Swarm manager of `nodes`: each container is published on the
    /// address of the node that takes instances and runs the fewest, as the Swarm's spread.
    pub fn swarm(nodes: Vec<SwarmNode>) -> FakeEngine {
        let mut fake = FakeEngine::new();
        fake.info.kind = super::EngineKind::Swarm;
        fake.set_nodes(nodes);
        fake
    }

    /// Node `hostname` goes down: what it runs is `lost`, as the Swarm engine reports it.
    pub fn node_down(&self, hostname: &str) {
        let mut s = self.state();
        let Some(node) = s.nodes.iter_mut().find(|n| n.hostname == hostname) else {
            return;
        };
        node.state = "down".to_string();
        let address = node.address.clone();
        for c in s.containers.values_mut() {
            if c.managed.state == "running" && on_address(c, &address) {
                c.managed.state = "lost".to_string();
            }
        }
    }

    /// The Swarm placed container `id` on node `hostname` by itself (new ports there).
    pub fn move_to(&self, id: &str, hostname: &str) {
        let mut s = self.state();
        let Some(address) = s
            .nodes
            .iter()
            .find(|n| n.hostname == hostname)
            .map(|n| n.address.clone())
        else {
            return;
        };
        if let Some(key) = find_container(&s, id) {
            republish(&mut s, &key, &address);
        }
    }

    /// The nodes as they are now (availability changed by drains and activations).
    pub fn nodes(&self) -> Vec<SwarmNode> {
        self.state().nodes.clone()
    }

    /// Every container, by id.
    pub fn containers(&self) -> BTreeMap<String, FakeContainer> {
        self.state().containers.clone()
    }

    /// Every network, by id.
    pub fn networks(&self) -> BTreeMap<String, ManagedNetwork> {
        self.state().networks.clone()
    }

    /// Put a container on the engine as if someone else had created it (a crashed spawn, a
    /// container whose row was lost), running.
    pub fn insert_container(
        &self,
        name: &str,
        container_labels: BTreeMap<String, String>,
        created_secs: i64,
    ) -> String {
        let mut s = self.state();
        let id = next_id(&mut s, "c");
        s.containers.insert(
            id.clone(),
            FakeContainer {
                managed: ManagedContainer {
                    id: id.clone(),
                    name: name.to_string(),
                    labels: container_labels,
                    state: "running".to_string(),
                    ports: Vec::new(),
                    created: created_secs,
                },
                network: String::new(),
                execs: Vec::new(),
            },
        );
        id
    }
}

fn on_address(c: &FakeContainer, address: &str) -> bool {
    c.managed
        .ports
        .first()
        .is_some_and(|p| p.host_ip == address)
}

/// The address of the node that takes instances and runs the fewest containers (`but` left
/// out); `None` when no node takes any.
fn least_busy_node(s: &State, but: Option<&str>) -> Option<String> {
    s.nodes
        .iter()
        .filter(|n| n.takes_instances() && Some(n.address.as_str()) != but)
        .min_by_key(|n| {
            s.containers
                .values()
                .filter(|c| c.managed.state == "running" && on_address(c, &n.address))
                .count()
        })
        .map(|n| n.address.clone())
}

/// Container `key` runs on `address` now, on fresh ports there.
fn republish(s: &mut State, key: &str, address: &str) {
    let mut next = s.next_port;
    if let Some(c) = s.containers.get_mut(key) {
        for p in &mut c.managed.ports {
            p.host_ip = address.to_string();
            p.host_port = next;
            next = next.wrapping_add(1);
        }
        c.managed.state = "running".to_string();
    }
    s.next_port = next;
}

fn unix_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn next_id(s: &mut State, prefix: &str) -> String {
    s.next += 1;
    format!("{prefix}{:011x}", s.next)
}

/// The engine's "no such object" answer.
fn not_found(action: &str, what: &str) -> EngineError {
    EngineError::Api {
        action: action.to_string(),
        source: Box::new(bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            message: format!("No such object: {what}"),
        }),
    }
}

/// The key of the container named or identified by `id_or_name`, as the engine resolves it.
fn find_container(s: &State, id_or_name: &str) -> Option<String> {
    s.containers
        .values()
        .find(|c| c.managed.id == id_or_name || c.managed.name == id_or_name)
        .map(|c| c.managed.id.clone())
}

fn find_network(s: &State, id_or_name: &str) -> Option<String> {
    s.networks
        .values()
        .find(|n| n.id == id_or_name || n.name == id_or_name)
        .map(|n| n.id.clone())
}

fn of_store(object_labels: &BTreeMap<String, String>, store_id: &str) -> bool {
    object_labels.get(labels::MANAGED).map(String::as_str) == Some("true")
        && object_labels.get(labels::STORE).map(String::as_str) == Some(store_id)
}

#[async_trait::async_trait]
impl Engine for FakeEngine {
    fn info(&self) -> &EngineInfo {
        &self.info
    }

    async fn image_present(&self, image: &str) -> Result<bool, EngineError> {
        Ok(self.reach()?.images.contains(image))
    }

    /// Images here declare no volumes.
    async fn image_volumes(&self, _image: &str) -> Result<Vec<String>, EngineError> {
        drop(self.reach()?);
        Ok(Vec::new())
    }

    async fn build_image(
        &self,
        context: &Path,
        tag: &str,
        _network: crate::engine::BuildNetwork,
        progress: BuildProgress<'_>,
    ) -> Result<(), EngineError> {
        let failing = self.reach()?.failing_builds.clone();
        progress("Step 1/1 : FROM busybox:1.36");
        if let Some(message) = failing {
            return Err(EngineError::Build {
                tag: tag.to_string(),
                message,
            });
        }
        let mut s = self.reach()?;
        s.images.insert(tag.to_string());
        s.builds
            .push((tag.to_string(), context.display().to_string()));
        Ok(())
    }

    async fn create_network(
        &self,
        name: &str,
        network_labels: &BTreeMap<String, String>,
    ) -> Result<String, EngineError> {
        let mut s = self.reach()?;
        if find_network(&s, name).is_some() {
            return Err(EngineError::Unexpected(format!(
                "network with name {name} already exists"
            )));
        }
        let id = next_id(&mut s, "n");
        s.networks.insert(
            id.clone(),
            ManagedNetwork {
                id: id.clone(),
                name: name.to_string(),
                labels: network_labels.clone(),
            },
        );
        Ok(id)
    }

    async fn create_network_in(
        &self,
        name: &str,
        network_labels: &BTreeMap<String, String>,
        _pool: &SubnetPool,
    ) -> Result<String, EngineError> {
        self.create_network(name, network_labels).await
    }

    async fn create_container(&self, plan: &ContainerPlan) -> Result<String, EngineError> {
        let mut s = self.reach()?;
        if !s.images.contains(&plan.image) {
            return Err(EngineError::ImageMissing {
                image: plan.image.clone(),
            });
        }
        if find_container(&s, &plan.name).is_some() {
            return Err(EngineError::Unexpected(format!(
                "container name {} is already in use",
                plan.name
            )));
        }
        let id = next_id(&mut s, "c");
        let host_ip = if s.nodes.is_empty() {
            plan.bind_address.clone()
        } else {
            least_busy_node(&s, None).ok_or_else(|| EngineError::NotStarted {
                service: plan.name.clone(),
                reason: "no node takes instances".to_string(),
            })?
        };
        let mut ports = Vec::new();
        for p in &plan.ports {
            let host_port = s.next_port;
            s.next_port = s.next_port.wrapping_add(1);
            ports.push(PublishedPort {
                container: p.container,
                host_ip: host_ip.clone(),
                host_port,
                protocol: "tcp".to_string(),
            });
        }
        s.containers.insert(
            id.clone(),
            FakeContainer {
                managed: ManagedContainer {
                    id: id.clone(),
                    name: plan.name.clone(),
                    labels: plan.labels.clone(),
                    state: "created".to_string(),
                    ports,
                    created: unix_seconds(),
                },
                network: plan.network.clone(),
                execs: Vec::new(),
            },
        );
        Ok(id)
    }

    async fn start_container(&self, id: &str) -> Result<(), EngineError> {
        let mut s = self.reach()?;
        if let Some(message) = s.failing_start.take() {
            return Err(EngineError::Unexpected(message));
        }
        let key = find_container(&s, id).ok_or_else(|| not_found("start container", id))?;
        if let Some(c) = s.containers.get_mut(&key) {
            c.managed.state = "running".to_string();
        }
        Ok(())
    }

    /// On a Swarm, a container whose node went down is placed on another node that takes
    /// instances, as a forced update of its service does; none: it cannot start.
    async fn start_again(&self, id: &str) -> Result<(), EngineError> {
        let placed = {
            let mut s = self.reach()?;
            let key = find_container(&s, id).ok_or_else(|| not_found("start container", id))?;
            let lost_on = s
                .containers
                .get(&key)
                .filter(|c| c.managed.state == "lost")
                .and_then(|c| c.managed.ports.first().map(|p| p.host_ip.clone()));
            match lost_on {
                Some(down) => {
                    let address = least_busy_node(&s, Some(&down)).ok_or_else(|| {
                        EngineError::NotStarted {
                            service: id.to_string(),
                            reason: "no node takes instances".to_string(),
                        }
                    })?;
                    republish(&mut s, &key, &address);
                    true
                }
                None => false,
            }
        };
        if placed {
            Ok(())
        } else {
            self.start_container(id).await
        }
    }

    async fn published_ports(
        &self,
        id: &str,
        protocols: &BTreeMap<u16, String>,
    ) -> Result<Vec<PublishedPort>, EngineError> {
        let s = self.reach()?;
        let c = find_container(&s, id)
            .and_then(|key| s.containers.get(&key))
            .ok_or_else(|| not_found("inspect container", id))?;
        Ok(c.managed
            .ports
            .iter()
            .map(|p| PublishedPort {
                protocol: protocols
                    .get(&p.container)
                    .cloned()
                    .unwrap_or_else(|| p.protocol.clone()),
                ..p.clone()
            })
            .collect())
    }

    async fn freeze_container(&self, id_or_name: &str) -> Result<(), EngineError> {
        let mut s = self.reach()?;
        let key = find_container(&s, id_or_name)
            .ok_or_else(|| not_found("freeze container", id_or_name))?;
        let Some(c) = s.containers.get_mut(&key) else {
            return Err(not_found("freeze container", id_or_name));
        };
        if c.managed.state != "running" {
            return Err(EngineError::Unexpected(format!(
                "container {id_or_name} is not running"
            )));
        }
        c.managed.state = "paused".to_string();
        Ok(())
    }

    async fn disconnect(&self, _network: &str, _container: &str) -> Result<(), EngineError> {
        self.reach().map(|_| ())
    }

    async fn remove_container(&self, id_or_name: &str) -> Result<(), EngineError> {
        let mut s = self.reach()?;
        if let Some(key) = find_container(&s, id_or_name) {
            s.containers.remove(&key);
        }
        Ok(())
    }

    async fn remove_network(&self, id_or_name: &str) -> Result<(), EngineError> {
        let mut s = self.reach()?;
        if let Some(key) = find_network(&s, id_or_name) {
            let name = s
                .networks
                .get(&key)
                .map(|n| n.name.clone())
                .unwrap_or_default();
            if s.containers.values().any(|c| c.network == name) {
                return Err(EngineError::Unexpected(format!(
                    "network {name} has active endpoints"
                )));
            }
            s.networks.remove(&key);
        }
        Ok(())
    }

    async fn managed_containers(
        &self,
        store_id: &str,
    ) -> Result<Vec<ManagedContainer>, EngineError> {
        Ok(self
            .reach()?
            .containers
            .values()
            .filter(|c| of_store(&c.managed.labels, store_id))
            .map(|c| c.managed.clone())
            .collect())
    }

    async fn managed_networks(&self, store_id: &str) -> Result<Vec<ManagedNetwork>, EngineError> {
        Ok(self
            .reach()?
            .networks
            .values()
            .filter(|n| of_store(&n.labels, store_id))
            .cloned()
            .collect())
    }

    fn logs(
        &self,
        _id: &str,
        _follow: bool,
        _tail: Option<usize>,
    ) -> BoxStream<'static, Result<String, EngineError>> {
        Box::pin(futures_util::stream::empty())
    }

    async fn exec_with_env(
        &self,
        id: &str,
        cmd: &[&str],
        env: &[(&str, &str)],
    ) -> Result<ExecOutput, EngineError> {
        let mut s = self.reach()?;
        let key = find_container(&s, id).ok_or_else(|| not_found("exec", id))?;
        let Some(c) = s.containers.get_mut(&key) else {
            return Err(not_found("exec", id));
        };
        if c.managed.state != "running" {
            return Err(EngineError::Unexpected(format!(
                "container {id} is not running"
            )));
        }
        c.execs.push((
            cmd.iter().map(|a| a.to_string()).collect(),
            env.iter().map(|(name, _)| name.to_string()).collect(),
        ));
        Ok(ExecOutput {
            exit_code: 0,
            output: String::new(),
        })
    }

    async fn container_state(&self, id: &str) -> Result<ContainerState, EngineError> {
        let s = self.reach()?;
        let status = find_container(&s, id)
            .and_then(|key| s.containers.get(&key))
            .map(|c| c.managed.state.clone())
            .ok_or_else(|| not_found("inspect container", id))?;
        Ok(ContainerState {
            running: status == "running",
            status,
            exit_code: None,
            oom_killed: false,
            error: None,
            health: None,
        })
    }

    async fn cluster_nodes(&self) -> Result<Vec<SwarmNode>, EngineError> {
        Ok(self.reach()?.nodes.clone())
    }

    /// As the Swarm engine does: not taking is `pause`, taking is `active`.
    async fn set_node_taking(&self, name: &str, take: bool) -> Result<SwarmNode, EngineError> {
        let mut s = self.reach()?;
        if s.nodes.is_empty() {
            return Err(EngineError::Unexpected(format!(
                "this engine runs everything on one host: there is no node {name}"
            )));
        }
        let node = s
            .nodes
            .iter_mut()
            .find(|n| n.id == name || n.hostname == name)
            .ok_or_else(|| EngineError::Unexpected(format!("the Swarm has no node {name}")))?;
        node.availability = if take { "active" } else { "pause" }.to_string();
        Ok(node.clone())
    }

    async fn ping(&self) -> Result<(), EngineError> {
        self.reach().map(|_| ())
    }
}
