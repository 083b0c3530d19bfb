//! The five readers of user-written files, driven the same way: bytes in, either a value or
//! errors out, and every error line must be `path:line:column: message` with a position inside
//! the file.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use ctfdeck::catalog::{self, Ceilings};
use ctfdeck::config::Config;
use ctfdeck::console::theme::Theme;
use ctfdeck::textfile;

pub const REPO: &str = env!("CARGO_MANIFEST_DIR");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// `challenge.json`
    Json,
    /// ctfcli `challenge.yml`
    Yaml,
    /// `config.toml`
    Config,
    /// files in the format of `profiles/security.toml`
    Profiles,
    /// `themes/*.toml`
    Theme,
}

pub const READERS: [Reader; 5] = [
    Reader::Json,
    Reader::Yaml,
    Reader::Config,
    Reader::Profiles,
    Reader::Theme,
];

impl Reader {
    /// The folder name under `tests/fixtures/malformed`.
    pub fn name(self) -> &'static str {
        match self {
            Reader::Json => "json",
            Reader::Yaml => "yml",
            Reader::Config => "config",
            Reader::Profiles => "profiles",
            Reader::Theme => "theme",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Reader::Json => "json",
            Reader::Yaml => "yml",
            Reader::Config | Reader::Profiles | Reader::Theme => "toml",
        }
    }

    /// Valid files of this kind shipped in the repository: the starting points of mutation.
    pub fn seeds(self) -> Vec<Vec<u8>> {
        let files: Vec<PathBuf> = match self {
            Reader::Json => ["nc-calc", "web-cmdinject", "web-robots"]
                .iter()
                .map(|c| repo(&format!("challenges/{c}/challenge.json")))
                .collect(),
            Reader::Yaml => ["clean", "messy", "regex-only", "registry-image"]
                .iter()
                .map(|c| repo(&format!("tests/fixtures/ctfcli/{c}/challenge.yml")))
                .collect(),
            Reader::Config => vec![repo("tests/fixtures/readers/config.toml")],
            Reader::Profiles => vec![repo("profiles/security.toml")],
            Reader::Theme => ["dark", "light", "high-contrast", "monochrome"]
                .iter()
                .map(|t| repo(&format!("themes/{t}.toml")))
                .collect(),
        };
        files
            .iter()
            .map(|f| std::fs::read(f).unwrap_or_else(|e| panic!("seed {}: {e}", f.display())))
            .collect()
    }

    /// Read `bytes` as a file at `path`: `Ok` when the reader accepts it, else its error lines
    /// (warnings included for challenge files).
    pub fn read(self, path: &Path, bytes: Vec<u8>) -> Result<(), Vec<String>> {
        match self {
            Reader::Json | Reader::Yaml => {
                // The folder names the challenge when ctfcli's file has no id of its own.
                let folder = path
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new("demo"));
                let (challenge, diagnostics) =
                    catalog::check_bytes(folder, path, bytes, &Ceilings::default());
                match challenge {
                    Some(_) => Ok(()),
                    None => Err(diagnostics.iter().map(ToString::to_string).collect()),
                }
            }
            Reader::Config => Config::parse_file(path, bytes)
                .map(drop)
                .map_err(|e| vec![e.to_string()]),
            Reader::Profiles => catalog::read_profiles(path, bytes)
                .map(drop)
                .map_err(|e| vec![e.to_string()]),
            Reader::Theme => textfile::decode(path, bytes)
                .map_err(Into::into)
                .and_then(|text| Theme::parse(path, &text))
                .map(drop)
                .map_err(|e| vec![e.to_string()]),
        }
    }
}

pub fn repo(relative: &str) -> PathBuf {
    Path::new(REPO).join(relative)
}

/// Why `lines` (the errors for `bytes` read as `path`) are not all located inside the file, if
/// they are not. A rejection must say at least one thing.
pub fn unlocated(path: &Path, bytes: &[u8], lines: &[String]) -> Option<String> {
    if lines.is_empty() {
        return Some("rejected without an error".to_string());
    }
    let prefix = format!("{}:", path.display());
    // A BOM-less, lossy view is enough to count lines; columns are at most the line's length + 1.
    let text = String::from_utf8_lossy(bytes);
    // YAML also breaks lines at a lone `\r` (as editors do); either count is accepted.
    let by_newline: Vec<usize> = text.split('\n').map(|l| l.chars().count()).collect();
    let by_any: Vec<usize> = text
        .replace("\r\n", "\n")
        .split(['\n', '\r'])
        .map(|l| l.chars().count())
        .collect();
    // Column: at most one past the line's end (where "expected more" is reported).
    let inside = |lengths: &[usize], l: usize, c: usize| {
        l >= 1 && c >= 1 && l <= lengths.len() && c <= lengths[l - 1] + 1
    };
    for line in lines {
        let Some(rest) = line.strip_prefix(&prefix) else {
            return Some(format!("{line:?} does not start with {prefix:?}"));
        };
        let mut parts = rest.splitn(3, ':');
        let (Some(l), Some(c), Some(message)) = (parts.next(), parts.next(), parts.next()) else {
            return Some(format!("{line:?} is not path:line:column: message"));
        };
        let (Ok(l), Ok(c)) = (l.parse::<usize>(), c.parse::<usize>()) else {
            return Some(format!("{line:?} has no numeric line and column"));
        };
        if !inside(&by_newline, l, c) && !inside(&by_any, l, c) {
            return Some(format!("{line:?} points outside the file"));
        }
        if message.trim().is_empty() || !message.starts_with(' ') {
            return Some(format!("{line:?} has no message"));
        }
        if message.contains('\n') {
            return Some(format!("{line:?} spans several lines"));
        }
    }
    None
}
