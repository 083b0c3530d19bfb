#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The real console (tmux) follows the catalog folder: an edit that breaks a challenge shows its
//! problem in the catalog pane, the fix takes it away, and a new challenge folder appears.
//! Run under `flock /tmp/ctfdeck-tmux.lock`.

mod common;
mod console_support;

use std::time::Duration;

use common::{bin, repo};
use console_support::Tmux;

#[test]
fn the_catalog_pane_follows_edits_to_the_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog");
    common::copy_dir(&repo().join("challenges/nc-calc"), &catalog.join("nc-calc"));
    let file = catalog.join("nc-calc/challenge.json");
    let good = std::fs::read_to_string(&file).unwrap();
    let command = format!(
        "env -u NO_COLOR -u CTFDECK_CONFIG CTFDECK_LOG=off {} --store {} --catalog {}; echo \"console exited $?\"; sleep 600",
        bin().display(),
        dir.path().join("console.db").display(),
        catalog.display()
    );
    let name = format!("ctfdeck-reload-{}", std::process::id());
    let t = Tmux::start(&name, &command, 120, 32, Duration::from_secs(40));
    t.wait("the console", |s| s.contains("Catalog 1 challenges"));

    // Broken: the problem, with its position, in the catalog pane.
    std::fs::write(&file, good.replace("\"memory\"", "\"memroy\"")).unwrap();
    let s = t.wait("the problem", |s| {
        s.contains("1 problem(s)") && s.contains("✗ nc-calc/challenge.json:")
    });
    assert!(s.contains("memroy"), "{s}");
    assert!(
        s.contains("Catalog 0 challenges"),
        "the broken one is out: {s}"
    );

    // Fixed: the problem goes, the challenge is back.
    std::fs::write(&file, &good).unwrap();
    t.wait("the fixed catalog", |s| {
        s.contains("Catalog 1 challenges") && !s.contains("problem(s)")
    });

    // A new folder: a new row.
    common::copy_dir(
        &repo().join("challenges/web-robots"),
        &catalog.join("web-robots"),
    );
    t.wait("the new challenge", |s| {
        s.contains("Catalog 2 challenges") && s.contains("web-robots")
    });

    t.keys(&["q"]);
    t.wait_for("console exited 0");
}
