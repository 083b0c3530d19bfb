#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Dynamic flags, "whose flag" and the audit trail.

mod common;

use std::process::Command;

use common::{Fixture, repo};
use ctfdeck::domain::{FlagOwner, Submission, flags};
use futures_util::StreamExt;

#[tokio::test(flavor = "multi_thread")]
async fn flags_are_unique_reproducible_and_never_in_logs_or_audit() {
    let f = Fixture::new().await;
    let mut flags_seen = Vec::new();
    let mut ids = Vec::new();
    for team in ["team:f1", "team:f2", "team:f3"] {
        let rec = f.spawn("web-cmdinject", team).await;
        let flag = rec.flag.clone().unwrap();
        assert!(flag.starts_with("flag{") && flag.len() == 22, "{flag}");
        // Reproducible from the store's secret and the instance id.
        let secret = f.lifecycle.store().setting("flag_secret").unwrap().unwrap();
        assert_eq!(
            flags::render("flag{<hex:16>}", secret.as_bytes(), &rec.id),
            flag
        );
        // The instance really holds it (through the challenge's own bug).
        let (host, port) = common::address_of(&rec.ports[0]);
        // Its port proxy and server may need a moment after the spawn returns.
        common::http_status_line_on(&host, port);
        let out = Command::new(repo().join("challenges/web-cmdinject/solve.sh"))
            .args(["--connection-info", &format!("http://{host}:{port}")])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), flag);
        flags_seen.push(flag);
        ids.push((rec.id.clone(), rec.container_id.clone().unwrap()));
    }
    flags_seen.sort();
    flags_seen.dedup();
    assert_eq!(flags_seen.len(), 3, "unique per instance");

    for (id, container) in &ids {
        let logs: Vec<String> = f
            .engine
            .logs(container, false, None)
            .map(|l| l.unwrap())
            .collect()
            .await;
        for flag in &flags_seen {
            assert!(
                !logs.concat().contains(flag.as_str()),
                "flag in logs of {id}"
            );
        }
    }
    f.lifecycle.stop(&ids[0].0, "test").await.unwrap();
    let audit = f.lifecycle.store().audit_tail(1000).unwrap();
    let text = format!("{audit:?}");
    for flag in &flags_seen {
        assert!(!text.contains(flag.as_str()), "flag in the audit");
    }

    // whose: the stopped one and a live one.
    let stopped_flag = f
        .lifecycle
        .store()
        .instance(&ids[0].0)
        .unwrap()
        .unwrap()
        .flag
        .unwrap();
    let found = f
        .lifecycle
        .whose_flag(&format!(" {stopped_flag}\n"))
        .unwrap();
    match found.as_slice() {
        [FlagOwner::Instance(i)] => {
            assert_eq!(i.id, ids[0].0);
            assert_eq!(i.owner, "team:f1");
            assert_eq!(i.status, "stopped");
        }
        other => panic!("{other:?}"),
    }
    let live_flag = f
        .lifecycle
        .store()
        .instance(&ids[2].0)
        .unwrap()
        .unwrap()
        .flag
        .unwrap();
    let out = f
        .cli()
        .args(["flag", "whose", &live_flag, "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["kind"], "instance");
    assert_eq!(v[0]["owner"], "team:f3");
    assert!(
        f.lifecycle
            .whose_flag("flag{0000000000000000}")
            .unwrap()
            .is_empty()
    );
    f.cleanup().await;
}

/// `ctfdeck flag whose FLAG --submitted-by OWNER` on the fixture's store.
fn submitted(f: &Fixture, flag: &str, by: &str, json: bool) -> std::process::Output {
    let mut cmd = f.cli();
    cmd.args(["flag", "whose", flag, "--submitted-by", by]);
    if json {
        cmd.arg("--json");
    }
    cmd.output().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flag_submitted_by_another_owner_is_called_shared_and_audited() {
    let f = Fixture::new().await;
    let a = f.spawn("nc-calc", "team:a").await;
    let b = f.spawn("nc-calc", "team:b").await;
    let flag_a = a.flag.clone().unwrap();

    // Its own flag: exit 0, nothing recorded.
    let own = submitted(&f, &flag_a, "team:a", false);
    assert!(own.status.success(), "{own:?}");
    let out = String::from_utf8_lossy(&own.stdout);
    assert!(out.starts_with(&format!("own flag: {}", a.id)), "{out}");

    // team:b hands in team:a's flag: exit 1, the verdict names both, the audit records it.
    let shared = submitted(&f, &flag_a, "team:b", true);
    assert_eq!(shared.status.code(), Some(1), "{shared:?}");
    let err = String::from_utf8_lossy(&shared.stderr);
    assert!(
        err.contains(&format!("shared flag: it belongs to {}", a.id))
            && err.contains("submitted by team:b"),
        "{err}"
    );
    let verdict: serde_json::Value = serde_json::from_slice(&shared.stdout).unwrap();
    assert_eq!(verdict["verdict"], "shared");
    assert_eq!(verdict["instance"]["owner"], "team:a");
    assert_eq!(verdict["submitted_by"], "team:b");
    let audit = f.lifecycle.store().audit_tail(100).unwrap();
    let detected: Vec<_> = audit.iter().filter(|e| e.action == "flag-shared").collect();
    assert_eq!(detected.len(), 1, "{audit:#?}");
    assert_eq!(detected[0].instance.as_deref(), Some(a.id.as_str()));
    assert!(detected[0].detail.contains("submitted by team:b"));
    assert!(!format!("{audit:?}").contains(&flag_a), "flag in the audit");

    // Still told after the owner's instance stopped.
    f.lifecycle.stop(&a.id, "test").await.unwrap();
    let late = submitted(&f, &flag_a, "user:mallory", false);
    assert_eq!(late.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&late.stderr).contains("submitted by user:mallory"));

    // A flag nobody holds: exit 1, and nothing new in the audit.
    let unknown = submitted(&f, "flag{0000000000000000}", "team:b", false);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no instance holds this flag"));
    let detected = f
        .lifecycle
        .store()
        .audit_tail(100)
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "flag-shared")
        .count();
    assert_eq!(detected, 2, "the stopped-instance case and the first");
    assert!(b.flag.is_some());
    f.cleanup().await;
}

/// A catalog of variants of the bundled nc-calc (its image as built, no build of their own),
/// each `(id, flag block)`.
fn nc_calc_variants(dir: &std::path::Path, variants: &[(&str, serde_json::Value)]) {
    let base: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("challenges/nc-calc/challenge.json")).unwrap(),
    )
    .unwrap();
    for (id, flag) in variants {
        let mut def = base.clone();
        def["id"] = serde_json::json!(id);
        def["flag"] = flag.clone();
        def["container"].as_object_mut().unwrap().remove("build");
        def.as_object_mut().unwrap().remove("smoke");
        std::fs::create_dir(dir.join(id)).unwrap();
        std::fs::write(
            dir.join(id).join("challenge.json"),
            serde_json::to_string_pretty(&def).unwrap(),
        )
        .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn flags_reach_the_container_as_the_definition_says() {
    let dir = tempfile::tempdir().unwrap();
    nc_calc_variants(
        dir.path(),
        &[
            (
                "nc-static",
                serde_json::json!({"static": "flag{same-for-everyone}", "inject": "env:FLAG"}),
            ),
            (
                "nc-file",
                serde_json::json!({"template": "flag{<hex:16>}", "inject": "file:/tmp/flag.txt"}),
            ),
        ],
    );
    let f = Fixture::with_catalog(dir.path()).await;
    let in_container = |id: String, script: &'static str| {
        let engine = f.engine.clone();
        async move {
            let out = engine.exec(&id, &["sh", "-c", script]).await.unwrap();
            assert_eq!(out.exit_code, 0, "{}", out.output);
            out.output.trim().to_string()
        }
    };

    // A static flag: the same for two teams, in the variable the definition names.
    let a = f.spawn("nc-static", "team:a").await;
    let b = f.spawn("nc-static", "team:b").await;
    for rec in [&a, &b] {
        let env = in_container(rec.container_id.clone().unwrap(), "echo \"$FLAG\"").await;
        assert_eq!(env, "flag{same-for-everyone}");
    }

    // A per-instance flag in a file: in the tmpfs, readable by the challenge's user only, and
    // not in the environment.
    let c = f.spawn("nc-file", "team:c").await;
    let flag = c.flag.clone().unwrap();
    assert!(flag.starts_with("flag{") && flag.len() == 22, "{flag}");
    let container = c.container_id.clone().unwrap();
    assert_eq!(
        in_container(container.clone(), "cat /tmp/flag.txt").await,
        flag
    );
    assert_eq!(
        in_container(container.clone(), "stat -c '%a %u:%g' /tmp/flag.txt").await,
        format!("600 {}", ctfdeck::domain::DEFAULT_USER)
    );
    let env = in_container(container, "env").await;
    assert!(
        !env.contains(&flag),
        "the file flag is also in the environment"
    );
    f.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_static_flag_cannot_tell_sharing() {
    // A catalog whose one challenge has a static flag (the image is the bundled nc-calc's).
    let dir = tempfile::tempdir().unwrap();
    let mut def: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("challenges/nc-calc/challenge.json")).unwrap(),
    )
    .unwrap();
    def["flag"] = serde_json::json!({"static": "flag{same-for-everyone}"});
    def["container"].as_object_mut().unwrap().remove("build");
    def.as_object_mut().unwrap().remove("smoke");
    std::fs::create_dir(dir.path().join("nc-calc")).unwrap();
    std::fs::write(
        dir.path().join("nc-calc/challenge.json"),
        serde_json::to_string_pretty(&def).unwrap(),
    )
    .unwrap();
    let f = Fixture::with_catalog(dir.path()).await;
    let out = submitted(&f, "flag{same-for-everyone}", "team:b", false);
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("static flag of nc-calc"),
        "{out:?}"
    );
    let shared = f
        .lifecycle
        .check_submission("flag{same-for-everyone}", &"team:b".parse().unwrap())
        .unwrap();
    assert_eq!(
        shared,
        Submission::Static {
            challenge: "nc-calc".into()
        }
    );
}
