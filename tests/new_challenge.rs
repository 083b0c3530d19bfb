#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `ctfdeck new` for each template gives a folder that passes `catalog check` and `smoke` on
//! the real engine as generated. Each test removes the image its smoke run built.

mod common;
mod smoke_support;

use std::path::Path;
use std::process::{Command, Output};

use bollard::Docker;
use bollard::query_parameters::RemoveImageOptionsBuilder;
use common::{bin, repo};
use smoke_support::{leftovers, reports, stderr};

fn ctfdeck(dir: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .current_dir(dir)
        .args(["--store", "smoke.db"])
        .args(args)
        .env_remove("CTFDECK_CONFIG")
        .env_remove("CTFDECK_ENGINE")
        .env_remove("CTFDECK_CATALOG")
        .output()
        .expect("run ctfdeck")
}

async fn remove_image(reference: &str) {
    let docker = Docker::connect_with_local_defaults().expect("engine");
    let opts = RemoveImageOptionsBuilder::default().force(true).build();
    // Gone already (the build failed) is fine; the assertions below say what went wrong.
    let _ = docker.remove_image(reference, Some(opts), None).await;
}

async fn generated_challenge_passes(template: &str) {
    let base = Command::new(repo().join("scripts/busybox-base"))
        .status()
        .expect("run scripts/busybox-base");
    assert!(base.success(), "scripts/busybox-base failed");
    let tmp = tempfile::tempdir().unwrap();
    // Unique per run: parallel runs of this test must not share an image.
    let id = format!("new-{template}-{}", std::process::id());

    let created = ctfdeck(
        tmp.path(),
        &["new", &id, "--template", template, "--dir", "authored"],
    );
    let check = ctfdeck(tmp.path(), &["catalog", "check", "authored"]);
    // As CI runs it: every challenge of the catalog, one JSON report each.
    let smoke = ctfdeck(
        tmp.path(),
        &["--catalog", "authored", "smoke", "--all", "--json"],
    );
    remove_image(&format!("ctfdeck/{id}:latest")).await;

    assert_eq!(created.status.code(), Some(0), "{}", stderr(&created));
    let printed = String::from_utf8_lossy(&created.stdout);
    assert!(printed.contains("next:"), "{printed}");
    assert!(
        printed.contains(&format!("3. ctfdeck --catalog authored smoke {id}")),
        "{printed}"
    );
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(tmp.path().join("authored").join(&id).join("challenge.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(json["$schema"], "../schema.json");
    assert!(tmp.path().join("authored/schema.json").is_file());

    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
    assert_eq!(
        String::from_utf8_lossy(&check.stdout),
        "",
        "catalog check prints no problem"
    );

    assert_eq!(
        smoke.status.code(),
        Some(0),
        "{}\nreport: {}",
        stderr(&smoke),
        String::from_utf8_lossy(&smoke.stdout)
    );
    let reports = reports(&smoke);
    assert_eq!(reports.len(), 1, "{reports:#?}");
    let report = &reports[0];
    assert_eq!(report["challenge"], id.as_str());
    assert_eq!(report["status"], "passed", "{report:#}");
    let stages: Vec<&str> = report["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            assert_eq!(s["status"], "passed", "{s}");
            s["stage"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        stages,
        ["validate", "build", "spawn", "ready", "check", "teardown"]
    );
    assert_eq!(
        leftovers(&tmp.path().join("smoke.db")).await,
        Vec::<String>::new()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_web_challenge_passes_check_and_smoke() {
    generated_challenge_passes("web").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_tcp_challenge_passes_check_and_smoke() {
    generated_challenge_passes("tcp").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_static_files_challenge_passes_check_and_smoke() {
    generated_challenge_passes("static-files").await;
}

#[test]
fn new_refuses_a_folder_that_exists_and_leaves_it_alone() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("challenges/mine")).unwrap();
    std::fs::write(tmp.path().join("challenges/mine/notes.txt"), "keep").unwrap();
    let o = ctfdeck(tmp.path(), &["new", "mine", "--template", "tcp"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("challenges/mine already exists"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::read_dir(tmp.path().join("challenges/mine"))
            .unwrap()
            .count(),
        1
    );
}

#[test]
fn every_template_is_valid_against_the_schema_it_points_to() {
    for template in ["web", "tcp", "static-files"] {
        let tmp = tempfile::tempdir().unwrap();
        let o = ctfdeck(tmp.path(), &["new", "schema-check", "--template", template]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let dir = tmp.path().join("challenges");
        let read = |p: &Path| -> serde_json::Value {
            serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
        };
        let instance = read(&dir.join("schema-check/challenge.json"));
        // `$schema` is relative to the challenge file: the catalog's schema.json.
        let schema_path = dir
            .join("schema-check")
            .join(instance["$schema"].as_str().unwrap());
        let validator = jsonschema::draft202012::new(&read(&schema_path)).unwrap();
        let problems: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| e.to_string())
            .collect();
        assert_eq!(problems, Vec::<String>::new(), "{template}");
    }
}
