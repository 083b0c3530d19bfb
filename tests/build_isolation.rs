#![allow(clippy::unwrap_used, clippy::expect_used)]
//! What a challenge's build can reach on this host, against the real engine: files outside the
//! challenge folder through links, the host's services through the build network or through
//! `ADD` of a URL, and the host itself through a linked smoke script. Every challenge is made
//! in a temp folder at test time (links to files outside do not belong in the repository).

mod common;

use std::fs;
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use common::{bin, repo};
use ctfdeck::catalog::Challenge;
use ctfdeck::domain::{BuildDefaults, BuildError, build_image};
use ctfdeck::engine::{BuildNetwork, DockerEngine, Engine};
use serde_json::json;

const SECRET: &str = "TOPSECRET-4f1c2a";

/// The base image every fixture builds on (built offline from the host's busybox if needed).
fn ensure_base() {
    let status = Command::new(repo().join("scripts/busybox-base"))
        .status()
        .expect("run scripts/busybox-base");
    assert!(status.success(), "scripts/busybox-base failed");
}

/// A tag no other run uses, and its removal when the test ends (pass or fail).
struct Tag(String);

impl Tag {
    fn new(name: &str) -> Tag {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        Tag(format!(
            "ctfdeck-test/build-isolation-{name}-{}-{nanos}:1",
            std::process::id()
        ))
    }
}

impl Drop for Tag {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["image", "rm", "-f", &self.0])
            .output();
    }
}

/// A challenge built from `dir`, as if the catalog had loaded it (so that the checks made
/// right before the build are what stands between it and the engine).
fn challenge(dir: &Path, tag: &Tag, build_network: serde_json::Value) -> Challenge {
    let mut c: Challenge = serde_json::from_value(json!({
        "schema_version": 1, "id": "demo", "name": "Demo",
        "container": {
            "image": tag.0, "build": ".", "build_network": build_network,
            "ports": [{"container": 8080}], "user": "1000:1000"
        },
        "flag": {"template": "flag{<hex:8>}"}
    }))
    .unwrap();
    c.dir = dir.to_path_buf();
    c.source = dir.join("challenge.json");
    c
}

fn write_definition(dir: &Path, value: serde_json::Value) {
    fs::create_dir_all(dir).unwrap();
    fs::write(
        dir.join("challenge.json"),
        serde_json::to_string_pretty(&value).unwrap(),
    )
    .unwrap();
}

fn definition(id: &str, smoke: Option<&str>) -> serde_json::Value {
    let mut v = json!({
        "schema_version": 1, "id": id, "name": id,
        "container": {
            "image": format!("ctfdeck-test/{id}:1"), "build": ".",
            "ports": [{"container": 8080, "protocol": "http"}], "user": "1000:1000"
        },
        "flag": {"template": "flag{<hex:8>}"}
    });
    if let Some(check) = smoke {
        v["smoke"] = json!({"check": check});
    }
    v
}

/// Build output, collected.
struct Output(Mutex<Vec<String>>);

impl Output {
    fn new() -> Output {
        Output(Mutex::new(Vec::new()))
    }
    fn text(&self) -> String {
        self.0.lock().unwrap().join("\n")
    }
}

async fn engine_build(
    engine: &DockerEngine,
    context: &Path,
    tag: &Tag,
    network: BuildNetwork,
) -> (Result<(), String>, String) {
    let out = Output::new();
    let progress = |line: &str| out.0.lock().unwrap().push(line.to_string());
    let result = engine
        .build_image(context, &tag.0, network, &progress)
        .await
        .map_err(|e| e.to_string());
    (result, out.text())
}

async fn domain_build(
    engine: &DockerEngine,
    challenge: &Challenge,
    defaults: &BuildDefaults,
) -> (Result<(), BuildError>, String) {
    let out = Output::new();
    let progress = |line: &str| out.0.lock().unwrap().push(line.to_string());
    let result = build_image(engine, challenge, defaults, &progress).await;
    (result, out.text())
}

/// A secret file outside the challenge folder, and a folder holding one.
fn secret_outside(root: &Path) -> (PathBuf, PathBuf) {
    let folder = root.join("private");
    fs::create_dir_all(&folder).unwrap();
    let file = root.join("shadow");
    fs::write(&file, SECRET).unwrap();
    fs::write(folder.join("key"), SECRET).unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
    fs::set_permissions(&folder, fs::Permissions::from_mode(0o700)).unwrap();
    (file, folder)
}

#[test]
fn catalog_check_refuses_links_and_scripts_that_lead_outside() {
    let outside = tempfile::tempdir().unwrap();
    let (shadow, private) = secret_outside(outside.path());
    let script = outside.path().join("solve.sh");
    fs::write(&script, "#!/bin/sh\necho ran\n").unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();

    let catalog = tempfile::tempdir().unwrap();
    let leak = catalog.path().join("leak");
    write_definition(&leak, definition("leak", None));
    fs::write(leak.join("Dockerfile"), "FROM busybox:1.36\nCOPY . /srv/\n").unwrap();
    symlink(&shadow, leak.join("shadow")).unwrap();
    symlink(&private, leak.join("keys")).unwrap();
    let solve = catalog.path().join("solve");
    write_definition(&solve, definition("solve", Some("solve.sh")));
    fs::write(solve.join("Dockerfile"), "FROM busybox:1.36\n").unwrap();
    symlink(&script, solve.join("solve.sh")).unwrap();

    let o = Command::new(bin())
        .args(["catalog", "check"])
        .arg(catalog.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let prefix = format!("{}/", catalog.path().display());
    let lines: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| l.replace(&prefix, ""))
        .collect();
    let expected = [
        format!(
            "leak/challenge.json:3:14: build context holds a link that leads outside the challenge folder: keys -> {}; copy the file into the folder instead",
            private.display()
        ),
        format!(
            "leak/challenge.json:3:14: build context holds a link that leads outside the challenge folder: shadow -> {}; copy the file into the folder instead",
            shadow.display()
        ),
    ];
    for line in &expected {
        assert!(lines.contains(line), "{line}\nnot in {lines:#?}");
    }
    let smoke = lines
        .iter()
        .find(|l| l.starts_with("solve/challenge.json:") && l.contains("smoke.check"))
        .unwrap_or_else(|| panic!("no smoke.check error in {lines:#?}"));
    assert!(
        smoke.contains(&format!(
            "smoke.check solve.sh leads to {}, outside the challenge folder",
            script.canonicalize().unwrap().display()
        )),
        "{smoke}"
    );
}

#[tokio::test]
async fn a_secret_behind_a_link_never_reaches_the_image() {
    ensure_base();
    let engine = common::engine().await;
    let outside = tempfile::tempdir().unwrap();
    let (shadow, private) = secret_outside(outside.path());
    let dir = tempfile::tempdir().unwrap();
    symlink(&shadow, dir.path().join("shadow")).unwrap();
    symlink(&private, dir.path().join("keys")).unwrap();

    // Through the domain (what `ctfdeck build`, the console and smoke use): refused outright.
    fs::write(
        dir.path().join("Dockerfile"),
        "FROM busybox:1.36\nCOPY shadow /leak\n",
    )
    .unwrap();
    let tag = Tag::new("refused");
    let c = challenge(dir.path(), &tag, serde_json::Value::Null);
    let (result, _) = domain_build(&engine, &c, &BuildDefaults::default()).await;
    let Err(BuildError::Refused { problems, .. }) = result else {
        panic!("the build was not refused: {result:?}");
    };
    assert!(
        problems.iter().any(|p| p.contains("shadow ->"))
            && problems.iter().any(|p| p.contains("keys ->")),
        "{problems:#?}"
    );
    assert!(!engine.image_present(&tag.0).await.unwrap());

    // Straight to the engine: the links travel as links, so COPY finds nothing to copy…
    let (result, output) = engine_build(&engine, dir.path(), &tag, BuildNetwork::None).await;
    let err = result.expect_err("COPY of a link to a file outside the context must fail");
    assert!(err.contains("shadow"), "{err}");
    assert!(!output.contains(SECRET), "{output}");
    for name in ["keys/key"] {
        fs::write(
            dir.path().join("Dockerfile"),
            format!("FROM busybox:1.36\nCOPY {name} /leak\n"),
        )
        .unwrap();
        let (result, output) = engine_build(&engine, dir.path(), &tag, BuildNetwork::None).await;
        assert!(result.is_err(), "{name}: {output}");
        assert!(!output.contains(SECRET), "{output}");
    }

    // …and a context copied whole holds the links, never what they point at.
    let nonce = tag.0.clone();
    fs::write(
        dir.path().join("Dockerfile"),
        format!(
            "FROM busybox:1.36\nCOPY . /c\nRUN echo {nonce}; ls -l /c; cat /c/shadow /c/keys/key || echo NO-SECRET-HERE\n"
        ),
    )
    .unwrap();
    let (result, output) = engine_build(&engine, dir.path(), &tag, BuildNetwork::None).await;
    result.unwrap_or_else(|e| panic!("{e}\n{output}"));
    assert!(output.contains("NO-SECRET-HERE"), "{output}");
    assert!(!output.contains(SECRET), "{output}");
}

/// The address a build container on the engine's default network reaches the host at: the
/// bridge's gateway, which the engine leaves out of its answer when it is the subnet's first
/// address.
fn bridge_gateway() -> Ipv4Addr {
    let o = Command::new("docker")
        .args([
            "network",
            "inspect",
            "bridge",
            "--format",
            "{{range .IPAM.Config}}{{.Gateway}} {{.Subnet}}{{end}}",
        ])
        .output()
        .expect("docker network inspect bridge");
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let mut words = text.split_whitespace();
    let (first, second) = (words.next(), words.next());
    if let (Some(gateway), Some(_)) = (first, second) {
        return gateway.parse().unwrap();
    }
    let subnet = first.unwrap_or_else(|| panic!("no subnet for the bridge network: {o:?}"));
    let network: Ipv4Addr = subnet.split('/').next().unwrap().parse().unwrap();
    Ipv4Addr::from(u32::from(network) + 1)
}

/// A TCP service on this host that counts the connections it gets and closes each at once
/// (so a client waiting for it to speak ends).
struct Listener {
    port: u16,
    connections: Arc<AtomicUsize>,
}

impl Listener {
    fn bind(address: &str) -> Listener {
        let listener = TcpListener::bind(address).unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = connections.clone();
        // Lives until the test binary ends; it only ever accepts and closes.
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                counted.fetch_add(1, Ordering::SeqCst);
                drop(stream);
            }
        });
        Listener { port, connections }
    }

    fn was_reached(&self) -> bool {
        self.connections.load(Ordering::SeqCst) > 0
    }
}

fn probing_dockerfile(dir: &Path, tag: &Tag, host: Ipv4Addr, port: u16) {
    // The tag makes the step new, so no cached layer stands in for running it.
    fs::write(
        dir.join("Dockerfile"),
        format!(
            "FROM busybox:1.36\nRUN echo {}; if timeout 10 nc -w 3 {host} {port} </dev/null; then echo PROBE-REACHED; else echo PROBE-UNREACHABLE; fi\n",
            tag.0
        ),
    )
    .unwrap();
}

#[tokio::test]
async fn builds_reach_no_host_service_unless_the_challenge_asks() {
    ensure_base();
    let engine = common::engine().await;
    let gateway = bridge_gateway();

    let listener = Listener::bind("0.0.0.0:0");
    let dir = tempfile::tempdir().unwrap();
    let tag = Tag::new("offline");
    probing_dockerfile(dir.path(), &tag, gateway, listener.port);
    let c = challenge(dir.path(), &tag, serde_json::Value::Null);
    let (result, output) = domain_build(&engine, &c, &BuildDefaults::default()).await;
    result.unwrap_or_else(|e| panic!("{e}\n{output}"));
    assert!(output.contains("PROBE-UNREACHABLE"), "{output}");
    assert!(
        !listener.was_reached(),
        "a build with the default settings reached a service on the host"
    );

    // The same probe with the network the challenge asked for does reach it: the listener
    // above was reachable, the build's network is what kept the probe out.
    let listener = Listener::bind("0.0.0.0:0");
    let tag = Tag::new("online");
    probing_dockerfile(dir.path(), &tag, gateway, listener.port);
    let c = challenge(
        dir.path(),
        &tag,
        json!({"mode": "default", "reason": "the probe needs it"}),
    );
    let (result, output) = domain_build(&engine, &c, &BuildDefaults::default()).await;
    result.unwrap_or_else(|e| panic!("{e}\n{output}"));
    assert!(output.contains("PROBE-REACHED"), "{output}");
    assert!(listener.was_reached());
}

#[tokio::test]
async fn add_of_a_url_is_refused_before_the_engine_can_fetch_it() {
    ensure_base();
    let engine = common::engine().await;
    let listener = Listener::bind("127.0.0.1:0");
    let port = listener.port;
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("Dockerfile"),
        format!("FROM busybox:1.36\nADD http://127.0.0.1:{port}/key /key\n"),
    )
    .unwrap();
    let tag = Tag::new("add");
    for network in [
        serde_json::Value::Null,
        json!({"mode": "default", "reason": "downloads"}),
    ] {
        let c = challenge(dir.path(), &tag, network);
        let (result, _) = domain_build(&engine, &c, &BuildDefaults::default()).await;
        let Err(BuildError::Refused { problems, .. }) = result else {
            panic!("ADD of a URL was not refused: {result:?}");
        };
        assert!(
            problems[0].contains(&format!(
                "Dockerfile line 2: ADD source \"http://127.0.0.1:{port}/key\""
            )),
            "{problems:#?}"
        );
    }
    assert!(
        !listener.was_reached(),
        "the engine fetched a URL on the host's loopback"
    );
}

#[test]
fn smoke_never_runs_a_check_script_linked_outside_the_folder() {
    let outside = tempfile::tempdir().unwrap();
    let marker = outside.path().join("ran");
    let script = outside.path().join("solve.sh");
    fs::write(
        &script,
        format!("#!/bin/sh\ntouch {}\necho flag{{x}}\n", marker.display()),
    )
    .unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let catalog = tempfile::tempdir().unwrap();
    let dir = catalog.path().join("solve");
    write_definition(&dir, definition("solve", Some("solve.sh")));
    fs::write(dir.join("Dockerfile"), "FROM busybox:1.36\n").unwrap();
    symlink(&script, dir.join("solve.sh")).unwrap();

    let o = Command::new(bin())
        .arg("--store")
        .arg(catalog.path().join("s.db"))
        .arg("--catalog")
        .arg(catalog.path())
        .args(["smoke", "solve"])
        .env_remove("CTFDECK_CONFIG")
        .env_remove("CTFDECK_ENGINE")
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(o.status.code(), Some(1), "{all}");
    assert!(all.contains("outside the challenge folder"), "{all}");
    assert!(!marker.exists(), "the linked script ran: {all}");
}
