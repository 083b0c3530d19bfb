#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]
//! `ctfdeck serve` as tests meet it: the real binary on a loopback port of its own, over its
//! own store, reached with a real HTTP client (curl).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use ctfdeck::engine::labels;
use ctfdeck::store::Store;
use serde_json::Value;

use crate::common::{bin, ensure_images, repo};

/// The config most tests run with: one instance per owner, ports on loopback.
pub const CONFIG: &str = "public_host = \"ctf.example.org\"\n[container]\nbind_address = \"127.0.0.1\"\n[quotas]\nper_owner = 1\n";

/// A `ctfdeck serve` on a port of its own, over its own store; on drop it is killed and
/// whatever its store started is removed from the engine.
pub struct Server {
    dir: tempfile::TempDir,
    child: Child,
    catalog: PathBuf,
    /// `http://ADDR` it listens on.
    pub base: String,
}

pub struct Reply {
    pub status: u16,
    /// Lowercased.
    pub headers: String,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    pub fn error_code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

impl Server {
    /// A server with `config` as its config file, on the repository's catalog.
    pub fn start(config: &str) -> Server {
        Server::launch(config, &repo().join("challenges"), &[])
    }

    /// A server with `config` as its config file, on `catalog`, with `global` options
    /// (`--engine …`) before `serve`.
    pub fn launch(config: &str, catalog: &Path, global: &[&str]) -> Server {
        Server::launch_on(config, catalog, global, "127.0.0.1:0")
    }

    /// As [`Server::launch`], listening on `listen` (port 0: a free one).
    pub fn launch_on(config: &str, catalog: &Path, global: &[&str], listen: &str) -> Server {
        ensure_images();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.toml"), config).unwrap();
        let mut child = ctfdeck_command(dir.path(), catalog)
            .args(global)
            .args(["serve", "--listen", listen])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start ctfdeck serve");
        // The first line names the address it bound (port 0: the system chose a free one).
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
        // Keep draining its output so that it never blocks on a full pipe.
        std::thread::spawn(move || for _ in out.lines() {});
        Server {
            dir,
            child,
            catalog: catalog.to_path_buf(),
            base: format!("http://{addr}"),
        }
    }

    pub fn store_path(&self) -> PathBuf {
        self.dir.path().join("s.db")
    }

    pub fn ctfdeck(&self, args: &[&str]) -> Output {
        ctfdeck_command(self.dir.path(), &self.catalog)
            .args(args)
            .output()
            .unwrap()
    }

    pub fn token(&self, name: &str, role: &str) -> String {
        let o = self.ctfdeck(&["token", "add", name, "--role", role]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let out = String::from_utf8(o.stdout).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "token add printed more than the token: {out:?}"
        );
        assert!(lines[0].starts_with("ctfd_"), "{out:?}");
        lines[0].to_string()
    }

    /// One request through curl; `headers` as `Name: value`.
    pub fn call(&self, method: &str, path: &str, headers: &[String], body: Option<&[u8]>) -> Reply {
        // curl's exit 7 (nothing accepted the connection) is asked again a few times: the
        // request never reached the server, so nothing is hidden by asking again. Any other
        // failure (an empty or cut reply) fails the test, with curl's own words.
        let mut out = self.curl(method, path, headers, body);
        for _ in 0..3 {
            if out.status.code() != Some(7) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(500));
            out = self.curl(method, path, headers, body);
        }
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                panic!(
                    "no HTTP answer to {method} {path}: {text:?} (curl {}: {})",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                )
            });
        Reply {
            status,
            headers: head.to_ascii_lowercase(),
            body: body.to_string(),
        }
    }

    fn curl(
        &self,
        method: &str,
        path: &str,
        headers: &[String],
        body: Option<&[u8]>,
    ) -> std::process::Output {
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "-i", "--max-time", "120", "-X", method])
            .arg(format!("{}{path}", self.base));
        for h in headers {
            cmd.arg("-H").arg(h);
        }
        if body.is_some() {
            cmd.args([
                "-H",
                "Content-Type: application/json",
                "--data-binary",
                "@-",
            ]);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run curl");
        let mut stdin = child.stdin.take().unwrap();
        if let Some(body) = body {
            stdin.write_all(body).unwrap();
        }
        drop(stdin);
        child.wait_with_output().unwrap()
    }

    /// SIGTERM, and the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        self.child.wait().unwrap()
    }

    /// Containers and networks of this server's store still on the engine.
    pub fn leftovers(&self) -> (Vec<String>, Vec<String>) {
        let store_id = Store::open(&self.store_path())
            .unwrap()
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

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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

pub fn ctfdeck_command(dir: &Path, catalog: &Path) -> Command {
    let mut cmd = Command::new(bin());
    cmd.arg("--store")
        .arg(dir.join("s.db"))
        .arg("--catalog")
        .arg(catalog)
        .arg("--config")
        .arg(dir.join("config.toml"));
    cmd
}

pub fn auth(token: &str, owner: &str) -> Vec<String> {
    vec![
        format!("Authorization: Bearer {token}"),
        format!("X-Ctfdeck-Owner: {owner}"),
        "X-Ctfdeck-Actor: alice (user 17)".to_string(),
    ]
}
