#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The Swarm engine on a real two-node Swarm built on this machine by `scripts/swarm-lab`: a
//! bundled challenge spawns as a hardened one-replica service, instances land on both nodes and
//! answer on their node's address, list/reconcile see them by their service labels, a stop
//! leaves nothing, a task that cannot run fails the spawn with its reason, what a service
//! cannot express is refused or reported by `doctor --security`.
//!
//! The lab: `CTFDECK_TEST_SWARM` names a manager already up (`.ci/run` starts the lab and sets
//! it); otherwise the test brings the lab up itself and takes it down afterwards (it needs
//! root). With `CI` set, a lab that cannot come up is a failure, not a skip.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::{bin, load_catalog, repo};
use ctfdeck::config::Config;
use ctfdeck::domain::{Actor, DomainError, Lifecycle, StopOutcome};
use ctfdeck::engine::swarm::NodeSettings;
use ctfdeck::engine::{DockerEngine, Engine, EngineKind, SwarmEngine, SwarmSettings, labels};
use ctfdeck::store::{InstanceFilter, InstanceStatus, Store};

const LAB_RUN: &str = "/run/ctfdeck-swarm-lab";
const REGISTRY: &str = "10.99.0.1:5000";
const NODES: [(&str, &str); 2] = [
    ("ctfdeck-lab-1", "10.99.0.2"),
    ("ctfdeck-lab-2", "10.99.0.3"),
];

/// The lab while the test uses it: brought up unless it was up already (then left as found),
/// taken down afterwards, pass or fail.
struct Lab {
    manager: String,
    /// This test brought it up, so takes it down.
    ours: bool,
}

impl Lab {
    fn acquire() -> Lab {
        if let Ok(manager) = std::env::var("CTFDECK_TEST_SWARM")
            && !manager.is_empty()
        {
            return Lab {
                manager,
                ours: false,
            };
        }
        let was_up = Path::new(LAB_RUN).join("node1.pid").exists();
        // From here on the guard exists: a lab that came up half way is taken down too.
        let lab = Lab {
            manager: format!("unix://{LAB_RUN}/node1.sock"),
            ours: !was_up,
        };
        let up = Command::new(repo().join("scripts/swarm-lab"))
            .arg("up")
            .output()
            .expect("run scripts/swarm-lab up");
        assert!(
            up.status.success(),
            "scripts/swarm-lab up failed (it needs root, iproute2, iptables, dockerd and \
             docker-registry; CI={:?}):\n{}",
            std::env::var("CI").ok(),
            String::from_utf8_lossy(&up.stderr)
        );
        lab
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if self.ours {
            let _ = Command::new(repo().join("scripts/swarm-lab"))
                .arg("down")
                .output();
        }
    }
}

fn node_sock(n: usize) -> String {
    format!("unix://{LAB_RUN}/node{n}.sock")
}

/// `[swarm]` as the lab needs it: its registry, its label, each node's own engine.
fn settings() -> SwarmSettings {
    SwarmSettings {
        constraints: vec!["node.labels.ctfdeck==true".into()],
        registry: REGISTRY.into(),
        start_timeout: Duration::from_secs(60),
        nodes: NODES
            .iter()
            .enumerate()
            .map(|(i, (host, _))| {
                (
                    host.to_string(),
                    NodeSettings {
                        public_host: None,
                        engine: Some(node_sock(i + 1)),
                    },
                )
            })
            .collect(),
        ..SwarmSettings::default()
    }
}

/// The same as a config file, for the CLI.
fn config_file(dir: &Path, manager: &str) -> PathBuf {
    let mut text = format!(
        "[engine]\nkind = \"swarm\"\nurl = \"{manager}\"\n\n[swarm]\nconstraints = \
         [\"node.labels.ctfdeck==true\"]\nregistry = \"{REGISTRY}\"\n"
    );
    for (i, (host, _)) in NODES.iter().enumerate() {
        text.push_str(&format!(
            "\n[swarm.nodes.{host}]\nengine = \"{}\"\n",
            node_sock(i + 1)
        ));
    }
    let path = dir.join("swarm.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `busybox:1.36` (made on the host by `scripts/busybox-base`) loaded into the manager, then
/// web-robots and web-cmdinject built there and pushed to the lab's registry, through the real `ctfdeck build`.
fn ensure_images(manager: &str) {
    static DONE: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    DONE.get_or_init(|| {
        let base = Command::new(repo().join("scripts/busybox-base"))
            .status()
            .expect("run scripts/busybox-base");
        assert!(base.success(), "scripts/busybox-base failed");
        let load = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "docker -H {manager} image inspect busybox:1.36 >/dev/null 2>&1 || \
                 docker save busybox:1.36 | docker -H {manager} load -q"
            ))
            .output()
            .expect("docker save | docker load");
        assert!(
            load.status.success(),
            "loading busybox:1.36 into the manager: {}",
            String::from_utf8_lossy(&load.stderr)
        );
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new(bin())
            .arg("--config")
            .arg(config_file(dir.path(), manager))
            .arg("--store")
            .arg(dir.path().join("build.db"))
            .arg("--catalog")
            .arg(repo().join("challenges"))
            .args(["build", "web-robots", "web-cmdinject"])
            .output()
            .expect("run ctfdeck build");
        assert!(
            out.status.success(),
            "ctfdeck build on the Swarm failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
}

async fn swarm(lab: &Lab, settings: SwarmSettings) -> SwarmEngine {
    let engine = SwarmEngine::connect(Some(&lab.manager), settings)
        .await
        .unwrap_or_else(|e| panic!("the lab's manager at {} answers: {e}", lab.manager));
    assert_eq!(engine.info().kind, EngineKind::Swarm);
    engine
}

fn lifecycle(engine: &SwarmEngine, store: &Path) -> Lifecycle {
    let policy = Config::default().policy();
    Lifecycle::new(
        Arc::new(engine.clone()) as Arc<dyn Engine>,
        Store::open(store).expect("open store"),
        Arc::new(load_catalog(&repo().join("challenges"))),
        policy,
        Actor::admin("tester"),
    )
    .expect("lifecycle")
}

/// Whatever still carries the store's label goes when the test does, pass or fail.
struct Leftovers {
    manager: String,
    store_id: String,
}

impl Drop for Leftovers {
    fn drop(&mut self) {
        let filter = format!("label={}={}", labels::STORE, self.store_id);
        for (list, remove) in [
            (&["service", "ls", "-q"][..], &["service", "rm"][..]),
            (&["network", "ls", "-q"][..], &["network", "rm"][..]),
        ] {
            let ids = Command::new("docker")
                .args(["-H", &self.manager])
                .args(list)
                .args(["--filter", &filter])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
                .unwrap_or_default();
            let ids: Vec<&str> = ids.split_whitespace().collect();
            if !ids.is_empty() {
                let _ = Command::new("docker")
                    .args(["-H", &self.manager])
                    .args(remove)
                    .args(&ids)
                    .output();
                std::thread::sleep(Duration::from_secs(2));
            }
        }
    }
}

/// The first line of an HTTP answer from `host:port`, retried briefly while the task starts.
fn http_status_line(host: &str, port: u16) -> String {
    use std::io::{BufRead, BufReader, Write};
    let mut last = String::from("no connection");
    for _ in 0..50 {
        match std::net::TcpStream::connect((host, port)) {
            Ok(mut s) => {
                let _ = s.set_read_timeout(Some(Duration::from_secs(3)));
                let _ = s.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n");
                let mut line = String::new();
                if BufReader::new(s).read_line(&mut line).is_ok() && !line.is_empty() {
                    return line.trim_end().to_string();
                }
                last = "empty answer".into();
            }
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    last
}

fn refused(host: &str, port: u16) -> bool {
    std::net::TcpStream::connect_timeout(
        &format!("{host}:{port}").parse().unwrap(),
        Duration::from_secs(2),
    )
    .is_err()
}

async fn instances_spread_over_both_nodes_hardened_and_reached_on_their_node_address(lab: &Lab) {
    let engine = swarm(lab, settings()).await;
    let nodes = engine.nodes().await.unwrap();
    assert_eq!(nodes.len(), 2, "{nodes:?}");
    assert!(nodes.iter().all(|n| n.takes_instances()), "{nodes:?}");

    let dir = tempfile::tempdir().unwrap();
    let lifecycle = lifecycle(&engine, &dir.path().join("ctfdeck.db"));
    let _leftovers = Leftovers {
        manager: lab.manager.clone(),
        store_id: lifecycle.store_id().to_string(),
    };

    // Four instances: the scheduler spreads them by what they reserve.
    let mut records = Vec::new();
    for team in ["a", "b", "c", "d"] {
        let rec = lifecycle
            .spawn("web-robots", &format!("team:{team}").parse().unwrap())
            .await
            .expect("spawn on the Swarm")
            .instance;
        assert_eq!(rec.status, InstanceStatus::Running);
        records.push(rec);
    }
    let mut used = std::collections::BTreeSet::new();
    for rec in &records {
        assert_eq!(rec.ports.len(), 1, "one port, listed once: {:?}", rec.ports);
        let port = rec.ports.first().expect("a published port");
        assert!(
            NODES.iter().any(|(_, addr)| *addr == port.host_ip),
            "published on a node's address: {port:?}"
        );
        used.insert(port.host_ip.clone());
        let line = http_status_line(&port.host_ip, port.host_port);
        assert!(
            line.contains(" 200"),
            "{} answers on {}:{}: {line}",
            rec.id,
            port.host_ip,
            port.host_port
        );
    }
    assert_eq!(used.len(), 2, "instances on both nodes: {used:?}");

    // The task container, on its own node, runs as hardened as the API lets a service be.
    let rec = &records[0];
    let service = rec.container_id.clone().expect("service id");
    let n = NODES
        .iter()
        .position(|(_, a)| *a == rec.ports[0].host_ip)
        .unwrap();
    let node = DockerEngine::connect(Some(&node_sock(n + 1)))
        .await
        .unwrap();
    let found = node.managed_containers(lifecycle.store_id()).await.unwrap();
    let task = found
        .iter()
        .find(|c| c.labels.get(labels::INSTANCE) == Some(&rec.id))
        .unwrap_or_else(|| panic!("the task container carries the labels: {found:?}"));
    let inspect = node
        .client()
        .inspect_container(
            &task.id,
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
        .unwrap();
    let host = inspect.host_config.unwrap_or_default();
    assert_eq!(host.cap_drop, Some(vec!["ALL".to_string()]));
    assert_eq!(host.readonly_rootfs, Some(true));
    assert_eq!(host.init, Some(true));
    assert_eq!(host.memory, Some(64 << 20), "the challenge's memory");
    assert_eq!(host.pids_limit, Some(64));
    assert_eq!(host.nano_cpus, Some(500_000_000));
    let user = inspect.config.and_then(|c| c.user).unwrap_or_default();
    assert!(
        !user.is_empty() && !user.starts_with("0:"),
        "not root: {user:?}"
    );
    let inside = engine
        .exec(
            &service,
            &[
                "sh",
                "-c",
                "grep CapEff /proc/self/status; grep ' /tmp ' /proc/mounts; \
                 cp /bin/busybox /tmp/bb && /tmp/bb true; echo ran=$?",
            ],
        )
        .await
        .expect("exec through the node's engine");
    let out = &inside.output;
    assert!(out.contains("CapEff:\t0000000000000000"), "{out}");
    let tmp = out.lines().find(|l| l.contains(" /tmp ")).unwrap_or("");
    for opt in ["noexec", "nosuid", "nodev"] {
        assert!(tmp.split([' ', ',']).any(|o| o == opt), "/tmp: {out}");
    }
    assert!(out.contains("ran=126"), "nothing written runs: {out}");

    // Listed by its service labels, with the node's address.
    let managed = engine
        .managed_containers(lifecycle.store_id())
        .await
        .unwrap();
    assert_eq!(managed.len(), 4, "{managed:?}");
    assert!(managed.iter().all(|c| c.state == "running"), "{managed:?}");

    // Removed behind ctfdeck's back: reconcile marks it lost.
    engine.remove_container(&service).await.unwrap();
    let report = lifecycle.reconcile().await.unwrap();
    assert_eq!(report.lost, vec![rec.id.clone()], "{report:?}");

    // Stopping the others leaves no service, no network, no open port.
    for rec in &records[1..] {
        let outcome = lifecycle.stop(&rec.id, "test").await.unwrap();
        assert!(matches!(outcome, StopOutcome::Stopped), "{outcome:?}");
        let port = &rec.ports[0];
        assert!(
            refused(&port.host_ip, port.host_port),
            "{}:{} closed",
            port.host_ip,
            port.host_port
        );
    }
    lifecycle.reconcile().await.unwrap();
    assert!(
        engine
            .managed_containers(lifecycle.store_id())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        engine
            .managed_networks(lifecycle.store_id())
            .await
            .unwrap()
            .is_empty()
    );
    let live = lifecycle
        .store()
        .list_instances(&InstanceFilter::default())
        .unwrap();
    assert!(live.is_empty(), "{live:?}");
}

async fn a_task_that_cannot_get_its_image_fails_the_spawn_with_the_reason(lab: &Lab) {
    // No registry: the worker must find `ctfdeck/web-robots:latest` itself, and cannot.
    let mut s = settings();
    s.registry = String::new();
    s.start_timeout = Duration::from_secs(8);
    s.challenges.insert(
        "web-robots".into(),
        ctfdeck::engine::swarm::ChallengePlacement {
            constraints: vec![format!("node.hostname=={}", NODES[1].0)],
        },
    );
    let engine = swarm(lab, s).await;
    let dir = tempfile::tempdir().unwrap();
    let lifecycle = lifecycle(&engine, &dir.path().join("ctfdeck.db"));
    let _leftovers = Leftovers {
        manager: lab.manager.clone(),
        store_id: lifecycle.store_id().to_string(),
    };
    let err = lifecycle
        .spawn("web-robots", &"team:noimage".parse().unwrap())
        .await
        .expect_err("no node can get the image");
    let text = format!("{err:#}");
    assert!(
        text.contains("did not start")
            && (text.contains("still") || text.contains("No such image")),
        "the reason is said: {text}"
    );
    // Nothing left: a `failed` row, no service, no network.
    let all = lifecycle
        .store()
        .list_instances(&InstanceFilter {
            all: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].status, InstanceStatus::Failed);
    assert!(
        all[0]
            .stop_reason
            .as_deref()
            .is_some_and(|r| r.contains("did not start"))
    );
    assert!(
        engine
            .managed_containers(lifecycle.store_id())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        engine
            .managed_networks(lifecycle.store_id())
            .await
            .unwrap()
            .is_empty()
    );
}

async fn what_a_service_cannot_express_is_refused_or_reported(lab: &Lab) {
    let engine = swarm(lab, settings()).await;
    let dir = tempfile::tempdir().unwrap();
    let lifecycle = lifecycle(&engine, &dir.path().join("ctfdeck.db"));
    let _leftovers = Leftovers {
        manager: lab.manager.clone(),
        store_id: lifecycle.store_id().to_string(),
    };
    // web-cmdinject's profile denies egress and sets ctfdeck's seccomp filter: refused, not
    // run weaker.
    let err = lifecycle
        .spawn("web-cmdinject", &"team:refused".parse().unwrap())
        .await
        .expect_err("a profile a service cannot carry is refused");
    assert!(
        matches!(
            err,
            DomainError::SpawnFailed { .. } | DomainError::Unspawnable { .. }
        ),
        "{err:?}"
    );
    assert!(format!("{err:#}").contains("egress"), "{err:#}");

    // `doctor --security` names, per node, what services cannot be told, with the remedy.
    let out = Command::new(bin())
        .arg("--config")
        .arg(config_file(dir.path(), &lab.manager))
        .arg("--store")
        .arg(dir.path().join("doctor.db"))
        .arg("--catalog")
        .arg(repo().join("challenges"))
        .args(["doctor", "--security"])
        .output()
        .expect("run ctfdeck doctor --security");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "a missing guarantee fails: {stdout}");
    for (host, _) in NODES {
        let line = stdout
            .lines()
            .find(|l| l.contains(host) && l.contains("no-new-privileges"))
            .unwrap_or_else(|| panic!("{host}'s gap is reported: {stdout}"));
        assert!(line.starts_with("FAIL"), "{line}");
        assert!(line.contains("daemon.json"), "with the remedy: {line}");
        assert!(
            stdout
                .lines()
                .any(|l| l.contains(host) && l.contains("noexec")),
            "{stdout}"
        );
    }
}

async fn extend_reset_logs_whose_flag_reap_and_purge_work_on_services(lab: &Lab) {
    use futures_util::StreamExt;
    let engine = swarm(lab, settings()).await;
    let dir = tempfile::tempdir().unwrap();
    let lifecycle = lifecycle(&engine, &dir.path().join("ctfdeck.db"));
    let _leftovers = Leftovers {
        manager: lab.manager.clone(),
        store_id: lifecycle.store_id().to_string(),
    };
    let spawn = |team: &'static str| {
        let lifecycle = &lifecycle;
        async move {
            lifecycle
                .spawn("web-robots", &format!("team:{team}").parse().unwrap())
                .await
                .expect("spawn on the Swarm")
                .instance
        }
    };
    let first = spawn("parity").await;

    // Extend: the store's business, the same on every engine.
    let extended = lifecycle.extend(&first.id, None).await.unwrap();
    assert!(extended.expires_at > first.expires_at);
    assert_eq!(extended.renewals, 1);

    // Logs come from the manager, whichever node runs the task.
    let logs: Vec<Result<String, _>> = engine
        .logs(first.container_id.as_deref().unwrap(), false, Some(50))
        .collect()
        .await;
    assert!(logs.iter().all(Result::is_ok), "{logs:?}");

    // The flag names its instance.
    let flag = first.flag.clone().expect("a per-instance flag");
    let owners = lifecycle.whose_flag(&flag).unwrap();
    assert!(
        matches!(owners.as_slice(), [ctfdeck::domain::FlagOwner::Instance(i)] if i.id == first.id),
        "{owners:?}"
    );

    // Reset: a fresh service, answering, the old one gone.
    let reset = lifecycle.reset(&first.id).await.unwrap();
    assert_ne!(reset.container_id, first.container_id);
    let port = &reset.ports[0];
    assert!(http_status_line(&port.host_ip, port.host_port).contains(" 200"));
    let services = engine
        .managed_containers(lifecycle.store_id())
        .await
        .unwrap();
    assert_eq!(services.len(), 1, "{services:?}");

    // Reap: an expired instance's service goes.
    lifecycle
        .store()
        .set_times(
            &reset.id,
            reset.created_at,
            ctfdeck::store::now_millis() - 1,
        )
        .unwrap();
    let reaped = lifecycle.reap_once().await.unwrap();
    assert_eq!(reaped.len(), 1, "{reaped:?}");
    assert!(
        matches!(reaped[0].1, Ok(StopOutcome::Stopped)),
        "{reaped:?}"
    );

    // Purge: every live instance of the challenge.
    let a = spawn("purge-a").await;
    let b = spawn("purge-b").await;
    let chosen = lifecycle
        .select(&ctfdeck::domain::PurgeSelector::Challenge(
            "web-robots".into(),
        ))
        .unwrap();
    assert_eq!(chosen.len(), 2);
    let stopped = lifecycle.stop_many(chosen, "purge").await;
    assert!(
        stopped
            .iter()
            .all(|(_, o)| matches!(o, Ok(StopOutcome::Stopped))),
        "{stopped:?}"
    );
    for rec in [&a, &b] {
        let port = &rec.ports[0];
        assert!(refused(&port.host_ip, port.host_port));
    }
    lifecycle.reconcile().await.unwrap();
    assert!(
        engine
            .managed_containers(lifecycle.store_id())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        engine
            .managed_networks(lifecycle.store_id())
            .await
            .unwrap()
            .is_empty()
    );
}

/// Node 2's daemon brought back when the test ends, pass or fail.
struct NodeBack(usize);

impl Drop for NodeBack {
    fn drop(&mut self) {
        let back = Command::new(repo().join("scripts/swarm-lab"))
            .args(["start-node", &self.0.to_string()])
            .output();
        if !back.is_ok_and(|o| o.status.success()) {
            eprintln!("scripts/swarm-lab start-node {} failed", self.0);
        }
    }
}

async fn wait_for_node(engine: &SwarmEngine, host: &str, state: &str) {
    for _ in 0..120 {
        let nodes = engine.nodes().await.unwrap();
        if nodes.iter().any(|n| n.hostname == host && n.state == state) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("{host} did not become {state}");
}

async fn a_node_going_down_marks_its_instances_lost_and_leaves_nothing(lab: &Lab) {
    let (host, _) = NODES[1];
    let mut s = settings();
    s.challenges.insert(
        "web-robots".into(),
        ctfdeck::engine::swarm::ChallengePlacement {
            constraints: vec![format!("node.hostname=={host}")],
        },
    );
    let engine = swarm(lab, s).await;
    wait_for_node(&engine, host, "ready").await;
    let dir = tempfile::tempdir().unwrap();
    let lifecycle = lifecycle(&engine, &dir.path().join("ctfdeck.db"));
    let _leftovers = Leftovers {
        manager: lab.manager.clone(),
        store_id: lifecycle.store_id().to_string(),
    };
    let rec = lifecycle
        .spawn("web-robots", &"team:nodedown".parse().unwrap())
        .await
        .expect("spawn on node 2")
        .instance;
    assert_eq!(rec.ports[0].host_ip, NODES[1].1);

    let back = NodeBack(2);
    let stop = Command::new(repo().join("scripts/swarm-lab"))
        .args(["stop-node", "2"])
        .output()
        .unwrap();
    assert!(
        stop.status.success(),
        "{}",
        String::from_utf8_lossy(&stop.stderr)
    );
    wait_for_node(&engine, host, "down").await;

    let listed = engine
        .managed_containers(lifecycle.store_id())
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].state, "lost", "{listed:?}");
    let report = lifecycle.reconcile().await.unwrap();
    assert_eq!(report.lost, vec![rec.id.clone()], "{report:?}");
    let row = lifecycle.store().instance(&rec.id).unwrap().unwrap();
    assert_eq!(row.status, InstanceStatus::Lost);
    assert_eq!(
        row.stop_reason.as_deref(),
        Some("the node running it went down")
    );
    assert!(
        engine
            .managed_containers(lifecycle.store_id())
            .await
            .unwrap()
            .is_empty()
    );

    // Back up, the node drops the task of the service that is gone.
    drop(back);
    wait_for_node(&engine, host, "ready").await;
    let node = DockerEngine::connect(Some(&node_sock(2))).await.unwrap();
    let mut left = Vec::new();
    for _ in 0..60 {
        left = node.managed_containers(lifecycle.store_id()).await.unwrap();
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(left.is_empty(), "{left:?}");
}

/// One lab for every scenario, one after another: the lab is brought up once and taken down at
/// the end, and the node-down scenario runs alone.
#[tokio::test(flavor = "multi_thread")]
async fn the_swarm_engine_on_a_two_node_lab() {
    let lab = Lab::acquire();
    ensure_images(&lab.manager);
    instances_spread_over_both_nodes_hardened_and_reached_on_their_node_address(&lab).await;
    a_task_that_cannot_get_its_image_fails_the_spawn_with_the_reason(&lab).await;
    what_a_service_cannot_express_is_refused_or_reported(&lab).await;
    extend_reset_logs_whose_flag_reap_and_purge_work_on_services(&lab).await;
    a_node_going_down_marks_its_instances_lost_and_leaves_nothing(&lab).await;
}
