#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Spawning the example challenges on the real engine: hardened, reachable, solvable, and
//! gone without a trace when stopped.

mod common;

use std::collections::HashMap;
use std::process::Command;

use common::{Fixture, http_status_line, repo, tcp_banner};
use ctfdeck::domain::{Owner, StopOutcome};
use ctfdeck::engine::labels;
use ctfdeck::store::InstanceStatus;

async fn inspect(f: &Fixture, id: &str) -> bollard::models::ContainerInspectResponse {
    f.engine
        .client()
        .inspect_container(
            id,
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
        .expect("inspect container")
}

async fn assert_hardened(f: &Fixture, container_id: &str, instance: &str, challenge: &str) {
    let c = inspect(f, container_id).await;
    let h = c.host_config.expect("host config");
    assert_eq!(h.cap_drop, Some(vec!["ALL".to_string()]), "cap-drop ALL");
    assert!(h.cap_add.unwrap_or_default().is_empty(), "no caps added");
    assert!(
        h.security_opt
            .unwrap_or_default()
            .iter()
            .any(|o| o.starts_with("no-new-privileges")),
        "no-new-privileges"
    );
    assert_eq!(h.readonly_rootfs, Some(true), "read-only rootfs");
    assert_eq!(h.privileged, Some(false), "not privileged");
    assert_eq!(h.init, Some(true), "init");
    let tmpfs = h.tmpfs.expect("tmpfs");
    let tmp = tmpfs.get("/tmp").expect("/tmp tmpfs");
    for opt in ["noexec", "nosuid", "nodev", "size=16m"] {
        assert!(tmp.split(',').any(|o| o == opt), "/tmp has {opt}: {tmp}");
    }
    assert_eq!(h.memory, Some(64 << 20), "memory from the challenge");
    assert_eq!(h.memory_swap, Some(64 << 20), "no swap");
    assert_eq!(h.pids_limit, Some(64), "pids limit");
    assert_eq!(h.nano_cpus, Some(500_000_000), "cpus 0.5");
    let ulimits: Vec<(String, i64, i64)> = h
        .ulimits
        .unwrap_or_default()
        .into_iter()
        .map(|u| {
            (
                u.name.unwrap_or_default(),
                u.soft.unwrap_or_default(),
                u.hard.unwrap_or_default(),
            )
        })
        .collect();
    let expected: Vec<(String, i64, i64)> = ctfdeck::engine::ULIMITS
        .iter()
        .map(|(n, s, h)| (n.to_string(), *s, *h))
        .collect();
    assert_eq!(ulimits, expected, "explicit ulimits");
    // And the processes inside run with them.
    let inside = f
        .engine
        .exec(container_id, &["sh", "-c", "ulimit -n; ulimit -u"])
        .await
        .expect("exec ulimit");
    assert_eq!(
        inside.output.split_whitespace().collect::<Vec<_>>(),
        ["1024", "4096"]
    );
    assert_eq!(
        h.network_mode.as_deref(),
        Some(format!("ctfdeck-{instance}").as_str())
    );
    assert!(h.binds.unwrap_or_default().is_empty(), "no bind mounts");
    assert!(h.devices.unwrap_or_default().is_empty(), "no devices");
    assert!(
        h.pid_mode.unwrap_or_default().is_empty(),
        "own pid namespace"
    );
    assert_ne!(h.ipc_mode.as_deref(), Some("host"), "own ipc namespace");
    assert!(
        c.mounts
            .unwrap_or_default()
            .iter()
            .all(|m| m.typ.as_deref() != Some("bind")),
        "no bind mounts at all"
    );
    let cfg = c.config.expect("config");
    assert_eq!(
        cfg.user.as_deref(),
        Some(ctfdeck::domain::DEFAULT_USER),
        "non-root user no host account has"
    );
    let l: HashMap<String, String> = cfg.labels.unwrap_or_default();
    assert_eq!(l.get(labels::MANAGED).map(String::as_str), Some("true"));
    assert_eq!(l.get(labels::INSTANCE).map(String::as_str), Some(instance));
    assert_eq!(
        l.get(labels::CHALLENGE).map(String::as_str),
        Some(challenge)
    );
    assert!(l.contains_key(labels::OWNER) && l.contains_key(labels::STORE));
}

fn solve(challenge: &str, connection_info: &str) -> String {
    let out = Command::new(repo().join("challenges").join(challenge).join("solve.sh"))
        .args(["--connection-info", connection_info])
        .output()
        .expect("run solve.sh");
    assert!(
        out.status.success(),
        "{challenge} solve.sh failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_example_spawns_hardened_answers_is_solvable_and_stops_clean() {
    let f = Fixture::new().await;
    for (challenge, kind) in [
        ("web-robots", "http"),
        ("nc-calc", "tcp"),
        ("web-cmdinject", "http"),
    ] {
        let owner: Owner = "team:alpha".parse().unwrap();
        let spawned = f.lifecycle.spawn(challenge, &owner).await.expect("spawn");
        assert!(!spawned.existing);
        let rec = spawned.instance;
        assert_eq!(rec.status, InstanceStatus::Running);
        let container = rec.container_id.clone().expect("container id");
        assert_hardened(&f, &container, &rec.id, challenge).await;

        let port = rec.ports.first().expect("a published port");
        assert_eq!(port.protocol, kind);
        let flag = rec.flag.clone().expect("a flag");
        if kind == "http" {
            assert!(
                http_status_line(port.host_port).contains(" 200"),
                "{challenge} answers 200"
            );
            let got = solve(challenge, &format!("http://127.0.0.1:{}", port.host_port));
            assert_eq!(
                got, flag,
                "{challenge}: the solve script extracts this instance's flag"
            );
        } else {
            assert!(
                tcp_banner(port.host_port).contains("nc-calc"),
                "{challenge} banner"
            );
            let got = solve(challenge, &format!("nc 127.0.0.1 {}", port.host_port));
            assert_eq!(
                got, flag,
                "{challenge}: the solve script extracts this instance's flag"
            );
        }

        // The same owner asking again gets the same instance back.
        let again = f
            .lifecycle
            .spawn(challenge, &owner)
            .await
            .expect("spawn again");
        assert!(again.existing);
        assert_eq!(again.instance.id, rec.id);

        assert_eq!(
            f.lifecycle.stop(&rec.id, "test").await.unwrap(),
            StopOutcome::Stopped
        );
        let gone = f
            .engine
            .client()
            .inspect_container(
                &container,
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
            .await;
        assert!(gone.is_err(), "container removed");
        let net = f
            .engine
            .client()
            .inspect_network(
                &format!("ctfdeck-{}", rec.id),
                None::<bollard::query_parameters::InspectNetworkOptions>,
            )
            .await;
        assert!(net.is_err(), "network removed");
        let row = f.lifecycle.store().instance(&rec.id).unwrap().unwrap();
        assert_eq!(row.status, InstanceStatus::Stopped);
        // Stopping again is harmless.
        assert!(matches!(
            f.lifecycle.stop(&rec.id, "test").await.unwrap(),
            StopOutcome::AlreadyDone(InstanceStatus::Stopped)
        ));
    }
    assert_eq!(f.leftovers().await, (0, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_cannot_reach_each_other() {
    let f = Fixture::new().await;
    let a = f.spawn("web-robots", "team:a").await;
    let b = f.spawn("web-robots", "team:b").await;
    let a_id = a.container_id.clone().unwrap();
    let b_inspect = inspect(&f, b.container_id.as_deref().unwrap()).await;
    let b_ip = b_inspect
        .network_settings
        .and_then(|n| n.networks)
        .and_then(|n| n.values().next().and_then(|e| e.ip_address.clone()))
        .filter(|ip| !ip.is_empty())
        .expect("B has an address on its own network");

    // The probe itself works: A reaches its own server. (busybox nc, not wget: the static
    // glibc busybox's wget crashes in the resolver.)
    let probe = |host: &str| format!("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {host} 8080");
    let own = f
        .engine
        .exec(&a_id, &["sh", "-c", &probe("127.0.0.1")])
        .await
        .unwrap();
    assert!(
        own.output.contains("HTTP/1."),
        "A reaches itself: {}",
        own.output
    );
    // …but not B's container address.
    let cross = f
        .engine
        .exec(&a_id, &["sh", "-c", &probe(&b_ip)])
        .await
        .unwrap();
    assert!(
        !cross.output.contains("HTTP/1."),
        "A must not reach B at {b_ip}: {}",
        cross.output
    );

    f.lifecycle.stop(&a.id, "test").await.unwrap();
    f.lifecycle.stop(&b.id, "test").await.unwrap();
    assert_eq!(f.leftovers().await, (0, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn stop_succeeds_when_the_container_is_already_gone() {
    let f = Fixture::new().await;
    let rec = f.spawn("nc-calc", "user:bob").await;
    f.engine
        .remove_container(rec.container_id.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(
        f.lifecycle.stop(&rec.id, "test").await.unwrap(),
        StopOutcome::Stopped
    );
    assert_eq!(f.leftovers().await, (0, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_spawn_whose_image_is_missing_fails_cleanly() {
    // A catalog with one challenge whose image was never built.
    let dir = tempfile::tempdir().unwrap();
    let ch = dir.path().join("ghost");
    std::fs::create_dir(&ch).unwrap();
    let text = std::fs::read_to_string(repo().join("challenges/web-robots/challenge.json"))
        .unwrap()
        .replace("\"web-robots\"", "\"ghost\"")
        .replace(
            "ctfdeck/web-robots:latest",
            "ctfdeck/never-built-ghost:nope",
        )
        .replace("\"build\": \".\",", "")
        .replace(
            "\"smoke\": {\"check\": \"solve.sh\", \"timeout\": \"60s\"}",
            "\"smoke\": null",
        );
    std::fs::write(ch.join("challenge.json"), text).unwrap();
    let f = Fixture::with_catalog(dir.path()).await;

    let err = f
        .lifecycle
        .spawn("ghost", &"team:x".parse().unwrap())
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("never-built-ghost"), "names the image: {msg}");
    let rows = f
        .lifecycle
        .store()
        .list_instances(&ctfdeck::store::InstanceFilter {
            all: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, InstanceStatus::Failed);
    assert!(
        rows[0]
            .stop_reason
            .as_deref()
            .unwrap_or_default()
            .contains("never-built-ghost")
    );
    assert_eq!(f.leftovers().await, (0, 0), "no container, no network left");
}

/// Spawn `n` instances of `challenge` at once (racing for subnets); every spawn must succeed.
async fn spawn_many(f: &Fixture, challenge: &str, n: usize) -> Vec<ctfdeck::store::InstanceRecord> {
    let owners: Vec<Owner> = (0..n)
        .map(|i| format!("team:many{i}").parse().unwrap())
        .collect();
    let spawns = owners.iter().map(|o| f.lifecycle.spawn(challenge, o));
    let results = futures_util::future::join_all(spawns).await;
    let failed: Vec<String> = results
        .iter()
        .filter_map(|r| r.as_ref().err().map(|e| e.to_string()))
        .collect();
    assert!(
        failed.is_empty(),
        "{} failed: {:?}",
        failed.len(),
        failed.first()
    );
    results.into_iter().map(|r| r.unwrap().instance).collect()
}

/// The subnet of a network, asserted to be a /28 of ctfdeck's pool.
async fn pool_subnet(f: &Fixture, network: &str) -> String {
    let net = f
        .engine
        .client()
        .inspect_network(
            network,
            None::<bollard::query_parameters::InspectNetworkOptions>,
        )
        .await
        .unwrap_or_else(|e| panic!("network {network}: {e}"));
    let subnet = net.ipam.and_then(|i| i.config).unwrap()[0]
        .subnet
        .clone()
        .unwrap();
    assert!(
        subnet.starts_with("10.213.") && subnet.ends_with("/28"),
        "{network}: {subnet}"
    );
    subnet
}

/// Stop every live instance of the fixture; nothing may be left on the engine.
async fn stop_all(f: &Fixture) {
    let all = f
        .lifecycle
        .select(&ctfdeck::domain::PurgeSelector::All)
        .unwrap();
    for (id, r) in f.lifecycle.stop_many(all, "test").await {
        r.unwrap_or_else(|e| panic!("stop {id}: {e}"));
    }
    assert_eq!(f.leftovers().await, (0, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn more_instances_than_a_stock_daemon_has_bridge_subnets() {
    // A stock daemon's default pools hold ~30 bridge networks; ctfdeck carves /28s from its own
    // pool, so 35 concurrent spawns (racing for subnets) all succeed.
    let f = Fixture::new().await;
    let mut subnets = std::collections::HashSet::new();
    for rec in spawn_many(&f, "nc-calc", 35).await {
        subnets.insert(pool_subnet(&f, rec.network_id.as_deref().unwrap()).await);
    }
    assert_eq!(subnets.len(), 35, "one subnet per instance");
    stop_all(&f).await;
}

/// Bytes a TCP service sends within `wait` of a connect (empty: it answered nothing, or
/// refused the connection).
fn first_bytes(port: u16, wait: std::time::Duration) -> Vec<u8> {
    use std::io::Read;
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return Vec::new();
    };
    s.set_read_timeout(Some(wait)).unwrap();
    let mut buf = [0u8; 64];
    match s.read(&mut buf) {
        Ok(n) => buf[..n].to_vec(),
        Err(_) => Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_frozen_instance_answers_nothing_and_can_still_be_removed() {
    let f = Fixture::new().await;
    let rec = f.spawn("nc-calc", "user:frost").await;
    let port = rec.ports[0].host_port;
    let container = rec.container_id.clone().unwrap();
    assert!(
        tcp_banner(port).contains("nc-calc"),
        "answers before the freeze"
    );

    f.engine.freeze_container(&container).await.unwrap();
    let state = inspect(&f, &container).await.state.unwrap();
    assert_eq!(state.paused, Some(true), "the engine reports it paused");
    let answer = first_bytes(port, std::time::Duration::from_secs(1));
    assert!(
        answer.is_empty(),
        "a frozen instance must not answer, got {:?}",
        String::from_utf8_lossy(&answer)
    );

    // Freezing a frozen (or stopped) container is refused; the stop path then removes it.
    assert!(f.engine.freeze_container(&container).await.is_err());
    f.engine.remove_container(&container).await.unwrap();
    f.lifecycle.stop(&rec.id, "test").await.unwrap();
    assert_eq!(f.leftovers().await, (0, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn stop_removes_a_container_that_already_exited() {
    let f = Fixture::new().await;
    let rec = f.spawn("nc-calc", "user:quit").await;
    let container = rec.container_id.clone().unwrap();
    let kill = Command::new("docker")
        .args(["kill", &container])
        .output()
        .unwrap();
    assert!(
        kill.status.success(),
        "{}",
        String::from_utf8_lossy(&kill.stderr)
    );

    assert_eq!(
        f.lifecycle.stop(&rec.id, "test").await.unwrap(),
        StopOutcome::Stopped
    );
    let row = f.lifecycle.store().instance(&rec.id).unwrap().unwrap();
    assert_eq!(row.status, InstanceStatus::Stopped);
    assert_eq!(f.leftovers().await, (0, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn more_instances_without_egress_than_a_stock_daemon_has_subnets() {
    // An instance without egress needs two networks: its internal one and the "edge" its port
    // proxy publishes on. Both come from ctfdeck's pool, so 35 of them (70 networks) fit where
    // the daemon's own pools hold about 30.
    let dir = tempfile::tempdir().unwrap();
    let mut def: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("challenges/nc-calc/challenge.json")).unwrap(),
    )
    .unwrap();
    def["id"] = "nc-calc-sealed".into();
    def["container"]["security"]["profile"] = "strict".into();
    def["container"].as_object_mut().unwrap().remove("build");
    def.as_object_mut().unwrap().remove("smoke");
    std::fs::create_dir(dir.path().join("nc-calc-sealed")).unwrap();
    std::fs::write(
        dir.path().join("nc-calc-sealed/challenge.json"),
        def.to_string(),
    )
    .unwrap();
    let f = Fixture::with_catalog(dir.path()).await;
    let instances = spawn_many(&f, "nc-calc-sealed", 35).await;
    let mut subnets = std::collections::HashSet::new();
    for rec in &instances {
        for name in [
            format!("ctfdeck-{}", rec.id),
            format!("ctfdeck-{}-edge", rec.id),
        ] {
            subnets.insert(pool_subnet(&f, &name).await);
        }
    }
    assert_eq!(subnets.len(), 70, "one subnet per network");
    // Reachable through the proxy on the edge network.
    let port = instances[0].ports[0].host_port;
    assert!(
        tcp_banner(port).contains("nc-calc"),
        "answers via its proxy"
    );
    stop_all(&f).await;
}
