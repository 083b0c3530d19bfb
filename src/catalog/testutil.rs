//! Helpers for the catalog's unit tests: write a definition into a temp folder, load it, and
//! assert on diagnostics at the position of a JSON pointer.

#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::Path;

use serde_json::{Value, json};
use tempfile::TempDir;

use super::locate::{Locator, Position};
use super::{Catalog, Ceilings, Challenge, Diagnostic, Severity};

/// A minimal valid definition for a folder named `demo`.
pub fn base() -> Value {
    json!({
        "schema_version": 1,
        "id": "demo",
        "name": "Demo",
        "category": "web",
        "container": {
            "image": "ctfdeck/demo:1",
            "ports": [{ "container": 8080, "protocol": "http" }],
            "user": "1000:1000"
        },
        "flag": { "template": "flag{<hex:16>}" }
    })
}

pub fn write_challenge(folder: &Path, value: &Value) -> String {
    fs::create_dir_all(folder).unwrap();
    let text = serde_json::to_string_pretty(value).unwrap();
    fs::write(folder.join("challenge.json"), &text).unwrap();
    text
}

pub struct Case {
    tmp: TempDir,
    text: String,
    pub challenge: Option<Challenge>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Case {
    pub fn new(value: Value) -> Case {
        Case::build("demo", value, &[])
    }

    /// The base definition, changed by `edit`.
    pub fn with(edit: impl FnOnce(&mut Value)) -> Case {
        Case::with_files(edit, &[])
    }

    pub fn in_folder(folder: &str, edit: impl FnOnce(&mut Value)) -> Case {
        let mut value = base();
        edit(&mut value);
        Case::build(folder, value, &[])
    }

    /// Like [`Case::with`], with extra files written into the challenge folder.
    pub fn with_files(edit: impl FnOnce(&mut Value), files: &[(&str, &str)]) -> Case {
        let mut value = base();
        edit(&mut value);
        Case::build("demo", value, files)
    }

    /// Like [`Case::with`], with `prepare` run on the challenge folder before it is loaded
    /// (for links, folders, files outside it).
    pub fn prepared(edit: impl FnOnce(&mut Value), prepare: impl FnOnce(&Path)) -> Case {
        let mut value = base();
        edit(&mut value);
        Case::load("demo", value, &[], prepare, &Ceilings::default())
    }

    /// Like [`Case::with`], checked against `ceilings`.
    pub fn with_ceilings(edit: impl FnOnce(&mut Value), ceilings: &Ceilings) -> Case {
        let mut value = base();
        edit(&mut value);
        Case::load("demo", value, &[], |_| {}, ceilings)
    }

    fn build(folder: &str, value: Value, files: &[(&str, &str)]) -> Case {
        Case::load(folder, value, files, |_| {}, &Ceilings::default())
    }

    fn load(
        folder: &str,
        value: Value,
        files: &[(&str, &str)],
        prepare: impl FnOnce(&Path),
        ceilings: &Ceilings,
    ) -> Case {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(folder);
        let text = write_challenge(&dir, &value);
        for (name, content) in files {
            fs::write(dir.join(name), content).unwrap();
        }
        prepare(&dir);
        let report = Catalog::load(&dir, ceilings).unwrap();
        Case {
            tmp,
            text,
            challenge: report.catalog.challenges.first().cloned(),
            diagnostics: report.diagnostics,
        }
    }

    /// The diagnostics as displayed, relative to the temp folder.
    pub fn lines(&self) -> Vec<String> {
        let prefix = format!("{}/", self.tmp.path().display());
        self.diagnostics
            .iter()
            .map(|d| d.to_string().replace(&prefix, ""))
            .collect()
    }

    pub fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    pub fn expect_error(&self, pointer: &str, needle: &str) {
        let at = Locator::new(&self.text).value(pointer);
        self.expect(at, Severity::Error, needle);
    }

    pub fn expect_error_at_key(&self, pointer: &str, needle: &str) {
        let at = Locator::new(&self.text).key(pointer);
        self.expect(at, Severity::Error, needle);
    }

    pub fn expect_warning(&self, pointer: &str, needle: &str) {
        let at = Locator::new(&self.text).value(pointer);
        self.expect(at, Severity::Warning, needle);
    }

    fn expect(&self, at: Position, severity: Severity, needle: &str) {
        let found = self.diagnostics.iter().any(|d| {
            d.severity == severity
                && (d.line, d.column) == (at.line, at.column)
                && d.message.contains(needle)
        });
        assert!(
            found,
            "no {severity:?} at {}:{} containing {needle:?}; got {:#?}\nin\n{}",
            at.line,
            at.column,
            self.lines(),
            self.text
        );
    }
}
