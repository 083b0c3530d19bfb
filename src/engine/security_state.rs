//! The isolation a container really runs with, as the engine reports it: what drift detection
//! compares with the plan the instance should have, and what the console's detail shows.

use std::collections::BTreeMap;

use super::EngineKind;

/// One network a container is attached to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AttachedNetwork {
    pub name: String,
    pub internal: bool,
    /// The host-side bridge interface, when the network names one.
    pub bridge: Option<String>,
    /// Inter-container traffic allowed on it.
    pub icc: bool,
    /// Other containers attached to it (names), besides the one inspected.
    pub others: Vec<String>,
}

/// The settings one inspect of a container reports (not as planned: as applied).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AppliedHardening {
    pub user: String,
    pub privileged: bool,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub security_opt: Vec<String>,
    pub read_only: bool,
    pub init: bool,
    /// Mount point → options.
    pub tmpfs: BTreeMap<String, String>,
    /// 0: no limit.
    pub memory: i64,
    pub memory_swap: i64,
    /// 0: no limit.
    pub nano_cpus: i64,
    /// 0 or -1: no limit.
    pub pids_limit: i64,
    /// Size of `/dev/shm`; 0: the engine's default (64 MiB).
    pub shm_size: i64,
    /// Resource limits set on the container: name → (soft, hard). Absent: the engine's.
    pub ulimits: BTreeMap<String, (i64, i64)>,
    pub network_mode: String,
    pub pid_mode: String,
    pub ipc_mode: String,
    pub uts_mode: String,
    /// Host paths mounted into the container (binds and bind mounts).
    pub host_mounts: Vec<String>,
    /// Every other mount the engine made (`volume /data`): named and anonymous volumes,
    /// including those an image's `VOLUME` creates. ctfdeck makes none.
    pub other_mounts: Vec<String>,
    pub devices: Vec<String>,
    /// Host addresses the container's ports are published on.
    pub published_on: Vec<String>,
}

/// Security-relevant facts about an instance: its container's settings, its networks, and its
/// port proxy.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SecurityState {
    /// Which engine reported it, in Docker's words either way (see the engine's reading).
    pub engine: EngineKind,
    pub running: bool,
    pub applied: AppliedHardening,
    pub networks: Vec<AttachedNetwork>,
    pub labels: BTreeMap<String, String>,
    /// The port proxy of an instance without egress, when it has one.
    pub proxy: Option<ProxyState>,
}

/// The port proxy of an instance without egress.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProxyState {
    pub running: bool,
    pub read_only: bool,
    pub cap_drop: Vec<String>,
    pub user: String,
    pub networks: Vec<String>,
    pub published_on: Vec<String>,
}
