//! Collects the diagnostics of one file, turning JSON pointers into positions.

use std::path::Path;

use super::diagnostic::{Diagnostic, Severity};
use super::locate::{Locate, Position};

pub(super) struct Findings<'a> {
    path: &'a Path,
    locator: &'a dyn Locate,
    pub diagnostics: Vec<Diagnostic>,
}

impl<'a> Findings<'a> {
    pub fn new(path: &'a Path, locator: &'a dyn Locate) -> Self {
        Findings {
            path,
            locator,
            diagnostics: Vec::new(),
        }
    }

    /// An error about the value at `pointer`.
    pub fn error(&mut self, pointer: &str, message: impl Into<String>) {
        let at = self.locator.value(pointer);
        self.push(at, Severity::Error, message.into());
    }

    /// An error about the key of the property at `pointer`.
    pub fn error_at_key(&mut self, pointer: &str, message: impl Into<String>) {
        let at = self.locator.key(pointer);
        self.push(at, Severity::Error, message.into());
    }

    /// A warning about the value at `pointer`.
    pub fn warning(&mut self, pointer: &str, message: impl Into<String>) {
        let at = self.locator.value(pointer);
        self.push(at, Severity::Warning, message.into());
    }

    pub fn push(&mut self, at: Position, severity: Severity, message: String) {
        self.diagnostics.push(Diagnostic {
            path: self.path.to_path_buf(),
            line: at.line,
            column: at.column,
            severity,
            message,
        });
    }
}
