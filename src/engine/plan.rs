//! What to run, decided by the domain; how to harden it is fixed here.

use super::{EngineKind, SubnetPool};
pub use crate::shared::Grants;
use std::collections::BTreeMap;

/// Always added to every tmpfs mount: nothing written at runtime may be executed.
pub const TMPFS_FORCED_OPTIONS: &str = "rw,noexec,nosuid,nodev";

/// Resource limits set on every container (instances and proxies), name → (soft, hard).
/// Set explicitly rather than inherited: Podman's defaults exceed what many hosts allow (the
/// container then fails to start), and Docker's are whatever the daemon was started with.
/// `nproc` counts every process of the container's uid on the host, across instances running
/// as that uid, so it is not the per-instance bound (the pids limit is): it stays well above
/// any pids limit, so instances cannot starve each other through it.
pub const ULIMITS: [(&str, i64, i64); 2] = [("nofile", 1024, 1024), ("nproc", 4096, 4096)];

/// Where Podman mounts writable, executable tmpfs of its own when the root is read-only
/// (Docker leaves them read-only). ctfdeck mounts its own there instead, with the forced
/// options and [`ENGINE_PATH_TMPFS`]: a path the container can write to never runs what was
/// written.
pub const ENGINE_WRITABLE_PATHS: [&str; 3] = ["/tmp", "/var/tmp", "/run"];
/// Size of the tmpfs ctfdeck puts on [`ENGINE_WRITABLE_PATHS`] not already in the plan.
pub const ENGINE_PATH_TMPFS: &str = "size=4m";

#[derive(Debug, Clone, PartialEq)]
pub struct PortRequest {
    pub container: u16,
    pub protocol: String,
}

/// Resource and privilege settings. Privileged mode, host namespaces, binds and devices exist
/// only in [`Grants`], which the domain fills solely from the admin's explicit exceptions.
#[derive(Debug, Clone, PartialEq)]
pub struct Hardening {
    /// Added back after dropping ALL; already checked against the profile and the admin.
    pub cap_add: Vec<String>,
    /// Mount point → extra options such as `size=16m`.
    pub tmpfs: BTreeMap<String, String>,
    /// 0: unlimited (an admin exception).
    pub memory_bytes: i64,
    pub nano_cpus: i64,
    /// -1: unlimited (an admin exception).
    pub pids_limit: i64,
    /// Size of `/dev/shm`, above 0 (the engine reads 0 as its 64 MiB default).
    pub shm_bytes: i64,
    /// Read-only root filesystem; every shipped profile requires it.
    pub read_only: bool,
    pub egress: Egress,
    /// Seccomp profile JSON; `None`: the engine's default profile.
    pub seccomp: Option<String>,
    pub grants: Grants,
}

/// Whether an instance may open outbound connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Egress {
    Allowed,
    /// The instance's network is `internal` and has no address on the host side, so nothing
    /// outside it is reachable; a proxy container (running `nc` from `proxy_image`) sits on that
    /// network and on a second, ordinary one, and publishes the instance's ports.
    Denied {
        proxy_image: String,
        /// Where the edge network's subnet comes from (ctfdeck's pool, like the instance's).
        edge_pool: SubnetPool,
    },
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

/// Options that would undo a forced one; dropped even if a caller passes them.
const TMPFS_UNDOING_OPTIONS: &[&str] = &["exec", "suid", "dev", "ro"];

impl Hardening {
    /// On an engine that mounts writable paths of its own over a read-only root (Podman), the
    /// plan's tmpfs takes them: those it names keep its options, the others get a small size.
    /// Docker leaves them read-only, so nothing is added there.
    pub fn cover_engine_writable_paths(&mut self, kind: EngineKind) {
        if kind != EngineKind::Podman || !self.read_only {
            return;
        }
        for path in ENGINE_WRITABLE_PATHS {
            self.tmpfs
                .entry(path.to_string())
                .or_insert_with(|| ENGINE_PATH_TMPFS.to_string());
        }
    }

    /// The tmpfs map as the engine wants it: the requested options, then the forced ones. The
    /// kernel applies mount flags left to right, so the forced ones come last and win; options
    /// that would undo them are dropped as well.
    pub fn tmpfs_options(&self) -> BTreeMap<String, String> {
        self.tmpfs
            .iter()
            .map(|(mount, extra)| {
                let opts: Vec<&str> = extra
                    .split(',')
                    .map(str::trim)
                    .filter(|o| !o.is_empty() && !TMPFS_UNDOING_OPTIONS.contains(o))
                    .chain(TMPFS_FORCED_OPTIONS.split(','))
                    .collect();
                (mount.clone(), opts.join(","))
            })
            .collect()
    }
}

/// A small hardened plan for unit tests of code that reads plans (an HTTP port on 8080,
/// 64 MiB, read-only root, no extra capabilities, no tmpfs, no seccomp file, no grants);
/// each test changes the fields it is about.
#[cfg(test)]
pub(crate) fn sample_plan(egress: Egress) -> ContainerPlan {
    ContainerPlan {
        name: "ctfdeck-web-abc234".into(),
        image: "img".into(),
        env: Vec::new(),
        command: None,
        user: "1000:1000".into(),
        ports: vec![PortRequest {
            container: 8080,
            protocol: "http".into(),
        }],
        bind_address: "127.0.0.1".into(),
        labels: BTreeMap::new(),
        network: "ctfdeck-abc234".into(),
        hardening: Hardening {
            cap_add: Vec::new(),
            tmpfs: BTreeMap::new(),
            memory_bytes: 64 << 20,
            nano_cpus: 500_000_000,
            pids_limit: 64,
            shm_bytes: 1 << 20,
            read_only: true,
            egress,
            seccomp: None,
            grants: Grants::default(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forced_tmpfs_options_come_last_and_cannot_be_undone() {
        let h = Hardening {
            cap_add: Vec::new(),
            tmpfs: BTreeMap::from([
                ("/tmp".to_string(), "size=16m, exec,suid".to_string()),
                ("/run".to_string(), String::new()),
            ]),
            memory_bytes: 1,
            nano_cpus: 1,
            pids_limit: 1,
            shm_bytes: 1,
            read_only: true,
            egress: Egress::Allowed,
            seccomp: None,
            grants: Grants::default(),
        };
        let o = h.tmpfs_options();
        assert_eq!(o["/tmp"], "size=16m,rw,noexec,nosuid,nodev");
        assert_eq!(o["/run"], "rw,noexec,nosuid,nodev");
    }

    #[test]
    fn podmans_writable_paths_get_ctfdecks_tmpfs_and_dockers_stay_read_only() {
        let mut h = sample_plan(Egress::Allowed).hardening;
        h.tmpfs = BTreeMap::from([("/tmp".to_string(), "size=16m".to_string())]);
        let mut docker = h.clone();
        docker.cover_engine_writable_paths(EngineKind::Docker);
        assert_eq!(docker, h);

        let mut podman = h.clone();
        podman.cover_engine_writable_paths(EngineKind::Podman);
        let o = podman.tmpfs_options();
        assert_eq!(
            o.keys().map(String::as_str).collect::<Vec<_>>(),
            ["/run", "/tmp", "/var/tmp"]
        );
        assert_eq!(
            o["/tmp"], "size=16m,rw,noexec,nosuid,nodev",
            "the plan's own kept"
        );
        assert_eq!(o["/run"], "size=4m,rw,noexec,nosuid,nodev");
        assert_eq!(o["/var/tmp"], "size=4m,rw,noexec,nosuid,nodev");

        // A writable root gets nothing from the engine, so nothing is added.
        let mut writable = h.clone();
        writable.read_only = false;
        writable.cover_engine_writable_paths(EngineKind::Podman);
        assert_eq!(writable.tmpfs.len(), 1);
    }
}
