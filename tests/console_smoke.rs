#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `t` in the real console, in a real terminal (tmux), against the real engine: a bundled
//! challenge shows every stage and passes; a broken fixture fails at its stage; esc cancels a
//! running test — and nothing is left on the engine after any of them.
//! Run under `flock /tmp/ctfdeck-tmux.lock`.

mod common;
mod console_support;
mod smoke_support;

use std::time::Duration;

use bollard::Docker;
use bollard::query_parameters::RemoveImageOptionsBuilder;
use common::{bin, ensure_images, repo};
use console_support::{EngineCleanup, Tmux};
use smoke_support::leftovers;

const STAGES: [&str; 6] = ["validate", "build", "spawn", "ready", "check", "teardown"];
const FIXTURES: [&str; 2] = ["exits-at-once", "never-listens"];

/// The popup's line for `stage` (the text inside the popup's frame).
fn stage_line<'a>(screen: &'a str, stage: &str) -> &'a str {
    screen
        .lines()
        .filter_map(|l| l.split('║').nth(1))
        .find(|inside| inside.split_whitespace().nth(1) == Some(stage))
        .unwrap_or_else(|| panic!("no line for stage {stage}:\n{screen}"))
}

/// `✓ build 6.3s …`: the mark before the stage name, and a time after it.
fn mark_and_time(line: &str) -> (String, Option<String>) {
    let words: Vec<&str> = line.split_whitespace().collect();
    let mark = words.first().map(|w| w.to_string()).unwrap_or_default();
    let time = words
        .get(2)
        .filter(|w| w.ends_with('s') && w.trim_end_matches('s').parse::<f64>().is_ok())
        .map(|w| w.to_string());
    (mark, time)
}

async fn image_present(docker: &Docker, reference: &str) -> bool {
    docker.inspect_image(reference).await.is_ok()
}

// A plain test with its own runtime: the engine cleanup guard runs one of its own on drop.
#[test]
fn t_runs_the_smoke_test_live_and_leaves_nothing_behind() {
    ensure_images();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let docker = rt
        .block_on(async { Docker::connect_with_local_defaults() })
        .expect("engine");
    // Fixture images this test builds are removed at the end, unless they were there before
    // (another test may be using them).
    let mut built_here = Vec::new();
    for name in FIXTURES {
        let image = format!("ctfdeck-fixture/{name}:latest");
        if !rt.block_on(image_present(&docker, &image)) {
            built_here.push(image);
        }
    }

    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog");
    common::copy_dir(
        &repo().join("challenges/web-robots"),
        &catalog.join("web-robots"),
    );
    for name in FIXTURES {
        common::copy_dir(
            &repo().join("tests/fixtures/smoke").join(name),
            &catalog.join(name),
        );
    }
    let store = dir.path().join("console.db");
    let _cleanup = EngineCleanup {
        store: store.clone(),
    };
    let command = format!(
        "env -u NO_COLOR -u CTFDECK_CONFIG CTFDECK_LOG=off {} --store {} --catalog {}; echo \"console exited $?\"; sleep 600",
        bin().display(),
        store.display(),
        catalog.display()
    );
    let name = format!("ctfdeck-smoke-{}", std::process::id());
    let t = Tmux::start(&name, &command, 120, 40, Duration::from_secs(90));
    t.wait("the console", |s| {
        s.contains("Instances 0/0") && s.contains("● engine")
    });

    // The catalog pane (sorted: exits-at-once, never-listens, web-robots).
    t.keys(&["BTab"]);

    // A broken fixture: ✗ at ready, later stages skipped, teardown done.
    t.keys(&["t"]);
    t.wait_for("Smoke test — exits-at-once");
    let s = t.wait("the verdict", |s| s.contains("✗ failed at ready"));
    for stage in ["validate", "build", "spawn"] {
        let (mark, time) = mark_and_time(stage_line(&s, stage));
        assert_eq!(mark, "✓", "{stage}:\n{s}");
        assert!(time.is_some(), "{stage} has no time:\n{s}");
    }
    assert_eq!(mark_and_time(stage_line(&s, "ready")).0, "✗", "{s}");
    assert_eq!(mark_and_time(stage_line(&s, "check")).0, "-", "{s}");
    assert_eq!(mark_and_time(stage_line(&s, "teardown")).0, "✓", "{s}");
    assert!(s.contains("exited with code 3"), "{s}");
    assert!(
        s.contains("fatal: /etc/chal.conf not found"),
        "the container's log: {s}"
    );
    assert_eq!(rt.block_on(leftovers(&store)), Vec::<String>::new());
    t.keys(&["Escape"]);
    // The catalog row says how it went (the screen is read until it is fully redrawn).
    t.wait("the catalog's smoke column", |s| {
        !s.contains("║")
            && s.lines()
                .any(|l| l.contains("exits-at-once") && l.contains("✗ at ready"))
    });

    // Esc while it runs: cancelled, torn down all the same.
    t.keys(&["j", "t"]);
    t.wait_for("Smoke test — never-listens");
    t.wait("the ready stage running", |s| {
        s.lines()
            .any(|l| l.contains("● ") && l.contains("ready") && l.contains("running"))
    });
    t.keys(&["Escape"]);
    let s = t.wait("the interrupted verdict", |s| {
        s.contains("interrupted; torn down")
    });
    assert_eq!(mark_and_time(stage_line(&s, "teardown")).0, "✓", "{s}");
    assert_eq!(rt.block_on(leftovers(&store)), Vec::<String>::new());
    t.keys(&["Escape"]);
    t.wait("the popup closed", |s| {
        !s.contains("║")
            && s.lines()
                .any(|l| l.contains("never-listens") && l.contains("✗ stopped"))
    });

    // A bundled challenge: every stage ✓ with its time, the verdict ✓.
    t.keys(&["j", "t"]);
    t.wait_for("Smoke test — web-robots");
    let s = t.wait("the verdict", |s| s.contains("✓ passed in"));
    for stage in STAGES {
        let (mark, time) = mark_and_time(stage_line(&s, stage));
        assert_eq!(mark, "✓", "{stage}:\n{s}");
        assert!(time.is_some(), "{stage} has no time:\n{s}");
    }
    assert!(s.contains("printed this instance's flag"), "{s}");
    assert_eq!(rt.block_on(leftovers(&store)), Vec::<String>::new());
    t.keys(&["Escape"]);
    t.wait("the catalog's smoke column", |s| {
        !s.contains("║")
            && s.lines()
                .any(|l| l.contains("web-robots") && l.contains("✓") && l.contains("ago"))
    });

    t.keys(&["q"]);
    t.wait_for("console exited 0");
    drop(t);
    for image in built_here {
        let opts = RemoveImageOptionsBuilder::default().force(true).build();
        let _ = rt.block_on(docker.remove_image(&image, Some(opts), None));
    }
}
