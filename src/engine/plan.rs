//! What to run, decided by the domain; how to harden it is fixed here.

use std::collections::BTreeMap;

/// Always added to every tmpfs mount: nothing written at runtime may be executed.
pub const TMPFS_FORCED_OPTIONS: &str = "rw,noexec,nosuid,nodev";

#[derive(Debug, Clone, PartialEq)]
pub struct PortRequest {
    pub container: u16,
    pub protocol: String,
}

/// Resource and privilege settings. There is no field for privileged, host namespaces, binds
/// or devices: the engine layer cannot be asked for them.
#[derive(Debug, Clone, PartialEq)]
pub struct Hardening {
    /// Added back after dropping ALL; already checked against the admin allowlist.
    pub cap_add: Vec<String>,
    /// Mount point → extra options such as `size=16m`.
    pub tmpfs: BTreeMap<String, String>,
    pub memory_bytes: i64,
    pub nano_cpus: i64,
    pub pids_limit: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ContainerPlan {
    pub name: String,
    pub image: String,
    pub env: Vec<(String, String)>,
    pub command: Option<Vec<String>>,
    /// Numeric `uid:gid`, never root (checked by the domain).
    pub user: String,
    pub ports: Vec<PortRequest>,
    /// Host address ports are published on.
    pub bind_address: String,
    pub labels: BTreeMap<String, String>,
    /// Name of the instance's own network.
    pub network: String,
    pub hardening: Hardening,
}

impl Hardening {
    /// The tmpfs map as the engine wants it: forced options first, then the requested ones.
    pub fn tmpfs_options(&self) -> BTreeMap<String, String> {
        self.tmpfs
            .iter()
            .map(|(mount, extra)| {
                let opts = if extra.trim().is_empty() {
                    TMPFS_FORCED_OPTIONS.to_string()
                } else {
                    format!("{TMPFS_FORCED_OPTIONS},{extra}")
                };
                (mount.clone(), opts)
            })
            .collect()
    }
}
