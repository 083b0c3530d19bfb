//! Malformed files, one error class each (syntax, wrong types, unknown fields, out-of-range
//! values, deep nesting, huge strings, invalid UTF-8, byte order marks, empty files, duplicate
//! keys, …), for every reader: `tests/fixtures/malformed/<reader>/`. Each file's exact errors
//! are in that folder's `expected.txt`; every one of them is `path:line:column: message` inside
//! the file. `UPDATE_EXPECTED=1` rewrites the tables after a deliberate change of wording.

#![allow(clippy::unwrap_used)]

mod readers_support;

use std::fs;
use std::path::{Path, PathBuf};

use readers_support::{READERS, Reader, repo, unlocated};

const TABLE: &str = "expected.txt";

/// The error classes each reader's fixtures must cover, by file name prefix.
const CLASSES: &[&str] = &[
    "syntax-",
    "type-",
    "unknown-",
    "range-",
    "nesting-",
    "huge-string",
    "utf8-",
    "utf16-",
    "bom-",
    "duplicate-",
    "binary",
];

fn fixtures(reader: Reader) -> (PathBuf, Vec<String>) {
    let dir = repo(&format!("tests/fixtures/malformed/{}", reader.name()));
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != TABLE)
        .collect();
    names.sort();
    (dir, names)
}

/// The errors of every fixture of `reader`, paths relative to its folder.
fn outcome(reader: Reader, dir: &Path, names: &[String]) -> (String, Vec<String>) {
    let mut table = String::new();
    let mut problems = Vec::new();
    for name in names {
        let bytes = fs::read(dir.join(name)).unwrap();
        let path = Path::new(name);
        match reader.read(path, bytes.clone()) {
            Ok(()) => problems.push(format!("{name}: accepted, but it is malformed")),
            Err(lines) => {
                if let Some(why) = unlocated(path, &bytes, &lines) {
                    problems.push(format!("{name}: {why}"));
                }
                for line in lines {
                    table.push_str(&line);
                    table.push('\n');
                }
            }
        }
    }
    (table, problems)
}

#[test]
fn every_malformed_file_gets_its_expected_located_errors() {
    let update = std::env::var_os("UPDATE_EXPECTED").is_some();
    let mut total = 0;
    let mut failures = Vec::new();
    for reader in READERS {
        let (dir, names) = fixtures(reader);
        total += names.len();
        for class in CLASSES {
            if !names.iter().any(|n| n.starts_with(class)) {
                failures.push(format!("{}: no fixture of class {class}", reader.name()));
            }
        }
        let ext = format!(".{}", reader.extension());
        for name in names.iter().filter(|n| !n.ends_with(&ext)) {
            failures.push(format!("{}: {name} should end in {ext}", reader.name()));
        }
        let (table, problems) = outcome(reader, &dir, &names);
        failures.extend(
            problems
                .into_iter()
                .map(|p| format!("{}: {p}", reader.name())),
        );
        let expected_path = dir.join(TABLE);
        if update {
            fs::write(&expected_path, &table).unwrap();
            continue;
        }
        let expected = fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != table {
            let diff: Vec<String> = expected
                .lines()
                .filter(|l| !table.lines().any(|t| t == *l))
                .map(|l| format!("  - {l}"))
                .chain(
                    table
                        .lines()
                        .filter(|l| !expected.lines().any(|e| e == *l))
                        .map(|l| format!("  + {l}")),
                )
                .collect();
            failures.push(format!(
                "{} differs from what the reader says (UPDATE_EXPECTED=1 rewrites it):\n{}",
                expected_path.display(),
                diff.join("\n")
            ));
        }
    }
    assert!(total >= 100, "only {total} malformed fixtures");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
