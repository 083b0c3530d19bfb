//! The two-node Swarm lab of `scripts/swarm-lab` as the Swarm tests use it: brought up (or
//! found up), its settings and config file, the bundled images built and pushed there, and
//! what a test leaves behind removed pass or fail.
//!
//! `CTFDECK_TEST_SWARM` names a manager already up (`.ci/run` starts the lab and sets it);
//! otherwise the lab is brought up here and taken down afterwards (it needs root). With `CI`
//! set, a lab that cannot come up is a failure, not a skip.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use crate::common::{bin, load_catalog, repo};
use ctfdeck::config::Config;
use ctfdeck::domain::{Actor, Lifecycle, Policy};
use ctfdeck::engine::swarm::NodeSettings;
use ctfdeck::engine::{Engine, EngineKind, SwarmEngine, SwarmSettings, labels};
use ctfdeck::store::Store;

pub const LAB_RUN: &str = "/run/ctfdeck-swarm-lab";
pub const REGISTRY: &str = "10.99.0.1:5000";
pub const NODES: [(&str, &str); 2] = [
    ("ctfdeck-lab-1", "10.99.0.2"),
    ("ctfdeck-lab-2", "10.99.0.3"),
];

/// The lab while the test uses it: brought up unless it was up already (then left as found),
/// taken down afterwards, pass or fail.
pub struct Lab {
    pub manager: String,
    /// This test brought it up, so takes it down.
    ours: bool,
}

impl Lab {
    pub fn acquire() -> Lab {
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

pub fn node_sock(n: usize) -> String {
    format!("unix://{LAB_RUN}/node{n}.sock")
}

/// `[swarm]` as the lab needs it: its registry, its label, each node's own engine.
pub fn settings() -> SwarmSettings {
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
pub fn config_file(dir: &Path, manager: &str) -> PathBuf {
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
pub fn ensure_images(manager: &str) {
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

pub async fn swarm(lab: &Lab, settings: SwarmSettings) -> SwarmEngine {
    let engine = SwarmEngine::connect(Some(&lab.manager), settings)
        .await
        .unwrap_or_else(|e| panic!("the lab's manager at {} answers: {e}", lab.manager));
    assert_eq!(engine.info().kind, EngineKind::Swarm);
    engine
}

pub fn lifecycle(engine: &SwarmEngine, store: &Path) -> Lifecycle {
    lifecycle_with(engine, store, Config::default().policy())
}

/// As [`lifecycle`], with its own policy.
pub fn lifecycle_with(engine: &SwarmEngine, store: &Path, policy: Policy) -> Lifecycle {
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
pub struct Leftovers {
    pub manager: String,
    pub store_id: String,
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
pub fn http_status_line(host: &str, port: u16) -> String {
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

pub fn refused(host: &str, port: u16) -> bool {
    std::net::TcpStream::connect_timeout(
        &format!("{host}:{port}").parse().unwrap(),
        Duration::from_secs(2),
    )
    .is_err()
}
