//! Dangerous security requests. Each is refused with the reason, at the position of the request.

use std::path::Path;

use super::ceilings::{Ceilings, normalize_cap};
use super::findings::Findings;
use super::locate::escape;
use super::model::Challenge;

const AT: &str = "/container/security";

pub(super) fn check(ch: &Challenge, ceilings: &Ceilings, out: &mut Findings<'_>) {
    let s = &ch.container.security;
    if s.privileged {
        out.error(
            &format!("{AT}/privileged"),
            "security.privileged is refused: a privileged container has every capability and the host's devices, so it can take over the host",
        );
    }
    if s.profile.trim().eq_ignore_ascii_case("unconfined") {
        out.error(
            &format!("{AT}/profile"),
            "security.profile \"unconfined\" is refused: it drops the seccomp/AppArmor confinement every instance runs under",
        );
    }
    if let Some(mode) = &s.network_mode {
        let why = if mode == "host" {
            "would put the container on the host's network stack"
        } else {
            "is not allowed"
        };
        out.error(
            &format!("{AT}/network_mode"),
            format!(
                "security.network_mode {mode:?} {why}; an instance only gets its own isolated network (leave network_mode out)"
            ),
        );
    }
    namespace_mode(
        "pid_mode",
        s.pid_mode.as_deref(),
        &[],
        "process namespace",
        out,
    );
    namespace_mode(
        "ipc_mode",
        s.ipc_mode.as_deref(),
        &["private", "none", "shareable"],
        "IPC namespace",
        out,
    );
    for (i, volume) in s.volumes.iter().enumerate() {
        let message = if volume.contains("docker.sock") {
            format!(
                "security.volumes {volume:?} mounts the Docker socket, which gives the container root on the host; refused"
            )
        } else {
            format!(
                "security.volumes {volume:?} is refused: bind mounts and volumes expose host paths (COPY files into the image instead)"
            )
        };
        out.error(&format!("{AT}/volumes/{i}"), message);
    }
    for (i, device) in s.devices.iter().enumerate() {
        out.error(
            &format!("{AT}/devices/{i}"),
            format!("security.devices {device:?} is refused: host devices are never passed to an instance"),
        );
    }
    for (i, cap) in s.cap_add.iter().enumerate() {
        if !ceilings.allows_cap(cap) {
            out.error(
                &format!("{AT}/cap_add/{i}"),
                format!(
                    "capability {:?} is not allowed (the admin allowlist is: {})",
                    normalize_cap(cap),
                    ceilings.cap_allowlist_display()
                ),
            );
        }
    }
    if !s.read_only {
        out.error(
            &format!("{AT}/read_only"),
            "security.read_only false is refused: a read-only root filesystem is required (write to a tmpfs mount such as /tmp instead)",
        );
    }
    for mount in s.tmpfs.keys() {
        let at = format!("{AT}/tmpfs/{}", escape(mount));
        if !mount.starts_with('/') {
            out.error_at_key(
                &at,
                format!("tmpfs mount point {mount:?} must be an absolute path"),
            );
        } else if Path::new(mount).parent().is_none() {
            out.error_at_key(
                &at,
                format!("tmpfs mount point {mount:?} would hide the whole root filesystem"),
            );
        }
    }
}

fn namespace_mode(
    field: &str,
    mode: Option<&str>,
    allowed: &[&str],
    namespace: &str,
    out: &mut Findings<'_>,
) {
    let Some(mode) = mode else {
        return;
    };
    if allowed.contains(&mode) {
        return;
    }
    let why = if mode == "host" {
        format!("shares the host's {namespace}")
    } else if mode.starts_with("container:") {
        format!("shares another container's {namespace}")
    } else {
        "is not a supported value".to_string()
    };
    out.error(
        &format!("{AT}/{field}"),
        format!("security.{field} {mode:?} is refused: it {why}"),
    );
}

#[cfg(test)]
mod tests {
    use super::super::testutil::Case;
    use serde_json::json;

    fn security(value: serde_json::Value) -> Case {
        Case::with(|v| v["container"]["security"] = value.clone())
    }

    #[test]
    fn privileged_is_refused() {
        security(json!({"privileged": true})).expect_error(
            "/container/security/privileged",
            "security.privileged is refused",
        );
    }

    #[test]
    fn unconfined_profile_is_refused() {
        security(json!({"profile": "unconfined"}))
            .expect_error("/container/security/profile", "\"unconfined\" is refused");
    }

    #[test]
    fn host_namespaces_are_refused() {
        let case =
            security(json!({"network_mode": "host", "pid_mode": "host", "ipc_mode": "host"}));
        case.expect_error(
            "/container/security/network_mode",
            "\"host\" would put the container on the host's network stack",
        );
        case.expect_error(
            "/container/security/pid_mode",
            "\"host\" is refused: it shares the host's process namespace",
        );
        case.expect_error(
            "/container/security/ipc_mode",
            "\"host\" is refused: it shares the host's IPC namespace",
        );
    }

    #[test]
    fn any_network_mode_and_foreign_namespaces_are_refused() {
        let case = security(json!({"network_mode": "bridge", "pid_mode": "container:db"}));
        case.expect_error(
            "/container/security/network_mode",
            "\"bridge\" is not allowed",
        );
        case.expect_error(
            "/container/security/pid_mode",
            "another container's process namespace",
        );
        assert_eq!(security(json!({"ipc_mode": "private"})).errors(), 0);
    }

    #[test]
    fn volumes_and_devices_are_refused() {
        let case = security(json!({
            "volumes": ["/var/run/docker.sock:/var/run/docker.sock", "/etc:/host-etc"],
            "devices": ["/dev/kmsg"]
        }));
        case.expect_error("/container/security/volumes/0", "mounts the Docker socket");
        case.expect_error(
            "/container/security/volumes/1",
            "bind mounts and volumes expose host paths",
        );
        case.expect_error("/container/security/devices/0", "\"/dev/kmsg\" is refused");
    }

    #[test]
    fn capabilities_outside_the_allowlist_are_refused() {
        let case = security(json!({"cap_add": ["cap_chown", "NET_BIND_SERVICE", "CAP_SYS_ADMIN"]}));
        case.expect_error(
            "/container/security/cap_add/2",
            "capability \"SYS_ADMIN\" is not allowed (the admin allowlist is: CHOWN, DAC_OVERRIDE",
        );
        assert_eq!(case.errors(), 1);
    }

    #[test]
    fn writable_rootfs_is_refused() {
        security(json!({"read_only": false})).expect_error(
            "/container/security/read_only",
            "read-only root filesystem is required",
        );
    }

    #[test]
    fn tmpfs_mount_points_must_be_absolute() {
        let case = security(json!({"tmpfs": {"tmp": "size=1m", "/": "", "/run": ""}}));
        case.expect_error_at_key("/container/security/tmpfs/tmp", "must be an absolute path");
        case.expect_error_at_key("/container/security/tmpfs/~1", "would hide the whole root");
        assert_eq!(case.errors(), 2);
    }
}
