#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The attack suite's lab: instances of the `tests/fixtures/attack` challenges under the
//! profiles the suite needs, commands run inside them, the host firewall in place, and (for the
//! network attacks) a simulated outside world reached through the host's routing.
//!
//! Root is needed for the firewall and the outside world; without it the suite runs the same
//! steps through `sudo -n`, and fails (never skips) when that is not possible either.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::ExecConfig;
use futures_util::StreamExt;

use ctfdeck::catalog::{Catalog, ProfilesConfig};
use ctfdeck::config::Config;
use ctfdeck::domain::{Actor, Lifecycle};
use ctfdeck::engine::{BuildNetwork, DockerEngine, Engine, ExecOutput};
use ctfdeck::store::{InstanceRecord, Store};

use crate::common;

/// A seccomp profile that allows everything but creating directories.
const NO_MKDIR_SECCOMP: &str = r#"{
  "defaultAction": "SCMP_ACT_ALLOW",
  "syscalls": [{ "names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO" }]
}"#;

pub fn attack_catalog() -> PathBuf {
    common::repo().join("tests/fixtures/attack")
}

/// A lifecycle on a fresh store and the attack catalog, with the shipped profiles plus
/// `no-mkdir` (a seccomp file) and an admin exception granting SYS_PTRACE to `target-ptrace`.
pub struct Lab {
    pub dir: tempfile::TempDir,
    pub lifecycle: Lifecycle,
    pub engine: DockerEngine,
}

impl Lab {
    /// `bind`: the host address published ports bind to (`0.0.0.0` as on an event host, where
    /// every host address is a way in).
    pub async fn new(bind: &str) -> Lab {
        common::ensure_images();
        ensure_firewall();
        let dir = tempfile::tempdir().expect("tempdir");
        let seccomp = dir.path().join("no-mkdir.json");
        std::fs::write(&seccomp, NO_MKDIR_SECCOMP).unwrap();
        let profiles: ProfilesConfig = toml::from_str(&format!(
            "[no-mkdir]\nseccomp = {:?}\n[allow]\ncapabilities = [\"target-ptrace\"]\n",
            seccomp.display().to_string()
        ))
        .unwrap();
        let mut policy = Config::default().policy();
        policy.container.bind_address = bind.to_string();
        policy.ceilings.security = profiles.resolve().expect("lab profiles");
        let report = Catalog::load(&attack_catalog(), &policy.ceilings).expect("attack catalog");
        assert!(
            !report.has_errors(),
            "{:?}",
            report
                .diagnostics
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        );
        let engine = common::engine().await;
        let store = Store::open(&dir.path().join("ctfdeck.db")).expect("open store");
        let lifecycle = Lifecycle::new(
            Arc::new(engine.clone()) as Arc<dyn Engine>,
            store,
            Arc::new(report.catalog),
            policy,
            Actor::admin("attacker"),
        )
        .expect("lifecycle");
        Lab {
            dir,
            lifecycle,
            engine,
        }
    }

    /// Spawn, and wait until the instance's service answers on its own loopback, so that every
    /// probe that follows meets a running service.
    pub async fn spawn(&self, challenge: &str, owner: &str) -> InstanceRecord {
        let rec = self
            .lifecycle
            .spawn(challenge, &owner.parse().unwrap())
            .await
            .unwrap_or_else(|e| panic!("spawn {challenge}: {e}"))
            .instance;
        let mut last = String::new();
        for _ in 0..100 {
            last = self.sh(&rec, &probe_script("127.0.0.1", 8080)).await.output;
            if last.contains("HTTP/1.") {
                return rec;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{challenge} never answered on its own port 8080: {last}")
    }

    /// Run `script` with `sh -c` inside the instance, as its own user.
    pub async fn sh(&self, rec: &InstanceRecord, script: &str) -> ExecOutput {
        self.engine
            .exec(container(rec), &["sh", "-c", script])
            .await
            .expect("exec")
    }

    /// Run `script` inside the instance as uid 0 — what an attacker who became root inside
    /// would have.
    pub async fn sh_as_root(&self, rec: &InstanceRecord, script: &str) -> ExecOutput {
        let client = self.engine.client();
        let created = client
            .create_exec(
                container(rec),
                ExecConfig {
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    user: Some("0:0".into()),
                    cmd: Some(vec!["sh".into(), "-c".into(), script.into()]),
                    ..Default::default()
                },
            )
            .await
            .expect("create exec");
        let mut output = String::new();
        if let StartExecResults::Attached {
            output: mut out, ..
        } = client
            .start_exec(&created.id, None::<StartExecOptions>)
            .await
            .expect("start exec")
        {
            while let Some(chunk) = out.next().await {
                output.push_str(&String::from_utf8_lossy(
                    &chunk.expect("exec output").into_bytes(),
                ));
            }
        }
        let inspect = client
            .inspect_exec(&created.id)
            .await
            .expect("inspect exec");
        ExecOutput {
            exit_code: inspect.exit_code.unwrap_or(-1),
            output,
        }
    }

    pub async fn inspect(&self, rec: &InstanceRecord) -> bollard::models::ContainerInspectResponse {
        self.engine
            .client()
            .inspect_container(
                container(rec),
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
            .await
            .expect("inspect")
    }

    /// The instance's address and gateway on its own network.
    pub async fn address(&self, rec: &InstanceRecord) -> (String, String) {
        let c = self.inspect(rec).await;
        let net = c
            .network_settings
            .and_then(|n| n.networks)
            .and_then(|n| n.get(&format!("ctfdeck-{}", rec.id)).cloned())
            .expect("attached to its own network");
        (
            net.ip_address.unwrap_or_default(),
            net.gateway.unwrap_or_default(),
        )
    }

    /// Stop everything and check nothing is left (containers, networks, proxies).
    pub async fn finish(&self) {
        let id = self.lifecycle.store_id();
        for c in self.engine.managed_containers(id).await.unwrap() {
            self.engine.remove_container(&c.id).await.unwrap();
        }
        for n in self.engine.managed_networks(id).await.unwrap() {
            self.engine.remove_network(&n.id).await.unwrap();
        }
        assert!(self.engine.managed_containers(id).await.unwrap().is_empty());
        assert!(self.engine.managed_networks(id).await.unwrap().is_empty());
        let proxies = self
            .engine
            .client()
            .list_containers(Some(
                bollard::query_parameters::ListContainersOptionsBuilder::new()
                    .all(true)
                    .filters(&std::collections::HashMap::from([(
                        "label".to_string(),
                        vec![format!("org.ctfdeck.store={id}")],
                    )]))
                    .build(),
            ))
            .await
            .unwrap();
        assert!(proxies.is_empty(), "left behind: {proxies:?}");
    }
}

impl Drop for Lab {
    /// A failed assertion must not leave instances running: remove whatever this lab's store
    /// still has on the engine (nothing, after `finish`).
    fn drop(&mut self) {
        let engine = self.engine.clone();
        let store = self.lifecycle.store_id().to_string();
        let cleanup = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                for c in engine.managed_containers(&store).await.unwrap_or_default() {
                    let _ = engine.remove_container(&c.id).await;
                }
                for n in engine.managed_networks(&store).await.unwrap_or_default() {
                    let _ = engine.remove_network(&n.id).await;
                }
            });
        });
        let _ = cleanup.join();
    }
}

pub fn container(rec: &InstanceRecord) -> &str {
    rec.container_id.as_deref().expect("a container")
}

/// What `nc` prints when `payload` is sent to `host:port` from inside an instance (3 s limit).
pub fn probe_script(host: &str, port: u16) -> String {
    format!("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {host} {port} 2>&1; true")
}

/// The first line the service at `addr:port` sends, from the host; `None` when nothing answers.
pub fn host_probe(addr: &str, port: u16, http: bool) -> Option<String> {
    for _ in 0..30 {
        if let Ok(mut s) = TcpStream::connect((addr, port)) {
            s.set_read_timeout(Some(Duration::from_secs(3))).ok();
            if http {
                s.write_all(b"GET / HTTP/1.0\r\n\r\n").ok();
            }
            let mut line = String::new();
            if BufReader::new(s).read_line(&mut line).is_ok() && !line.is_empty() {
                return Some(line.trim_end().to_string());
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

/// IPv4 addresses of this host an instance could aim at: its bridge gateway is added by the
/// caller; here the address of the default route and Docker's default bridge.
pub fn host_addresses() -> Vec<String> {
    let mut out = Vec::new();
    let route = Command::new("ip")
        .args(["-4", "-o", "route", "get", "192.0.2.200"])
        .output()
        .expect("run ip route get");
    let text = String::from_utf8_lossy(&route.stdout);
    if let Some(src) = text.split_whitespace().skip_while(|w| *w != "src").nth(1) {
        out.push(src.to_string());
    }
    let docker0 = Command::new("ip")
        .args(["-4", "-o", "addr", "show", "dev", "docker0"])
        .output()
        .expect("run ip addr");
    let text = String::from_utf8_lossy(&docker0.stdout);
    if let Some(cidr) = text.split_whitespace().skip_while(|w| *w != "inet").nth(1) {
        out.push(cidr.split('/').next().unwrap_or_default().to_string());
    }
    assert!(!out.is_empty(), "found no host address to aim at");
    out
}

/// A TCP service on every host address that greets with `greeting` — stands for anything
/// listening on the host: sshd, a database, an engine API on tcp://0.0.0.0:2375.
pub struct HostService {
    pub port: u16,
}

impl HostService {
    pub fn start(greeting: &'static str) -> HostService {
        let listener = TcpListener::bind("0.0.0.0:0").expect("bind host service");
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for mut conn in listener.incoming().flatten() {
                let _ = conn.write_all(format!("{greeting}\n").as_bytes());
            }
        });
        HostService { port }
    }
}

fn is_root() -> bool {
    let out = Command::new("id").arg("-u").output().expect("run id -u");
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

/// A command that runs as root: directly when the tests are root, else through `sudo -n`.
pub fn root_command(program: &str) -> Command {
    if is_root() {
        Command::new(program)
    } else {
        let mut c = Command::new("sudo");
        c.args(["-n", program]);
        c
    }
}

/// Run a command as root (directly, or through `sudo -n`), panicking with its output on failure.
pub fn as_root(program: &str, args: &[&str]) {
    let out = if is_root() {
        Command::new(program).args(args).output()
    } else {
        Command::new("sudo")
            .arg("-n")
            .arg(program)
            .args(args)
            .output()
    }
    .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "`{program} {}` failed (the attack suite needs root or passwordless sudo): {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Install the host firewall once per test binary, through the real `ctfdeck firewall apply`.
pub fn ensure_firewall() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let bin = common::bin();
        as_root(bin.to_str().unwrap(), &["firewall", "apply"]);
    });
}

/// One network attack at a time in this binary: they share the outside world's addresses.
pub async fn outside_lock() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    LOCK.lock().await
}

/// A simulated outside world in its own network namespace, reached through the host's routing
/// exactly as the internet or a cloud's metadata service would be: `198.51.100.10` stands for
/// any outside address, `169.254.169.254` for the metadata service. Both answer TCP port 80
/// with `outside`. Removed on drop.
pub struct Outside {
    ns: String,
    listener: Option<Child>,
}

pub const OUTSIDE_ADDR: &str = "198.51.100.10";
pub const METADATA_ADDR: &str = "169.254.169.254";

impl Outside {
    pub fn new() -> Outside {
        let tag: String = ctfdeck::domain::ids::new_instance_id();
        let ns = format!("ctfo-{tag}");
        let host_if = format!("ctfo{tag}h");
        let ns_if = format!("ctfo{tag}n");
        let outside = Outside {
            ns: ns.clone(),
            listener: None,
        };
        as_root("ip", &["netns", "add", &ns]);
        as_root(
            "ip",
            &[
                "link", "add", &host_if, "type", "veth", "peer", "name", &ns_if,
            ],
        );
        as_root("ip", &["link", "set", &ns_if, "netns", &ns]);
        as_root("ip", &["addr", "add", "198.51.100.1/24", "dev", &host_if]);
        as_root("ip", &["link", "set", &host_if, "up"]);
        let in_ns = |args: &[&str]| {
            let mut full = vec!["netns", "exec", ns.as_str(), "ip"];
            full.extend_from_slice(args);
            as_root("ip", &full);
        };
        in_ns(&["addr", "add", "198.51.100.10/24", "dev", &ns_if]);
        in_ns(&["addr", "add", "169.254.169.254/32", "dev", &ns_if]);
        in_ns(&["link", "set", &ns_if, "up"]);
        in_ns(&["link", "set", "lo", "up"]);
        in_ns(&["route", "add", "default", "via", "198.51.100.1"]);
        as_root(
            "ip",
            &[
                "route",
                "replace",
                "169.254.169.254/32",
                "via",
                "198.51.100.10",
                "dev",
                &host_if,
            ],
        );
        let busybox = which("busybox");
        let mut cmd = if is_root() {
            Command::new("ip")
        } else {
            let mut c = Command::new("sudo");
            c.args(["-n", "ip"]);
            c
        };
        let child = cmd
            .args([
                "netns", "exec", &ns, &busybox, "nc", "-ll", "-p", "80", "-e", &busybox, "echo",
                "outside",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the outside listener");
        let mut outside = outside;
        outside.listener = Some(child);
        // The host reaches both addresses: what an instance cannot reach is its isolation.
        for addr in [OUTSIDE_ADDR, METADATA_ADDR] {
            assert_eq!(
                host_probe(addr, 80, false).as_deref(),
                Some("outside"),
                "the host reaches the simulated {addr}"
            );
        }
        outside
    }
}

impl Drop for Outside {
    fn drop(&mut self) {
        if let Some(mut child) = self.listener.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // Deleting the namespace deletes the veth pair and, with it, the route.
        let _ = if is_root() {
            Command::new("ip").args(["netns", "del", &self.ns]).status()
        } else {
            Command::new("sudo")
                .args(["-n", "ip", "netns", "del", &self.ns])
                .status()
        };
    }
}

fn which(program: &str) -> String {
    let out = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .expect("run sh");
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        !path.is_empty(),
        "{program} is needed on the host (apt-get install busybox-static)"
    );
    path
}

/// An image built for one test from a Dockerfile and files beside it, removed on drop.
pub struct TestImage {
    pub tag: String,
    engine: DockerEngine,
}

impl TestImage {
    /// Build `tag` from `dockerfile`, with `files` (name → host path) in the build context.
    pub async fn build(
        engine: &DockerEngine,
        tag: &str,
        dockerfile: &str,
        files: &[(&str, &std::path::Path)],
    ) -> TestImage {
        let context = tempfile::tempdir().expect("tempdir");
        std::fs::write(context.path().join("Dockerfile"), dockerfile).unwrap();
        for (name, path) in files {
            std::fs::copy(path, context.path().join(name)).unwrap();
        }
        let image = TestImage {
            tag: tag.to_string(),
            engine: engine.clone(),
        };
        engine
            .build_image(context.path(), tag, BuildNetwork::None, &|_| {})
            .await
            .unwrap_or_else(|e| panic!("building {tag}: {e}"));
        image
    }
}

impl Drop for TestImage {
    fn drop(&mut self) {
        let engine = self.engine.clone();
        let tag = self.tag.clone();
        let removal = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                let _ = engine
                    .client()
                    .remove_image(
                        &tag,
                        Some(
                            bollard::query_parameters::RemoveImageOptionsBuilder::new()
                                .force(true)
                                .build(),
                        ),
                        None,
                    )
                    .await;
            });
        });
        let _ = removal.join();
    }
}

/// `memfd_exec.c` built static with the host's gcc, in `dir`: a probe that runs code written
/// at runtime from an anonymous memory file, or sets up an io_uring.
pub fn memfd_probe(dir: &std::path::Path) -> PathBuf {
    let out = dir.join("memfd-exec");
    let source = common::repo().join("tests/attack_support/memfd_exec.c");
    let built = Command::new("gcc")
        .args(["-static", "-O2", "-o"])
        .arg(&out)
        .arg(&source)
        .output()
        .expect(
            "run gcc (the attack suite needs gcc and a static libc: apt-get install gcc libc6-dev)",
        );
    assert!(
        built.status.success(),
        "gcc -static failed: {}",
        String::from_utf8_lossy(&built.stderr)
    );
    out
}
