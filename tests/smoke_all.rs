#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `smoke --all --json` as CI runs it: a definition too broken to be in the catalog fails the
//! run at `validate` with its diagnostics, instead of being left out of a green report.

mod common;
mod smoke_support;

use common::repo;
use smoke_support::{leftovers, reports, run, stage, stderr};

#[tokio::test(flavor = "multi_thread")]
async fn all_includes_a_broken_definition_and_fails_on_it() {
    let tmp = tempfile::tempdir().unwrap();
    let catalog = tmp.path().join("catalog");
    common::copy_dir(
        &repo().join("tests/fixtures/smoke/invalid-definition"),
        &catalog.join("invalid-definition"),
    );
    let store = tmp.path().join("smoke.db");
    let out = run(&catalog, &store, &["--all", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let reports = reports(&out);
    assert_eq!(reports.len(), 1, "{reports:#?}");
    let report = &reports[0];
    assert_eq!(report["challenge"], "invalid-definition");
    assert_eq!(report["failed_stage"], "validate", "{report:#}");
    let details = stage(report, "validate")["details"].as_array().unwrap();
    assert!(
        details
            .iter()
            .any(|d| d.as_str().unwrap().contains("challenge.json:")),
        "{report:#}"
    );
    assert_eq!(stage(report, "spawn")["status"], "skipped");
    assert!(stderr(&out).contains("smoke failed: invalid-definition (validate)"));
    assert_eq!(leftovers(&store).await, Vec::<String>::new());
}
