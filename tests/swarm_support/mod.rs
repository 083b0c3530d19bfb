//! The two-node Swarm lab of `scripts/swarm-lab` as the Swarm tests use it: brought up (or
//! found up), its settings and config file, the bundled images built and pushed there, and
//! what a test leaves behind removed pass or fail.
//!
//! `CTFDECK_TEST_SWARM` names a manager already up (`.ci/run` starts the lab and sets it);
//! otherwise the lab is brought up here and taken down afterwards (it needs root). With `CI`
//! set, a lab that cannot come up is a failure, not a skip.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use crate::common::swarm_lab::{LAB_RUN, remove_by_store_label};
pub use crate::common::swarm_lab::{NODES, config_file, ensure_images, node_sock, settings};
use crate::common::{load_catalog, repo};
use ctfdeck::config::Config;
use ctfdeck::domain::{Actor, Lifecycle, Policy};
use ctfdeck::engine::{Engine, EngineKind, SwarmEngine, SwarmSettings};
use ctfdeck::store::Store;

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
        remove_by_store_label(&self.manager, &self.store_id);
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
