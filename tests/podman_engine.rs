#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The same guarantees on Podman, through its Docker-compatible socket: a bundled challenge
//! spawns through the real lifecycle, answers, runs as hardened as on Docker (explicit ulimits,
//! no capability, nothing written can run, `/var/tmp` and `/run` included), `doctor --security`
//! finds no drift, and stopping leaves nothing on Podman.
//!
//! The socket comes from `CTFDECK_TEST_PODMAN` (`.ci/run` starts one and sets it; with `CI` set
//! it must be); elsewhere, without it, the test tries rootful Podman's usual socket. No Podman
//! answering is a failure, not a skip.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use common::{bin, http_status_line, load_catalog, repo};
use ctfdeck::config::Config;
use ctfdeck::domain::{Actor, Lifecycle, StopOutcome, instance_drift};
use ctfdeck::engine::{DockerEngine, Engine, EngineKind, labels};
use ctfdeck::store::Store;

const DEFAULT_SOCKET: &str = "unix:///run/podman/podman.sock";

fn target() -> String {
    let set = std::env::var("CTFDECK_TEST_PODMAN")
        .ok()
        .filter(|t| !t.is_empty());
    // CI starts its own service and must say where: guessing there could test nothing.
    if set.is_none() && std::env::var_os("CI").is_some() {
        panic!("CI is set but CTFDECK_TEST_PODMAN is not: .ci/run starts Podman and sets it");
    }
    set.unwrap_or_else(|| DEFAULT_SOCKET.to_string())
}

async fn podman() -> DockerEngine {
    let target = target();
    let engine = DockerEngine::connect(Some(&target))
        .await
        .unwrap_or_else(|e| {
            panic!(
                "these tests need Podman's socket ({e}); start `podman system service --time=0 \
                 unix:///run/ctfdeck-ci-podman.sock` and set CTFDECK_TEST_PODMAN to it (CI={:?})",
                std::env::var("CI").ok()
            )
        });
    assert_eq!(
        engine.info().kind,
        EngineKind::Podman,
        "{target} is not Podman: {:?}",
        engine.info()
    );
    engine
}

/// `busybox:1.36` (the examples' base, made for Docker by `scripts/busybox-base`) loaded into
/// Podman, then web-robots and web-cmdinject built there through `ctfdeck build`.
async fn ensure_images(engine: &DockerEngine) {
    if !engine.image_present("busybox:1.36").await.unwrap() {
        let base = Command::new(repo().join("scripts/busybox-base"))
            .status()
            .expect("run scripts/busybox-base");
        assert!(base.success(), "scripts/busybox-base failed");
        let load = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "docker save busybox:1.36 | podman --url '{}' load",
                target()
            ))
            .output()
            .expect("docker save | podman load");
        assert!(
            load.status.success(),
            "loading busybox:1.36 into Podman: {}",
            String::from_utf8_lossy(&load.stderr)
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(bin())
        .args(["--engine", &target(), "--store"])
        .arg(dir.path().join("build.db"))
        .arg("--catalog")
        .arg(repo().join("challenges"))
        .args(["build", "web-robots", "web-cmdinject"])
        .output()
        .expect("run ctfdeck build");
    assert!(
        out.status.success(),
        "ctfdeck build on Podman failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whatever still carries the store's label goes when the test does, pass or fail.
struct Leftovers(String);

impl Drop for Leftovers {
    fn drop(&mut self) {
        let filter = format!("label={}={}", labels::STORE, self.0);
        for (list, remove) in [
            (&["ps", "-aq"][..], &["rm", "-f"][..]),
            (&["network", "ls", "-q"][..], &["network", "rm", "-f"][..]),
        ] {
            let ids = Command::new("podman")
                .args(["--url", &target()])
                .args(list)
                .args(["--filter", &filter])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
                .unwrap_or_default();
            let ids: Vec<&str> = ids.split_whitespace().collect();
            if !ids.is_empty() {
                let _ = Command::new("podman")
                    .args(["--url", &target()])
                    .args(remove)
                    .args(&ids)
                    .output();
            }
        }
    }
}

fn lifecycle(engine: &DockerEngine, store: &Path) -> Lifecycle {
    let mut policy = Config::default().policy();
    policy.container.bind_address = "127.0.0.1".to_string();
    Lifecycle::new(
        Arc::new(engine.clone()) as Arc<dyn Engine>,
        Store::open(store).expect("open store"),
        Arc::new(load_catalog(&repo().join("challenges"))),
        policy,
        Actor::admin("tester"),
    )
    .expect("lifecycle")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bundled_challenge_on_podman_is_hardened_reachable_drift_free_and_leaves_nothing() {
    let engine = podman().await;
    ensure_images(&engine).await;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("ctfdeck.db");
    let lifecycle = lifecycle(&engine, &store);
    let store_id = lifecycle.store_id().to_string();
    let _leftovers = Leftovers(store_id.clone());

    // Spawns (Podman's default ulimits exceed the host's: without explicit ones it would not).
    let rec = lifecycle
        .spawn("web-robots", &"team:podman".parse().unwrap())
        .await
        .expect("spawn on Podman")
        .instance;
    let container = rec.container_id.clone().expect("container id");
    let port = rec.ports.first().expect("a published port").host_port;
    assert!(
        http_status_line(port).contains(" 200"),
        "web-robots answers on 127.0.0.1:{port}"
    );

    // Inside: the limits and capabilities asked for, and no writable path that executes.
    let inside = engine
        .exec(
            &container,
            &[
                "sh",
                "-c",
                "ulimit -n; ulimit -u; grep CapEff /proc/self/status; \
                 for d in /tmp /var/tmp /run; do \
                   cp /bin/busybox $d/bb && $d/bb true; echo $d=$?; \
                   grep \" $d tmpfs \" /proc/mounts; \
                 done",
            ],
        )
        .await
        .expect("exec");
    let out = &inside.output;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0].trim(), "1024", "nofile: {out}");
    assert_eq!(lines[1].trim(), "4096", "nproc: {out}");
    assert!(
        out.contains("CapEff:\t0000000000000000"),
        "no capability: {out}"
    );
    for d in ["/tmp", "/var/tmp", "/run"] {
        // 126: copied but refused; 1: the path is not even writable for the instance's user
        // (Podman copies the image's /run permissions up). 0 would mean it ran.
        assert!(
            out.contains(&format!("{d}=126")) || out.contains(&format!("{d}=1\n")),
            "a binary copied to {d} must not run: {out}"
        );
        let mount = lines
            .iter()
            .find(|l| l.starts_with(&format!("tmpfs {d} tmpfs ")))
            .unwrap_or_else(|| panic!("{d} is a tmpfs: {out}"));
        for opt in ["noexec", "nosuid", "nodev"] {
            assert!(mount.split([' ', ',']).any(|o| o == opt), "{d}: {mount}");
        }
    }

    // No drift, in the library call and in `doctor --security`.
    let drift = instance_drift(&lifecycle, &rec).await.unwrap();
    assert!(drift.is_empty(), "{drift:?}");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[container]\nbind_address = \"127.0.0.1\"\n").unwrap();
    let doctor = Command::new(bin())
        .args(["--engine", &target(), "--store"])
        .arg(&store)
        .arg("--config")
        .arg(&config)
        .arg("--catalog")
        .arg(repo().join("challenges"))
        .args(["doctor", "--security"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&doctor.stdout);
    assert!(
        text.contains(&format!("ok    instance   {} (web-robots", rec.id)),
        "{text}\n{}",
        String::from_utf8_lossy(&doctor.stderr)
    );
    assert!(!text.contains("FAIL  instance"), "{text}");

    // Stopped: nothing of this store left on Podman.
    assert_eq!(
        lifecycle.stop(&rec.id, "test").await.unwrap(),
        StopOutcome::Stopped
    );
    assert!(
        engine
            .managed_containers(&store_id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(engine.managed_networks(&store_id).await.unwrap().is_empty());
}

/// Run ctfdeck's `firewall apply` as root (directly, or through `sudo -n`).
fn apply_firewall() {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let mut cmd = if root {
        Command::new(bin())
    } else {
        let mut c = Command::new("sudo");
        c.arg("-n").arg(bin());
        c
    };
    let out = cmd.args(["firewall", "apply"]).output().unwrap();
    assert!(
        out.status.success(),
        "`ctfdeck firewall apply` needs root or passwordless sudo: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The `challenge` profile: ctfdeck's own seccomp file (Podman's compatible API takes a path,
/// not the JSON), egress denied with its port proxy. Spawned, filtered, without drift, relayed
/// by its proxy (the host firewall lets the instance and its proxy talk on their internal
/// bridge, which Docker's FORWARD policy would drop), and gone when stopped.
#[tokio::test(flavor = "multi_thread")]
async fn a_challenge_profile_instance_on_podman_gets_the_hardened_filter_relays_and_no_drift() {
    let engine = podman().await;
    ensure_images(&engine).await;
    apply_firewall();
    let dir = tempfile::tempdir().unwrap();
    let lifecycle = lifecycle(&engine, &dir.path().join("ctfdeck.db"));
    let store_id = lifecycle.store_id().to_string();
    let _leftovers = Leftovers(store_id.clone());

    let rec = lifecycle
        .spawn("web-cmdinject", &"team:podman".parse().unwrap())
        .await
        .expect("spawn on Podman")
        .instance;
    let container = rec.container_id.clone().expect("container id");
    let inside = engine
        .exec(
            &container,
            &["grep", "-E", "^(Seccomp|CapEff):", "/proc/self/status"],
        )
        .await
        .expect("exec");
    assert!(inside.output.contains("Seccomp:\t2"), "{}", inside.output);
    assert!(
        inside.output.contains("CapEff:\t0000000000000000"),
        "{}",
        inside.output
    );
    // busybox's wget runs under the filter (its `-T` crashes Debian's busybox 1.35 anywhere,
    // on the host too: a bug of that build, not of the filter; so no `-T` here).
    let fetched = engine
        .exec(
            &container,
            &["wget", "-q", "-O", "-", "http://127.0.0.1:8080/"],
        )
        .await
        .expect("exec");
    assert_eq!(fetched.exit_code, 0, "{}", fetched.output);
    // The proxy relays the published port to the instance, across its internal bridge.
    let port = rec.ports.first().expect("a published port").host_port;
    assert!(
        http_status_line(port).contains(" 200"),
        "the proxy relays 127.0.0.1:{port} to the instance"
    );
    // Drift also checks the proxy: running, hardened, on the instance's and the edge network.
    let drift = instance_drift(&lifecycle, &rec).await.unwrap();
    assert!(drift.is_empty(), "{drift:?}");

    assert_eq!(
        lifecycle.stop(&rec.id, "test").await.unwrap(),
        StopOutcome::Stopped
    );
    assert!(
        engine
            .managed_containers(&store_id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(engine.managed_networks(&store_id).await.unwrap().is_empty());
}
