//! Turning a challenge definition into the engine's container plan, enforcing the admin
//! ceilings a second time (the catalog check is the first): a definition edited after the
//! check still cannot weaken isolation.

use std::collections::BTreeMap;

use crate::catalog::{Amount, Challenge, MIN_CPUS, evaluate, mount_problem, parse_memory};
use crate::engine::{ContainerPlan, Egress, Hardening, PortRequest, labels};

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

/// The uid:gid an instance of `challenge` runs as: the challenge's own, else its profile's, else
/// the admin's `[container] user`. `None` when the definition is refused.
pub fn instance_user(challenge: &Challenge, policy: &Policy) -> Option<String> {
    let sec = evaluate(challenge, &policy.ceilings).into_result().ok()?;
    Some(sec.user.unwrap_or_else(|| policy.container.user.clone()))
}

/// Build the plan, or say which rule the definition breaks. The definition is evaluated
/// against its profile, the ceilings and the admin's exceptions again here (the catalog check
/// did it first), with the config of this process.
pub fn plan_for(
    challenge: &Challenge,
    policy: &Policy,
    input: PlanInput<'_>,
) -> Result<ContainerPlan, String> {
    let c = &challenge.container;
    let ceil = &policy.ceilings;
    let sec = evaluate(challenge, ceil).into_result()?;

    let user = sec
        .user
        .clone()
        .unwrap_or_else(|| policy.container.user.clone());
    check_user(&user, sec.grants.root)?;
    // A uid alone runs in group 0 (root's group) when the image has no passwd entry for it;
    // its own number as group keeps it out of there.
    let user = if user.contains(':') {
        user
    } else {
        format!("{user}:{user}")
    };

    let default_memory = parse_memory(&policy.container.memory).unwrap_or(i64::MAX);
    let memory_bytes = match sec.memory {
        Amount::Requested(bytes) => bytes,
        Amount::UpTo(cap) => default_memory.min(cap),
        // The engine's "no limit".
        Amount::Unlimited => 0,
    };
    let cpus = match sec.cpus {
        Amount::Requested(cpus) => cpus,
        Amount::UpTo(cap) => policy.container.cpus.min(cap),
        Amount::Unlimited => ceil.max_cpus,
    };
    if !(MIN_CPUS..=ceil.max_cpus).contains(&cpus) {
        return Err(format!(
            "cpus {cpus} outside {MIN_CPUS}..={} (less than {MIN_CPUS} would be no limit at all)",
            ceil.max_cpus
        ));
    }
    let pids = match sec.pids {
        Amount::Requested(pids) => pids,
        Amount::UpTo(cap) => policy.container.pids.min(cap),
        Amount::Unlimited => -1,
    };
    if pids == 0 || pids < -1 {
        return Err(format!("pids {pids} is not a limit"));
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
    let egress = if sec.egress {
        Egress::Allowed
    } else {
        Egress::Denied {
            proxy_image: ceil.security.proxy_image.clone(),
            edge_pool: policy.network.clone(),
        }
    };
    let mut labels = labels_for(&input, &challenge.id);
    if !sec.egress {
        // The network is created from these labels too: this one makes it internal.
        labels.insert(
            labels::EGRESS.to_string(),
            labels::EGRESS_DENIED.to_string(),
        );
    }
    Ok(ContainerPlan {
        name: container_name(&challenge.id, input.instance_id),
        image: c.image.clone(),
        env,
        command: c.command.clone(),
        user,
        ports,
        bind_address: policy.container.bind_address.clone(),
        labels,
        network: network_name(input.instance_id),
        hardening: Hardening {
            cap_add: sec.cap_add,
            tmpfs: sec.tmpfs,
            memory_bytes,
            nano_cpus: (cpus * 1e9).round() as i64,
            pids_limit: pids,
            shm_bytes: sec.shm_bytes,
            read_only: sec.read_only,
            egress,
            seccomp: sec.seccomp,
            grants: sec.grants,
        },
    })
}

/// Put a tmpfs over each path the image declares with `VOLUME`, or refuse. Left alone, the
/// engine makes each one a volume on the host's disk: writable even under a read-only root,
/// executable, unbounded, and outliving nothing useful. A path the plan already mounts a tmpfs
/// on is covered; any other gets the tmpfs the profile allows there (its own rule or `*`), at
/// the largest size it allows, with the forced noexec,nosuid,nodev. No rule: refused.
pub fn cover_image_volumes(
    plan: &mut ContainerPlan,
    volumes: &[String],
    challenge: &Challenge,
    policy: &Policy,
) -> Result<(), String> {
    let name = challenge.container.security.profile.trim();
    let profile = policy
        .ceilings
        .security
        .get(name)
        .ok_or_else(|| format!("security profile {name:?} is not defined"))?;
    let mut refused = Vec::new();
    for volume in volumes {
        let path = match volume.trim_end_matches('/') {
            "" => "/",
            trimmed => trimmed,
        };
        if plan.hardening.tmpfs.contains_key(path) {
            continue;
        }
        match profile.tmpfs_rule(path) {
            Some(rule) if mount_problem(path).is_none() => {
                plan.hardening
                    .tmpfs
                    .insert(path.to_string(), rule.options_with_size(&rule.max_size));
            }
            _ => refused.push(path.to_string()),
        }
    }
    if refused.is_empty() {
        return Ok(());
    }
    let allowed: Vec<&str> = profile.tmpfs.keys().map(String::as_str).collect();
    Err(format!(
        "image {} declares VOLUME {}, which the engine would make a writable, executable directory on the host's disk with no size limit; security profile {:?} allows no tmpfs there to take its place (it allows: {}). Remove the VOLUME from the Dockerfile, or give the challenge a profile whose tmpfs rules cover it",
        plan.image,
        refused.join(", "),
        profile.name,
        allowed.join(", ")
    ))
}

/// Numeric `uid[:gid]`, neither uid 0 nor gid 0 unless the admin allows root.
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
    let root_group = user
        .split_once(':')
        .is_some_and(|(_, gid)| gid.trim_start_matches('0').is_empty());
    if root_group && !allow_root {
        return Err("running in group 0 (root's group) is refused".into());
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::catalog::{Challenge, ProfilesConfig};
    use crate::engine::Grants;
    use serde_json::json;

    fn challenge(security: serde_json::Value, resources: serde_json::Value) -> Challenge {
        serde_json::from_value(json!({
            "schema_version": 1, "id": "demo", "name": "Demo",
            "container": {
                "image": "img", "ports": [{"container": 8080}],
                "resources": resources, "security": security
            },
            "flag": {"template": "flag{<hex:8>}"}
        }))
        .unwrap()
    }

    fn input() -> PlanInput<'static> {
        PlanInput {
            instance_id: "abc234",
            owner: "team:x",
            store_id: "s",
            expires_at: 1,
            env: Vec::new(),
        }
    }

    #[test]
    fn a_silent_challenge_gets_the_admin_defaults_within_its_profile() {
        let policy = Policy::default();
        let plan = plan_for(&challenge(json!({}), json!({})), &policy, input()).unwrap();
        let h = &plan.hardening;
        assert_eq!(plan.user, crate::domain::DEFAULT_USER);
        assert_eq!(
            instance_user(&challenge(json!({}), json!({})), &policy).as_deref(),
            Some(crate::domain::DEFAULT_USER)
        );
        assert_eq!(h.memory_bytes, 512 << 20);
        assert_eq!(h.pids_limit, 256);
        assert_eq!(h.nano_cpus, 1_000_000_000);
        assert_eq!(h.egress, Egress::Allowed);
        assert!(h.read_only);
        assert_eq!(h.grants, Grants::default());
        assert!(!plan.labels.contains_key(labels::EGRESS));

        // The strict profile caps the same defaults and denies egress.
        let strict = plan_for(
            &challenge(json!({"profile": "strict"}), json!({})),
            &policy,
            input(),
        )
        .unwrap();
        let h = &strict.hardening;
        assert_eq!(h.memory_bytes, 128 << 20);
        assert_eq!(h.pids_limit, 64);
        assert_eq!(h.nano_cpus, 500_000_000);
        assert_eq!(
            h.egress,
            Egress::Denied {
                proxy_image: "busybox:1.36".into(),
                edge_pool: Default::default(),
            }
        );
        assert_eq!(
            strict.labels.get(labels::EGRESS).map(String::as_str),
            Some(labels::EGRESS_DENIED)
        );
    }

    #[test]
    fn refused_definitions_cannot_be_planned() {
        let policy = Policy::default();
        for security in [
            json!({"privileged": true}),
            json!({"volumes": ["/etc:/etc"]}),
            json!({"cap_add": ["SYS_ADMIN"]}),
            json!({"network_mode": "host"}),
            json!({"profile": "strict", "cap_add": ["CHOWN"]}),
            json!({"tmpfs": {"/tmp": "size=1m,exec"}}),
        ] {
            let err = plan_for(&challenge(security.clone(), json!({})), &policy, input());
            assert!(err.is_err(), "{security}");
        }
        let err = plan_for(&challenge(json!({}), json!({"pids": 0})), &policy, input());
        assert!(err.unwrap_err().contains("unlimited pids is refused"));
    }

    #[test]
    fn admin_grants_reach_the_plan() {
        let mut policy = Policy::default();
        policy.ceilings.security = toml::from_str::<ProfilesConfig>(
            "[allow]\nprivileged = [\"demo\"]\nunlimited = [\"demo\"]\nhost_mounts = [\"demo\"]\nroot = [\"demo\"]\n",
        )
        .unwrap()
        .resolve()
        .unwrap();
        let mut ch = challenge(
            json!({"privileged": true, "volumes": ["/srv/x:/x"]}),
            json!({"pids": -1, "memory": "unlimited"}),
        );
        ch.container.user = Some("0:0".into());
        let plan = plan_for(&ch, &policy, input()).unwrap();
        let h = &plan.hardening;
        assert!(h.grants.privileged);
        assert_eq!(h.grants.binds, ["/srv/x:/x:ro"]);
        assert_eq!(h.pids_limit, -1);
        assert_eq!(h.memory_bytes, 0);
        assert_eq!(plan.user, "0:0");
        // The catalog's grants are the plan's, whole: one type, nothing copied field by field
        // that a new grant could be forgotten in.
        let sec = evaluate(&ch, &policy.ceilings).into_result().unwrap();
        assert_eq!(h.grants, sec.grants);
        assert!(h.grants.root);
    }

    #[test]
    fn cpus_that_would_round_to_no_limit_never_reach_the_engine() {
        let mut policy = Policy::default();
        // The admin default, not the definition, is the tiny one here.
        policy.container.cpus = 1e-10;
        let err = plan_for(&challenge(json!({}), json!({})), &policy, input()).unwrap_err();
        assert!(err.contains("outside 0.01..="), "{err}");
        let err = plan_for(
            &challenge(json!({}), json!({"cpus": 1e-10})),
            &policy,
            input(),
        );
        assert!(err.unwrap_err().contains("below the smallest limit"));
        policy.container.cpus = 0.3;
        let plan = plan_for(&challenge(json!({}), json!({})), &policy, input()).unwrap();
        // Rounded, not truncated (0.3 * 1e9 is 299999999.99…).
        assert_eq!(plan.hardening.nano_cpus, 300_000_000);
    }

    #[test]
    fn image_volumes_become_the_profiles_tmpfs_or_refuse_the_spawn() {
        let policy = Policy::default();
        let default = challenge(json!({}), json!({}));
        let mut plan = plan_for(&default, &policy, input()).unwrap();
        let volumes = vec!["/data".to_string(), "/tmp/".to_string()];
        cover_image_volumes(&mut plan, &volumes, &default, &policy).unwrap();
        // The default profile's `*` rule, at its size; /tmp was already a tmpfs.
        assert_eq!(plan.hardening.tmpfs["/data"], "size=16m");
        assert_eq!(plan.hardening.tmpfs["/tmp"], "size=16m");
        assert_eq!(plan.hardening.tmpfs.len(), 2);
        assert_eq!(
            plan.hardening.tmpfs_options()["/data"],
            "size=16m,rw,noexec,nosuid,nodev"
        );

        let strict = challenge(json!({"profile": "strict"}), json!({}));
        let mut plan = plan_for(&strict, &policy, input()).unwrap();
        let err = cover_image_volumes(&mut plan, &volumes, &strict, &policy).unwrap_err();
        assert!(
            err.starts_with("image img declares VOLUME /data, which the engine would make a writable, executable directory on the host's disk"),
            "{err}"
        );
        assert!(err.contains("security profile \"strict\" allows no tmpfs there"));
        // Nothing declared: nothing to cover, whatever the profile.
        cover_image_volumes(&mut plan, &[], &strict, &policy).unwrap();
    }

    #[test]
    fn a_uid_alone_gets_its_own_number_as_group_never_group_0() {
        let policy = Policy::default();
        let mut ch = challenge(json!({}), json!({}));
        ch.container.user = Some("65534".into());
        assert_eq!(plan_for(&ch, &policy, input()).unwrap().user, "65534:65534");
        ch.container.user = Some("1000:1000".into());
        assert_eq!(plan_for(&ch, &policy, input()).unwrap().user, "1000:1000");
        ch.container.user = Some("1000:0".into());
        assert!(plan_for(&ch, &policy, input()).is_err());
    }

    #[test]
    fn root_and_names_are_refused_as_users() {
        assert!(check_user("1000:1000", false).is_ok());
        assert!(check_user("65534", false).is_ok());
        assert!(check_user("0:0", false).is_err());
        assert!(check_user("000", false).is_err());
        assert!(check_user("0", true).is_ok());
        assert!(check_user("1000:0", false).is_err());
        assert!(check_user("1000:000", false).is_err());
        assert!(check_user("1000:0", true).is_ok());
        assert!(check_user("root", false).is_err());
        assert!(check_user("1000:1000:1", false).is_err());
        assert!(check_user("", false).is_err());
    }
}
