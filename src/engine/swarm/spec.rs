//! A plan as a Swarm service: one replica, bounded restarts, ctfdeck's labels on the service and
//! its task containers, limits and reservations, the hardening the API version can express, its
//! own overlay network, ports published in host mode on the task's node.

use std::collections::{BTreeMap, HashMap};

use bollard::models::{
    EndpointPortConfig, EndpointPortConfigProtocolEnum, EndpointPortConfigPublishModeEnum,
    EndpointSpec, EndpointSpecModeEnum, Limit, Mount, MountTmpfsOptions, MountType,
    NetworkAttachmentConfig, ResourceObject, ResourcesUlimits, ServiceSpec, ServiceSpecMode,
    ServiceSpecModeReplicated, TaskSpec, TaskSpecContainerSpec, TaskSpecContainerSpecPrivileges,
    TaskSpecLogDriver, TaskSpecPlacement, TaskSpecResources, TaskSpecRestartPolicy,
    TaskSpecRestartPolicyConditionEnum,
};

use super::SwarmSettings;
use crate::engine::{ContainerPlan, Egress, ULIMITS, labels};

/// The first API version whose service spec carries `NoNewPrivileges` (Docker 25).
const API_NO_NEW_PRIVILEGES: (u32, u32) = (1, 44);
/// The first API version whose service tmpfs mounts take mount options such as `noexec`.
const API_TMPFS_OPTIONS: (u32, u32) = (1, 46);
/// A service's task gets this long between SIGTERM and SIGKILL when it is removed: instances
/// hold nothing worth a graceful shutdown, and a stop should be quick.
const STOP_GRACE_NANOS: i64 = 1_000_000_000;
/// The smallest memory reservation a Swarm accepts.
const MIN_MEMORY_RESERVATION: i64 = 4 << 20;
/// Between a task failing and its replacement.
const RESTART_DELAY_NANOS: i64 = 1_000_000_000;

/// What a Swarm service on this API version cannot be told, though ctfdeck's containers get
/// it elsewhere: each with what the node's operator does instead. Never dropped silently:
/// `doctor --security` prints these per node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    pub what: &'static str,
    pub remedy: &'static str,
}

/// The gaps of `api_version` (`1.41`).
pub fn gaps(api_version: &str) -> Vec<Gap> {
    let v = parse_version(api_version);
    let mut out = Vec::new();
    if v < API_NO_NEW_PRIVILEGES {
        out.push(Gap {
            what: "no-new-privileges (a setuid binary in the image can gain privileges)",
            remedy: "set \"no-new-privileges\": true in /etc/docker/daemon.json on every node and restart dockerd",
        });
    }
    if v < API_TMPFS_OPTIONS {
        out.push(Gap {
            what: "noexec on tmpfs mounts (ctfdeck cannot ask for it)",
            remedy: "Docker 20.10 and later mount service tmpfs noexec,nosuid,nodev by default: keep every node on such a version",
        });
    }
    out.push(Gap {
        what: "a swap bound (memory+swap = memory): a task may swap as much again as its memory limit",
        remedy: "run the nodes without swap (swapoff -a), as Swarm hosts usually are",
    });
    out.push(Gap {
        what: "a seccomp profile of ctfdeck's own (profiles with seccomp other than \"default\" are refused on Swarm)",
        remedy: "every node applies its daemon's default seccomp profile; a stricter one is set with \"seccomp-profile\" in each node's daemon.json",
    });
    out
}

fn parse_version(v: &str) -> (u32, u32) {
    let mut parts = v.split('.').map(|p| p.parse().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

/// Why a plan cannot run as a Swarm service, if it cannot: what a service cannot do is refused
/// rather than run weaker than the challenge's profile says.
pub fn refusal(plan: &ContainerPlan) -> Option<String> {
    let h = &plan.hardening;
    let g = &h.grants;
    if matches!(h.egress, Egress::Denied { .. }) {
        return Some(
            "its profile denies egress, which needs a port proxy ctfdeck runs only on a single \
             engine; give the challenge a profile with egress on Swarm"
                .to_string(),
        );
    }
    if h.seccomp.is_some() {
        return Some(
            "its profile sets a seccomp profile of its own, which a Swarm service cannot carry \
             on this API version; use seccomp = \"default\" on Swarm"
                .to_string(),
        );
    }
    let granted = [
        (g.privileged, "privileged"),
        (g.network_mode.is_some(), "network_mode"),
        (g.pid_mode.is_some(), "pid_mode"),
        (g.ipc_mode.is_some(), "ipc_mode"),
        (g.uts_mode.is_some(), "uts_mode"),
        (!g.binds.is_empty(), "binds"),
        (!g.devices.is_empty(), "devices"),
    ];
    granted
        .iter()
        .find(|(set, _)| *set)
        .map(|(_, name)| format!("it is granted {name}, which a Swarm service cannot be given"))
}

/// The service for `plan`; `image` is what the nodes pull (the registry's name for it).
pub fn service_spec(
    plan: &ContainerPlan,
    image: &str,
    settings: &SwarmSettings,
    api_version: &str,
) -> ServiceSpec {
    let h = &plan.hardening;
    let mut labels = plan.labels.clone();
    labels.insert(
        labels::PORTS.to_string(),
        plan.ports
            .iter()
            .map(|p| p.container.to_string())
            .collect::<Vec<_>>()
            .join(","),
    );
    let labels: HashMap<String, String> = labels::overriding(&labels, []).into_iter().collect();
    let challenge = labels.get(labels::CHALLENGE).cloned().unwrap_or_default();
    let new_api = parse_version(api_version) >= API_NO_NEW_PRIVILEGES;
    let container = TaskSpecContainerSpec {
        image: Some(image.to_string()),
        labels: Some(labels.clone()),
        args: plan.command.clone(),
        hostname: Some(plan.name.chars().take(63).collect()),
        env: Some(plan.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        user: Some(plan.user.clone()),
        read_only: Some(h.read_only),
        mounts: Some(tmpfs_mounts(plan)),
        init: Some(true),
        capability_drop: Some(vec!["ALL".to_string()]),
        capability_add: (!h.cap_add.is_empty()).then(|| h.cap_add.clone()),
        ulimits: Some(
            ULIMITS
                .iter()
                .map(|(name, soft, hard)| ResourcesUlimits {
                    name: Some(name.to_string()),
                    soft: Some(*soft),
                    hard: Some(*hard),
                })
                .collect(),
        ),
        stop_grace_period: Some(STOP_GRACE_NANOS),
        // Sent only where the engine reads it: an older one would ignore it without a word.
        privileges: new_api.then(|| TaskSpecContainerSpecPrivileges {
            no_new_privileges: Some(true),
            ..Default::default()
        }),
        ..Default::default()
    };
    let limited = h.memory_bytes > 0;
    let reserve = |v: i64| ((v as f64) * settings.reserve) as i64;
    let resources = TaskSpecResources {
        limits: Some(Limit {
            nano_cpus: Some(h.nano_cpus),
            memory_bytes: limited.then_some(h.memory_bytes),
            pids: (h.pids_limit > 0).then_some(h.pids_limit),
        }),
        reservations: Some(ResourceObject {
            nano_cpus: Some(reserve(h.nano_cpus)),
            // The Swarm refuses a memory reservation below 4 MiB; none at all is fine.
            memory_bytes: (limited && settings.reserve > 0.0).then(|| {
                reserve(h.memory_bytes)
                    .max(MIN_MEMORY_RESERVATION)
                    .min(h.memory_bytes)
            }),
            generic_resources: None,
        }),
        swap_bytes: None,
        memory_swappiness: None,
    };
    let task = TaskSpec {
        container_spec: Some(container),
        resources: Some(resources),
        restart_policy: Some(TaskSpecRestartPolicy {
            // Swarm reads `max_attempts = 0` as "no bound": no attempt at all is `none`.
            condition: Some(if settings.restart_attempts == 0 {
                TaskSpecRestartPolicyConditionEnum::NONE
            } else {
                TaskSpecRestartPolicyConditionEnum::ON_FAILURE
            }),
            delay: Some(RESTART_DELAY_NANOS),
            max_attempts: Some(i64::from(settings.restart_attempts)),
            window: None,
        }),
        placement: Some(TaskSpecPlacement {
            constraints: Some(settings.constraints_for(&challenge)),
            ..Default::default()
        }),
        networks: Some(vec![NetworkAttachmentConfig {
            target: Some(plan.network.clone()),
            ..Default::default()
        }]),
        log_driver: Some(TaskSpecLogDriver {
            name: Some("json-file".to_string()),
            options: Some(HashMap::from([
                ("max-size".to_string(), "1m".to_string()),
                ("max-file".to_string(), "2".to_string()),
            ])),
        }),
        ..Default::default()
    };
    ServiceSpec {
        name: Some(plan.name.clone()),
        labels: Some(labels),
        task_template: Some(task),
        mode: Some(ServiceSpecMode {
            replicated: Some(ServiceSpecModeReplicated { replicas: Some(1) }),
            ..Default::default()
        }),
        // No routing mesh (it needs IPVS): each port is published on the node running the task,
        // on a port the node picks.
        endpoint_spec: Some(EndpointSpec {
            mode: Some(EndpointSpecModeEnum::DNSRR),
            ports: Some(
                plan.ports
                    .iter()
                    .map(|p| EndpointPortConfig {
                        protocol: Some(EndpointPortConfigProtocolEnum::TCP),
                        target_port: Some(i64::from(p.container)),
                        publish_mode: Some(EndpointPortConfigPublishModeEnum::HOST),
                        ..Default::default()
                    })
                    .collect(),
            ),
        }),
        ..Default::default()
    }
}

/// The plan's tmpfs as service mounts, and `/dev/shm` at the plan's size (a service has no
/// shm size of its own).
fn tmpfs_mounts(plan: &ContainerPlan) -> Vec<Mount> {
    let mut mounts: BTreeMap<String, MountTmpfsOptions> = plan
        .hardening
        .tmpfs
        .iter()
        .map(|(target, options)| (target.clone(), tmpfs_options(options)))
        .collect();
    mounts
        .entry("/dev/shm".to_string())
        .or_insert(MountTmpfsOptions {
            size_bytes: Some(plan.hardening.shm_bytes),
            mode: Some(0o1777),
            options: None,
        });
    mounts
        .into_iter()
        .map(|(target, options)| Mount {
            target: Some(target),
            typ: Some(MountType::TMPFS),
            tmpfs_options: Some(options),
            ..Default::default()
        })
        .collect()
}

/// `size=16m,mode=1777` as the service's tmpfs options. Other options cannot be expressed (see
/// [`gaps`]); the engine mounts service tmpfs noexec,nosuid,nodev itself.
fn tmpfs_options(text: &str) -> MountTmpfsOptions {
    let mut out = MountTmpfsOptions::default();
    for option in text.split(',').map(str::trim) {
        match option.split_once('=') {
            Some(("size", size)) => out.size_bytes = bytes(size),
            Some(("mode", mode)) => out.mode = i64::from_str_radix(mode, 8).ok(),
            _ => {}
        }
    }
    out
}

/// `16m`, `1g`, `4096` in bytes.
fn bytes(text: &str) -> Option<i64> {
    let t = text.trim().to_ascii_lowercase();
    let (digits, shift) = match t.chars().last()? {
        'k' => (&t[..t.len() - 1], 10),
        'm' => (&t[..t.len() - 1], 20),
        'g' => (&t[..t.len() - 1], 30),
        _ => (t.as_str(), 0),
    };
    digits.parse::<i64>().ok()?.checked_mul(1 << shift)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Grants, sample_plan};

    fn spec_of(plan: &ContainerPlan, api: &str) -> ServiceSpec {
        let settings = SwarmSettings {
            constraints: vec!["node.labels.ctfdeck==true".into()],
            ..SwarmSettings::default()
        };
        service_spec(plan, "registry:5000/img", &settings, api)
    }

    #[test]
    fn a_plan_becomes_one_hardened_replica_published_on_its_node() {
        let mut plan = sample_plan(Egress::Allowed);
        plan.hardening.tmpfs = BTreeMap::from([("/tmp".to_string(), "size=16m".to_string())]);
        plan.labels
            .insert(labels::CHALLENGE.to_string(), "web".to_string());
        let spec = spec_of(&plan, "1.41");
        let task = spec.task_template.clone().unwrap_or_default();
        let c = task.container_spec.clone().unwrap_or_default();
        assert_eq!(c.image.as_deref(), Some("registry:5000/img"));
        assert_eq!(c.capability_drop, Some(vec!["ALL".to_string()]));
        assert_eq!(c.read_only, Some(true));
        assert_eq!(c.init, Some(true));
        assert_eq!(c.user.as_deref(), Some("1000:1000"));
        // Not sent where the engine would ignore it: the gap is reported instead.
        assert_eq!(c.privileges, None);
        assert!(
            gaps("1.41")
                .iter()
                .any(|g| g.what.contains("no-new-privileges"))
        );
        let mounts = c.mounts.unwrap_or_default();
        let tmp = mounts.iter().find(|m| m.target.as_deref() == Some("/tmp"));
        assert_eq!(
            tmp.and_then(|m| m.tmpfs_options.as_ref())
                .and_then(|o| o.size_bytes),
            Some(16 << 20)
        );
        let shm = mounts
            .iter()
            .find(|m| m.target.as_deref() == Some("/dev/shm"));
        assert_eq!(
            shm.and_then(|m| m.tmpfs_options.as_ref())
                .and_then(|o| o.size_bytes),
            Some(1 << 20)
        );
        // The service and its task containers carry the same labels, every ctfdeck key set.
        let labels = spec.labels.clone().unwrap_or_default();
        assert_eq!(c.labels.as_ref(), Some(&labels));
        for key in labels::ALL {
            assert!(labels.contains_key(key), "{key}");
        }
        let r = task.resources.unwrap_or_default();
        let limits = r.limits.unwrap_or_default();
        assert_eq!(limits.memory_bytes, Some(64 << 20));
        assert_eq!(limits.pids, Some(64));
        let reserved = r.reservations.unwrap_or_default();
        assert_eq!(reserved.memory_bytes, Some(16 << 20));
        let restart = task.restart_policy.unwrap_or_default();
        assert_eq!(
            restart.condition,
            Some(TaskSpecRestartPolicyConditionEnum::ON_FAILURE)
        );
        assert_eq!(restart.max_attempts, Some(2));
        let never = SwarmSettings {
            restart_attempts: 0,
            ..SwarmSettings::default()
        };
        let spec = service_spec(&plan, "img", &never, "1.41");
        assert_eq!(
            spec.task_template
                .and_then(|t| t.restart_policy)
                .and_then(|r| r.condition),
            Some(TaskSpecRestartPolicyConditionEnum::NONE),
            "0 attempts is none, not Swarm's unbounded 0"
        );
        assert_eq!(
            task.placement.and_then(|p| p.constraints),
            Some(vec!["node.labels.ctfdeck==true".to_string()])
        );
        assert_eq!(
            spec.mode
                .and_then(|m| m.replicated)
                .and_then(|r| r.replicas),
            Some(1)
        );
        let endpoint = spec.endpoint_spec.unwrap_or_default();
        assert_eq!(endpoint.mode, Some(EndpointSpecModeEnum::DNSRR));
        let port = endpoint.ports.unwrap_or_default();
        assert_eq!(port[0].target_port, Some(8080));
        assert_eq!(
            port[0].publish_mode,
            Some(EndpointPortConfigPublishModeEnum::HOST)
        );
    }

    #[test]
    fn a_newer_api_is_told_no_new_privileges_and_has_fewer_gaps() {
        let plan = sample_plan(Egress::Allowed);
        let c = spec_of(&plan, "1.46")
            .task_template
            .and_then(|t| t.container_spec)
            .unwrap_or_default();
        assert_eq!(c.privileges.and_then(|p| p.no_new_privileges), Some(true));
        assert_eq!(gaps("1.46").len(), 2);
        assert_eq!(gaps("1.41").len(), 4);
    }

    #[test]
    fn what_a_service_cannot_do_is_refused() {
        assert_eq!(refusal(&sample_plan(Egress::Allowed)), None);
        let denied = sample_plan(Egress::Denied {
            proxy_image: "busybox:1.36".into(),
            edge_pool: Default::default(),
        });
        assert!(refusal(&denied).is_some_and(|r| r.contains("egress")));
        let mut seccomp = sample_plan(Egress::Allowed);
        seccomp.hardening.seccomp = Some("{}".into());
        assert!(refusal(&seccomp).is_some_and(|r| r.contains("seccomp")));
        let mut granted = sample_plan(Egress::Allowed);
        granted.hardening.grants = Grants {
            devices: vec!["/dev/fuse".into()],
            ..Grants::default()
        };
        assert!(refusal(&granted).is_some_and(|r| r.contains("devices")));
    }

    #[test]
    fn a_small_share_still_reserves_what_the_swarm_accepts() {
        let plan = sample_plan(Egress::Allowed);
        let reserved = |share: f64| {
            let settings = SwarmSettings {
                reserve: share,
                ..SwarmSettings::default()
            };
            service_spec(&plan, "img", &settings, "1.41")
                .task_template
                .and_then(|t| t.resources)
                .and_then(|r| r.reservations)
                .and_then(|r| r.memory_bytes)
        };
        assert_eq!(
            reserved(0.05),
            Some(4 << 20),
            "not the 3.2 MiB the Swarm refuses"
        );
        assert_eq!(reserved(0.5), Some(32 << 20));
        assert_eq!(reserved(0.0), None);
    }

    #[test]
    fn tmpfs_sizes_and_modes_are_read() {
        let o = tmpfs_options("size=4m, mode=1777,noexec");
        assert_eq!(o.size_bytes, Some(4 << 20));
        assert_eq!(o.mode, Some(0o1777));
        assert_eq!(bytes("1g"), Some(1 << 30));
        assert_eq!(bytes("12"), Some(12));
        assert_eq!(bytes("x"), None);
    }
}
