//! Turning a challenge definition into the engine's container plan, enforcing the admin
//! ceilings a second time (the catalog check is the first): a definition edited after the
//! check still cannot weaken isolation.

use std::collections::BTreeMap;

use crate::catalog::{Challenge, parse_memory};
use crate::engine::{ContainerPlan, Hardening, PortRequest, labels};

use super::Policy;

/// Everything about the instance the plan needs beyond the challenge.
pub struct PlanInput<'a> {
    pub instance_id: &'a str,
    pub owner: &'a str,
    pub store_id: &'a str,
    pub expires_at: i64,
    /// Extra environment (the flag, when injected as an env var).
    pub env: Vec<(String, String)>,
}

pub fn network_name(instance_id: &str) -> String {
    format!("ctfdeck-{instance_id}")
}

pub fn container_name(challenge: &str, instance_id: &str) -> String {
    format!("ctfdeck-{challenge}-{instance_id}")
}

pub fn labels_for(input: &PlanInput<'_>, challenge: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (labels::MANAGED.to_string(), "true".to_string()),
        (labels::INSTANCE.to_string(), input.instance_id.to_string()),
        (labels::CHALLENGE.to_string(), challenge.to_string()),
        (labels::OWNER.to_string(), input.owner.to_string()),
        (labels::STORE.to_string(), input.store_id.to_string()),
        (labels::EXPIRES.to_string(), input.expires_at.to_string()),
    ])
}

/// Build the plan, or say which rule the definition breaks.
pub fn plan_for(
    challenge: &Challenge,
    policy: &Policy,
    input: PlanInput<'_>,
) -> Result<ContainerPlan, String> {
    let c = &challenge.container;
    let s = &c.security;
    let ceil = &policy.ceilings;
    if s.privileged {
        return Err("privileged containers are never run".into());
    }
    if s.network_mode.is_some() || s.pid_mode.is_some() || s.ipc_mode.is_some() {
        return Err("host or shared namespaces are never granted".into());
    }
    if !s.volumes.is_empty() || !s.devices.is_empty() {
        return Err("bind mounts, volumes and devices are never granted".into());
    }
    if !s.read_only {
        return Err("a read-only root filesystem is required".into());
    }
    let mut cap_add = Vec::new();
    for cap in &s.cap_add {
        let norm = cap.trim().to_ascii_uppercase();
        let norm = norm.strip_prefix("CAP_").unwrap_or(&norm).to_string();
        if !ceil.cap_allowlist.iter().any(|a| {
            a.eq_ignore_ascii_case(&norm) || a.eq_ignore_ascii_case(&format!("CAP_{norm}"))
        }) {
            return Err(format!(
                "capability {cap} is outside the allowlist ({})",
                ceil.cap_allowlist.join(", ")
            ));
        }
        cap_add.push(norm);
    }
    let user = c
        .user
        .clone()
        .unwrap_or_else(|| policy.container.user.clone());
    check_user(&user, ceil.allow_root)?;

    let memory_text = c
        .resources
        .memory
        .clone()
        .unwrap_or_else(|| policy.container.memory.clone());
    let memory_bytes = parse_memory(&memory_text)
        .ok_or_else(|| format!("memory {memory_text:?} is not a size"))?;
    let max_memory = parse_memory(&ceil.max_memory).unwrap_or(i64::MAX);
    if memory_bytes > max_memory {
        return Err(format!(
            "memory {memory_text} exceeds the ceiling {}",
            ceil.max_memory
        ));
    }
    let cpus = c.resources.cpus.unwrap_or(policy.container.cpus);
    if !(cpus > 0.0 && cpus <= ceil.max_cpus) {
        return Err(format!("cpus {cpus} outside 0..={}", ceil.max_cpus));
    }
    let pids = c.resources.pids.unwrap_or(policy.container.pids);
    if pids <= 0 || pids > ceil.max_pids {
        return Err(format!("pids {pids} outside 1..={}", ceil.max_pids));
    }
    let mut ports = Vec::new();
    for p in &c.ports {
        let container = u16::try_from(p.container)
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| format!("port {} out of range", p.container))?;
        ports.push(PortRequest {
            container,
            protocol: p.protocol.as_str().to_string(),
        });
    }
    let mut env: Vec<(String, String)> = c.env.clone().into_iter().collect();
    env.extend(input.env.iter().cloned());
    Ok(ContainerPlan {
        name: container_name(&challenge.id, input.instance_id),
        image: c.image.clone(),
        env,
        command: c.command.clone(),
        user,
        ports,
        bind_address: policy.container.bind_address.clone(),
        labels: labels_for(&input, &challenge.id),
        network: network_name(input.instance_id),
        hardening: Hardening {
            cap_add,
            tmpfs: s.tmpfs.clone(),
            memory_bytes,
            nano_cpus: (cpus * 1e9) as i64,
            pids_limit: pids,
        },
    })
}

/// Numeric `uid[:gid]`, not root unless the admin allows it.
fn check_user(user: &str, allow_root: bool) -> Result<(), String> {
    let mut parts = user.split(':');
    let uid = parts.next().unwrap_or_default();
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !numeric(uid) || parts.clone().any(|g| !numeric(g)) || parts.count() > 1 {
        return Err(format!("user {user:?} must be numeric uid[:gid]"));
    }
    if uid.trim_start_matches('0').is_empty() && !allow_root {
        return Err("running as root is refused".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_and_names_are_refused_as_users() {
        assert!(check_user("1000:1000", false).is_ok());
        assert!(check_user("65534", false).is_ok());
        assert!(check_user("0:0", false).is_err());
        assert!(check_user("000", false).is_err());
        assert!(check_user("0", true).is_ok());
        assert!(check_user("root", false).is_err());
        assert!(check_user("1000:1000:1", false).is_err());
        assert!(check_user("", false).is_err());
    }
}
