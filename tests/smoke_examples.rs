#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The bundled example challenges pass `ctfdeck smoke` on the real engine, and their solve
//! scripts really extract each instance's own flag by exploiting it.

mod common;
mod smoke_support;

use std::process::Command;
use std::sync::Mutex;

use common::{Fixture, ensure_images, repo};
use ctfdeck::domain::smoke::{self, SmokeOptions, Stage, StageEvent, StageStatus};
use ctfdeck::store::InstanceStatus;
use smoke_support::{leftovers, reports, run, stage, stderr};

const EXAMPLES: [&str; 3] = ["web-robots", "nc-calc", "web-cmdinject"];

#[tokio::test(flavor = "multi_thread")]
async fn every_bundled_example_passes_smoke_through_the_binary() {
    ensure_images();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("smoke.db");
    let mut args = EXAMPLES.to_vec();
    args.push("--json");
    let out = run(&repo().join("challenges"), &store, &args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let reports = reports(&out);
    assert_eq!(reports.len(), EXAMPLES.len());
    let rows = ctfdeck::store::Store::open(&store).unwrap();
    for (name, report) in EXAMPLES.iter().zip(&reports) {
        assert_eq!(report["challenge"], *name);
        assert_eq!(report["status"], "passed", "{report:#}");
        assert!(report["failed_stage"].is_null());
        let stages: Vec<&str> = report["stages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                assert_eq!(s["status"], "passed", "{name}: {s}");
                assert!(s["duration_ms"].is_u64());
                s["stage"].as_str().unwrap()
            })
            .collect();
        assert_eq!(
            stages,
            ["validate", "build", "spawn", "ready", "check", "teardown"]
        );
        assert!(
            stage(report, "check")["message"]
                .as_str()
                .unwrap()
                .contains("printed this instance's flag"),
            "{report:#}"
        );
        let row = rows
            .instance(report["instance"].as_str().unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(row.status, InstanceStatus::Stopped);
        assert_eq!(row.stop_reason.as_deref(), Some(smoke::TEARDOWN_REASON));
        assert!(row.owner.starts_with("smoke:"), "{}", row.owner);
    }
    assert_eq!(leftovers(&store).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_plain_report_shows_every_stage_and_a_summary() {
    ensure_images();
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        &repo().join("challenges"),
        &dir.path().join("smoke.db"),
        &["nc-calc"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("nc-calc: passed in "), "{text}");
    for stage in ["validate", "build", "spawn", "ready", "check", "teardown"] {
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with(stage) && l.contains("passed")),
            "{stage} in {text}"
        );
    }
    assert!(
        text.contains("CHALLENGE  RESULT  FAILED STAGE  TIME"),
        "{text}"
    );
    // Stages are reported live on stderr too.
    assert!(
        stderr(&out).contains("nc-calc: ready passed"),
        "{}",
        stderr(&out)
    );
}

/// With `--keep`, the instance outlives the run: solve it again from outside and compare with
/// the flag the store holds for that very instance.
#[tokio::test(flavor = "multi_thread")]
async fn each_solve_script_extracts_its_own_instances_flag() {
    let f = Fixture::new().await;
    let opts = SmokeOptions {
        keep: true,
        ..SmokeOptions::default()
    };
    let events = Mutex::new(Vec::new());
    let record = |e: StageEvent| events.lock().unwrap().push(e);
    let mut flags = Vec::new();
    for name in EXAMPLES {
        let report = smoke::smoke(&f.lifecycle, name, &opts, &record).await;
        assert!(report.passed(), "{report:#?}");
        assert!(report.kept);
        assert_eq!(
            report.stage(Stage::Teardown).unwrap().status,
            StageStatus::Skipped
        );
        let id = report.instance.clone().unwrap();
        let instance = f.lifecycle.store().instance(&id).unwrap().unwrap();
        assert_eq!(instance.status, InstanceStatus::Running);
        let flag = instance.flag.clone().unwrap();
        assert!(
            flag.len() == "flag{}".len() + 16 && flag.starts_with("flag{"),
            "{flag}"
        );

        let challenge = f.lifecycle.catalog().get(name).unwrap();
        let conn = smoke::connection(challenge, &instance).unwrap();
        let solve = Command::new(challenge.dir.join("solve.sh"))
            .args(["--connection-info", &conn.info])
            .env_remove("FLAG")
            .output()
            .unwrap();
        assert!(
            solve.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&solve.stderr)
        );
        let printed = String::from_utf8_lossy(&solve.stdout);
        assert_eq!(printed.lines().last(), Some(flag.as_str()), "{name}");
        flags.push(flag);

        f.lifecycle.stop(&id, "test done").await.unwrap();
    }
    flags.sort();
    flags.dedup();
    assert_eq!(
        flags.len(),
        EXAMPLES.len(),
        "each instance has its own flag"
    );
    assert_eq!(f.leftovers().await, (0, 0));

    // Every stage started and finished once per run, in order.
    let events = events.into_inner().unwrap();
    let finished: Vec<(String, Stage)> = events
        .iter()
        .filter_map(|e| match e {
            StageEvent::Finished { challenge, result } => Some((challenge.clone(), result.stage)),
            _ => None,
        })
        .collect();
    let expected: Vec<(String, Stage)> = EXAMPLES
        .iter()
        .flat_map(|n| Stage::ALL.iter().map(move |s| (n.to_string(), *s)))
        .collect();
    assert_eq!(finished, expected);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, StageEvent::Progress { stage: Stage::Build, line, .. } if line.starts_with("Step "))),
        "build progress is forwarded"
    );
}
