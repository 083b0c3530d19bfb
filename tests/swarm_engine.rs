#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The Swarm engine on a real two-node Swarm built on this machine by `scripts/swarm-lab`: a
//! bundled challenge spawns as a hardened one-replica service, instances land on both nodes and
//! answer on their node's address, list/reconcile see them by their service labels, a stop
//! leaves nothing, a task that cannot run fails the spawn with its reason, what a service
//! cannot express is refused or reported by `doctor --security`, a task that dies and a node
//! that goes down reach the store through the engine's event stream. The lab: see
//! `swarm_support`.

mod common;
mod swarm_support;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::{bin, repo};
use ctfdeck::domain::reaper::{ReaperEvent, ReaperTiming};
use ctfdeck::domain::{DomainError, StopOutcome};
use ctfdeck::engine::{DockerEngine, Engine, SwarmEngine, labels};
use ctfdeck::store::{InstanceFilter, InstanceStatus};
use swarm_support::{
    Lab, Leftovers, NODES, config_file, ensure_images, http_status_line, lifecycle, lifecycle_with,
    node_sock, refused, settings, swarm,
};

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

    // The nodes strip's figures: what each node offers the scheduler, and what the instances
    // placed there reserve (a quarter of each limit, `[swarm] reserve`). Another store's
    // instances on the same lab reserve there too, hence at least.
    let strip = engine.cluster_nodes().await.unwrap();
    for (host, addr) in NODES {
        let node = strip.iter().find(|n| n.hostname == host).unwrap();
        let here = records
            .iter()
            .filter(|r| r.ports[0].host_ip == addr)
            .count() as i64;
        assert!(here > 0);
        assert!(
            node.reservable.nano_cpus >= 1_000_000_000 && node.reservable.memory_bytes > 0,
            "{node:?}"
        );
        assert!(
            node.reserved.nano_cpus >= here * 125_000_000
                && node.reserved.memory_bytes >= here * (16 << 20),
            "{here} instance(s) on {host}: {node:?}"
        );
        assert!(
            node.reserved.nano_cpus <= node.reservable.nano_cpus,
            "{node:?}"
        );
    }

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

/// The reaper daemon on its own lifecycle over the same store, telling what it does on a
/// channel. Its periodic reconcile is an hour away: what it learns in a test, it learns from
/// the engine's event stream.
fn reaper(
    engine: &SwarmEngine,
    store: &Path,
) -> (
    tokio::task::JoinHandle<()>,
    tokio::sync::mpsc::UnboundedReceiver<ReaperEvent>,
) {
    reaper_with(engine, store, ctfdeck::config::Config::default().policy())
}

/// As [`reaper`], under its own policy.
fn reaper_with(
    engine: &SwarmEngine,
    store: &Path,
    policy: ctfdeck::domain::Policy,
) -> (
    tokio::task::JoinHandle<()>,
    tokio::sync::mpsc::UnboundedReceiver<ReaperEvent>,
) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let events: ctfdeck::domain::reaper::ReaperEvents = Arc::new(move |e| {
        let _ = tx.send(e);
    });
    let timing = ReaperTiming {
        reconcile_every: Duration::from_secs(3600),
        ..ReaperTiming::default()
    };
    let lifecycle = Arc::new(lifecycle_with(engine, store, policy));
    let task = tokio::spawn(async move {
        if let Err(e) = ctfdeck::domain::reaper::watch(lifecycle, &timing, events).await {
            panic!("the reaper lost the Swarm: {e}");
        }
    });
    (task, rx)
}

/// The first event `pick` accepts, within two minutes (a node is declared down after several
/// missed heartbeats); the others seen meanwhile are in the failure message.
async fn wait_for(
    reported: &mut tokio::sync::mpsc::UnboundedReceiver<ReaperEvent>,
    what: &str,
    pick: impl Fn(&ReaperEvent) -> bool,
) -> ReaperEvent {
    let mut seen = Vec::new();
    let found = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(e) = reported.recv().await {
            if pick(&e) {
                return Some(e);
            }
            seen.push(format!("{e:?}"));
        }
        None
    })
    .await;
    match found {
        Ok(Some(e)) => e,
        _ => panic!("{what}: not reported; the reaper said {seen:#?}"),
    }
}

/// Kill the instance's task container on its node, behind the Swarm's back. Returns the
/// container's id.
async fn kill_its_task(engine: &SwarmEngine, rec: &ctfdeck::store::InstanceRecord) -> String {
    let service = rec.container_id.as_deref().unwrap();
    let container = engine.inspect_container(service).await.unwrap().id;
    let node = NODES
        .iter()
        .position(|(_, addr)| *addr == rec.ports[0].host_ip)
        .expect("placed on a lab node");
    let kill = Command::new("docker")
        .args(["-H", &node_sock(node + 1), "kill", &container])
        .output()
        .unwrap();
    assert!(
        kill.status.success(),
        "{}",
        String::from_utf8_lossy(&kill.stderr)
    );
    container
}

/// The Swarm's own restart policy (`[swarm] restart_attempts`, 2 by default) starts a new task
/// for one that failed, on a port the node picks anew: the row follows it, whether the reaper
/// saw the task fail (and restarted it itself) or only saw it running elsewhere.
async fn a_task_the_swarm_restarts_by_itself_is_followed_to_its_new_port(lab: &Lab) {
    let engine = swarm(lab, settings()).await;
    assert!(engine.settings().restart_attempts > 0);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("ctfdeck.db");
    let lifecycle = lifecycle(&engine, &store);
    let _leftovers = Leftovers {
        manager: lab.manager.clone(),
        store_id: lifecycle.store_id().to_string(),
    };
    let rec = lifecycle
        .spawn("web-robots", &"team:swarm-restarts".parse().unwrap())
        .await
        .expect("spawn on the Swarm")
        .instance;
    let service = rec.container_id.clone().unwrap();
    let (reaper, _reported) = reaper(&engine, &store);
    let container = kill_its_task(&engine, &rec).await;

    // Settled: a new task runs, and the row says where.
    let protocols: std::collections::BTreeMap<u16, String> = rec
        .ports
        .iter()
        .map(|p| (p.container, p.protocol.clone()))
        .collect();
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    let (row, published) = loop {
        let row = lifecycle.store().instance(&rec.id).unwrap().unwrap();
        let now = engine.inspect_container(&service).await.map(|c| c.id);
        let published = engine.published_ports(&service, &protocols).await.unwrap();
        let renewed = now.as_ref().is_ok_and(|id| *id != container);
        if renewed && row.status == InstanceStatus::Running && row.ports == published {
            break (row, published);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the row says {:?} at {:?}; the engine runs task container {now:?} at {published:?}",
            row.status,
            row.ports
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    reaper.abort();
    eprintln!(
        "the Swarm restarted the task: {:?} became {published:?}",
        rec.ports
    );
    assert_ne!(published, rec.ports, "a new task publishes anew");
    let port = &row.ports[0];
    let answer = http_status_line(&port.host_ip, port.host_port);
    assert!(answer.contains(" 200"), "{answer:?}");
    let outcome = lifecycle.stop(&rec.id, "test").await.unwrap();
    assert!(matches!(outcome, StopOutcome::Stopped), "{outcome:?}");
}

async fn a_task_that_dies_is_recorded_by_the_reaper_and_started_again(lab: &Lab) {
    // No restart by Swarm itself: the task's death must reach the store, and on_exit decides.
    let mut s = settings();
    s.restart_attempts = 0;
    let engine = swarm(lab, s).await;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("ctfdeck.db");
    let lifecycle = lifecycle(&engine, &store);
    let _leftovers = Leftovers {
        manager: lab.manager.clone(),
        store_id: lifecycle.store_id().to_string(),
    };
    let rec = lifecycle
        .spawn("web-robots", &"team:dies".parse().unwrap())
        .await
        .expect("spawn on the Swarm")
        .instance;
    let service = rec.container_id.clone().unwrap();
    let (reaper, mut reported) = reaper(&engine, &store);

    kill_its_task(&engine, &rec).await;

    let exited = wait_for(
        &mut reported,
        "the exit is recorded",
        |e| matches!(e, ReaperEvent::Exited { id, .. } if *id == rec.id),
    )
    .await;
    assert!(format!("{exited:?}").contains("137"), "{exited:?}");
    // `[lifetime] on_exit = "restart"` (the default): a fresh task of the same service, at the
    // first attempt. A wait that took the old, failed task for the new one failed that attempt,
    // and the next one recorded the port of a task its own update was replacing.
    let restarted = wait_for(&mut reported, "the instance is restarted", |e| {
        matches!(
            e,
            ReaperEvent::ExitHandled(
                ctfdeck::domain::ExitHandled::Restarted { id, .. }
                    | ctfdeck::domain::ExitHandled::RestartFailed { id, .. }
            ) if *id == rec.id
        )
    })
    .await;
    assert!(
        matches!(
            restarted,
            ReaperEvent::ExitHandled(ctfdeck::domain::ExitHandled::Restarted { attempt: 1, .. })
        ),
        "{restarted:?}"
    );
    reaper.abort();
    let row = lifecycle.store().instance(&rec.id).unwrap().unwrap();
    assert_eq!(row.status, InstanceStatus::Running);
    // The port the store holds is the one the engine publishes now.
    let protocols = row
        .ports
        .iter()
        .map(|p| (p.container, p.protocol.clone()))
        .collect();
    let published = engine.published_ports(&service, &protocols).await.unwrap();
    assert_eq!(row.ports, published);
    assert!(engine.container_state(&service).await.unwrap().running);
    let port = &row.ports[0];
    let answer = http_status_line(&port.host_ip, port.host_port);
    assert!(
        answer.contains(" 200"),
        "{}:{} answered {answer:?}",
        port.host_ip,
        port.host_port
    );
    let outcome = lifecycle.stop(&rec.id, "test").await.unwrap();
    assert!(matches!(outcome, StopOutcome::Stopped), "{outcome:?}");
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

    let (reaper, mut reported) = reaper(&engine, &dir.path().join("ctfdeck.db"));
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

    // The engine's event stream tells the reaper, whose reconcile (its periodic one is an hour
    // away) marks the instance lost and removes its service.
    wait_for(
        &mut reported,
        "the reaper marks it lost",
        |e| matches!(e, ReaperEvent::Reconciled(r) if r.lost.contains(&rec.id)),
    )
    .await;
    reaper.abort();
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

/// Node 1 taking instances again when the test ends, pass or fail (a test drains it to place
/// an instance on node 2).
struct NodeTakes(String, String);

impl Drop for NodeTakes {
    fn drop(&mut self) {
        let back = Command::new("docker")
            .args([
                "-H",
                &self.0,
                "node",
                "update",
                "--availability",
                "active",
                &self.1,
            ])
            .output();
        if !back.is_ok_and(|o| o.status.success()) {
            eprintln!("could not let {} take instances again", self.1);
        }
    }
}

async fn with_reschedule_a_node_going_down_moves_its_instance_to_the_other_node(lab: &Lab) {
    let (up_host, up_addr) = NODES[0];
    let (down_host, down_addr) = NODES[1];
    let engine = swarm(lab, settings()).await;
    wait_for_node(&engine, down_host, "ready").await;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("ctfdeck.db");
    let mut policy = ctfdeck::config::Config::default().policy();
    policy.on_node_down = ctfdeck::engine::swarm::OnNodeDown::Reschedule;
    let lifecycle = lifecycle_with(&engine, &store, policy.clone());
    let _leftovers = Leftovers {
        manager: lab.manager.clone(),
        store_id: lifecycle.store_id().to_string(),
    };

    // On node 2: node 1 takes no new instances while it spawns (drained as `node drain` and
    // the console's key do it).
    let node_1_back = NodeTakes(lab.manager.clone(), up_host.to_string());
    lifecycle.set_node_taking(up_host, false).await.unwrap();
    let rec = lifecycle
        .spawn("web-robots", &"team:moves".parse().unwrap())
        .await
        .expect("spawn on node 2")
        .instance;
    lifecycle.set_node_taking(up_host, true).await.unwrap();
    drop(node_1_back);
    assert_eq!(rec.ports[0].host_ip, down_addr);

    let (reaper, mut reported) = reaper_with(&engine, &store, policy);
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
    wait_for_node(&engine, down_host, "down").await;

    // Placed again by ctfdeck (a forced update) or already by the Swarm's restart policy:
    // either way the row follows it to node 1.
    wait_for(
        &mut reported,
        "the reaper has it placed again",
        |e| matches!(e, ReaperEvent::Reconciled(r) if r.rescheduled.contains(&rec.id)),
    )
    .await;
    reaper.abort();
    let row = lifecycle.store().instance(&rec.id).unwrap().unwrap();
    assert_eq!(row.status, InstanceStatus::Running, "{row:?}");
    assert_eq!(row.ports[0].host_ip, up_addr, "{row:?}");
    assert_eq!((&row.flag, row.expires_at), (&rec.flag, rec.expires_at));
    let port = &row.ports[0];
    assert!(
        http_status_line(&port.host_ip, port.host_port).contains(" 200"),
        "answers on node 1 at {}:{}",
        port.host_ip,
        port.host_port
    );
    let audit = lifecycle.store().audit_for_instance(&rec.id, 50).unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == ctfdeck::domain::RESCHEDULE_ACTION && e.outcome == "ok"),
        "{audit:?}"
    );
    let outcome = lifecycle.stop(&rec.id, "test").await.unwrap();
    assert!(matches!(outcome, StopOutcome::Stopped), "{outcome:?}");

    // Back up, node 2 drops the task it ran.
    drop(back);
    wait_for_node(&engine, down_host, "ready").await;
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
    a_task_that_dies_is_recorded_by_the_reaper_and_started_again(&lab).await;
    a_task_the_swarm_restarts_by_itself_is_followed_to_its_new_port(&lab).await;
    a_node_going_down_marks_its_instances_lost_and_leaves_nothing(&lab).await;
    with_reschedule_a_node_going_down_moves_its_instance_to_the_other_node(&lab).await;
}
