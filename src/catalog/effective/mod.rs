//! A challenge's security requests measured against its profile, the admin ceilings and the
//! admin's exceptions. The same evaluation backs `catalog check` (each problem becomes a
//! diagnostic at the request's position) and every spawn (any problem refuses the spawn), so a
//! definition edited after the check still cannot weaken isolation.

use std::collections::BTreeMap;
use std::path::Path;

use super::ceilings::{Ceilings, normalize_cap};
use super::exceptions::{Exception, dangerous_cap, hint};
use super::locate::escape;
use super::model::Challenge;
use super::profile::{DEFAULT_PROFILE, Profile, mount_problem, parse_tmpfs_options};

mod resources;

pub use crate::shared::Grants;

pub use resources::{MIN_CPUS, is_unlimited};

const SEC: &str = "/container/security";

/// One refused request: where it is (a JSON pointer) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub pointer: String,
    pub message: String,
    /// The problem is the property's name (a tmpfs mount point), not its value.
    pub at_key: bool,
}

/// A resource amount: what the challenge asked for, or the most its profile allows (the caller
/// picks its default up to that), or no limit (an admin exception).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Amount<T> {
    Requested(T),
    UpTo(T),
    Unlimited,
}

/// What an instance of the challenge runs with, as far as the catalog decides it.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectiveSecurity {
    pub profile: String,
    /// Normalised, without `CAP_`.
    pub cap_add: Vec<String>,
    pub read_only: bool,
    /// The challenge's user, else the profile's; `None`: the admin's default user.
    pub user: Option<String>,
    /// Mount point → options (size first); the forced `noexec,nosuid,nodev` are the engine's.
    pub tmpfs: BTreeMap<String, String>,
    pub memory: Amount<i64>,
    pub cpus: Amount<f64>,
    pub pids: Amount<i64>,
    /// Size of `/dev/shm` (the profile's).
    pub shm_bytes: i64,
    pub egress: bool,
    /// Seccomp profile JSON; `None`: the engine's default.
    pub seccomp: Option<String>,
    pub grants: Grants,
}

/// The outcome of [`evaluate`]: the effective settings when the profile exists, and every problem.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub effective: Option<EffectiveSecurity>,
    pub problems: Vec<Problem>,
}

impl Evaluation {
    /// The effective settings, or every problem's message joined.
    pub fn into_result(self) -> Result<EffectiveSecurity, String> {
        match self.effective {
            Some(effective) if self.problems.is_empty() => Ok(effective),
            _ => Err(self
                .problems
                .iter()
                .map(|p| p.message.as_str())
                .collect::<Vec<_>>()
                .join("; ")),
        }
    }
}

struct Eval<'a> {
    ch: &'a Challenge,
    ceilings: &'a Ceilings,
    profile: Option<&'a Profile>,
    problems: Vec<Problem>,
    grants: Grants,
}

/// Check `ch`'s security and resource requests.
pub fn evaluate(ch: &Challenge, ceilings: &Ceilings) -> Evaluation {
    let wanted = ch.container.security.profile.trim();
    let profile = ceilings.security.get(wanted);
    let mut e = Eval {
        ch,
        ceilings,
        profile,
        problems: Vec::new(),
        grants: Grants::default(),
    };
    if profile.is_none() {
        let message = if wanted.eq_ignore_ascii_case("unconfined") {
            "security.profile \"unconfined\" is refused: it drops the seccomp/AppArmor confinement every instance runs under".to_string()
        } else {
            format!(
                "security profile {wanted:?} is not defined (profiles: {}); leave it out for {DEFAULT_PROFILE:?}",
                ceilings.security.names()
            )
        };
        e.problem(&format!("{SEC}/profile"), message);
    }
    e.privileged();
    e.namespaces();
    e.volumes();
    e.devices();
    let cap_add = e.capabilities();
    let read_only = e.read_only();
    let tmpfs = e.tmpfs();
    let egress = e.egress();
    let (memory, cpus, pids) = e.resources();
    e.grants.root = ceilings.allow_root || e.allowed(Exception::Root);

    let effective = profile.map(|p| EffectiveSecurity {
        profile: p.name.clone(),
        cap_add,
        read_only,
        user: ch.container.user.clone().or_else(|| p.user.clone()),
        tmpfs,
        memory,
        cpus,
        pids,
        shm_bytes: p.shm_bytes,
        egress,
        seccomp: match &p.seccomp {
            super::profile::Seccomp::EngineDefault => None,
            super::profile::Seccomp::Builtin { json, .. }
            | super::profile::Seccomp::File { json, .. } => Some(json.clone()),
        },
        grants: e.grants.clone(),
    });
    Evaluation {
        effective,
        problems: e.problems,
    }
}

impl Eval<'_> {
    fn problem(&mut self, pointer: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            pointer: pointer.to_string(),
            message: message.into(),
            at_key: false,
        });
    }

    fn problem_at_key(&mut self, pointer: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            pointer: pointer.to_string(),
            message: message.into(),
            at_key: true,
        });
    }

    fn allowed(&self, which: Exception) -> bool {
        self.ceilings.security.allow.allows(which, &self.ch.id)
    }

    /// `reason; <how an admin would allow it>`.
    fn refused(&self, which: Exception, reason: &str) -> String {
        format!("{reason}; {}", hint(which, &self.ch.id))
    }

    fn profile_name(&self) -> &str {
        self.profile.map_or(DEFAULT_PROFILE, |p| p.name.as_str())
    }

    fn privileged(&mut self) {
        if !self.ch.container.security.privileged {
            return;
        }
        if self.allowed(Exception::Privileged) {
            self.grants.privileged = true;
        } else {
            let m = self.refused(
                Exception::Privileged,
                "security.privileged is refused: a privileged container has every capability and the host's devices, so it can take over the host",
            );
            self.problem(&format!("{SEC}/privileged"), m);
        }
    }

    fn namespaces(&mut self) {
        let s = &self.ch.container.security;
        let host_ok = self.allowed(Exception::HostNamespaces);
        let modes = [
            (
                "network_mode",
                s.network_mode.clone(),
                "network",
                "network stack, next to every host service",
                &[][..],
            ),
            (
                "pid_mode",
                s.pid_mode.clone(),
                "process",
                "process namespace, where it can see and signal host processes",
                &[][..],
            ),
            (
                "ipc_mode",
                s.ipc_mode.clone(),
                "IPC",
                "IPC namespace (shared memory of host processes)",
                &["private", "none", "shareable"][..],
            ),
            (
                "uts_mode",
                s.uts_mode.clone(),
                "hostname",
                "hostname namespace",
                &[][..],
            ),
        ];
        for (field, mode, namespace, what, safe) in modes {
            let Some(mode) = mode else { continue };
            let at = format!("{SEC}/{field}");
            let granted = if safe.contains(&mode.as_str()) {
                true
            } else if mode == "host" {
                if !host_ok {
                    let m = self.refused(
                        Exception::HostNamespaces,
                        &format!(
                            "security.{field} \"host\" is refused: it shares the host's {what}"
                        ),
                    );
                    self.problem(&at, m);
                }
                host_ok
            } else if mode.starts_with("container:") {
                self.problem(
                    &at,
                    format!("security.{field} {mode:?} is refused: it shares another container's {namespace} namespace"),
                );
                false
            } else if field == "network_mode" {
                self.problem(
                    &at,
                    format!("security.network_mode {mode:?} is not allowed; an instance only gets its own isolated network (leave network_mode out)"),
                );
                false
            } else {
                self.problem(
                    &at,
                    format!("security.{field} {mode:?} is not a supported value"),
                );
                false
            };
            if granted {
                let slot = match field {
                    "network_mode" => &mut self.grants.network_mode,
                    "pid_mode" => &mut self.grants.pid_mode,
                    "ipc_mode" => &mut self.grants.ipc_mode,
                    _ => &mut self.grants.uts_mode,
                };
                *slot = Some(mode);
            }
        }
    }

    fn volumes(&mut self) {
        for (i, volume) in self.ch.container.security.volumes.iter().enumerate() {
            let at = format!("{SEC}/volumes/{i}");
            let mut parts = volume.split(':');
            let host = parts.next().unwrap_or_default();
            let target = parts.next();
            let mode = parts.next();
            if !host.starts_with('/') {
                self.problem(
                    &at,
                    format!("security.volumes {volume:?} is refused: named volumes outlive the instance and are shared by every player (COPY files into the image instead)"),
                );
                continue;
            }
            let (which, reason) = if is_engine_socket(host) {
                (
                    Exception::EngineSocket,
                    format!(
                        "security.volumes {volume:?} mounts the container engine's socket, which gives the container root on the host; refused"
                    ),
                )
            } else {
                (
                    Exception::HostMounts,
                    format!(
                        "security.volumes {volume:?} is refused: bind mounts expose host paths to players (COPY files into the image instead)"
                    ),
                )
            };
            if !self.allowed(which) {
                let m = self.refused(which, &reason);
                self.problem(&at, m);
                continue;
            }
            let well_formed = target.is_some_and(|t| t.starts_with('/'))
                && matches!(mode, None | Some("ro") | Some("rw"))
                && parts.next().is_none();
            if !well_formed {
                self.problem(
                    &at,
                    format!(
                        "security.volumes {volume:?} must be /host/path:/container/path[:ro|rw]"
                    ),
                );
                continue;
            }
            // Read-only unless the definition says otherwise.
            let bind = match mode {
                Some(_) => volume.clone(),
                None => format!("{volume}:ro"),
            };
            self.grants.binds.push(bind);
        }
    }

    fn devices(&mut self) {
        for (i, device) in self.ch.container.security.devices.iter().enumerate() {
            if self.allowed(Exception::Devices) {
                self.grants.devices.push(device.clone());
            } else {
                let m = self.refused(
                    Exception::Devices,
                    &format!("security.devices {device:?} is refused: host devices give direct access to the host's hardware"),
                );
                self.problem(&format!("{SEC}/devices/{i}"), m);
            }
        }
    }

    fn capabilities(&mut self) -> Vec<String> {
        let mut granted = Vec::new();
        for (i, cap) in self.ch.container.security.cap_add.iter().enumerate() {
            let at = format!("{SEC}/cap_add/{i}");
            let norm = normalize_cap(cap);
            if let Some(why) = dangerous_cap(&norm) {
                if self.allowed(Exception::Capabilities) {
                    granted.push(norm);
                } else {
                    let m = self.refused(
                        Exception::Capabilities,
                        &format!("capability {norm:?} is refused: {why}"),
                    );
                    self.problem(&at, m);
                }
                continue;
            }
            if let Some(p) = self.profile
                && !p.capabilities.contains(&norm)
            {
                let m = format!(
                    "capability {norm:?} is not allowed by security profile {:?} (it allows: {})",
                    p.name,
                    p.capabilities_display()
                );
                self.problem(&at, m);
            } else if !self.ceilings.allows_cap(&norm) {
                let m = format!(
                    "capability {norm:?} is not allowed (the admin allowlist is: {})",
                    self.ceilings.cap_allowlist_display()
                );
                self.problem(&at, m);
            } else if !granted.contains(&norm) {
                granted.push(norm);
            }
        }
        granted
    }

    fn read_only(&mut self) -> bool {
        if self.ch.container.security.read_only {
            return true;
        }
        match self.profile {
            Some(p) if !p.read_only => false,
            _ => {
                let m = format!(
                    "security.read_only false is outside security profile {:?}, which requires a read-only root filesystem (write to a tmpfs mount such as /tmp instead)",
                    self.profile_name()
                );
                self.problem(&format!("{SEC}/read_only"), m);
                true
            }
        }
    }

    fn tmpfs(&mut self) -> BTreeMap<String, String> {
        let requested = &self.ch.container.security.tmpfs;
        let Some(profile) = self.profile else {
            return BTreeMap::new();
        };
        if requested.is_empty() {
            return profile.default_tmpfs();
        }
        let mut out = BTreeMap::new();
        for (mount, options) in requested {
            let at = format!("{SEC}/tmpfs/{}", escape(mount));
            if let Some(why) = mount_problem(mount) {
                self.problem_at_key(&at, format!("tmpfs mount point {mount:?} {why}"));
                continue;
            }
            let parsed = match parse_tmpfs_options(options) {
                Ok(parsed) => parsed,
                Err(why) => {
                    self.problem(&at, format!("tmpfs {mount:?}: {why}"));
                    continue;
                }
            };
            let Some(rule) = profile.tmpfs_rule(mount) else {
                let allowed: Vec<&str> = profile.tmpfs.keys().map(String::as_str).collect();
                self.problem_at_key(
                    &at,
                    format!(
                        "tmpfs mount {mount:?} is not allowed by security profile {:?} (it allows: {})",
                        profile.name,
                        allowed.join(", ")
                    ),
                );
                continue;
            };
            let size = match parsed.size {
                Some((text, bytes)) if bytes > rule.max_bytes => {
                    self.problem(
                        &at,
                        format!(
                            "tmpfs {mount:?} size {text} is above the {} allowed by security profile {:?}",
                            rule.max_size, profile.name
                        ),
                    );
                    continue;
                }
                Some((text, _)) => text,
                None => rule.max_size.clone(),
            };
            let mut options = rule.options_with_size(&size);
            for extra in &parsed.others {
                options.push(',');
                options.push_str(extra);
            }
            out.insert(mount.clone(), options);
        }
        out
    }

    fn egress(&mut self) -> bool {
        let asked = self.ch.container.security.egress;
        let Some(profile) = self.profile else {
            return false;
        };
        if asked == Some(true) && !profile.egress {
            let m = format!(
                "security.egress true is outside security profile {:?}, which denies outbound traffic (pick a profile with egress, or leave egress out)",
                profile.name
            );
            self.problem(&format!("{SEC}/egress"), m);
        }
        let egress = profile.egress && asked != Some(false);
        if !egress && self.grants.network_mode.as_deref() == Some("host") {
            self.problem(
                &format!("{SEC}/network_mode"),
                format!(
                    "security.network_mode \"host\" cannot be combined with denied egress (security profile {:?})",
                    profile.name
                ),
            );
        }
        egress
    }
}

/// Whether mounting `host` hands over the container engine: its socket, or a folder holding it.
fn is_engine_socket(host: &str) -> bool {
    let path = host.trim_end_matches('/');
    if matches!(
        path,
        "" | "/run" | "/var/run" | "/var" | "/run/docker" | "/run/podman" | "/run/containerd"
    ) {
        return true;
    }
    let name = Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    name.ends_with(".sock")
        && ["docker", "podman", "containerd", "crio"]
            .iter()
            .any(|engine| name.contains(engine))
}

#[cfg(test)]
mod tests;
