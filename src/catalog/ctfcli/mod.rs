//! ctfcli's `challenge.yml` as a catalog entry.
//!
//! A folder holding a ctfcli file (and no `challenge.json`, which wins when both exist) is a
//! challenge. The file is read tolerantly — real ones are messy — converted to the native
//! model, then put through the same checks as `challenge.json`, with every problem reported at
//! its position in the YAML. Fields ctfdeck has no use for are kept in
//! [`Challenge::imported_fields`](crate::catalog::Challenge::imported_fields).

mod convert;
mod dockerfile;
mod fields;
mod positions;
mod recognize;
mod tree;
mod xblock;

use std::path::{Path, PathBuf};

use super::ceilings::Ceilings;
use super::diagnostic::{Diagnostic, Severity};
use super::findings::Findings;
use super::model::Challenge;
use super::unique::Seen;
use super::validate::validate;

pub use convert::slug;
pub use xblock::{KEY as EXTENSION_KEY, XCtfdeck, XSmoke};

/// The names ctfcli gives its definition file, in the order they are looked for.
pub const CTFCLI_FILES: &[&str] = &["challenge.yml", "challenge.yaml"];

/// The ctfcli file in `folder`, if there is one.
pub fn find(folder: &Path) -> Option<PathBuf> {
    CTFCLI_FILES
        .iter()
        .map(|name| folder.join(name))
        .find(|path| path.is_file())
}

/// Read, convert and check one ctfcli file. The challenge is returned only when it has no
/// errors; a file describing no container (`image` missing) yields a warning and no challenge.
pub(super) fn check_file(
    folder: &Path,
    source: &Path,
    text: &str,
    ceilings: &Ceilings,
    seen: &mut Seen,
) -> (Option<Challenge>, Vec<Diagnostic>) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let root = match tree::parse(text) {
        Ok(root) => root,
        Err(err) => {
            return (
                None,
                vec![diagnostic(
                    source,
                    err.at,
                    format!("invalid YAML: {}", err.message),
                )],
            );
        }
    };
    if let Err((at, reason)) = recognize::check(&root) {
        return (
            None,
            vec![diagnostic(
                source,
                at,
                format!("not a ctfcli challenge.yml: {reason}"),
            )],
        );
    }
    let x = match xblock::read(text) {
        Ok(x) => x,
        Err(err) => {
            return (
                None,
                vec![diagnostic(
                    source,
                    err.at,
                    format!("{}: {}", xblock::KEY, err.message),
                )],
            );
        }
    };
    let locator = positions::YamlPositions::new(&root);
    let mut out = Findings::new(source, &locator);
    let challenge = convert::convert(folder, source, &root, x, &mut out);
    if let Some(challenge) = &challenge {
        validate(challenge, ceilings, &mut out);
        seen.check(challenge, &mut out);
    }
    let mut diagnostics = out.diagnostics;
    diagnostics.sort_by_key(|d| (d.line, d.column));
    let ok = !diagnostics.iter().any(Diagnostic::is_error);
    (challenge.filter(|_| ok), diagnostics)
}

fn diagnostic(source: &Path, at: super::locate::Position, message: String) -> Diagnostic {
    Diagnostic {
        path: source.to_path_buf(),
        line: at.line,
        column: at.column,
        severity: Severity::Error,
        message,
    }
}

#[cfg(test)]
mod tests;
