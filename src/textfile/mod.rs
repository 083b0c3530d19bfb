//! Reading the text files people write for ctfdeck — `challenge.json`, ctfcli `challenge.yml`,
//! `config.toml`, security profiles, themes — the same guarded way: at most [`MAX_BYTES`] read,
//! UTF-8 checked with the position of the first bad byte, a byte order mark dropped, and every
//! problem reported as `path:line:column: message`. Whatever the bytes, a reader answers with a
//! value or a located error, never a panic or a blown stack.

mod nesting;
pub mod tomlfile;

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

pub use nesting::{MAX_NESTING, check_json_nesting};

/// The largest file a reader accepts. Definitions and configs are a few kilobytes; the cap keeps
/// a mistaken path (a log, an image) from being read whole into memory.
pub const MAX_BYTES: usize = 1 << 20;

/// A problem at a place in a file. Lines and columns are 1-based; columns count characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ReadError {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.path.display(),
            self.line,
            self.column,
            one_line(&self.message)
        )
    }
}

/// `message` with control characters escaped (`\n`, `\u{0}`), so that one problem stays one
/// line of output even when it quotes a key or value that holds a line break.
pub fn one_line(message: &str) -> std::borrow::Cow<'_, str> {
    if !message.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(message);
    }
    std::borrow::Cow::Owned(
        message
            .chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

impl ReadError {
    /// An error at byte `offset` of `text`.
    pub fn at(path: &Path, text: &str, offset: usize, message: impl Into<String>) -> ReadError {
        let (line, column) = position(text, offset);
        ReadError {
            path: path.to_path_buf(),
            line,
            column,
            message: message.into(),
        }
    }

    /// An error about the file as a whole, reported at its start.
    pub fn whole(path: &Path, message: impl Into<String>) -> ReadError {
        ReadError {
            path: path.to_path_buf(),
            line: 1,
            column: 1,
            message: message.into(),
        }
    }
}

/// Read `path` as text: at most [`MAX_BYTES`], UTF-8, without a byte order mark.
pub fn read(path: &Path) -> Result<String, ReadError> {
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let cannot =
        |error: std::io::Error| ReadError::whole(path, format!("cannot read {name}: {error}"));
    let file = std::fs::File::open(path).map_err(cannot)?;
    let mut bytes = Vec::new();
    // One byte past the cap tells "too large" from "exactly at the cap".
    file.take(MAX_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    decode(path, bytes)
}

/// Bytes already in memory as text, with the same checks as [`read`].
pub fn decode(path: &Path, bytes: Vec<u8>) -> Result<String, ReadError> {
    if bytes.len() > MAX_BYTES {
        return Err(ReadError::whole(
            path,
            format!(
                "the file is larger than {} KiB, the most ctfdeck reads; is this the right file?",
                MAX_BYTES / 1024
            ),
        ));
    }
    if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
        return Err(ReadError::whole(
            path,
            "the file is UTF-16 (it starts with a UTF-16 byte order mark); save it as UTF-8",
        ));
    }
    let mut text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => {
            let valid = err.utf8_error().valid_up_to();
            let bytes = err.into_bytes();
            let prefix = String::from_utf8_lossy(&bytes[..valid]);
            let bad = bytes.get(valid).copied().unwrap_or_default();
            return Err(ReadError::at(
                path,
                &prefix,
                valid,
                format!("invalid UTF-8 (byte 0x{bad:02X}); save the file as UTF-8"),
            ));
        }
    };
    if text.starts_with('\u{feff}') {
        text.drain(..'\u{feff}'.len_utf8());
    }
    Ok(text)
}

/// Stack for reading one file. Every parser recursion is bounded by [`MAX_NESTING`], but serde's
/// frames are large (about 40 KiB per YAML level in a debug build) and readers are called from
/// threads with small stacks (tokio workers and test threads have 2 MiB).
const READER_STACK: usize = 32 << 20;

/// Run `read` (the reading of the file at `path`) on a thread with a stack deep enough for any
/// nesting the readers accept. A panic in `read` is passed on as it is.
pub fn on_reader_stack<T: Send>(
    path: &Path,
    read: impl FnOnce() -> T + Send,
) -> Result<T, ReadError> {
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name("reader".to_string())
            .stack_size(READER_STACK)
            .spawn_scoped(scope, read)
            .map_err(|e| {
                ReadError::whole(path, format!("cannot start a thread to read the file: {e}"))
            })?;
        match handle.join() {
            Ok(value) => Ok(value),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// 1-based line and character column of byte `offset` in `text` (clamped to the text).
pub fn position(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (
        before.matches('\n').count() + 1,
        before[line_start..].chars().count() + 1,
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn decoded(bytes: &[u8]) -> Result<String, String> {
        decode(Path::new("f.json"), bytes.to_vec()).map_err(|e| e.to_string())
    }

    #[test]
    fn utf8_text_passes_and_a_byte_order_mark_is_dropped() {
        assert_eq!(decoded(b"{}").unwrap(), "{}");
        assert_eq!(decoded("\u{feff}{}".as_bytes()).unwrap(), "{}");
        assert_eq!(decoded(b"").unwrap(), "");
    }

    #[test]
    fn invalid_utf8_is_reported_at_the_first_bad_byte() {
        assert_eq!(
            decoded(b"{\n  \"n\": \"h\xc3\xa9\xff\"\n}").unwrap_err(),
            "f.json:2:11: invalid UTF-8 (byte 0xFF); save the file as UTF-8"
        );
        assert_eq!(
            decoded(b"\xff\xfe{\x00").unwrap_err(),
            "f.json:1:1: the file is UTF-16 (it starts with a UTF-16 byte order mark); save it as UTF-8"
        );
    }

    #[test]
    fn files_over_the_cap_are_refused_and_files_at_it_are_read() {
        assert!(decoded(&vec![b' '; MAX_BYTES]).is_ok());
        let err = decoded(&vec![b' '; MAX_BYTES + 1]).unwrap_err();
        assert!(
            err.starts_with("f.json:1:1: the file is larger than 1024 KiB"),
            "{err}"
        );
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.toml");
        std::fs::write(&big, vec![b'#'; MAX_BYTES + 10]).unwrap();
        assert!(read(&big).unwrap_err().message.contains("larger than"));
        let missing = read(&dir.path().join("nope.toml")).unwrap_err().to_string();
        assert!(
            missing.contains("nope.toml:1:1: cannot read nope.toml: "),
            "{missing}"
        );
    }

    #[test]
    fn the_reader_stack_returns_the_value_and_passes_panics_on() {
        let path = Path::new("f");
        let deep = on_reader_stack(path, || {
            // ~8 MiB of frames: more than a test thread's 2 MiB stack holds.
            fn down(n: u32) -> u32 {
                let pad = std::hint::black_box([n; 1024]);
                if n == 0 {
                    0
                } else {
                    down(n - 1) + pad[0] - n + 1
                }
            }
            down(2_000)
        });
        assert_eq!(deep, Ok(2_000));
        let panicked = std::panic::catch_unwind(|| on_reader_stack(path, || panic!("inner")));
        assert!(panicked.is_err());
    }

    #[test]
    fn messages_stay_on_one_line() {
        let err = ReadError::whole(Path::new("f"), "unknown field `a\nb\u{0}`");
        assert_eq!(err.to_string(), "f:1:1: unknown field `a\\nb\\u{0}`");
    }

    #[test]
    fn positions_count_lines_and_characters() {
        assert_eq!(position("ab\ncdé f", 0), (1, 1));
        assert_eq!(position("ab\ncdé f", 3), (2, 1));
        assert_eq!(position("ab\ncdé f", 8), (2, 5));
        assert_eq!(position("ab\ncdé f", 6), (2, 3));
        assert_eq!(position("ab\ncdé f", 7), (2, 4));
        assert_eq!(position("ab", 99), (1, 3));
    }
}
