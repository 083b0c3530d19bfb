#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The console served over SSH by the real `ctfdeck serve`, met with the real OpenSSH client
//! in tmux against the real engine: staff keys get the console (an admin acts, a monitor is
//! refused), unknown keys, commands, subsystems and forwarding are refused, SIGHUP drops a
//! removed key without dropping open sessions, and a client killed mid-session leaves
//! nothing behind; agent and X11 forwarding are refused with the console still served, a
//! console nobody types in is closed, and a client that stops reading holds up no one else.
//! Needs ssh, tmux and an engine; without them it fails, it never skips.

mod common;
mod console_support;

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{bin, ensure_images, repo};
use console_support::{EngineCleanup, Tmux};
use ctfdeck::store::{InstanceFilter, Store};

const WAIT: Duration = Duration::from_secs(60);

fn need(tool: &str) -> Command {
    if Command::new(tool).arg("-V").output().is_err() {
        panic!(
            "this test needs {tool} (apt-get install openssh-client) (CI={:?})",
            std::env::var("CI").ok()
        );
    }
    Command::new(tool)
}

/// A key pair made by ssh-keygen: (private key path, public key line).
fn keygen(dir: &Path, name: &str) -> (PathBuf, String) {
    let path = dir.join(name);
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C"])
        .arg(format!("{name}@test"))
        .arg("-f")
        .arg(&path)
        .output()
        .expect("this test needs ssh-keygen (apt-get install openssh-client)");
    assert!(out.status.success(), "{out:?}");
    let public = std::fs::read_to_string(path.with_extension("pub")).unwrap();
    (path, public.trim().to_string())
}

/// Sessions the server takes at once: the admin and 20 more (the monitor's is gone by then).
const MAX_SESSIONS: usize = 21;

fn config(listen: &str, host_key: &Path, staff: &[(&str, &str, &str)]) -> String {
    config_with(listen, host_key, staff, "")
}

/// The config with more `[ssh]` settings (`extra`, TOML lines).
fn config_with(listen: &str, host_key: &Path, staff: &[(&str, &str, &str)], extra: &str) -> String {
    let mut text = format!(
        "public_host = \"127.0.0.1\"\n[container]\nbind_address = \"127.0.0.1\"\n[ssh]\nlisten = \"{listen}\"\nhost_key = \"{}\"\nmax_sessions = {MAX_SESSIONS}\n{extra}",
        host_key.display()
    );
    for (name, role, key) in staff {
        text.push_str(&format!(
            "[[ssh.staff]]\nname = \"{name}\"\nrole = \"{role}\"\nkeys = [\"{key}\"]\n"
        ));
    }
    text
}

/// `ctfdeck serve` with SSH on a port of its own; everything it prints is kept for the test.
struct Server {
    child: Child,
    port: u16,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(dir: &Path, store: &Path, catalog: &Path) -> Server {
        let mut child = Command::new(bin())
            .arg("--store")
            .arg(store)
            .arg("--catalog")
            .arg(catalog)
            .arg("--config")
            .arg(dir.join("config.toml"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env_remove("CTFDECK_CONFIG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start ctfdeck serve");
        let lines = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    lines.lock().unwrap().push(line);
                }
            });
        }
        let mut server = Server {
            child,
            port: 0,
            lines,
        };
        let line = server.wait_line("the SSH listener", "serving the console over SSH on");
        let addr = line
            .split("SSH on ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap();
        server.port = addr.rsplit(':').next().unwrap().parse().unwrap();
        server
    }

    /// Lines printed so far that contain `text`.
    fn count(&self, text: &str) -> usize {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(text))
            .count()
    }

    /// Sockets the server holds open: listeners, clients, engine connections. (Not all
    /// files: SQLite keeps the descriptors of closed store connections for reuse while the
    /// reaper's connection holds a lock on the same file.)
    fn open_sockets(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .unwrap()
            .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
            .filter(|target| target.to_string_lossy().starts_with("socket:"))
            .count()
    }

    fn output(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    fn wait_line(&mut self, what: &str, text: &str) -> String {
        let start = Instant::now();
        loop {
            if let Some(line) = self.lines.lock().unwrap().iter().find(|l| l.contains(text)) {
                return line.clone();
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("serve exited ({status}) before {what}:\n{}", self.output());
            }
            if start.elapsed() > WAIT {
                panic!("timed out waiting for {what}:\n{}", self.output());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The arguments of a non-interactive `ssh` to this server with `key`.
    fn ssh_args(&self, key: &Path) -> Vec<String> {
        [
            "-F",
            "/dev/null",
            "-i",
            &key.display().to_string(),
            "-p",
            &self.port.to_string(),
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            "LogLevel=ERROR",
            "-o",
            "ConnectTimeout=20",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    fn ssh(&self, key: &Path, extra: &[&str]) -> Output {
        need("ssh")
            .args(self.ssh_args(key))
            .args(extra)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// An interactive `ssh -tt` as tmux runs it.
    fn ssh_command(&self, key: &Path, user: &str) -> String {
        format!(
            "ssh -tt {} {user}@127.0.0.1; echo \"ssh exited $?\"; sleep 600",
            self.ssh_args(key).join(" ")
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn row<'a>(screen: &'a str, owner: &str) -> Option<&'a str> {
    screen.lines().find(|l| l.contains(owner))
}

#[test]
fn staff_get_the_console_over_ssh_and_nothing_else() {
    ensure_images();
    need("ssh");
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog");
    common::copy_dir(
        &repo().join("challenges/web-robots"),
        &catalog.join("web-robots"),
    );
    let store = dir.path().join("ssh.db");
    let _cleanup = EngineCleanup {
        store: store.clone(),
    };
    let (alice_key, alice_pub) = keygen(dir.path(), "alice");
    let (bob_key, bob_pub) = keygen(dir.path(), "bob");
    let (mallory_key, _) = keygen(dir.path(), "mallory");
    let host_key = dir.path().join("keys/ssh_host_ed25519_key");
    let staff = [
        ("alice", "admin", alice_pub.as_str()),
        ("bob", "monitor", bob_pub.as_str()),
    ];
    let config_path = dir.path().join("config.toml");
    std::fs::write(&config_path, config("127.0.0.1:0", &host_key, &staff)).unwrap();
    let mut server = Server::start(dir.path(), &store, &catalog);

    // The host key was made on first start, private, and its fingerprint printed.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&host_key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "host key mode");
    let fingerprint = String::from_utf8_lossy(
        &Command::new("ssh-keygen")
            .arg("-l")
            .arg("-f")
            .arg(&host_key)
            .output()
            .unwrap()
            .stdout,
    )
    .split_whitespace()
    .nth(1)
    .unwrap()
    .to_string();
    assert!(fingerprint.starts_with("SHA256:"), "{fingerprint}");
    assert!(
        server.output().contains(&fingerprint),
        "serve prints the host key's fingerprint {fingerprint}:\n{}",
        server.output()
    );
    let doctor = Command::new(bin())
        .arg("--store")
        .arg(&store)
        .arg("--catalog")
        .arg(&catalog)
        .arg("--config")
        .arg(&config_path)
        .arg("doctor")
        .env_remove("CTFDECK_CONFIG")
        .output()
        .unwrap();
    assert!(
        text(&doctor).contains(&fingerprint),
        "doctor shows the fingerprint:\n{}",
        text(&doctor)
    );

    // An unknown key is refused, and the refusal is logged with its fingerprint.
    let o = server.ssh(&mallory_key, &["mallory@127.0.0.1", "true"]);
    assert_eq!(o.status.code(), Some(255), "{}", text(&o));
    assert!(text(&o).contains("Permission denied"), "{}", text(&o));
    server.wait_line("the refusal in the log", "refused unknown key SHA256:");

    // A known key asking for anything but the console is refused: a command, sftp, forwarding.
    let o = server.ssh(&alice_key, &["alice@127.0.0.1", "ls", "/"]);
    assert_ne!(o.status.code(), Some(0), "exec: {}", text(&o));
    assert!(
        text(&o).contains("only the console") || text(&o).contains("exec request failed"),
        "exec: {}",
        text(&o)
    );
    assert!(!text(&o).contains("bin"), "no listing: {}", text(&o));
    let o = server.ssh(&alice_key, &["-s", "alice@127.0.0.1", "sftp"]);
    assert_ne!(o.status.code(), Some(0), "sftp: {}", text(&o));
    // -W is the local forward (-L) of one connection: a direct-tcpip channel.
    let o = server.ssh(&alice_key, &["-W", "127.0.0.1:22", "alice@127.0.0.1"]);
    assert_ne!(o.status.code(), Some(0), "-W/-L: {}", text(&o));
    assert!(
        text(&o).contains("administratively prohibited") || text(&o).contains("failed"),
        "-W/-L: {}",
        text(&o)
    );
    let o = server.ssh(
        &alice_key,
        &[
            "-N",
            "-o",
            "ExitOnForwardFailure=yes",
            "-R",
            "0:127.0.0.1:22",
            "alice@127.0.0.1",
        ],
    );
    assert_ne!(o.status.code(), Some(0), "-R: {}", text(&o));
    assert!(text(&o).contains("forwarding failed"), "-R: {}", text(&o));
    // Without a terminal there is no console either.
    let o = server.ssh(&alice_key, &["-T", "alice@127.0.0.1"]);
    assert_ne!(o.status.code(), Some(0), "no pty: {}", text(&o));

    // The admin: the console, sized from the window, acting by keys.
    let pid = std::process::id();
    let admin = Tmux::start(
        &format!("ctfdeck-ssh-admin-{pid}"),
        &server.ssh_command(&alice_key, "alice"),
        120,
        32,
        WAIT,
    );
    let s = admin.wait("the console over SSH", |s| {
        s.contains("Instances 0/0") && s.contains("● engine")
    });
    assert!(s.contains("web-robots"), "{s}");
    admin.keys(&["s"]);
    admin.wait_for("Spawn web-robots");
    admin.text("team:ssh");
    admin.keys(&["Enter"]);
    admin.wait("a running instance", |s| {
        row(s, "team:ssh").is_some_and(|r| r.contains("running"))
    });
    admin.keys(&["e"]);
    admin.wait("the extension", |s| {
        row(s, "team:ssh").is_some_and(|r| r.contains("1/3"))
    });

    // The monitor: the same live view, every mutating key refused.
    let monitor = Tmux::start(
        &format!("ctfdeck-ssh-monitor-{pid}"),
        &server.ssh_command(&bob_key, "bob"),
        100,
        30,
        WAIT,
    );
    monitor.wait("the monitor's console", |s| {
        row(s, "team:ssh").is_some_and(|r| r.contains("running"))
    });
    monitor.keys(&["x"]);
    monitor.wait_for("stop refused: this console is read-only");
    monitor.keys(&["s"]);
    monitor.wait_for("spawn refused: this console is read-only");
    monitor.keys(&["e"]);
    monitor.wait_for("extend refused: this console is read-only");
    // The rest of the key table's mutating and admin-only keys, each in its pane.
    for (key, action) in [
        ("r", "reset"),
        ("P", "purge"),
        ("t", "smoke"),
        ("N", "node"),
    ] {
        monitor.keys(&[key]);
        monitor.wait_for(&format!("{action} refused: this console is read-only"));
    }
    monitor.keys(&["Enter"]);
    monitor.wait_for("Instance ");
    monitor.keys(&["v"]);
    monitor.wait_for("reveal refused: this console is read-only");
    monitor.keys(&["q"]);
    monitor.wait("the detail closed", |s| !s.contains("Instance "));
    // `b` means something only in the catalog pane: its refusal says the focus moved there.
    monitor.keys(&["BTab", "b"]);
    monitor.wait_for("build refused: this console is read-only");
    monitor.keys(&["Tab"]);
    // Resized: the console follows the client's window.
    assert!(
        Command::new("tmux")
            .args(["resize-window", "-t", &format!("ctfdeck-ssh-monitor-{pid}")])
            .args(["-x", "80", "-y", "24"])
            .status()
            .unwrap()
            .success()
    );
    monitor.wait("the console redrawn at 80x24", |s| {
        s.lines().count() <= 24
            && s.lines()
                .any(|l| l.contains("team:ssh") && l.chars().count() <= 80)
    });

    // SIGHUP with bob's key removed: bob can no longer log in; his open console stays.
    std::fs::write(&config_path, config("127.0.0.1:0", &host_key, &staff[..1])).unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.child.id() as i32),
        nix::sys::signal::Signal::SIGHUP,
    )
    .unwrap();
    server.wait_line("the reload", "SSH staff reloaded: 1 keys");
    let o = server.ssh(&bob_key, &["bob@127.0.0.1", "true"]);
    assert_eq!(o.status.code(), Some(255), "bob after reload: {}", text(&o));
    assert!(text(&o).contains("Permission denied"), "{}", text(&o));

    // The admin stops it; the monitor's session, still open, sees it go.
    admin.keys(&["x"]);
    admin.wait_for("Confirm stop");
    admin.keys(&["y"]);
    admin.wait("the instance gone", |s| {
        s.contains("Instances 0/0") && s.contains("stopped 1 instance(s)")
    });
    monitor.wait("the stop seen by the monitor", |s| {
        s.contains("Instances 0/0")
    });

    // The audit names the staff member and the client address; the monitor did nothing.
    let audit = Store::open(&store).unwrap().audit_tail(100).unwrap();
    for action in ["spawn", "extend", "stop"] {
        assert!(
            audit.iter().any(|e| e.action.contains(action)
                && e.actor == "alice"
                && e.origin == "ssh:127.0.0.1"),
            "{action} by alice from ssh:127.0.0.1 in {audit:#?}"
        );
    }
    assert!(
        !audit.iter().any(|e| e.actor == "bob"),
        "the monitor changed nothing: {audit:#?}"
    );
    let live = Store::open(&store)
        .unwrap()
        .list_instances(&InstanceFilter::default())
        .unwrap();
    assert!(live.is_empty(), "{live:?}");

    // A client killed mid-session: the server notices and frees the session.
    drop(monitor);
    server.wait_line("the killed client's session to end", "SSH: bob left");
    // With the admin alone: their client, and the engine connection all sessions share.
    let sockets_alone = server.open_sockets();

    // 20 more sessions at once, each its own console; one more is turned away.
    let crowd: Vec<Tmux> = (0..MAX_SESSIONS - 1)
        .map(|i| {
            Tmux::start(
                &format!("ctfdeck-ssh-crowd{i}-{pid}"),
                &server.ssh_command(&alice_key, "alice"),
                80,
                24,
                WAIT,
            )
        })
        .collect();
    for t in &crowd {
        t.wait("a console in the crowd", |s| s.contains("Instances 0/0"));
    }
    let o = server.ssh(&alice_key, &["-tt", "alice@127.0.0.1"]);
    assert_ne!(o.status.code(), Some(0), "over the limit: {}", text(&o));
    server.wait_line("the turned-away session", "session limit reached");
    // Clients killed mid-session (tmux gone, ssh hung up): every session ends on the server.
    let left_before = server.count("SSH: alice left");
    drop(crowd);
    let start = Instant::now();
    while server.count("SSH: alice left") < left_before + MAX_SESSIONS - 1 {
        assert!(
            start.elapsed() < WAIT,
            "the killed clients' sessions did not all end:\n{}",
            server.output()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Nothing of theirs is left open in the server: no client, no engine connection.
    let start = Instant::now();
    while server.open_sockets() > sockets_alone {
        assert!(
            start.elapsed() < WAIT,
            "the server holds {} sockets, {sockets_alone} with one session",
            server.open_sockets()
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // Quitting gives the client its terminal back, and ssh ends with success.
    admin.keys(&["q"]);
    let s = admin.wait_for("ssh exited 0");
    assert!(
        !s.contains("Instances"),
        "the console's screen is gone: {s}"
    );
    server.wait_line("the admin's session to end", "SSH: alice left");

    // And the last one's client socket is closed too.
    let start = Instant::now();
    while server.open_sockets() >= sockets_alone {
        assert!(
            start.elapsed() < WAIT,
            "the server holds {} sockets, {sockets_alone} while the session was open",
            server.open_sockets()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// How many lines of the server's output contain `text`, waited for until there are `n`.
fn wait_count(server: &mut Server, what: &str, text: &str, n: usize) {
    let start = Instant::now();
    while server.count(text) < n {
        assert!(
            start.elapsed() < WAIT,
            "timed out waiting for {what}:\n{}",
            server.output()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn forwarding_asked_along_is_refused_idle_consoles_close_and_a_stalled_client_holds_up_no_one() {
    ensure_images();
    need("ssh");
    need("ssh-agent");
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog");
    common::copy_dir(
        &repo().join("challenges/web-robots"),
        &catalog.join("web-robots"),
    );
    let store = dir.path().join("ssh.db");
    let _cleanup = EngineCleanup {
        store: store.clone(),
    };
    let (alice_key, alice_pub) = keygen(dir.path(), "alice");
    let host_key = dir.path().join("ssh_host_ed25519_key");
    let staff = [("alice", "admin", alice_pub.as_str())];
    // Long enough for the steps below to type in time, short enough to wait for.
    let idle = "idle_timeout = \"20s\"\n";
    std::fs::write(
        dir.path().join("config.toml"),
        config_with("127.0.0.1:0", &host_key, &staff, idle),
    )
    .unwrap();
    let mut server = Server::start(dir.path(), &store, &catalog);
    let pid = std::process::id();

    // Agent (-A, with an agent running) and X11 (-X, with a display named; trusted, so the
    // client asks even without an X server to make a cookie for) forwarding asked for
    // along with the console: both refused, the console served all the same.
    let forwarding = Tmux::start(
        &format!("ctfdeck-ssh-fwd-{pid}"),
        &format!(
            "eval $(ssh-agent -s) >/dev/null; ssh-add {} 2>/dev/null; DISPLAY=127.0.0.1:99 \
             ssh -tt -A -X -o ForwardX11Trusted=yes {} alice@127.0.0.1; echo \"ssh exited $?\"; \
             ssh-agent -k >/dev/null; sleep 600",
            alice_key.display(),
            server.ssh_args(&alice_key).join(" ")
        ),
        100,
        30,
        WAIT,
    );
    forwarding.wait("the console with forwarding asked", |s| {
        s.contains("Instances 0/0") && s.contains("● engine")
    });
    server.wait_line("the agent refusal", "refused agent forwarding from alice");
    server.wait_line("the X11 refusal", "refused X11 forwarding from alice");

    // A client whose output nobody reads (its terminal is a pipe into `sleep`): the server
    // cannot deliver its frames, and must not let that stop anyone else.
    let mut stalled = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "script -qfc 'stty cols 200 rows 60; exec ssh -tt {} alice@127.0.0.1' /dev/null | sleep 600",
            server.ssh_args(&alice_key).join(" ")
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    wait_count(
        &mut server,
        "the stalled client's session",
        "SSH: alice (admin) connected",
        2,
    );

    // Another console acts and sees every step while the stalled one gets nothing through.
    let admin = Tmux::start(
        &format!("ctfdeck-ssh-act-{pid}"),
        &server.ssh_command(&alice_key, "alice"),
        120,
        32,
        WAIT,
    );
    admin.wait_for("Instances 0/0");
    for round in 0..3 {
        let owner = format!("team:stall{round}");
        admin.keys(&["s"]);
        admin.wait_for("Spawn web-robots");
        admin.text(&owner);
        admin.keys(&["Enter"]);
        admin.wait("the instance running", |s| {
            row(s, &owner).is_some_and(|r| r.contains("running"))
        });
        admin.keys(&["x"]);
        admin.wait_for("Confirm stop");
        admin.keys(&["y"]);
        admin.wait("the instance gone", |s| row(s, &owner).is_none());
    }

    // Nobody types in the forwarding console, nor in the stalled one: both are closed, and
    // the client is told why.
    forwarding.wait_for("ssh exited");
    let s = forwarding.screen();
    assert!(s.contains("closed after 20s without a key"), "{s}");
    wait_count(
        &mut server,
        "the idle consoles to end",
        "SSH: alice left",
        2,
    );
    assert!(
        server.output().contains("refused X11 forwarding"),
        "{}",
        server.output()
    );
    // The stalled client is gone from the server; its process is ours to end.
    let _ = nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(stalled.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    let _ = stalled.wait();
    // The console that was used, once left alone, goes the same way.
    admin.wait_for("ssh exited");
    wait_count(&mut server, "the last console to end", "SSH: alice left", 3);
}
