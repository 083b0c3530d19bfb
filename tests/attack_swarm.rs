#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The attack suite's probes against instances on a Swarm (the lab of `scripts/swarm-lab`),
//! from inside an instance and from another one: which guarantees hold there. What a service
//! on API 1.41 cannot be told (no-new-privileges) must show inside exactly as
//! `doctor --security` reports it. The README's guarantee table (Swarm column) says what this
//! test shows.

mod common;
mod swarm_support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::{bin, repo};
use ctfdeck::engine::{Engine, SwarmEngine};
use ctfdeck::store::InstanceRecord;
use swarm_support::{
    Lab, Leftovers, NODES, config_file, ensure_images, http_status_line, lifecycle, node_sock,
    settings, swarm,
};

fn service(rec: &InstanceRecord) -> &str {
    rec.container_id.as_deref().expect("a service id")
}

/// `sh -c script` inside the instance, through its node's engine: (exit code, output).
async fn sh(engine: &SwarmEngine, rec: &InstanceRecord, script: &str) -> (i64, String) {
    let out = engine
        .exec(service(rec), &["sh", "-c", script])
        .await
        .unwrap_or_else(|e| panic!("exec in {}: {e}", rec.id));
    (out.exit_code, out.output)
}

/// `docker inspect -f FORMAT` of the instance's task container, on the node that runs it.
async fn node_inspect(engine: &SwarmEngine, rec: &InstanceRecord, format: &str) -> String {
    let container = engine.inspect_container(service(rec)).await.unwrap().id;
    let node = NODES
        .iter()
        .position(|(_, addr)| *addr == rec.ports[0].host_ip)
        .expect("placed on a lab node");
    let out = Command::new("docker")
        .args([
            "-H",
            &node_sock(node + 1),
            "inspect",
            "-f",
            format,
            &container,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The host folder of the task container's pids cgroup: the nodes' engines share this
/// machine's kernel, so the kernel's own count is readable here.
async fn pids_cgroup(engine: &SwarmEngine, rec: &InstanceRecord) -> PathBuf {
    let pid = node_inspect(engine, rec, "{{.State.Pid}}").await;
    let table = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let path = table
        .lines()
        .find_map(|l| l.split_once(":pids:").map(|(_, p)| p.to_string()))
        .map(|p| PathBuf::from(format!("/sys/fs/cgroup/pids{p}")))
        .or_else(|| {
            table
                .lines()
                .find_map(|l| l.strip_prefix("0::"))
                .map(|p| PathBuf::from(format!("/sys/fs/cgroup{p}")))
        })
        .expect("a pids or unified cgroup");
    assert!(path.join("pids.current").is_file(), "{}", path.display());
    path
}

fn number(path: PathBuf, key: Option<&str>) -> u64 {
    let text = std::fs::read_to_string(&path).unwrap();
    let value = match key {
        None => text.trim(),
        Some(key) => text
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .unwrap_or_default()
            .trim(),
    };
    value
        .parse()
        .unwrap_or_else(|_| panic!("{}: {text}", path.display()))
}

fn answers(rec: &InstanceRecord) -> bool {
    let port = &rec.ports[0];
    http_status_line(&port.host_ip, port.host_port).contains(" 200")
}

#[tokio::test(flavor = "multi_thread")]
async fn what_holds_inside_swarm_instances_and_what_doctor_reports_missing() {
    let lab = Lab::acquire();
    ensure_images(&lab.manager);
    let engine = swarm(&lab, settings()).await;
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
    let attacker = spawn("attacker").await;
    let victim = spawn("victim").await;

    // Not root, no capability in effect or in reach.
    let (_, uid) = sh(&engine, &attacker, "id -u").await;
    assert_ne!(uid.trim(), "0", "runs as {uid}");
    assert!(uid.trim().parse::<u32>().is_ok(), "{uid}");
    let (_, status) = sh(&engine, &attacker, "cat /proc/self/status").await;
    for key in ["CapEff", "CapBnd", "CapAmb", "CapPrm"] {
        assert!(
            status.contains(&format!("{key}:\t0000000000000000")),
            "{key}: {status}"
        );
    }

    // No-new-privileges: a service on API 1.41 cannot ask for it. Whatever the nodes' daemons
    // give, doctor must agree: missing inside means a FAIL line per node naming the remedy.
    let nnp = status
        .lines()
        .find_map(|l| l.strip_prefix("NoNewPrivs:"))
        .map(str::trim)
        .expect("NoNewPrivs in /proc/self/status")
        .to_string();
    let doctor = Command::new(bin())
        .arg("--config")
        .arg(config_file(dir.path(), &lab.manager))
        .arg("--store")
        .arg(dir.path().join("doctor.db"))
        .arg("--catalog")
        .arg(repo().join("challenges"))
        .args(["doctor", "--security"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&doctor.stdout);
    if nnp == "0" {
        assert!(!doctor.status.success(), "{said}");
        for (host, _) in NODES {
            assert!(
                said.lines().any(|l| l.starts_with("FAIL")
                    && l.contains(host)
                    && l.contains("no-new-privileges")
                    && l.contains("daemon.json")),
                "{host}: {said}"
            );
        }
    } else {
        assert_eq!(nnp, "1", "{status}");
    }

    // The root filesystem is read-only; /tmp is writable but nothing written there runs.
    let (code, out) = sh(
        &engine,
        &attacker,
        "for f in /x /etc/x /srv/www/x /usr/bin/x; do touch $f 2>/dev/null && echo wrote $f; done; \
         cp /bin/busybox /tmp/bb && /tmp/bb true; echo ran=$?",
    )
    .await;
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("wrote"), "{out}");
    assert!(out.contains("ran=126"), "{out}");

    // A fork bomb stops at the pids limit, counted by the kernel; the neighbour answers.
    let cgroup = pids_cgroup(&engine, &attacker).await;
    assert_eq!(number(cgroup.join("pids.max"), None), 64);
    let (_, started) = sh(
        &engine,
        &attacker,
        "(b(){ while :; do b & done; }; b) >/dev/null 2>&1 </dev/null & echo started",
    )
    .await;
    assert_eq!(started.trim(), "started");
    let mut highest = 0;
    let mut refused = 0;
    for _ in 0..100 {
        highest = highest.max(number(cgroup.join("pids.current"), None));
        refused = number(cgroup.join("pids.events"), Some("max "));
        if refused > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(refused > 0, "the pids limit refused the bomb's forks");
    assert!(highest <= 64, "{highest} processes, above the limit 64");
    assert!(answers(&victim), "the neighbour answers during the bomb");

    // The bomb is ended with the attacker's task: a reset gives a fresh service.
    let attacker = lifecycle.reset(&attacker.id).await.unwrap();

    // A memory hog is killed inside the instance; the instance lives on.
    let (small, out) = sh(
        &engine,
        &attacker,
        "dd if=/dev/zero of=/dev/null bs=8M count=1",
    )
    .await;
    assert_eq!(small, 0, "8 MiB fits in 64 MiB: {out}");
    let (big, out) = sh(
        &engine,
        &attacker,
        "dd if=/dev/zero of=/dev/null bs=256M count=1",
    )
    .await;
    assert_ne!(big, 0, "256 MiB does not: {out}");
    assert!(answers(&attacker), "the instance survives its hog");

    // Another instance's overlay network is out of reach; the control (the victim reaching its
    // own address) shows the probe works.
    let address = node_inspect(
        &engine,
        &victim,
        "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}",
    )
    .await;
    let address = address
        .split_whitespace()
        .next()
        .expect("an overlay address");
    let probe = format!("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {address} 8080 | head -1");
    let (_, own) = sh(&engine, &victim, &probe).await;
    assert!(own.contains("HTTP/1."), "control: {own}");
    let (_, across) = sh(&engine, &attacker, &probe).await;
    assert!(!across.contains("HTTP/1."), "{across}");

    for rec in [&attacker, &victim] {
        lifecycle.stop(&rec.id, "test").await.unwrap();
    }
}
