//! TOML errors as located errors, and where a key was written.
//!
//! The `toml` crate bounds its own recursion; what it lacks is the `path:line:column:` form
//! (its `Display` quotes the whole offending line, which for a 100,000-bracket line is the
//! whole file). Problems found after deserializing (a profile's value out of range) are placed
//! by looking their key up in the spanned document.

use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};

use super::ReadError;

/// A `toml` parse or deserialization error at its position in `text`.
pub fn error(path: &Path, text: &str, err: &toml::de::Error) -> ReadError {
    let message = err.message().trim();
    if message == "recursion limit" || message.contains("max recursion depth") {
        // Said in the same words as for JSON and YAML; dotted keys come without a span.
        let offset = err
            .span()
            .map_or_else(|| deepest_key_line(text), |span| span.start);
        return ReadError::at(
            path,
            text,
            offset,
            format!("nested deeper than {TOML_NESTING} levels"),
        );
    }
    let offset = err.span().map_or(0, |span| span.start);
    ReadError::at(path, text, offset, message)
}

/// The `toml` crate's own bound on nesting.
const TOML_NESTING: usize = 80;

/// Start of the first line whose key or table header has more dots than the nesting bound.
fn deepest_key_line(text: &str) -> usize {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let key = line.split('=').next().unwrap_or_default();
        if key.matches('.').count() >= TOML_NESTING {
            return offset;
        }
        offset += line.len();
    }
    0
}

/// Deserialize `text` as `T`, the error located.
pub fn parse<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T, ReadError> {
    toml::from_str(text).map_err(|err| error(path, text, &err))
}

/// Byte offset of the deepest key of `keys` (`["profiles", "web", "cpus"]`) written in `text`,
/// and how many of the keys were found; `None` when not even the first one is there (or the text
/// does not parse).
pub fn key_offset(text: &str, keys: &[&str]) -> Option<(usize, usize)> {
    let root = DeTable::parse(text).ok()?;
    let mut table = root.get_ref();
    let mut found = None;
    for (depth, key) in keys.iter().enumerate() {
        let Some((name, value)) = table.iter().find(|(name, _)| name.get_ref() == key) else {
            break;
        };
        found = Some((name.span().start, depth + 1));
        match value.get_ref() {
            DeValue::Table(inner) => table = inner,
            _ => break,
        }
    }
    found
}

/// A problem about the value at `keys`, placed in the file of `files` (in override order: a
/// later file wins a tie) that wrote the most of that key path; at the start of the last file
/// when none wrote any of it.
pub fn error_at_key(files: &[(PathBuf, String)], keys: &[&str], message: &str) -> ReadError {
    let mut best: Option<(usize, &Path, &str, usize)> = None;
    for (path, text) in files {
        if let Some((offset, depth)) = key_offset(text, keys)
            && best.is_none_or(|(d, ..)| depth >= d)
        {
            best = Some((depth, path, text, offset));
        }
    }
    match (best, files.last()) {
        (Some((_, path, text, offset)), _) => ReadError::at(path, text, offset, message),
        (None, Some((path, _))) => ReadError::whole(path, message),
        (None, None) => ReadError::whole(Path::new("configuration"), message),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Probe {
        a: u8,
    }

    #[test]
    fn errors_are_located_and_on_one_line() {
        let p = Path::new("c.toml");
        let err = parse::<Probe>(p, "\n a = 300\n").unwrap_err().to_string();
        assert!(err.starts_with("c.toml:2:6: "), "{err}");
        let err = parse::<Probe>(p, "a = 1\nb = 2\n").unwrap_err().to_string();
        assert!(err.starts_with("c.toml:2:1: unknown field `b`"), "{err}");
        let deep = format!("a = {}", "[".repeat(100_000));
        let err = parse::<Probe>(p, &deep).unwrap_err().to_string();
        assert!(err.starts_with("c.toml:1:"), "{err}");
        assert!(err.ends_with(": nested deeper than 80 levels"), "{err}");
        let dotted = format!("a = 1\n{} = 1\n", "x.".repeat(5_000) + "x");
        let err = parse::<Probe>(p, &dotted).unwrap_err().to_string();
        assert_eq!(err, "c.toml:2:1: nested deeper than 80 levels");
    }

    #[test]
    fn keys_are_found_in_headers_dotted_keys_and_inline_tables() {
        let text = "x = 1\n[profiles.web]\ncpus = 2\n[profiles.b]\nc = { d = 1 }\n";
        let at = |keys: &[&str]| {
            key_offset(text, keys).map(|(o, depth)| (super::super::position(text, o), depth))
        };
        assert_eq!(at(&["profiles", "web", "cpus"]), Some(((3, 1), 3)));
        assert_eq!(at(&["profiles", "web", "memory"]), Some(((2, 11), 2)));
        assert_eq!(at(&["profiles", "b", "c", "d"]), Some(((5, 7), 4)));
        assert_eq!(at(&["x", "y"]), Some(((1, 1), 1)));
        assert_eq!(at(&["nothing"]), None);
        assert_eq!(key_offset("[[[", &["x"]), None);
    }

    #[test]
    fn key_errors_go_to_the_file_that_wrote_the_most_of_the_key() {
        let files = vec![
            (
                PathBuf::from("sys.toml"),
                "[profiles.web]\ncpus = 0\n".to_string(),
            ),
            (
                PathBuf::from("me.toml"),
                "\n[profiles.web]\nmemory = \"1g\"\n".to_string(),
            ),
        ];
        let keys = ["profiles", "web", "cpus"];
        assert_eq!(
            error_at_key(&files, &keys, "bad").to_string(),
            "sys.toml:2:1: bad"
        );
        let keys = ["profiles", "web", "pids"];
        assert_eq!(
            error_at_key(&files, &keys, "bad").to_string(),
            "me.toml:2:11: bad"
        );
        assert_eq!(
            error_at_key(&files, &["nowhere"], "bad").to_string(),
            "me.toml:1:1: bad"
        );
    }
}
