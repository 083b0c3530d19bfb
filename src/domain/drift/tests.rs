use std::collections::BTreeMap;

use super::*;
use crate::engine::{AppliedHardening, AttachedNetwork, ProxyState, sample_plan};

fn plan(egress: Egress) -> ContainerPlan {
    let mut p = sample_plan(egress);
    p.hardening.cap_add = vec!["NET_BIND_SERVICE".into()];
    p.hardening.tmpfs = BTreeMap::from([("/tmp".into(), "size=16m".into())]);
    p
}

/// What the engine reports for a container created from `plan(Egress::Allowed)`.
fn faithful() -> SecurityState {
    SecurityState {
        engine: crate::engine::EngineKind::Docker,
        running: true,
        applied: AppliedHardening {
            user: "1000:1000".into(),
            privileged: false,
            cap_add: vec!["NET_BIND_SERVICE".into()],
            cap_drop: vec!["ALL".into()],
            security_opt: vec!["no-new-privileges:true".into()],
            read_only: true,
            init: true,
            tmpfs: BTreeMap::from([("/tmp".into(), "size=16m,rw,noexec,nosuid,nodev".into())]),
            memory: 64 << 20,
            memory_swap: 64 << 20,
            nano_cpus: 500_000_000,
            pids_limit: 64,
            shm_size: 1 << 20,
            ulimits: BTreeMap::from([
                ("nofile".into(), (1024, 1024)),
                ("nproc".into(), (4096, 4096)),
            ]),
            network_mode: "ctfdeck-abc234".into(),
            pid_mode: String::new(),
            ipc_mode: "private".into(),
            uts_mode: String::new(),
            host_mounts: Vec::new(),
            other_mounts: Vec::new(),
            devices: Vec::new(),
            published_on: vec!["127.0.0.1".into()],
        },
        networks: vec![AttachedNetwork {
            name: "ctfdeck-abc234".into(),
            internal: false,
            bridge: Some("ctfd-abc234".into()),
            icc: false,
            others: Vec::new(),
        }],
        labels: BTreeMap::new(),
        proxy: None,
    }
}

fn fields(d: &[Drift]) -> Vec<&str> {
    d.iter().map(|d| d.field.as_str()).collect()
}

#[test]
fn a_faithful_container_has_no_drift() {
    assert_eq!(compare(&plan(Egress::Allowed), &faithful()), Vec::new());
}

#[test]
fn loosened_settings_are_each_reported() {
    let mut s = faithful();
    s.applied.pids_limit = 4096;
    s.applied.memory = 2 << 30;
    s.applied.memory_swap = -1;
    s.applied.cap_add.push("SYS_ADMIN".into());
    s.applied.security_opt = vec!["seccomp=unconfined".into()];
    s.applied.read_only = false;
    s.applied
        .tmpfs
        .insert("/tmp".into(), "size=16m,exec".into());
    s.applied.privileged = true;
    s.applied.pid_mode = "host".into();
    s.applied.host_mounts = vec!["/var/run/docker.sock".into()];
    s.networks.push(AttachedNetwork {
        name: "bridge".into(),
        ..AttachedNetwork::default()
    });
    s.applied.published_on = vec!["0.0.0.0".into()];
    let d = compare(&plan(Egress::Allowed), &s);
    assert_eq!(
        fields(&d),
        [
            "privileged",
            "added capabilities",
            "no-new-privileges",
            "seccomp",
            "confinement",
            "read-only root filesystem",
            "tmpfs /tmp",
            "memory limit",
            "memory+swap limit",
            "pids limit",
            "pid namespace",
            "host mounts",
            "networks",
            "published on",
        ]
    );
    let pids = d.iter().find(|d| d.field == "pids limit").unwrap();
    assert_eq!(pids.to_string(), "pids limit: expected 64, found 4096");
}

#[test]
fn an_engine_named_bridge_is_not_covered_by_the_firewall() {
    let mut s = faithful();
    s.networks[0].bridge = None;
    s.networks[0].icc = true;
    let d = compare(&plan(Egress::Allowed), &s);
    assert_eq!(fields(&d), ["inter-container traffic", "bridge"]);
}

#[test]
fn denied_egress_needs_an_internal_network_and_a_running_proxy() {
    let denied = plan(Egress::Denied {
        proxy_image: "busybox:1.36".into(),
        edge_pool: Default::default(),
    });
    let mut s = faithful();
    s.applied.published_on.clear();
    s.networks[0].internal = true;
    s.networks[0].icc = true;
    s.proxy = Some(ProxyState {
        running: true,
        read_only: true,
        cap_drop: vec!["ALL".into()],
        user: "65534:65534".into(),
        networks: vec!["ctfdeck-abc234".into(), "ctfdeck-abc234-edge".into()],
        published_on: vec!["127.0.0.1".into()],
    });
    assert_eq!(compare(&denied, &s), Vec::new());

    let mut open = s.clone();
    open.networks[0].internal = false;
    open.proxy = None;
    assert_eq!(fields(&compare(&denied, &open)), ["egress", "egress proxy"]);

    let mut stopped = s;
    if let Some(p) = stopped.proxy.as_mut() {
        p.running = false;
        p.published_on = vec!["0.0.0.0".into()];
    }
    assert_eq!(
        fields(&compare(&denied, &stopped)),
        ["egress proxy", "proxy published on"]
    );
}

#[test]
fn a_container_without_a_cpu_limit_or_with_the_engines_shm_is_reported() {
    // Even when the plan agrees (no profile grants unlimited CPU, so such a plan is wrong too).
    let mut unlimited = plan(Egress::Allowed);
    unlimited.hardening.nano_cpus = 0;
    let mut s = faithful();
    s.applied.nano_cpus = 0;
    s.applied.shm_size = 0;
    let d = compare(&unlimited, &s);
    assert_eq!(fields(&d), ["cpu limit", "/dev/shm size"]);
    assert_eq!(
        d[0].to_string(),
        "cpu limit: expected a limit, found none (every core of the host)"
    );
    assert_eq!(
        d[1].to_string(),
        "/dev/shm size: expected 1m, found the engine's default (64m)"
    );
    // Against a plan with a limit, said once.
    let d = compare(&plan(Egress::Allowed), &s);
    assert_eq!(fields(&d), ["cpus", "/dev/shm size"]);
    assert_eq!(d[0].to_string(), "cpus: expected 0.5, found unlimited");
}

#[test]
fn a_mount_ctfdeck_did_not_make_is_reported() {
    let mut s = faithful();
    s.applied.other_mounts = vec!["volume /data".into()];
    let d = compare(&plan(Egress::Allowed), &s);
    assert_eq!(fields(&d), ["mounts"]);
    assert_eq!(
        d[0].to_string(),
        "mounts: expected none besides its tmpfs and granted binds, found volume /data"
    );
}

#[test]
fn missing_or_raised_ulimits_are_reported() {
    let mut s = faithful();
    s.applied.ulimits.remove("nofile");
    s.applied.ulimits.insert("nproc".into(), (4096, 1 << 22));
    let d = compare(&plan(Egress::Allowed), &s);
    assert_eq!(fields(&d), ["ulimit nofile", "ulimit nproc"]);
    assert_eq!(
        d[0].to_string(),
        "ulimit nofile: expected 1024:1024, found the engine's default"
    );
    assert_eq!(
        d[1].to_string(),
        "ulimit nproc: expected 4096:4096, found 4096:4194304"
    );
}

#[test]
fn on_podman_inter_container_traffic_drifts_only_when_another_container_joins() {
    let mut s = faithful();
    s.engine = crate::engine::EngineKind::Podman;
    // Podman cannot switch it off: reported on, with the instance alone on its network.
    s.networks[0].icc = true;
    assert_eq!(compare(&plan(Egress::Allowed), &s), Vec::new());

    s.networks[0].others = vec!["intruder".into()];
    let d = compare(&plan(Egress::Allowed), &s);
    assert_eq!(fields(&d), ["inter-container traffic"]);
    assert!(
        d[0].actual.contains("intruder on ctfdeck-abc234"),
        "{}",
        d[0]
    );

    // Docker has the switch: on is drift even when alone.
    s.engine = crate::engine::EngineKind::Docker;
    s.networks[0].others.clear();
    assert_eq!(
        fields(&compare(&plan(Egress::Allowed), &s)),
        ["inter-container traffic"]
    );
}
