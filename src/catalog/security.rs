//! Security requests as catalog diagnostics: the evaluation against the challenge's profile
//! (see `effective.rs`), each problem reported at the position of the request.

use super::ceilings::Ceilings;
use super::effective::evaluate;
use super::findings::Findings;
use super::model::Challenge;

pub(super) fn check(ch: &Challenge, ceilings: &Ceilings, out: &mut Findings<'_>) {
    for problem in evaluate(ch, ceilings).problems {
        if problem.at_key {
            out.error_at_key(&problem.pointer, problem.message);
        } else {
            out.error(&problem.pointer, problem.message);
        }
    }
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
    fn unconfined_and_unknown_profiles_are_refused() {
        security(json!({"profile": "unconfined"}))
            .expect_error("/container/security/profile", "\"unconfined\" is refused");
        security(json!({"profile": "lax"})).expect_error(
            "/container/security/profile",
            "security profile \"lax\" is not defined",
        );
    }

    #[test]
    fn host_namespaces_are_refused() {
        let case = security(json!({
            "network_mode": "host", "pid_mode": "host", "ipc_mode": "host", "uts_mode": "host"
        }));
        case.expect_error(
            "/container/security/network_mode",
            "\"host\" is refused: it shares the host's network stack",
        );
        case.expect_error(
            "/container/security/pid_mode",
            "\"host\" is refused: it shares the host's process namespace",
        );
        case.expect_error(
            "/container/security/ipc_mode",
            "\"host\" is refused: it shares the host's IPC namespace",
        );
        case.expect_error(
            "/container/security/uts_mode",
            "\"host\" is refused: it shares the host's hostname namespace",
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
        case.expect_error(
            "/container/security/volumes/0",
            "mounts the container engine's socket",
        );
        case.expect_error(
            "/container/security/volumes/1",
            "bind mounts expose host paths",
        );
        case.expect_error("/container/security/devices/0", "\"/dev/kmsg\" is refused");
    }

    #[test]
    fn capabilities_outside_the_profile_or_dangerous_are_refused() {
        let case = security(json!({"cap_add": ["cap_chown", "NET_BIND_SERVICE", "CAP_SYS_ADMIN"]}));
        case.expect_error(
            "/container/security/cap_add/2",
            "capability \"SYS_ADMIN\" is refused: it is nearly root",
        );
        assert_eq!(case.errors(), 1);
        let strict = security(json!({"profile": "strict", "cap_add": ["CHOWN"]}));
        strict.expect_error(
            "/container/security/cap_add/0",
            "not allowed by security profile \"strict\" (it allows: none)",
        );
    }

    #[test]
    fn writable_rootfs_is_refused_by_the_shipped_profiles() {
        security(json!({"read_only": false})).expect_error(
            "/container/security/read_only",
            "requires a read-only root filesystem",
        );
    }

    #[test]
    fn tmpfs_mount_points_must_be_absolute_and_allowed() {
        let case = security(json!({"tmpfs": {"tmp": "size=1m", "/": "", "/run": ""}}));
        case.expect_error_at_key("/container/security/tmpfs/tmp", "must be an absolute path");
        case.expect_error_at_key("/container/security/tmpfs/~1", "would hide the whole root");
        assert_eq!(case.errors(), 2);
        let strict = security(json!({"profile": "strict", "tmpfs": {"/run": ""}}));
        strict.expect_error_at_key(
            "/container/security/tmpfs/~1run",
            "is not allowed by security profile \"strict\"",
        );
    }

    #[test]
    fn egress_may_be_narrowed_not_widened() {
        assert_eq!(security(json!({"egress": false})).errors(), 0);
        security(json!({"profile": "challenge", "egress": true})).expect_error(
            "/container/security/egress",
            "outside security profile \"challenge\", which denies outbound traffic",
        );
    }
}
