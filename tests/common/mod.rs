#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Shared set-up for tests that need the real engine: connect (failing loudly when there is
//! none), make sure the example images exist, and give each test its own store.
//!
//! The lifecycle and policy suites run on Docker, on Podman and on the Swarm lab: `Fixture`
//! builds its lifecycle on whichever `CTFDECK_TEST_ENGINE` names (see `.ci/run`).

#![allow(dead_code)]

pub mod relay;
pub mod swarm_lab;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use ctfdeck::catalog::{Catalog, Ceilings};
use ctfdeck::config::Config;
use ctfdeck::domain::{Actor, Lifecycle, Policy};
use ctfdeck::engine::{DockerEngine, Engine, SwarmEngine, labels};
use ctfdeck::shared::PublishedPort;
use ctfdeck::store::{InstanceRecord, Store};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ctfdeck"))
}

/// Connect to the engine. There is no skipping: a test that needs the engine fails without it.
///
/// The engine suites run on Docker and, a second time, on Podman (`DOCKER_HOST` at its socket,
/// see `.ci/run`). `CTFDECK_TEST_ENGINE` (`docker` or `podman`) says which engine a run means,
/// so that a wrong socket fails instead of testing one engine twice.
pub async fn engine() -> DockerEngine {
    let engine = DockerEngine::connect(None).await.unwrap_or_else(|e| {
        panic!(
            "these tests need a container engine ({e}); start dockerd or set DOCKER_HOST (CI={:?})",
            std::env::var("CI").ok()
        )
    });
    if let Some(wanted) = std::env::var("CTFDECK_TEST_ENGINE")
        .ok()
        .filter(|w| !w.is_empty())
    {
        assert!(
            engine.info().kind.name().eq_ignore_ascii_case(&wanted),
            "CTFDECK_TEST_ENGINE={wanted} but the engine at {} is {}",
            engine.info().target,
            engine.info().kind.name()
        );
    }
    engine
}

/// Whether this run means the Swarm lab (`CTFDECK_TEST_ENGINE=swarm`).
pub fn on_swarm() -> bool {
    std::env::var("CTFDECK_TEST_ENGINE").is_ok_and(|w| w.eq_ignore_ascii_case("swarm"))
}

/// The engine a [`Fixture`]'s instances run on: the Docker-compatible engine (Docker or
/// Podman), or the Swarm lab's manager. Derefs to the [`Engine`] the lifecycle uses, so a test
/// body reads the same on each.
#[derive(Clone)]
pub enum TestEngine {
    Docker(DockerEngine),
    Swarm(SwarmEngine),
}

impl std::ops::Deref for TestEngine {
    type Target = dyn Engine;

    fn deref(&self) -> &Self::Target {
        match self {
            TestEngine::Docker(engine) => engine,
            TestEngine::Swarm(engine) => engine,
        }
    }
}

impl TestEngine {
    /// Connect to the engine this run means, with the images the bundled catalog needs there.
    pub async fn connect() -> TestEngine {
        if on_swarm() {
            let manager = swarm_lab::manager_from_env();
            swarm_lab::ensure_images(&manager);
            let engine = SwarmEngine::connect(Some(&manager), swarm_lab::settings())
                .await
                .unwrap_or_else(|e| panic!("the Swarm lab's manager at {manager} answers: {e}"));
            TestEngine::Swarm(engine)
        } else {
            ensure_images();
            TestEngine::Docker(engine().await)
        }
    }

    /// The Docker API client (on a Swarm, the manager's), for what the engine trait does not say.
    pub fn client(&self) -> &bollard::Docker {
        match self {
            TestEngine::Docker(engine) => engine.client(),
            TestEngine::Swarm(engine) => engine.manager().client(),
        }
    }

    pub fn shared(&self) -> Arc<dyn Engine> {
        match self {
            TestEngine::Docker(engine) => Arc::new(engine.clone()),
            TestEngine::Swarm(engine) => Arc::new(engine.clone()),
        }
    }
}

/// Whether the tests run on Podman (where some answers are worded differently).
pub fn on_podman(engine: &dyn Engine) -> bool {
    engine.info().kind == ctfdeck::engine::EngineKind::Podman
}

/// Build the base image and the example challenge images once per test binary, through the
/// real `ctfdeck build`.
pub fn ensure_images() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let base = Command::new(repo().join("scripts/busybox-base"))
            .status()
            .expect("run scripts/busybox-base");
        assert!(base.success(), "scripts/busybox-base failed");
        let dir = tempfile::tempdir().expect("tempdir");
        let out = Command::new(bin())
            .args(["--store"])
            .arg(dir.path().join("build.db"))
            .arg("--catalog")
            .arg(repo().join("challenges"))
            .arg("build")
            .output()
            .expect("run ctfdeck build");
        assert!(
            out.status.success(),
            "ctfdeck build failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
}

pub fn load_catalog(dir: &Path) -> Catalog {
    let report = Catalog::load(dir, &Ceilings::default()).expect("load catalog");
    assert!(
        !report.has_errors(),
        "catalog {} has errors: {:?}",
        dir.display(),
        report
            .diagnostics
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
    );
    report.catalog
}

/// A lifecycle on a fresh temporary store and the given catalog, on the engine this run means
/// (see [`TestEngine`]).
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub lifecycle: Lifecycle,
    pub engine: TestEngine,
    /// The config file the CLI needs to reach the same engine (the Swarm lab's), if any.
    config: Option<PathBuf>,
}

impl Fixture {
    pub async fn new() -> Fixture {
        Self::with_catalog(&repo().join("challenges")).await
    }

    pub async fn with_catalog(catalog_dir: &Path) -> Fixture {
        Self::build(catalog_dir, |_| {}).await
    }

    /// A fixture on the bundled catalog with an adjusted policy.
    pub async fn with_policy(adjust: impl FnOnce(&mut Policy)) -> Fixture {
        Self::build(&repo().join("challenges"), adjust).await
    }

    async fn build(catalog_dir: &Path, adjust: impl FnOnce(&mut Policy)) -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = TestEngine::connect().await;
        let mut policy = Config::default().policy();
        // Tests run on loopback; nothing needs to be reachable from elsewhere. (A Swarm
        // publishes on the node's address whatever this says.)
        policy.container.bind_address = "127.0.0.1".to_string();
        adjust(&mut policy);
        let (catalog_dir, config) = match &engine {
            TestEngine::Docker(_) => (catalog_dir.to_path_buf(), None),
            TestEngine::Swarm(_) => (
                swarm_catalog(catalog_dir, dir.path()),
                Some(swarm_lab::config_file(
                    dir.path(),
                    &swarm_lab::manager_from_env(),
                )),
            ),
        };
        let lifecycle = lifecycle_on(
            &engine,
            &dir.path().join("ctfdeck.db"),
            &catalog_dir,
            policy,
            Actor::admin("tester"),
        );
        Fixture {
            dir,
            lifecycle,
            engine,
            config,
        }
    }

    /// Another lifecycle on the same store file, through its own connection: what a second
    /// console or CLI process would have.
    pub fn second(&self, actor: Actor) -> Lifecycle {
        lifecycle_on(
            &self.engine,
            &self.store_path(),
            &self.lifecycle.catalog().root,
            self.lifecycle.policy().clone(),
            actor,
        )
    }

    pub fn store_path(&self) -> PathBuf {
        self.dir.path().join("ctfdeck.db")
    }

    /// The `ctfdeck` command on this fixture's engine, store and catalog.
    pub fn cli(&self) -> Command {
        let mut cmd = Command::new(bin());
        if let Some(config) = &self.config {
            cmd.arg("--config").arg(config);
        }
        cmd.arg("--store")
            .arg(self.store_path())
            .arg("--catalog")
            .arg(&self.lifecycle.catalog().root);
        cmd
    }

    /// The unix socket the fixture's engine listens on (for a relay that can cut it).
    pub fn engine_socket(&self) -> PathBuf {
        match &self.engine {
            TestEngine::Docker(_) => relay::engine_socket(),
            TestEngine::Swarm(_) => {
                let manager = swarm_lab::manager_from_env();
                let path = manager.strip_prefix("unix://").unwrap_or_else(|| {
                    panic!("the Swarm lab's manager is a unix socket, not {manager}")
                });
                PathBuf::from(path)
            }
        }
    }

    pub fn on_swarm(&self) -> bool {
        matches!(self.engine, TestEngine::Swarm(_))
    }

    /// Spawn `challenge` for `owner` (as `team:name`), failing the test if it fails.
    pub async fn spawn(&self, challenge: &str, owner: &str) -> InstanceRecord {
        self.lifecycle
            .spawn(challenge, &owner.parse().expect("owner"))
            .await
            .unwrap_or_else(|e| panic!("spawn {challenge} for {owner}: {e}"))
            .instance
    }

    /// Containers (services on a Swarm) and networks this fixture's store still has on the
    /// engine.
    pub async fn leftovers(&self) -> (usize, usize) {
        let id = self.lifecycle.store_id();
        (
            self.engine
                .managed_containers(id)
                .await
                .expect("list")
                .len(),
            self.engine.managed_networks(id).await.expect("list").len(),
        )
    }

    /// Stop everything this fixture started (best effort, for test cleanup).
    pub async fn cleanup(&self) {
        let id = self.lifecycle.store_id();
        for c in self.engine.managed_containers(id).await.unwrap_or_default() {
            let _ = self.engine.remove_container(&c.id).await;
        }
        for n in self.engine.managed_networks(id).await.unwrap_or_default() {
            let _ = self.engine.remove_network(&n.id).await;
        }
    }
}

/// On the Swarm, the bundled catalog with web-cmdinject on the `default` profile: its own
/// (`challenge`: egress denied behind a port proxy, ctfdeck's seccomp filter) is refused there,
/// as the README's guarantee table says, and the lifecycle and policy rules these suites check
/// do not depend on the profile. Other catalogs are used as given.
fn swarm_catalog(catalog_dir: &Path, dir: &Path) -> PathBuf {
    if catalog_dir != repo().join("challenges") {
        return catalog_dir.to_path_buf();
    }
    let copy = dir.join("challenges");
    copy_dir(catalog_dir, &copy);
    let definition = copy.join("web-cmdinject/challenge.json");
    let mut def: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&definition).unwrap()).unwrap();
    def["container"]["security"]["profile"] = serde_json::json!("default");
    std::fs::write(&definition, serde_json::to_string_pretty(&def).unwrap()).unwrap();
    copy
}

/// A test that fails half way must not leave instances on the engine other tests share: whatever
/// still carries this fixture's store label goes when the fixture does, pass or fail.
impl Drop for Fixture {
    fn drop(&mut self) {
        if self.on_swarm() {
            swarm_lab::remove_by_store_label(
                &swarm_lab::manager_from_env(),
                self.lifecycle.store_id(),
            );
            return;
        }
        let filter = format!("label={}={}", labels::STORE, self.lifecycle.store_id());
        let list = |args: &[&str]| -> Vec<String> {
            Command::new("docker")
                .args(args)
                .args(["--filter", &filter])
                .output()
                .map(|o| {
                    String::from_utf8_lossy(&o.stdout)
                        .split_whitespace()
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        let containers = list(&["ps", "-aq"]);
        if !containers.is_empty() {
            let _ = Command::new("docker")
                .args(["rm", "-f"])
                .args(&containers)
                .output();
        }
        let networks = list(&["network", "ls", "-q"]);
        if !networks.is_empty() {
            let _ = Command::new("docker")
                .args(["network", "rm"])
                .args(&networks)
                .output();
        }
    }
}

fn lifecycle_on(
    engine: &TestEngine,
    store: &Path,
    catalog_dir: &Path,
    policy: Policy,
    actor: Actor,
) -> Lifecycle {
    Lifecycle::new(
        engine.shared(),
        Store::open(store).expect("open store"),
        Arc::new(load_catalog(catalog_dir)),
        policy,
        actor,
    )
    .expect("lifecycle")
}

/// How long a freshly started service may take to answer. Generous, because a loaded CI
/// host starts containers slowly; a service that answers returns at once.
const ANSWER_WITHIN: std::time::Duration = std::time::Duration::from_secs(60);

/// First line an HTTP GET of `/` answers with, e.g. `HTTP/1.1 200 OK`.
pub fn http_status_line(port: u16) -> String {
    http_status_line_on("127.0.0.1", port)
}

/// Where an instance's published port answers: its node's address on a Swarm, loopback here.
pub fn address_of(port: &PublishedPort) -> (String, u16) {
    let host = match port.host_ip.as_str() {
        "" | "0.0.0.0" | "::" => "127.0.0.1",
        given => given,
    };
    (host.to_string(), port.host_port)
}

/// As [`http_status_line`], on `host`.
pub fn http_status_line_on(host: &str, port: u16) -> String {
    use std::io::{BufRead, BufReader, Write};
    let mut last = String::from("never tried");
    let deadline = std::time::Instant::now() + ANSWER_WITHIN;
    while std::time::Instant::now() < deadline {
        match std::net::TcpStream::connect((host, port)) {
            Ok(mut s) => {
                let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(3)));
                let _ = s.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n");
                let mut line = String::new();
                if BufReader::new(s).read_line(&mut line).is_ok() && !line.is_empty() {
                    return line.trim_end().to_string();
                }
                last = "empty answer".into();
            }
            Err(e) => last = format!("connect: {e}"),
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("no HTTP answer on {host}:{port} within {ANSWER_WITHIN:?} ({last})")
}

/// The first line a TCP service sends on connect.
pub fn tcp_banner(port: u16) -> String {
    use std::io::{BufRead, BufReader};
    let mut last = String::from("never tried");
    let deadline = std::time::Instant::now() + ANSWER_WITHIN;
    while std::time::Instant::now() < deadline {
        match std::net::TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => {
                let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(3)));
                let mut line = String::new();
                if BufReader::new(s).read_line(&mut line).is_ok() && !line.is_empty() {
                    return line.trim_end().to_string();
                }
                last = "no line".into();
            }
            Err(e) => last = format!("connect: {e}"),
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("no banner on 127.0.0.1:{port} within {ANSWER_WITHIN:?} ({last})")
}

/// Copy a folder recursively (a challenge into a temporary catalog).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
