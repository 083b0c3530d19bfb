//! Reading a catalog folder: find the challenge files, deserialize, validate, dedupe ids.

use std::fs;
use std::path::{Path, PathBuf};

use super::ceilings::Ceilings;
use super::diagnostic::{Diagnostic, Severity};
use super::findings::Findings;
use super::locate::{Locator, Position};
use super::model::Challenge;
use super::unique::Seen;
use super::validate::validate;
use super::{Catalog, CatalogError, CatalogReport, ctfcli};
use crate::textfile::{self, MAX_NESTING, ReadError};

/// The definition file inside each challenge folder.
pub const CHALLENGE_FILE: &str = "challenge.json";

pub(super) fn load(dir: &Path, ceilings: &Ceilings) -> Result<CatalogReport, CatalogError> {
    ceilings.check().map_err(CatalogError::Ceilings)?;
    let meta = fs::metadata(dir).map_err(|error| CatalogError::Io {
        path: dir.to_path_buf(),
        error,
    })?;
    if !meta.is_dir() {
        return Err(CatalogError::NotAFolder {
            path: dir.to_path_buf(),
        });
    }

    let mut seen = Seen::default();
    let mut challenges = Vec::new();
    let mut diagnostics = Vec::new();
    for folder in challenge_folders(dir)? {
        // challenge.json wins over a ctfcli file in the same folder.
        let ctfcli_source = ctfcli::find(&folder).filter(|_| !folder.join(CHALLENGE_FILE).exists());
        let source = ctfcli_source
            .clone()
            .unwrap_or_else(|| folder.join(CHALLENGE_FILE));
        let (challenge, found) = match textfile::read(&source) {
            Ok(text) => check_text(&folder, &source, &text, ceilings, &mut seen),
            Err(err) => (None, vec![read_error(err)]),
        };
        challenges.extend(challenge);
        diagnostics.extend(found);
    }
    challenges.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(CatalogReport {
        catalog: Catalog {
            root: dir.to_path_buf(),
            challenges,
        },
        diagnostics,
    })
}

/// A folder is a challenge when it holds `challenge.json` or a ctfcli `challenge.yml`.
fn is_challenge_folder(path: &Path) -> bool {
    path.join(CHALLENGE_FILE).exists() || ctfcli::find(path).is_some()
}

/// `dir` itself when it holds a challenge file, else its visible subfolders that do, by name.
fn challenge_folders(dir: &Path) -> Result<Vec<PathBuf>, CatalogError> {
    if is_challenge_folder(dir) {
        return Ok(vec![dir.to_path_buf()]);
    }
    let io = |error| CatalogError::Io {
        path: dir.to_path_buf(),
        error,
    };
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).map_err(io)? {
        let name = entry.map_err(io)?.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = dir.join(&name);
        if path.is_dir() && is_challenge_folder(&path) {
            names.push(name);
        }
    }
    names.sort();
    Ok(names.into_iter().map(|n| dir.join(n)).collect())
}

/// Check one challenge file given as bytes (a ctfcli file when it ends in `.yml` or `.yaml`,
/// else the native JSON), as [`Catalog::load`] does for each file it finds. Any bytes give a
/// challenge or located diagnostics.
pub fn check_bytes(
    folder: &Path,
    source: &Path,
    bytes: Vec<u8>,
    ceilings: &Ceilings,
) -> (Option<Challenge>, Vec<Diagnostic>) {
    match textfile::decode(source, bytes) {
        Ok(text) => check_text(folder, source, &text, ceilings, &mut Seen::default()),
        Err(err) => (None, vec![read_error(err)]),
    }
}

/// Check decoded text with the reader its file name calls for, on a stack deep enough for it.
fn check_text(
    folder: &Path,
    source: &Path,
    text: &str,
    ceilings: &Ceilings,
    seen: &mut Seen,
) -> (Option<Challenge>, Vec<Diagnostic>) {
    textfile::on_reader_stack(source, || {
        check_format(folder, source, text, ceilings, seen)
    })
    .unwrap_or_else(|err| (None, vec![read_error(err)]))
}

fn check_format(
    folder: &Path,
    source: &Path,
    text: &str,
    ceilings: &Ceilings,
    seen: &mut Seen,
) -> (Option<Challenge>, Vec<Diagnostic>) {
    let is_ctfcli = source
        .extension()
        .is_some_and(|ext| ext == "yml" || ext == "yaml");
    if is_ctfcli {
        ctfcli::check_file(folder, source, text, ceilings, seen)
    } else {
        check_file(folder, source, text, ceilings, seen)
    }
}

fn read_error(err: ReadError) -> Diagnostic {
    Diagnostic {
        path: err.path,
        line: err.line,
        column: err.column,
        severity: Severity::Error,
        message: err.message,
    }
}

/// Deserialize and validate one file. The challenge is returned only when it has no errors.
/// `seen` holds the ids and images of earlier files, for duplicate detection.
pub(super) fn check_file(
    folder: &Path,
    source: &Path,
    text: &str,
    ceilings: &Ceilings,
    seen: &mut Seen,
) -> (Option<Challenge>, Vec<Diagnostic>) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // Before any parser recurses into it.
    let refuse = |offset: usize, message: String| {
        let err = ReadError::at(source, text, offset, message);
        (None, vec![read_error(err)])
    };
    if let Err(offset) = textfile::check_json_nesting(text) {
        return refuse(
            offset,
            format!("invalid JSON: nested deeper than {MAX_NESTING} levels"),
        );
    }
    // serde would read an array positionally and talk of the first field's type.
    if let Some(offset) = text.find(|c: char| !c.is_whitespace())
        && text[offset..].starts_with('[')
    {
        let message = "the top level is an array; a challenge.json holds one object { … }";
        return refuse(offset, message.to_string());
    }
    let locator = Locator::new(text);
    let mut out = Findings::new(source, &locator);
    let mut challenge = match serde_json::from_str::<Challenge>(text) {
        Ok(challenge) => challenge,
        Err(err) => {
            let at: Position = locator.serde_error(&err);
            out.push(at, Severity::Error, serde_message(&err));
            return (None, out.diagnostics);
        }
    };
    challenge.dir = folder.to_path_buf();
    challenge.source = source.to_path_buf();

    validate(&challenge, ceilings, &mut out);
    seen.check(&challenge, &mut out);

    let mut diagnostics = out.diagnostics;
    diagnostics.sort_by_key(|d| (d.line, d.column));
    let ok = !diagnostics.iter().any(Diagnostic::is_error);
    (ok.then_some(challenge), diagnostics)
}

/// serde's message without its trailing ` at line X column Y` (the position is reported anyway).
fn serde_message(err: &serde_json::Error) -> String {
    let full = err.to_string();
    let suffix = format!(" at line {} column {}", err.line(), err.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full);
    if err.is_syntax() || err.is_eof() {
        format!("invalid JSON: {message}")
    } else {
        message.to_string()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::testutil::{base, write_challenge};
    use super::*;
    use serde_json::json;

    fn relative_lines(report: &CatalogReport, root: &Path) -> Vec<String> {
        let prefix = format!("{}/", root.display());
        report
            .diagnostics
            .iter()
            .map(|d| d.to_string().replace(&prefix, ""))
            .collect()
    }

    #[test]
    fn a_catalog_folder_loads_its_challenge_subfolders_sorted_by_id() {
        let tmp = tempfile::tempdir().unwrap();
        let mut b = base();
        b["id"] = json!("bee");
        write_challenge(&tmp.path().join("bee"), &b);
        let mut a = base();
        a["id"] = json!("a-first");
        write_challenge(&tmp.path().join("a-first"), &a);
        fs::create_dir_all(tmp.path().join(".hidden")).unwrap();
        fs::write(tmp.path().join(".hidden").join(CHALLENGE_FILE), "{ broken").unwrap();
        fs::create_dir_all(tmp.path().join("notes")).unwrap();
        fs::write(tmp.path().join("README.md"), "hi").unwrap();

        let report = Catalog::load(tmp.path(), &Ceilings::default()).unwrap();
        assert_eq!(relative_lines(&report, tmp.path()), Vec::<String>::new());
        let ids: Vec<_> = report
            .catalog
            .challenges
            .iter()
            .map(|c| c.id.as_str())
            .collect();
        assert_eq!(ids, ["a-first", "bee"]);
        assert_eq!(report.catalog.root, tmp.path());
        let a = report.catalog.get("a-first").unwrap();
        assert_eq!(a.dir, tmp.path().join("a-first"));
        assert_eq!(a.source, tmp.path().join("a-first").join(CHALLENGE_FILE));
        assert!(report.catalog.get("a").is_none());
        assert!(!report.has_errors());
    }

    #[test]
    fn a_single_challenge_folder_loads_itself() {
        let tmp = tempfile::tempdir().unwrap();
        let folder = tmp.path().join("demo");
        write_challenge(&folder, &base());
        let report = Catalog::load(&folder, &Ceilings::default()).unwrap();
        assert_eq!(report.catalog.challenges.len(), 1);
        assert_eq!(report.catalog.challenges[0].dir, folder);
        assert!(report.diagnostics.is_empty());
    }

    #[test]
    fn missing_or_non_folder_paths_are_errors_naming_the_path() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("nope");
        let err = Catalog::load(&missing, &Ceilings::default()).unwrap_err();
        assert!(
            err.to_string().contains(&missing.display().to_string()),
            "{err}"
        );

        let file = tmp.path().join("file.txt");
        fs::write(&file, "x").unwrap();
        let err = Catalog::load(&file, &Ceilings::default()).unwrap_err();
        assert!(matches!(err, CatalogError::NotAFolder { .. }));
        assert!(err.to_string().contains("file.txt"), "{err}");
    }

    #[test]
    fn invalid_ceilings_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let ceilings = Ceilings {
            max_memory: "much".into(),
            ..Ceilings::default()
        };
        let err = Catalog::load(tmp.path(), &ceilings).unwrap_err();
        assert!(err.to_string().contains("max_memory"), "{err}");
    }

    #[test]
    fn duplicate_ids_are_reported_on_the_second_file() {
        let tmp = tempfile::tempdir().unwrap();
        write_challenge(&tmp.path().join("demo"), &base());
        write_challenge(&tmp.path().join("zz-copy"), &base());
        let report = Catalog::load(tmp.path(), &Ceilings::default()).unwrap();
        let lines = relative_lines(&report, tmp.path());
        assert_eq!(
            lines,
            [
                "zz-copy/challenge.json:16:9: warning: id \"demo\" differs from its folder name \"zz-copy\"; rename one so they match",
                "zz-copy/challenge.json:16:9: duplicate id \"demo\": already defined in demo/challenge.json",
            ]
        );
        assert_eq!(report.errors(), 1);
        assert_eq!(report.warnings(), 1);
        assert_eq!(report.catalog.challenges.len(), 1);
        assert_eq!(report.catalog.challenges[0].dir, tmp.path().join("demo"));
    }

    #[test]
    fn unreadable_files_are_diagnostics() {
        let tmp = tempfile::tempdir().unwrap();
        let folder = tmp.path().join("demo");
        fs::create_dir_all(&folder).unwrap();
        fs::write(folder.join(CHALLENGE_FILE), [0xff, 0xfe, 0x00]).unwrap();
        let report = Catalog::load(tmp.path(), &Ceilings::default()).unwrap();
        assert_eq!(report.errors(), 1);
        assert_eq!(
            relative_lines(&report, tmp.path()),
            [
                "demo/challenge.json:1:1: the file is UTF-16 (it starts with a UTF-16 byte order mark); save it as UTF-8"
            ]
        );
    }

    #[test]
    fn serde_messages_drop_the_position_suffix() {
        let mut seen = Seen::default();
        let (ch, diags) = check_file(
            Path::new("demo"),
            Path::new("demo/challenge.json"),
            "{\n  \"schema_version\": 1,\n  \"memroy\": 1\n}",
            &Ceilings::default(),
            &mut seen,
        );
        assert!(ch.is_none());
        assert_eq!(diags.len(), 1);
        assert_eq!((diags[0].line, diags[0].column), (3, 3));
        assert!(
            diags[0]
                .message
                .starts_with("unknown field `memroy`, expected one of")
        );
        assert!(!diags[0].message.contains(" at line "));

        let (_, diags) = check_file(
            Path::new("demo"),
            Path::new("demo/challenge.json"),
            "{\n  \"id\": \"x\",,\n}",
            &Ceilings::default(),
            &mut seen,
        );
        assert_eq!(
            diags[0].to_string(),
            "demo/challenge.json:2:13: invalid JSON: key must be a string"
        );
    }

    #[test]
    fn serde_positions_land_on_the_offending_key_or_value() {
        let check = |text: &str| {
            let mut seen = Seen::default();
            let (_, diags) = check_file(
                Path::new("demo"),
                Path::new("demo/challenge.json"),
                text,
                &Ceilings::default(),
                &mut seen,
            );
            diags.iter().map(ToString::to_string).collect::<Vec<_>>()
        };
        let mut doc = base();
        doc["difficulty"] = json!("extreme");
        let text = serde_json::to_string_pretty(&doc).unwrap();
        let line = text.lines().position(|l| l.contains("extreme")).unwrap() + 1;
        assert_eq!(
            check(&text),
            [format!(
                "demo/challenge.json:{line}:17: unknown variant `extreme`, expected one of `easy`, `medium`, `hard`, `insane`"
            )]
        );
        assert_eq!(
            check("{\n  \"id\": \"a\",\n  \"id\": \"b\"\n}"),
            ["demo/challenge.json:3:3: duplicate field `id`"]
        );
        assert_eq!(
            check("{\"schema_version\": 99999999999}"),
            ["demo/challenge.json:1:20: invalid value: integer `99999999999`, expected u32"]
        );
        assert_eq!(
            check(""),
            ["demo/challenge.json:1:1: invalid JSON: EOF while parsing a value"]
        );
    }

    #[test]
    fn a_byte_order_mark_is_tolerated() {
        let mut seen = Seen::default();
        let text = format!("\u{feff}{}", serde_json::to_string_pretty(&base()).unwrap());
        let (ch, diags) = check_file(
            Path::new("demo"),
            Path::new("demo/challenge.json"),
            &text,
            &Ceilings::default(),
            &mut seen,
        );
        assert!(ch.is_some(), "{diags:?}");
    }
}
