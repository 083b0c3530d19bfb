//! The two-node Swarm lab of `scripts/swarm-lab` as every test on it sees it: its nodes and
//! registry, the `[swarm]` settings and config file that reach them, the bundled images built
//! on the manager and pushed to the registry, and what a store left there removed by its label.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::{bin, repo};
use ctfdeck::engine::SwarmSettings;
use ctfdeck::engine::labels;
use ctfdeck::engine::swarm::NodeSettings;

pub const LAB_RUN: &str = "/run/ctfdeck-swarm-lab";
pub const REGISTRY: &str = "10.99.0.1:5000";
pub const NODES: [(&str, &str); 2] = [
    ("ctfdeck-lab-1", "10.99.0.2"),
    ("ctfdeck-lab-2", "10.99.0.3"),
];

/// The manager of the lab a run was started against (`.ci/run` sets `CTFDECK_TEST_SWARM` from
/// the last line of `scripts/swarm-lab up`).
pub fn manager_from_env() -> String {
    std::env::var("CTFDECK_TEST_SWARM")
        .ok()
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| {
            panic!(
                "CTFDECK_TEST_ENGINE=swarm needs CTFDECK_TEST_SWARM, the lab manager's URL (the \
                 last line of `scripts/swarm-lab up`)"
            )
        })
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
/// the bundled challenges built there and pushed to the lab's registry, through the real
/// `ctfdeck build`. Once per test binary.
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
            .arg("build")
            .output()
            .expect("run ctfdeck build");
        assert!(
            out.status.success(),
            "ctfdeck build on the Swarm failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
}

/// Remove every service, then every network, carrying the store's label (best effort: for
/// the guards that run pass or fail).
pub fn remove_by_store_label(manager: &str, store_id: &str) {
    let filter = format!("label={}={}", labels::STORE, store_id);
    for (list, remove) in [
        (&["service", "ls", "-q"][..], &["service", "rm"][..]),
        (&["network", "ls", "-q"][..], &["network", "rm"][..]),
    ] {
        let ids = Command::new("docker")
            .args(["-H", manager])
            .args(list)
            .args(["--filter", &filter])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
            .unwrap_or_default();
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if !ids.is_empty() {
            let _ = Command::new("docker")
                .args(["-H", manager])
                .args(remove)
                .args(&ids)
                .output();
            // The tasks' containers leave their networks a moment after their services go.
            std::thread::sleep(Duration::from_secs(2));
        }
    }
}
