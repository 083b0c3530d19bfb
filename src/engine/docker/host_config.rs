//! The one place a container's engine settings are built, for instances and their port proxies
//! alike: everything that weakens isolation is set explicitly to its safe value rather than
//! left to daemon defaults, and what both kinds share (dropped capabilities, no new privileges,
//! limits, bounded logs, no restart) cannot drift apart.

use std::collections::HashMap;

use bollard::models::RestartPolicyNameEnum;
use bollard::models::{
    HostConfig, HostConfigLogConfig, PortBinding, ResourcesUlimits, RestartPolicy,
};

use crate::engine::ULIMITS;

/// Largest size of one log file, and how many the engine keeps: a chatty container cannot fill
/// the host's disk.
const LOG_MAX_SIZE: &str = "1m";
const LOG_MAX_FILES: &str = "2";

/// What differs between containers; everything else is fixed here.
#[derive(Debug, Clone, Default)]
pub(super) struct Limits {
    pub read_only: bool,
    /// Beyond `no-new-privileges:true`, which is always set.
    pub extra_security_opt: Vec<String>,
    /// 0 or less: no limit (an admin exception). Swap is never allowed beyond it.
    pub memory_bytes: i64,
    pub nano_cpus: i64,
    pub pids_limit: i64,
    /// Size of `/dev/shm` (the engine mounts it noexec,nosuid,nodev). Must be above 0: the
    /// engine reads 0 as its 64 MiB default.
    pub shm_bytes: i64,
    pub network_mode: String,
    pub port_bindings: HashMap<String, Option<Vec<PortBinding>>>,
}

/// The engine's host settings for `limits`: capabilities dropped, no new privileges, no
/// privileged mode, no restart, bounded logs, init as PID 1, explicit ulimits. Callers add what is theirs
/// (granted capabilities, tmpfs, sysctls) to the result.
pub(super) fn host_config(limits: Limits) -> HostConfig {
    let mut security_opt = vec!["no-new-privileges:true".to_string()];
    security_opt.extend(limits.extra_security_opt);
    let limited = limits.memory_bytes > 0;
    HostConfig {
        cap_drop: Some(vec!["ALL".to_string()]),
        security_opt: Some(security_opt),
        readonly_rootfs: Some(limits.read_only),
        privileged: Some(false),
        memory: limited.then_some(limits.memory_bytes),
        memory_swap: limited.then_some(limits.memory_bytes),
        nano_cpus: Some(limits.nano_cpus),
        pids_limit: Some(limits.pids_limit),
        shm_size: Some(limits.shm_bytes),
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
        init: Some(true),
        network_mode: Some(limits.network_mode),
        port_bindings: Some(limits.port_bindings),
        publish_all_ports: Some(false),
        restart_policy: Some(RestartPolicy {
            name: Some(RestartPolicyNameEnum::NO),
            maximum_retry_count: None,
        }),
        log_config: Some(HostConfigLogConfig {
            typ: Some("json-file".to_string()),
            config: Some(HashMap::from([
                ("max-size".to_string(), LOG_MAX_SIZE.to_string()),
                ("max-file".to_string(), LOG_MAX_FILES.to_string()),
            ])),
        }),
        ..Default::default()
    }
}

/// Each port published on `bind`, on a free port the engine picks.
pub(super) fn bindings(
    ports: impl Iterator<Item = u16>,
    bind: &str,
) -> HashMap<String, Option<Vec<PortBinding>>> {
    ports
        .map(|p| {
            (
                format!("{p}/tcp"),
                Some(vec![PortBinding {
                    host_ip: Some(bind.to_string()),
                    // Empty: the engine picks a free ephemeral port.
                    host_port: Some(String::new()),
                }]),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::{containers, egress};
    use crate::engine::{Egress, sample_plan};

    #[test]
    fn instances_and_proxies_share_log_limits_and_base_hardening() {
        let instance = containers::create_body(&sample_plan(Egress::Allowed))
            .host_config
            .unwrap_or_default();
        let proxy = egress::proxy_body(
            "busybox:1.36",
            "10.0.0.2",
            &[8080],
            "127.0.0.1",
            "edge",
            BTreeMap::new(),
        )
        .host_config
        .unwrap_or_default();
        // The proxy's writable paths (Podman would make its own) are ctfdeck's noexec tmpfs.
        let proxy_tmpfs = proxy.tmpfs.clone().unwrap_or_default();
        for path in crate::engine::ENGINE_WRITABLE_PATHS {
            let opts = proxy_tmpfs
                .get(path)
                .map(String::as_str)
                .unwrap_or_default();
            assert!(
                ["noexec", "nosuid", "nodev", "size=4m"]
                    .iter()
                    .all(|o| opts.split(',').any(|x| x == *o)),
                "{path}: {opts}"
            );
        }
        assert!(instance.log_config.is_some());
        assert_eq!(instance.log_config, proxy.log_config);
        assert_eq!(instance.restart_policy, proxy.restart_policy);
        for h in [&instance, &proxy] {
            assert_eq!(h.cap_drop, Some(vec!["ALL".to_string()]));
            assert_eq!(h.privileged, Some(false));
            assert_eq!(h.init, Some(true));
            assert!(h.shm_size.is_some_and(|s| s > 0), "{:?}", h.shm_size);
            let ulimits: Vec<(String, i64, i64)> = h
                .ulimits
                .iter()
                .flatten()
                .map(|u| {
                    (
                        u.name.clone().unwrap_or_default(),
                        u.soft.unwrap_or_default(),
                        u.hard.unwrap_or_default(),
                    )
                })
                .collect();
            assert_eq!(
                ulimits,
                [
                    ("nofile".to_string(), 1024, 1024),
                    ("nproc".to_string(), 4096, 4096)
                ]
            );
            assert!(
                h.security_opt
                    .as_ref()
                    .is_some_and(|o| o.iter().any(|o| o == "no-new-privileges:true"))
            );
        }
    }
}
