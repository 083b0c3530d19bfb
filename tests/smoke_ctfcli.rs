#![allow(clippy::unwrap_used, clippy::expect_used)]
//! ctfcli challenges on the real engine: a clean `challenge.yml` is built from its folder and
//! passes the smoke test with its own solve script; an image that cannot be pulled fails the
//! build stage with a message that says so.

mod common;
mod smoke_support;

use common::{ensure_images, repo};
use smoke_support::{leftovers, reports, run, stage, stderr};

fn catalog() -> std::path::PathBuf {
    repo().join("tests/fixtures/ctfcli")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ctfcli_challenge_passes_smoke_end_to_end() {
    ensure_images();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("smoke.db");
    let out = run(&catalog(), &store, &["clean", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = &reports(&out)[0];
    assert_eq!(report["status"], "passed", "{report:#}");
    let validate = stage(report, "validate");
    assert_eq!(
        validate["message"],
        "challenge.yml is valid, with 2 warning(s)"
    );
    assert!(
        validate["details"][1]
            .as_str()
            .unwrap()
            .contains("container port 8080/http taken from the Dockerfile's EXPOSE"),
        "{validate}"
    );
    assert!(
        stage(report, "build")["message"]
            .as_str()
            .unwrap()
            .starts_with("built ctfdeck/clean:latest"),
        "{report:#}"
    );
    assert_eq!(
        stage(report, "check")["details"][0],
        format!(
            "writeup/exploit.sh --connection-info \"http://{}\"",
            report["address"].as_str().unwrap()
        )
    );
    assert_eq!(leftovers(&store).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_image_that_cannot_be_pulled_fails_the_build_stage() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("smoke.db");
    let out = run(&catalog(), &store, &["registry-image", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = &reports(&out)[0];
    assert_eq!(report["failed_stage"], "build", "{report:#}");
    let message = stage(report, "build")["message"].as_str().unwrap();
    assert!(
        message.starts_with("cannot pull image localhost:9/ctfdeck-fixtures/remote-pwn:1.0: "),
        "{message}"
    );
    assert!(message.contains("registry reachable"), "{message}");
    assert_eq!(stage(report, "spawn")["status"], "skipped");
    assert_eq!(stage(report, "teardown")["message"], "nothing was started");
    assert_eq!(leftovers(&store).await, Vec::<String>::new());
}

#[test]
fn catalog_check_reports_the_defaults_a_ctfcli_file_took() {
    let o = std::process::Command::new(common::bin())
        .args(["catalog", "check"])
        .arg(catalog().join("messy"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    let prefix = format!("{}/", catalog().join("messy").display());
    let lines: Vec<String> = text.lines().map(|l| l.replace(&prefix, "")).collect();
    let expected = std::fs::read_to_string(catalog().join("messy/expected.txt")).unwrap();
    assert_eq!(lines, expected.lines().collect::<Vec<_>>());
    assert!(
        lines.iter().all(|l| l.contains(": warning: ")),
        "{lines:#?}"
    );

    let o = std::process::Command::new(common::bin())
        .args(["catalog", "check"])
        .arg(catalog().join("not-ctfcli"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("not a ctfcli challenge.yml: "),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}
