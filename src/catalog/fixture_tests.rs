//! Golden tests: every folder in `tests/fixtures/catalog` is a broken catalog (or challenge
//! folder) whose exact diagnostics are in its `expected.txt`; and the shipped challenges load
//! without errors.

#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::Path;

use super::{Catalog, Ceilings};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/catalog");
const CHALLENGES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/challenges");

/// The cases the fixture set must cover (more may exist).
const REQUIRED_CASES: &[&str] = &[
    "bad-duration",
    "bad-flag-template",
    "bad-json-syntax",
    "bind-mount",
    "cap-not-allowed",
    "duplicate-id",
    "host-network",
    "missing-build-context",
    "missing-id",
    "outside-profile",
    "port-out-of-range",
    "privileged",
    "root-user",
    "unknown-field",
    "wrong-type",
];

fn diagnostics_of(case: &Path) -> (Vec<String>, usize) {
    let report = Catalog::load(case, &Ceilings::default()).unwrap();
    let prefix = format!("{}/", case.display());
    let lines = report
        .diagnostics
        .iter()
        .map(|d| d.to_string().replace(&prefix, ""))
        .collect();
    (lines, report.errors())
}

#[test]
fn every_fixture_reports_exactly_its_expected_diagnostics() {
    let mut cases: Vec<_> = fs::read_dir(FIXTURES)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    let names: Vec<String> = cases
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for required in REQUIRED_CASES {
        assert!(
            names.iter().any(|n| n == required),
            "fixture {required} is missing"
        );
    }

    let mut failures = Vec::new();
    for case in &cases {
        let expected_text = fs::read_to_string(case.join("expected.txt"))
            .unwrap_or_else(|e| panic!("{}: {e}", case.join("expected.txt").display()));
        let expected: Vec<&str> = expected_text.lines().filter(|l| !l.is_empty()).collect();
        let (actual, errors) = diagnostics_of(case);
        if actual != expected {
            failures.push(format!(
                "{}:\n  expected:\n    {}\n  actual:\n    {}",
                case.display(),
                expected.join("\n    "),
                actual.join("\n    ")
            ));
        } else if errors == 0 {
            failures.push(format!("{}: no errors reported", case.display()));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

#[test]
fn the_shipped_challenges_load_without_errors() {
    let report = Catalog::load(Path::new(CHALLENGES), &Ceilings::default()).unwrap();
    let lines: Vec<String> = report.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(report.errors(), 0, "\n{}", lines.join("\n"));
    assert!(
        report.catalog.challenges.len() >= 3,
        "expected at least 3 challenges in {CHALLENGES}, found {}",
        report.catalog.challenges.len()
    );
}

#[test]
fn the_every_field_sample_loads_cleanly() {
    // The same file `tests/catalog_schema.rs` validates against the schema.
    let sample = fs::read_to_string(format!("{FIXTURES}/valid.challenge.json")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let folder = tmp.path().join("full-sample");
    fs::create_dir_all(&folder).unwrap();
    fs::write(folder.join("challenge.json"), sample).unwrap();
    fs::write(folder.join("Dockerfile"), "FROM scratch\n").unwrap();
    fs::write(folder.join("solve.sh"), "#!/bin/sh\n").unwrap();
    let report = Catalog::load(&folder, &Ceilings::default()).unwrap();
    let lines: Vec<String> = report.diagnostics.iter().map(ToString::to_string).collect();
    assert!(lines.is_empty(), "{lines:#?}");
    let challenge = report.catalog.get("full-sample").unwrap();
    assert_eq!(challenge.container.ports.len(), 2);
    assert_eq!(
        challenge.lifetime.max_total,
        Some(std::time::Duration::from_secs(3 * 3600))
    );
}
