//! The evaluation of security requests against profiles, ceilings and exceptions.

#![allow(clippy::unwrap_used)]

use super::super::testutil::base;
use super::*;
use serde_json::json;

fn challenge(edit: impl FnOnce(&mut serde_json::Value)) -> Challenge {
    let mut v = base();
    edit(&mut v);
    serde_json::from_value(v).unwrap()
}

fn eval(edit: impl FnOnce(&mut serde_json::Value)) -> Evaluation {
    evaluate(&challenge(edit), &Ceilings::default())
}

fn eval_with(ceilings: &Ceilings, edit: impl FnOnce(&mut serde_json::Value)) -> Evaluation {
    evaluate(&challenge(edit), ceilings)
}

fn allowing(edit: impl FnOnce(&mut super::super::exceptions::Exceptions)) -> Ceilings {
    let mut c = Ceilings::default();
    edit(&mut c.security.allow);
    c
}

#[test]
fn a_plain_challenge_gets_its_profile() {
    let e = eval(|_| {}).into_result().unwrap();
    assert_eq!(e.profile, "default");
    assert!(e.egress && e.read_only);
    assert_eq!(e.memory, Amount::UpTo(512 << 20));
    assert_eq!(e.pids, Amount::UpTo(256));
    assert_eq!(e.cpus, Amount::UpTo(1.0));
    assert_eq!(e.tmpfs["/tmp"], "size=16m");
    assert_eq!(e.user.as_deref(), Some("1000:1000"));
    assert_eq!(e.grants, Grants::default());
    assert_eq!(e.seccomp, None);
}

#[test]
fn a_challenge_may_narrow_its_profile() {
    let e = eval(|v| {
        v["container"]["security"] = json!({
            "profile": "default", "cap_add": ["cap_net_bind_service"], "egress": false,
            "tmpfs": {"/tmp": "size=4m,mode=1777", "/run/app": ""}
        });
        v["container"]["resources"] = json!({"memory": "64m", "cpus": 0.5, "pids": 32});
    })
    .into_result()
    .unwrap();
    assert_eq!(e.cap_add, ["NET_BIND_SERVICE"]);
    assert!(!e.egress);
    assert_eq!(e.tmpfs["/tmp"], "size=4m,mode=1777");
    assert_eq!(e.tmpfs["/run/app"], "size=16m");
    assert_eq!(e.memory, Amount::Requested(64 << 20));
    assert_eq!(e.pids, Amount::Requested(32));
}

#[test]
fn anything_outside_the_profile_names_the_field_and_the_profile() {
    let ev = eval(|v| {
        v["container"]["security"] = json!({
            "profile": "strict", "cap_add": ["CHOWN"], "egress": true, "read_only": false,
            "tmpfs": {"/tmp": "size=32m", "/var/run": "size=1m"}
        });
        v["container"]["resources"] = json!({"memory": "256m", "cpus": 1.0, "pids": 100});
    });
    let msgs: Vec<(&str, &str)> = ev
        .problems
        .iter()
        .map(|p| (p.pointer.as_str(), p.message.as_str()))
        .collect();
    let expect = [
        (
            "/container/security/cap_add/0",
            "capability \"CHOWN\" is not allowed by security profile \"strict\" (it allows: none)",
        ),
        (
            "/container/security/read_only",
            "security.read_only false is outside security profile \"strict\"",
        ),
        (
            "/container/security/tmpfs/~1tmp",
            "tmpfs \"/tmp\" size 32m is above the 16m allowed by security profile \"strict\"",
        ),
        (
            "/container/security/tmpfs/~1var~1run",
            "tmpfs mount \"/var/run\" is not allowed by security profile \"strict\" (it allows: /tmp)",
        ),
        (
            "/container/security/egress",
            "security.egress true is outside security profile \"strict\"",
        ),
        (
            "/container/resources/memory",
            "memory \"256m\" is above the 128m allowed by security profile \"strict\"",
        ),
        (
            "/container/resources/cpus",
            "cpus 1 is above the 0.5 allowed by security profile \"strict\"",
        ),
        (
            "/container/resources/pids",
            "pids 100 is above the 64 allowed by security profile \"strict\"",
        ),
    ];
    for (pointer, text) in expect {
        assert!(
            msgs.iter().any(|(p, m)| *p == pointer && m.contains(text)),
            "missing {pointer}: {text}\n{msgs:#?}"
        );
    }
    assert_eq!(ev.problems.len(), expect.len(), "{msgs:#?}");
}

#[test]
fn unknown_and_unconfined_profiles_are_refused() {
    let ev = eval(|v| v["container"]["security"] = json!({"profile": "loose"}));
    assert!(ev.effective.is_none());
    assert!(ev.problems[0].message.contains(
        "security profile \"loose\" is not defined (profiles: challenge, default, strict)"
    ));
    let ev = eval(|v| v["container"]["security"] = json!({"profile": "unconfined"}));
    assert!(ev.problems[0].message.contains("\"unconfined\" is refused"));
}

#[test]
fn dangerous_requests_are_refused_with_reason_and_hint() {
    let ev = eval(|v| {
        v["container"]["security"] = json!({
            "privileged": true, "network_mode": "host", "pid_mode": "host", "ipc_mode": "host",
            "uts_mode": "host", "volumes": ["/var/run/docker.sock:/var/run/docker.sock", "/etc:/h"],
            "devices": ["/dev/kmsg"], "cap_add": ["SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE"]
        });
        v["container"]["resources"] = json!({"memory": "unlimited", "pids": -1});
    });
    let all = ev.into_result().unwrap_err();
    for expected in [
        "security.privileged is refused: a privileged container has every capability",
        "security.network_mode \"host\" is refused: it shares the host's network stack",
        "security.pid_mode \"host\" is refused",
        "security.ipc_mode \"host\" is refused",
        "security.uts_mode \"host\" is refused",
        "mounts the container engine's socket, which gives the container root on the host",
        "\"/etc:/h\" is refused: bind mounts expose host paths",
        "security.devices \"/dev/kmsg\" is refused",
        "capability \"SYS_ADMIN\" is refused: it is nearly root",
        "capability \"NET_ADMIN\" is refused",
        "capability \"SYS_PTRACE\" is refused",
        "unlimited memory is refused",
        "unlimited pids is refused",
        "[profiles.allow] privileged = [\"demo\"]",
        "[profiles.allow] engine_socket = [\"demo\"]",
        "[profiles.allow] unlimited = [\"demo\"]",
    ] {
        assert!(all.contains(expected), "missing {expected:?} in {all}");
    }
}

#[test]
fn admin_exceptions_grant_exactly_the_named_challenge() {
    let ceilings = allowing(|a| {
        a.privileged = vec!["demo".into()];
        a.capabilities = vec!["demo".into()];
        a.host_mounts = vec!["*".into()];
        a.unlimited = vec!["demo".into()];
        a.root = vec!["demo".into()];
    });
    let e = eval_with(&ceilings, |v| {
        v["container"]["security"] = json!({
            "privileged": true, "cap_add": ["SYS_PTRACE"], "volumes": ["/srv/data:/data"]
        });
        v["container"]["resources"] = json!({"pids": 0, "memory": "unlimited"});
    })
    .into_result()
    .unwrap();
    assert!(e.grants.privileged && e.grants.root);
    assert_eq!(e.cap_add, ["SYS_PTRACE"]);
    assert_eq!(e.grants.binds, ["/srv/data:/data:ro"]);
    assert_eq!(e.pids, Amount::Unlimited);
    assert_eq!(e.memory, Amount::Unlimited);

    // Another challenge id is not covered.
    let other = eval_with(&ceilings, |v| {
        v["id"] = json!("other");
        v["container"]["security"] = json!({"privileged": true});
    });
    assert!(
        other
            .into_result()
            .unwrap_err()
            .contains("privileged = [\"other\"]")
    );
}

#[test]
fn granted_host_network_cannot_go_with_denied_egress() {
    let ceilings = allowing(|a| a.host_namespaces = vec!["demo".into()]);
    let err = eval_with(&ceilings, |v| {
        v["container"]["security"] = json!({"profile": "strict", "network_mode": "host"});
    })
    .into_result()
    .unwrap_err();
    assert!(
        err.contains("cannot be combined with denied egress"),
        "{err}"
    );
}

#[test]
fn tmpfs_cannot_undo_noexec_and_volumes_must_be_well_formed() {
    let err = eval(|v| v["container"]["security"] = json!({"tmpfs": {"/tmp": "size=1m,exec"}}))
        .into_result()
        .unwrap_err();
    assert!(err.contains("option \"exec\" is refused"), "{err}");
    let ceilings = allowing(|a| a.host_mounts = vec!["demo".into()]);
    let err = eval_with(&ceilings, |v| {
        v["container"]["security"] = json!({"volumes": ["/srv", "data:/data", "/a:/b:rwx"]});
    })
    .into_result()
    .unwrap_err();
    assert!(
        err.contains("\"/srv\" must be /host/path:/container/path"),
        "{err}"
    );
    assert!(err.contains("named volumes outlive the instance"), "{err}");
    assert!(err.contains("\"/a:/b:rwx\" must be"), "{err}");
}

#[test]
fn engine_sockets_are_recognised() {
    for path in [
        "/var/run/docker.sock",
        "/run/podman/podman.sock",
        "/run",
        "/var/run/",
        "/",
        "/run/containerd/containerd.sock",
    ] {
        assert!(is_engine_socket(path), "{path}");
    }
    for path in ["/srv/data", "/etc/passwd", "/home/x.sock"] {
        assert!(!is_engine_socket(path), "{path}");
    }
}

#[test]
fn a_cpu_limit_that_rounds_to_none_is_refused_where_it_is_written() {
    for tiny in [1e-10, 0.001, 0.0099] {
        let ev = eval(|v| v["container"]["resources"] = json!({"cpus": tiny}));
        assert_eq!(ev.problems.len(), 1, "{tiny}: {:?}", ev.problems);
        assert_eq!(ev.problems[0].pointer, "/container/resources/cpus");
        assert!(
            ev.problems[0]
                .message
                .contains("is below the smallest limit of 0.01"),
            "{}",
            ev.problems[0].message
        );
    }
    let ok = eval(|v| v["container"]["resources"] = json!({"cpus": MIN_CPUS}));
    assert!(ok.problems.is_empty(), "{:?}", ok.problems);
}
