#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]
//! A real CTFd 3.8.7 (from the released tarball) with the plugin copied in, a real
//! `ctfdeck serve`, and an agent that drives CTFd over HTTP as a browser would.
//!
//! The tarball's path comes from `CTFDECK_CTFD_TARBALL` (`.ci/run` sets it). CTFd's Python
//! environment is built once, with pip from PyPI, under the target folder.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use ctfdeck::engine::labels;
use ctfdeck::store::Store;
use serde_json::Value;

use crate::common::{bin, copy_dir, ensure_images, repo};

pub const TARBALL_VAR: &str = "CTFDECK_CTFD_TARBALL";
const CTFD_DIR: &str = "CTFd-3.8.7";

/// The tarball, or None when it is not configured outside CI (the caller then says it did not
/// run). In CI a missing tarball fails the test.
pub fn tarball() -> Option<PathBuf> {
    let in_ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false");
    match std::env::var_os(TARBALL_VAR).map(PathBuf::from) {
        Some(path) if path.is_file() => Some(path),
        Some(path) => panic!(
            "{TARBALL_VAR}={} is not a file: the CTFd end-to-end tests need CTFd 3.8.7's release tarball",
            path.display()
        ),
        None if in_ci => panic!(
            "{TARBALL_VAR} is not set: in CI the CTFd end-to-end tests must run (.ci/run sets it)"
        ),
        None => {
            eprintln!("NOT RUN: set {TARBALL_VAR} to CTFd-3.8.7.tar.gz to run the CTFd tests");
            None
        }
    }
}

/// Debian's headless Chromium and its driver, for the tests that click in a browser; None when
/// they are missing outside CI (the caller then says it did not run). In CI they must be there.
pub fn chromium() -> Option<()> {
    let missing: Vec<&str> = ["/usr/bin/chromium", "/usr/bin/chromedriver"]
        .into_iter()
        .filter(|p| !Path::new(p).is_file())
        .collect();
    if missing.is_empty() {
        return Some(());
    }
    let in_ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false");
    assert!(
        !in_ci,
        "{missing:?} missing: in CI the browser test must run (apt-get install chromium chromium-driver)"
    );
    eprintln!("NOT RUN: {missing:?} missing (apt-get install chromium chromium-driver)");
    None
}

/// CTFd unpacked in a temporary folder of its own, with the plugin copied in as an operator
/// would (`CTFd/plugins/ctfdeck/`).
pub struct CtfdTree {
    pub dir: tempfile::TempDir,
}

impl CtfdTree {
    pub fn unpack(tarball: &Path) -> CtfdTree {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("tar")
            .arg("-xzf")
            .arg(tarball)
            .arg("-C")
            .arg(dir.path())
            .status()
            .expect("run tar");
        assert!(status.success(), "could not unpack {}", tarball.display());
        let tree = CtfdTree { dir };
        assert!(
            tree.root().join("serve.py").is_file(),
            "{} has no {CTFD_DIR}/serve.py",
            tarball.display()
        );
        copy_dir(
            &repo().join("contrib/ctfd/ctfdeck"),
            &tree.root().join("CTFd/plugins/ctfdeck"),
        );
        tree
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join(CTFD_DIR)
    }
}

/// CTFd's Python, with CTFd's requirements, pytest and selenium; built once and kept under target/.
pub fn python(tree: &CtfdTree) -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ctfd-3.8.7-venv");
            let python = venv.join("bin/python");
            if python.is_file() {
                return python;
            }
            // Built beside and renamed into place, so that an interrupted build is never taken
            // for a finished one.
            let building =
                venv.with_file_name(format!("ctfd-3.8.7-venv.building-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&building);
            run(Command::new("python3").arg("-m").arg("venv").arg(&building));
            run(Command::new(building.join("bin/pip"))
                .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
                .arg(tree.root().join("requirements.txt"))
                .args(["pytest", "selenium"]));
            // The venv finds its packages relative to bin/python, so it works once moved.
            if std::fs::rename(&building, &venv).is_err() {
                // Another process finished first; use its venv.
                let _ = std::fs::remove_dir_all(&building);
            }
            python
        })
        .clone()
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `ctfdeck serve` on a free loopback port over a fresh store, with the bundled catalog.
/// Dropped: killed, and whatever its store started is removed from the engine.
pub struct Deck {
    pub dir: tempfile::TempDir,
    child: Option<Child>,
    pub base: String,
}

impl Deck {
    pub fn start() -> Deck {
        Deck::with_config("")
    }

    /// With more configuration after the loopback binding, e.g. `[quotas]`.
    pub fn with_config(extra: &str) -> Deck {
        ensure_images();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.toml"),
            format!("[container]\nbind_address = \"127.0.0.1\"\n{extra}"),
        )
        .unwrap();
        let mut child = Deck::command(dir.path())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start ctfdeck serve");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        let addr = line
            .trim()
            .rsplit(' ')
            .next()
            .filter(|_| line.contains("serving the API on"))
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_string();
        std::thread::spawn(move || for _ in out.lines() {});
        Deck {
            dir,
            child: Some(child),
            base: format!("http://{addr}"),
        }
    }

    fn command(dir: &Path) -> Command {
        let mut cmd = Command::new(bin());
        cmd.arg("--store")
            .arg(dir.join("s.db"))
            .arg("--catalog")
            .arg(repo().join("challenges"))
            .arg("--config")
            .arg(dir.join("config.toml"));
        cmd
    }

    /// The CLI on the same store, failing the test if it fails; its stdout.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Deck::command(self.dir.path()).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "ctfdeck {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn store(&self) -> Store {
        Store::open(&self.dir.path().join("s.db")).unwrap()
    }

    /// SIGTERM and wait; the store stays for inspection.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("still running");
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        child.wait().unwrap()
    }

    /// Containers and networks of this store still on the engine.
    pub fn leftovers(&self) -> (Vec<String>, Vec<String>) {
        let store_id = self
            .store()
            .setting("store_id")
            .unwrap()
            .unwrap_or_default();
        let filter = format!("label={}={store_id}", labels::STORE);
        let list = |args: &[&str]| -> Vec<String> {
            let o = Command::new("docker")
                .args(args)
                .args(["--filter", &filter])
                .output()
                .unwrap();
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .map(str::to_string)
                .collect()
        };
        (list(&["ps", "-aq"]), list(&["network", "ls", "-q"]))
    }
}

impl Drop for Deck {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let (containers, networks) = self.leftovers();
        if !containers.is_empty() {
            let _ = Command::new("docker")
                .args(["rm", "-f"])
                .args(&containers)
                .output();
        }
        if !networks.is_empty() {
            let _ = Command::new("docker")
                .args(["network", "rm"])
                .args(&networks)
                .output();
        }
    }
}

/// CTFd's own development server (`serve.py --disable-gevent`) on a free port, over a fresh
/// SQLite file, in a process group of its own (its reloader forks a child): dropping it ends
/// the whole group.
pub struct Ctfd {
    child: Child,
    pub base: String,
    log: PathBuf,
}

impl Ctfd {
    pub fn start(tree: &CtfdTree, python: &Path, deck: &Deck, token: &str) -> Ctfd {
        let port = free_port();
        let log = tree.dir.path().join("ctfd.log");
        // One open file for both streams, so that neither overwrites the other.
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(python)
            .args(["serve.py", "--port", &port.to_string(), "--disable-gevent"])
            .current_dir(tree.root())
            .env("SECRET_KEY", format!("ctfdeck-test-{}", std::process::id()))
            .env(
                "DATABASE_URL",
                format!("sqlite:///{}", tree.dir.path().join("ctfd.db").display()),
            )
            .env("CTFDECK_API_URL", &deck.base)
            .env("CTFDECK_API_TOKEN", token)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .process_group(0)
            .spawn()
            .expect("start CTFd");
        let mut ctfd = Ctfd {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        };
        ctfd.wait_until_up(port);
        ctfd
    }

    fn wait_until_up(&mut self, port: u16) {
        let deadline = Instant::now() + Duration::from_secs(180);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("CTFd exited ({status}):\n{}", self.log_tail());
            }
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
                let _ = s.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n");
                let mut head = String::new();
                let _ = s.read_to_string(&mut head);
                if head.starts_with("HTTP/") {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        panic!("CTFd did not answer on port {port}:\n{}", self.log_tail());
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(60)..].join("\n")
    }
}

impl Drop for Ctfd {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("CTFd's log, last lines:\n{}", self.log_tail());
        }
        let group = nix::unistd::Pid::from_raw(-(self.child.id() as i32));
        let _ = nix::sys::signal::kill(group, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        // The reloader's child may outlive the parent; the group goes in any case.
        let _ = nix::sys::signal::kill(group, nix::sys::signal::Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

/// tests/ctfd_support/browser.py: `name` logs in to Chromium, opens `challenge` and clicks the
/// panel's buttons in turn; what the panel shows after each click.
pub fn browser(
    python: &Path,
    ctfd: &Ctfd,
    name: &str,
    challenge: &str,
    actions: &[&str],
) -> Vec<Value> {
    let out = Command::new(python)
        .arg(repo().join("tests/ctfd_support/browser.py"))
        .args([ctfd.base.as_str(), name, &format!("pw-{name}"), challenge])
        .args(actions)
        .output()
        .expect("run the browser");
    let shown: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        out.status.success() && shown.len() == actions.len(),
        "the browser failed: {shown:?}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    shown
}

/// tests/ctfd_support/agent.py in CTFd's venv: browser-like sessions (cookies, CSRF nonce),
/// one per player.
pub struct Agent {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Agent {
    pub fn start(python: &Path, ctfd: &Ctfd) -> Agent {
        let mut child = Command::new(python)
            .arg(repo().join("tests/ctfd_support/agent.py"))
            .arg(&ctfd.base)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the agent");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Agent {
            child,
            stdin,
            stdout,
        }
    }

    pub fn send(&mut self, request: Value) -> Value {
        writeln!(self.stdin, "{request}").unwrap();
        self.stdin.flush().unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        let answer: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("agent answered {line:?} to {request}: {e}"));
        if let Some(error) = answer.get("error") {
            panic!("agent failed on {request}: {error}");
        }
        answer
    }

    pub fn call(&mut self, who: &str, method: &str, path: &str, json: Value) -> Reply {
        let answer = self.send(serde_json::json!({
            "op": "call", "who": who, "method": method, "path": path, "json": json
        }));
        Reply {
            status: answer["status"].as_u64().unwrap() as u16,
            body: answer["body"].clone(),
        }
    }

    pub fn page(&mut self, who: &str, path: &str) -> (u16, String) {
        let answer = self.send(serde_json::json!({"op": "page", "who": who, "path": path}));
        (
            answer["status"].as_u64().unwrap() as u16,
            answer["text"].as_str().unwrap().to_string(),
        )
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
