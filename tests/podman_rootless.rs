#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Rootless Podman, for real: an unprivileged user's `podman system service`. ctfdeck knows
//! it runs rootless and on which cgroup version. On cgroup v1 a rootless container gets no
//! memory, CPU or pids limit (shown here by a container made directly through the same socket,
//! which outgrows the limit it was given): ctfdeck refuses to create instances there, leaves
//! nothing behind, and `doctor` fails naming why. What does work rootless — ports published
//! through the user-mode network, the instances' uid, no capability — is shown by the same
//! direct container. On cgroup v2 a bundled challenge is spawned through ctfdeck instead.
//!
//! The socket comes from `CTFDECK_TEST_PODMAN_ROOTLESS` (`.ci/run` makes a system user with
//! subordinate ids, starts its service and sets it). No rootless Podman answering is a failure,
//! not a skip.

mod common;

use std::collections::HashMap;
use std::process::{Command, Output};

use bollard::models::{ContainerCreateBody, HostConfig, PortBinding, ResourcesUlimits};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, ListNetworksOptionsBuilder,
    LogsOptionsBuilder, WaitContainerOptions,
};
use common::{bin, http_status_line, repo};
use ctfdeck::engine::{DockerEngine, Engine, EngineKind, labels};
use futures_util::StreamExt;

/// What ctfdeck says when it refuses (src/engine/mod.rs).
const REFUSAL: &str = "rootless Podman on cgroup v1 cannot apply memory, CPU or pids limits";
/// The uid instances run as by default: outside the host's accounts, inside the user's
/// subordinate range only as mapped there.
const INSTANCE_USER: &str = "2000000000:2000000000";

fn target() -> String {
    std::env::var("CTFDECK_TEST_PODMAN_ROOTLESS")
        .ok()
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| {
            panic!(
                "CTFDECK_TEST_PODMAN_ROOTLESS is not set: .ci/run makes the user ctfdeck-rootless, \
                 starts its `podman system service` and sets it"
            )
        })
}

/// The host's cgroup version, as the kernel's mount says it.
fn host_cgroup_version() -> &'static str {
    let out = Command::new("stat")
        .args(["-fc", "%T", "/sys/fs/cgroup"])
        .output()
        .expect("stat /sys/fs/cgroup");
    if String::from_utf8_lossy(&out.stdout).trim() == "cgroup2fs" {
        "2"
    } else {
        "1"
    }
}

async fn rootless() -> DockerEngine {
    let target = target();
    DockerEngine::connect(Some(&target))
        .await
        .unwrap_or_else(|e| panic!("rootless Podman at {target} does not answer: {e}"))
}

/// `ctfdeck` against the rootless socket, on a store of the test's own.
fn ctfdeck(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(bin())
        .args(["--engine", &target(), "--store"])
        .arg(dir.join("s.db"))
        .arg("--catalog")
        .arg(repo().join("challenges"))
        .args(args)
        .env_remove("CTFDECK_CONFIG")
        .env("XDG_CONFIG_HOME", dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run ctfdeck")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// busybox:1.36 in the user's storage (imported from the host's static busybox or pulled),
/// and web-robots built there through `ctfdeck build`.
fn ensure_images(dir: &std::path::Path) {
    let base = Command::new(repo().join("scripts/busybox-base"))
        .env("DOCKER_HOST", target())
        .status()
        .expect("run scripts/busybox-base");
    assert!(
        base.success(),
        "scripts/busybox-base on rootless Podman failed"
    );
    let out = ctfdeck(dir, &["build", "web-robots"]);
    assert!(
        out.status.success(),
        "ctfdeck build on rootless Podman failed:\n{}",
        text(&out.stderr)
    );
}

/// How many containers and networks carry ctfdeck's label on the rootless engine.
async fn managed(engine: &DockerEngine) -> (usize, usize) {
    let filters = HashMap::from([(
        "label".to_string(),
        vec![format!("{}=true", labels::MANAGED)],
    )]);
    let containers = engine
        .client()
        .list_containers(Some(
            ListContainersOptionsBuilder::new()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await
        .unwrap();
    let networks = engine
        .client()
        .list_networks(Some(
            ListNetworksOptionsBuilder::new().filters(&filters).build(),
        ))
        .await
        .unwrap();
    (containers.len(), networks.len())
}

/// A container made directly through the socket, with what ctfdeck would ask for, removed
/// when the test ends however it ends.
struct Direct<'a> {
    engine: &'a DockerEngine,
    id: String,
}

impl<'a> Direct<'a> {
    async fn create(engine: &'a DockerEngine, name: &str, body: ContainerCreateBody) -> Direct<'a> {
        let options = CreateContainerOptionsBuilder::new().name(name).build();
        let id = engine
            .client()
            .create_container(Some(options), body)
            .await
            .unwrap()
            .id;
        Direct { engine, id }
    }

    async fn start(&self) {
        self.engine
            .client()
            .start_container(
                &self.id,
                None::<bollard::query_parameters::StartContainerOptions>,
            )
            .await
            .unwrap();
    }

    async fn output(&self) -> String {
        let mut logs = self.engine.client().logs(
            &self.id,
            Some(LogsOptionsBuilder::new().stdout(true).stderr(true).build()),
        );
        let mut out = String::new();
        while let Some(chunk) = logs.next().await {
            out.push_str(&chunk.unwrap().to_string());
        }
        out
    }
}

impl Drop for Direct<'_> {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .env("DOCKER_HOST", target())
            .args(["rm", "-f", &self.id])
            .output();
    }
}

/// ctfdeck's hardening as a direct container gets it: its uid, no capability, read-only
/// root, no new privileges, explicit ulimits, and the given limits.
fn hardened(cmd: &[&str], memory: i64, ports: Option<u16>) -> ContainerCreateBody {
    let ulimit = |name: &str, n: i64| ResourcesUlimits {
        name: Some(name.into()),
        soft: Some(n),
        hard: Some(n),
    };
    let mut host = HostConfig {
        memory: Some(memory),
        memory_swap: Some(memory),
        pids_limit: Some(64),
        nano_cpus: Some(500_000_000),
        cap_drop: Some(vec!["ALL".into()]),
        readonly_rootfs: Some(true),
        security_opt: Some(vec!["no-new-privileges".into()]),
        ulimits: Some(vec![ulimit("nofile", 1024), ulimit("nproc", 4096)]),
        ..Default::default()
    };
    let mut exposed = None;
    if let Some(port) = ports {
        let key = format!("{port}/tcp");
        host.port_bindings = Some(HashMap::from([(
            key.clone(),
            Some(vec![PortBinding {
                host_ip: Some("127.0.0.1".into()),
                host_port: Some(String::new()),
            }]),
        )]));
        exposed = Some(vec![key]);
    }
    ContainerCreateBody {
        image: Some("busybox:1.36".into()),
        user: Some(INSTANCE_USER.into()),
        cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
        exposed_ports: exposed,
        host_config: Some(host),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn rootless_podman_is_recognised_and_what_cannot_hold_there_is_refused() {
    let engine = rootless().await;
    let info = engine.info().clone();
    assert_eq!(info.kind, EngineKind::Podman, "{info:?}");
    assert!(info.rootless, "not recognised as rootless: {info:?}");
    assert_eq!(info.cgroup_version, host_cgroup_version(), "{info:?}");
    let dir = tempfile::tempdir().unwrap();
    ensure_images(dir.path());
    let before = managed(&engine).await;

    if host_cgroup_version() == "2" {
        spawns_hardened_and_answers(dir.path()).await;
        assert_eq!(managed(&engine).await, before);
        return;
    }

    // cgroup v1: the limits cannot hold, so ctfdeck refuses and leaves nothing behind.
    let spawned = ctfdeck(
        dir.path(),
        &["spawn", "web-robots", "--owner", "team:rootless"],
    );
    assert!(!spawned.status.success(), "{}", text(&spawned.stdout));
    let said = text(&spawned.stderr);
    assert!(said.contains(REFUSAL), "{said}");
    assert!(said.contains("cgroup v2"), "the remedy is named: {said}");
    assert_eq!(managed(&engine).await, before);
    let listed = ctfdeck(dir.path(), &["list", "--json"]);
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&listed.stdout).unwrap();
    assert!(rows.iter().all(|r| r["status"] != "running"), "{rows:?}");

    let doctor = ctfdeck(dir.path(), &["doctor"]);
    let report = text(&doctor.stdout);
    assert_eq!(doctor.status.code(), Some(1), "{report}");
    assert!(
        report
            .lines()
            .any(|l| l.starts_with("FAIL") && l.contains("limits") && l.contains(REFUSAL)),
        "{report}"
    );

    // Why: given 16 MiB, a rootless container holds 64 MiB and lives on.
    let hog = Direct::create(
        &engine,
        &format!("ctfdeck-rootless-test-hog-{}", std::process::id()),
        hardened(
            &[
                "sh",
                "-c",
                "x=$(head -c 67108864 /dev/zero | tr '\\0' x); echo held ${#x}",
            ],
            16 << 20,
            None,
        ),
    )
    .await;
    hog.start().await;
    let exit = engine
        .client()
        .wait_container(&hog.id, None::<WaitContainerOptions>)
        .next()
        .await
        .expect("a wait answer");
    let output = hog.output().await;
    assert!(
        output.contains("held 67108864"),
        "the 16 MiB limit held after all ({exit:?}): {output}"
    );

    // What does work rootless: the instances' uid mapped, no capability, a published port.
    let web = Direct::create(
        &engine,
        &format!("ctfdeck-rootless-test-web-{}", std::process::id()),
        hardened(&["httpd", "-f", "-p", "8080"], 64 << 20, Some(8080)),
    )
    .await;
    web.start().await;
    let inspect = engine
        .client()
        .inspect_container(
            &web.id,
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
        .unwrap();
    let port: u16 = inspect
        .network_settings
        .and_then(|n| n.ports)
        .and_then(|p| p.get("8080/tcp").cloned().flatten())
        .and_then(|b| b.into_iter().find_map(|b| b.host_port))
        .expect("a published port")
        .parse()
        .unwrap();
    let status = http_status_line(port);
    assert!(status.starts_with("HTTP/1."), "{status}");
    let inside = Command::new("docker")
        .env("DOCKER_HOST", target())
        .args([
            "exec",
            &web.id,
            "sh",
            "-c",
            "id -u; grep CapEff /proc/self/status",
        ])
        .output()
        .unwrap();
    let inside = text(&inside.stdout);
    assert!(inside.starts_with("2000000000\n"), "{inside}");
    assert!(inside.contains("CapEff:\t0000000000000000"), "{inside}");
}

/// cgroup v2: a bundled challenge spawns through ctfdeck, answers, `doctor --security` finds no
/// drift, and stopping leaves nothing.
async fn spawns_hardened_and_answers(dir: &std::path::Path) {
    let spawned = ctfdeck(
        dir,
        &["spawn", "web-robots", "--owner", "team:rootless", "--json"],
    );
    assert!(spawned.status.success(), "{}", text(&spawned.stderr));
    let rec: serde_json::Value = serde_json::from_slice(&spawned.stdout).unwrap();
    let id = rec["id"].as_str().unwrap().to_string();
    let port = rec["ports"][0]["host_port"].as_u64().unwrap() as u16;
    let status = http_status_line(port);
    let doctor = ctfdeck(dir, &["doctor", "--security"]);
    let stopped = ctfdeck(dir, &["stop", &id]);
    assert!(stopped.status.success(), "{}", text(&stopped.stderr));
    assert!(status.contains("200"), "{status}");
    let report = text(&doctor.stdout);
    assert!(
        report.contains(&format!("ok    instance   {id} (web-robots")),
        "{report}"
    );
}
