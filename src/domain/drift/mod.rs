//! Drift: where a running instance's real isolation differs from the plan its profile gives it
//! today — someone ran `docker update` or `docker network connect`, the container predates a
//! profile change, or the engine ignored a setting. `doctor --security` and the console's
//! instance detail show the result.

use std::collections::BTreeSet;
use std::fmt;

use crate::engine::firewall::BRIDGE_PREFIX;
use crate::engine::{ContainerPlan, Egress, EngineError, EngineKind, SecurityState, ULIMITS};
use crate::store::InstanceRecord;

use super::plan::{PlanInput, cover_image_volumes, plan_for};
use super::{DomainError, Lifecycle};

/// One difference between what an instance should run with and what it runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    /// What differs, in plain words (`pids limit`, `networks`, …).
    pub field: String,
    pub expected: String,
    pub actual: String,
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: expected {}, found {}",
            self.field, self.expected, self.actual
        )
    }
}

fn drift(field: &str, expected: impl Into<String>, actual: impl Into<String>) -> Drift {
    Drift {
        field: field.to_string(),
        expected: expected.into(),
        actual: actual.into(),
    }
}

/// Compare one instance's container with the plan its challenge and profile give it now.
/// An empty list: no drift. Engine errors other than "gone" are errors.
pub async fn instance_drift(
    lifecycle: &Lifecycle,
    instance: &InstanceRecord,
) -> Result<Vec<Drift>, DomainError> {
    let Some(container) = instance.container_id.as_deref() else {
        return Ok(vec![drift("container", "one", "none recorded")]);
    };
    let Some(challenge) = lifecycle.catalog().get(&instance.challenge) else {
        return Ok(vec![drift(
            "challenge",
            format!("{} in the catalog", instance.challenge),
            "missing, so its profile cannot be rebuilt",
        )]);
    };
    let input = PlanInput {
        instance_id: &instance.id,
        owner: &instance.owner,
        store_id: lifecycle.store_id(),
        expires_at: instance.expires_at,
        env: Vec::new(),
    };
    let refused = |reason: String| {
        vec![drift(
            "definition",
            "one its profile accepts",
            format!("refused today: {reason}"),
        )]
    };
    let mut plan = match plan_for(challenge, lifecycle.policy(), input) {
        Ok(plan) => plan,
        Err(reason) => return Ok(refused(reason)),
    };
    // The tmpfs a spawn puts over the image's VOLUMEs belongs to the plan. An image gone
    // since then covers nothing; the container's own mounts still show what it runs with.
    let volumes = match lifecycle.engine().image_volumes(&plan.image).await {
        Ok(volumes) => volumes,
        Err(EngineError::ImageMissing { .. }) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    if let Err(reason) = cover_image_volumes(&mut plan, &volumes, challenge, lifecycle.policy()) {
        return Ok(refused(reason));
    }
    // As the engine created it: on Podman, ctfdeck's tmpfs over the engine's writable paths.
    plan.hardening
        .cover_engine_writable_paths(lifecycle.engine().info().kind);
    match lifecycle.engine().inspect_security(container).await {
        Ok(state) => Ok(compare(&plan, &state)),
        Err(e) if e.is_gone() => Ok(vec![drift("container", "running", "gone from the engine")]),
        Err(e) => Err(e.into()),
    }
}

/// Every difference between a plan and what the engine reports.
pub fn compare(plan: &ContainerPlan, s: &SecurityState) -> Vec<Drift> {
    let h = &plan.hardening;
    let a = &s.applied;
    let g = &h.grants;
    let mut out = Vec::new();
    let mut check = |ok: bool, field: &str, expected: String, actual: String| {
        if !ok {
            out.push(drift(field, expected, actual));
        }
    };

    check(s.running, "state", "running".into(), "not running".into());
    check(
        a.user == plan.user,
        "user",
        plan.user.clone(),
        a.user.clone(),
    );
    check(
        a.privileged == g.privileged,
        "privileged",
        g.privileged.to_string(),
        a.privileged.to_string(),
    );
    check(
        a.cap_drop.iter().any(|c| c.eq_ignore_ascii_case("ALL")),
        "dropped capabilities",
        "ALL".into(),
        list(&a.cap_drop),
    );
    let caps = |v: &[String]| -> BTreeSet<String> {
        v.iter().map(|c| crate::catalog::normalize_cap(c)).collect()
    };
    check(
        caps(&a.cap_add) == caps(&h.cap_add),
        "added capabilities",
        list(&h.cap_add),
        list(&a.cap_add),
    );
    check(
        a.security_opt
            .iter()
            .any(|o| o == "no-new-privileges" || o == "no-new-privileges:true"),
        "no-new-privileges",
        "set".into(),
        "not set".into(),
    );
    let seccomp: Vec<&str> = a
        .security_opt
        .iter()
        .filter_map(|o| {
            o.strip_prefix("seccomp=")
                .or_else(|| o.strip_prefix("seccomp:"))
        })
        .collect();
    match &h.seccomp {
        None => check(
            seccomp.is_empty(),
            "seccomp",
            "the engine's default profile".into(),
            seccomp.join(" ").chars().take(60).collect(),
        ),
        Some(json) => check(
            seccomp.len() == 1 && same_json(seccomp[0], json),
            "seccomp",
            "the profile's seccomp file".into(),
            if seccomp.is_empty() {
                "the engine's default".into()
            } else {
                "another filter".into()
            },
        ),
    }
    let unconfined: Vec<&String> = a
        .security_opt
        .iter()
        .filter(|o| {
            o.contains("unconfined") || o.contains("label=disable") || o.contains("label:disable")
        })
        .collect();
    check(
        unconfined.is_empty(),
        "confinement",
        "AppArmor/SELinux as the engine applies them".into(),
        unconfined
            .iter()
            .map(|o| o.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    );
    check(
        a.read_only == h.read_only,
        "read-only root filesystem",
        h.read_only.to_string(),
        a.read_only.to_string(),
    );
    let want_mounts: BTreeSet<&String> = h.tmpfs.keys().collect();
    let have_mounts: BTreeSet<&String> = a.tmpfs.keys().collect();
    check(
        want_mounts == have_mounts,
        "tmpfs mounts",
        join(want_mounts.iter()),
        join(have_mounts.iter()),
    );
    for (mount, options) in &a.tmpfs {
        let missing: Vec<&str> = ["noexec", "nosuid", "nodev"]
            .into_iter()
            .filter(|f| !options.split(',').any(|o| o == *f))
            .collect();
        check(
            missing.is_empty(),
            &format!("tmpfs {mount}"),
            "noexec,nosuid,nodev".into(),
            options.clone(),
        );
    }
    let unlimited = |v: i64| v <= 0;
    check(
        a.memory == h.memory_bytes || (unlimited(a.memory) && unlimited(h.memory_bytes)),
        "memory limit",
        bytes(h.memory_bytes),
        bytes(a.memory),
    );
    if h.memory_bytes > 0 {
        check(
            a.memory_swap == h.memory_bytes,
            "memory+swap limit",
            bytes(h.memory_bytes),
            bytes(a.memory_swap),
        );
    }
    check(
        a.nano_cpus == h.nano_cpus,
        "cpus",
        cpus(h.nano_cpus),
        cpus(a.nano_cpus),
    );
    // Said even when the plan agrees (a plan from before the CPU floor): no profile or
    // exception grants unlimited CPU, so a container without a CPU limit is always wrong (busy
    // loops take every core). When the plan has a limit, "cpus" above already says it.
    check(
        a.nano_cpus > 0 || h.nano_cpus > 0,
        "cpu limit",
        "a limit".into(),
        "none (every core of the host)".into(),
    );
    check(
        a.shm_size == h.shm_bytes,
        "/dev/shm size",
        bytes(h.shm_bytes),
        if a.shm_size <= 0 {
            "the engine's default (64m)".into()
        } else {
            bytes(a.shm_size)
        },
    );
    check(
        a.pids_limit == h.pids_limit || (unlimited(a.pids_limit) && unlimited(h.pids_limit)),
        "pids limit",
        limit(h.pids_limit),
        limit(a.pids_limit),
    );
    for (name, soft, hard) in ULIMITS {
        let found = a.ulimits.get(name);
        check(
            found == Some(&(soft, hard)),
            &format!("ulimit {name}"),
            format!("{soft}:{hard}"),
            found.map_or_else(
                || "the engine's default".into(),
                |(s, h)| format!("{s}:{h}"),
            ),
        );
    }
    let network_mode = g
        .network_mode
        .clone()
        .unwrap_or_else(|| plan.network.clone());
    check(
        a.network_mode == network_mode,
        "network mode",
        network_mode.clone(),
        a.network_mode.clone(),
    );
    for (field, granted, actual) in [
        ("pid namespace", &g.pid_mode, &a.pid_mode),
        ("ipc namespace", &g.ipc_mode, &a.ipc_mode),
        ("uts namespace", &g.uts_mode, &a.uts_mode),
    ] {
        let shared = actual == "host" || actual.starts_with("container:");
        check(
            !shared || granted.as_deref() == Some(actual.as_str()),
            field,
            granted.clone().unwrap_or_else(|| "its own".into()),
            actual.clone(),
        );
    }
    let allowed_hosts: BTreeSet<&str> =
        g.binds.iter().filter_map(|b| b.split(':').next()).collect();
    let foreign: Vec<&String> = a
        .host_mounts
        .iter()
        .filter(|m| !allowed_hosts.contains(m.split(':').next().unwrap_or_default()))
        .collect();
    check(
        foreign.is_empty(),
        "host mounts",
        join(allowed_hosts.iter()),
        join(foreign.iter()),
    );
    let foreign: Vec<&String> = a
        .devices
        .iter()
        .filter(|d| {
            !g.devices
                .iter()
                .any(|want| want.split(':').next() == Some(d.as_str()))
        })
        .collect();
    check(
        foreign.is_empty(),
        "devices",
        join(g.devices.iter()),
        join(foreign.iter()),
    );

    // ctfdeck mounts only tmpfs (not listed here) and granted binds (checked above): any
    // volume is the engine's doing, e.g. an image's VOLUME, on the host's disk and executable.
    check(
        a.other_mounts.is_empty(),
        "mounts",
        "none besides its tmpfs and granted binds".into(),
        join(a.other_mounts.iter()),
    );

    if g.network_mode.is_none() {
        networks(plan, s, &mut out);
    }
    out
}

/// The instance's networks, how its ports are published, and for denied egress, its proxy.
fn networks(plan: &ContainerPlan, s: &SecurityState, out: &mut Vec<Drift>) {
    let denied = matches!(plan.hardening.egress, Egress::Denied { .. });
    let names: Vec<&str> = s.networks.iter().map(|n| n.name.as_str()).collect();
    if names != [plan.network.as_str()] {
        out.push(drift("networks", plan.network.clone(), names.join(", ")));
    }
    if let Some(own) = s.networks.iter().find(|n| n.name == plan.network) {
        if own.internal != denied {
            out.push(drift(
                "egress",
                if denied {
                    "denied (internal network)"
                } else {
                    "allowed"
                },
                if own.internal {
                    "denied (internal network)"
                } else {
                    "allowed (ordinary network)"
                },
            ));
        }
        if !denied && own.icc {
            match s.engine {
                EngineKind::Docker => out.push(drift(
                    "inter-container traffic",
                    "off",
                    format!("on, on {}", own.name),
                )),
                // Podman's networks have no such switch: what keeps the instance alone is
                // that nothing else is on its network.
                EngineKind::Podman | EngineKind::Swarm if !own.others.is_empty() => {
                    out.push(drift(
                        "inter-container traffic",
                        "nothing else on its network (Podman cannot switch it off)",
                        format!(
                            "{} on {}: remove it (podman network disconnect)",
                            join(own.others.iter()),
                            own.name
                        ),
                    ))
                }
                EngineKind::Podman | EngineKind::Swarm => {}
            }
        }
        let covered = own
            .bridge
            .as_deref()
            .is_some_and(|b| b.starts_with(BRIDGE_PREFIX));
        if !covered {
            out.push(drift(
                "bridge",
                format!("{BRIDGE_PREFIX}… (covered by the host firewall)"),
                own.bridge
                    .clone()
                    .unwrap_or_else(|| "an engine-named bridge".into()),
            ));
        }
    }
    let (published, published_field) = if denied {
        if !s.applied.published_on.is_empty() {
            out.push(drift(
                "published ports",
                "none on the instance (its proxy publishes)",
                join(s.applied.published_on.iter()),
            ));
        }
        match &s.proxy {
            None => {
                if !plan.ports.is_empty() {
                    out.push(drift("egress proxy", "running", "missing"));
                }
                return;
            }
            Some(p) => {
                if !p.running {
                    out.push(drift("egress proxy", "running", "not running"));
                }
                if !p.read_only || !p.cap_drop.iter().any(|c| c == "ALL") {
                    out.push(drift(
                        "egress proxy hardening",
                        "read-only, capabilities dropped",
                        "weakened",
                    ));
                }
                let edge = format!("{}-edge", plan.network);
                let mut want = vec![plan.network.clone(), edge];
                want.sort();
                if p.networks != want {
                    out.push(drift(
                        "egress proxy networks",
                        want.join(", "),
                        p.networks.join(", "),
                    ));
                }
                (&p.published_on, "proxy published on")
            }
        }
    } else {
        (&s.applied.published_on, "published on")
    };
    let elsewhere: Vec<&String> = published
        .iter()
        .filter(|ip| **ip != plan.bind_address)
        .collect();
    if !elsewhere.is_empty() {
        out.push(drift(
            published_field,
            plan.bind_address.clone(),
            join(elsewhere.iter()),
        ));
    }
}

fn same_json(a: &str, b: &str) -> bool {
    match (
        serde_json::from_str::<serde_json::Value>(a),
        serde_json::from_str::<serde_json::Value>(b),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

fn list(v: &[String]) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

fn join<T: AsRef<str>>(items: impl Iterator<Item = T>) -> String {
    let v: Vec<String> = items.map(|s| s.as_ref().to_string()).collect();
    list(&v)
}

fn bytes(n: i64) -> String {
    if n <= 0 {
        "unlimited".into()
    } else if n % (1 << 20) == 0 {
        format!("{}m", n >> 20)
    } else {
        format!("{n} bytes")
    }
}

fn cpus(nano: i64) -> String {
    if nano <= 0 {
        "unlimited".into()
    } else {
        format!("{}", nano as f64 / 1e9)
    }
}

fn limit(n: i64) -> String {
    if n <= 0 {
        "unlimited".into()
    } else {
        n.to_string()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
