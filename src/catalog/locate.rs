//! Map JSON pointers and serde error positions to 1-based line/column positions.
//!
//! serde gives no spans for the values it deserialized, so the text is parsed a second time with
//! `jsonc-parser`, whose AST carries the byte range of every key and value.

use jsonc_parser::ast::{ObjectProp, Value};
use jsonc_parser::common::Ranged;
use jsonc_parser::{CollectOptions, ParseOptions, parse_to_ast};

/// A 1-based line and column (columns count characters, not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl Position {
    pub const START: Position = Position { line: 1, column: 1 };
}

/// Where the value (or key) at a JSON pointer of the native model was written.
///
/// `challenge.json` files answer from their own text ([`Locator`]); imported formats (ctfcli's
/// `challenge.yml`) map the native pointer to the place in their own file the value came from,
/// so that the same checks report positions authors can click on.
pub trait Locate {
    fn value(&self, pointer: &str) -> Position;
    fn key(&self, pointer: &str) -> Position;
}

impl Locate for Locator<'_> {
    fn value(&self, pointer: &str) -> Position {
        Locator::value(self, pointer)
    }

    fn key(&self, pointer: &str) -> Position {
        Locator::key(self, pointer)
    }
}

/// Positions inside one JSON text.
pub struct Locator<'a> {
    text: &'a str,
    root: Option<Value<'a>>,
}

impl<'a> Locator<'a> {
    /// Parse `text` for positions. Text that does not parse still gets a locator; every lookup
    /// then falls back to the start of the file.
    pub fn new(text: &'a str) -> Self {
        let root = parse_to_ast(text, &CollectOptions::default(), &ParseOptions::default())
            .ok()
            .and_then(|parsed| parsed.value);
        Locator { text, root }
    }

    /// Position of the byte at `offset` (clamped to the text).
    pub fn position_of(&self, offset: usize) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &self.text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Position {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }

    /// Start of the value at `pointer` (RFC 6901, e.g. `/container/ports/0/container`).
    /// When the pointer leads nowhere, the deepest value that does exist on its way is used, so a
    /// problem about a missing or defaulted field points at the object that should hold it.
    pub fn value(&self, pointer: &str) -> Position {
        match &self.root {
            Some(root) => self.position_of(walk(root, pointer).0.start()),
            None => Position::START,
        }
    }

    /// Start of the key of the property at `pointer`; the value's position when the last step
    /// is not an object property.
    pub fn key(&self, pointer: &str) -> Position {
        match &self.root {
            Some(root) => match walk(root, pointer) {
                (_, Some(prop)) => self.position_of(prop.name.start()),
                (value, None) => self.position_of(value.start()),
            },
            None => Position::START,
        }
    }

    /// Where a serde_json error should be reported.
    ///
    /// Syntax errors keep serde's position. For data errors (unknown field, wrong type, bad
    /// duration, missing field) serde reports the end of what it last read; that is moved to the
    /// start of the key or value containing it, so the column lands on the offending token.
    pub fn serde_error(&self, err: &serde_json::Error) -> Position {
        if err.line() == 0 {
            return Position::START;
        }
        let Some(line_start) = self.line_start(err.line()) else {
            return Position::START;
        };
        // serde's column is the number of bytes consumed on the line.
        let consumed_end = line_start + err.column();
        if !err.is_data() {
            return self.position_of(consumed_end.saturating_sub(1).max(line_start));
        }
        let Some(root) = &self.root else {
            return self.position_of(consumed_end.saturating_sub(1).max(line_start));
        };
        let mut offset = consumed_end.saturating_sub(1);
        // An unconsumed `[` / `{` of the wrong type: serde stops before it.
        let bytes = self.text.as_bytes();
        while offset < bytes.len() && matches!(bytes[offset], b' ' | b'\t' | b'\r' | b'\n' | b':') {
            offset += 1;
        }
        self.position_of(innermost_start(root, offset).unwrap_or(offset))
    }

    /// Byte offset where 1-based `line` starts.
    fn line_start(&self, line: usize) -> Option<usize> {
        if line == 1 {
            return Some(0);
        }
        self.text
            .match_indices('\n')
            .nth(line.checked_sub(2)?)
            .map(|(i, _)| i + 1)
    }
}

/// Escape one pointer segment (`~` → `~0`, `/` → `~1`), e.g. for tmpfs mount points used as keys.
pub fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

fn unescape(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

/// Follow `pointer` as far as it goes; returns the value reached and, when the last step taken
/// was an object property, that property.
fn walk<'v, 'a>(root: &'v Value<'a>, pointer: &str) -> (&'v Value<'a>, Option<&'v ObjectProp<'a>>) {
    let mut current = root;
    let mut via = None;
    for raw in pointer.split('/').skip(1) {
        let segment = unescape(raw);
        let next = match current {
            Value::Object(object) => object
                .properties
                .iter()
                .rev() // the last duplicate wins, as in serde_json
                .find(|p| p.name.as_str() == segment)
                .map(|p| (&p.value, Some(p))),
            Value::Array(array) => segment
                .parse::<usize>()
                .ok()
                .and_then(|i| array.elements.get(i))
                .map(|v| (v, None)),
            _ => None,
        };
        match next {
            Some((value, prop)) => {
                current = value;
                via = prop;
            }
            None => return (current, None),
        }
    }
    (current, via)
}

/// Start of the innermost key or value whose range holds `offset`.
fn innermost_start(value: &Value<'_>, offset: usize) -> Option<usize> {
    let range = value.range();
    if offset < range.start || offset >= range.end {
        return None;
    }
    let inner = match value {
        Value::Object(object) => object.properties.iter().find_map(|p| {
            let name = p.name.range();
            if offset >= name.start && offset < name.end {
                Some(name.start)
            } else {
                innermost_start(&p.value, offset)
            }
        }),
        Value::Array(array) => array
            .elements
            .iter()
            .find_map(|e| innermost_start(e, offset)),
        _ => None,
    };
    Some(inner.unwrap_or(range.start))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "{\n  \"id\": \"web\",\n  \"container\": {\n    \"ports\": [ { \"container\": 80 }, { \"container\": 70000 } ],\n    \"security\": { \"tmpfs\": { \"/tmp\": \"size=16m\" } }\n  }\n}\n";

    fn pos(line: usize, column: usize) -> Position {
        Position { line, column }
    }

    #[test]
    fn pointers_resolve_to_value_starts() {
        let loc = Locator::new(TEXT);
        assert_eq!(loc.value(""), pos(1, 1));
        assert_eq!(loc.value("/id"), pos(2, 9));
        assert_eq!(loc.value("/container/ports/1/container"), pos(4, 52));
        assert_eq!(
            loc.value(&format!("/container/security/tmpfs/{}", escape("/tmp"))),
            pos(5, 38)
        );
    }

    #[test]
    fn keys_resolve_to_the_property_name() {
        let loc = Locator::new(TEXT);
        assert_eq!(loc.key("/id"), pos(2, 3));
        assert_eq!(loc.key("/container/ports/1"), pos(4, 37));
    }

    #[test]
    fn missing_pointers_fall_back_to_the_deepest_existing_value() {
        let loc = Locator::new(TEXT);
        assert_eq!(loc.value("/container/resources/memory"), pos(3, 16));
        assert_eq!(loc.value("/container/ports/7"), pos(4, 14));
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let loc = Locator::new("{\"name\": \"héhé\", \"x\": 1}");
        assert_eq!(loc.value("/x"), pos(1, 23));
    }

    #[test]
    fn unparsable_text_falls_back_to_the_start() {
        let loc = Locator::new("{ nope");
        assert_eq!(loc.value("/id"), Position::START);
        assert_eq!(loc.key("/id"), Position::START);
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Probe {
        a: u32,
        #[serde(default)]
        b: Vec<u32>,
    }

    fn serde_position(text: &str) -> Position {
        let err = serde_json::from_str::<Probe>(text).err();
        let Some(err) = err else {
            panic!("expected a serde error for {text}");
        };
        Locator::new(text).serde_error(&err)
    }

    #[test]
    fn serde_data_errors_point_at_the_offending_token() {
        // unknown field → the key
        assert_eq!(serde_position("{\"a\": 1,\n  \"zzz\": 2}"), pos(2, 3));
        // wrong type (string) → the value
        assert_eq!(serde_position("{\"a\": \"one\"}"), pos(1, 7));
        // wrong type (array / object, which serde does not consume) → the value
        assert_eq!(serde_position("{\"a\": [1]}"), pos(1, 7));
        assert_eq!(serde_position("{\"a\": 1, \"b\": {}}"), pos(1, 15));
        // wrong type inside an array → the element
        assert_eq!(serde_position("{\"a\": 1, \"b\": [1, true]}"), pos(1, 19));
        // missing field → the enclosing object's opening brace
        assert_eq!(serde_position("{\n  \"b\": []\n}"), pos(1, 1));
    }

    #[test]
    fn serde_syntax_errors_keep_serdes_position() {
        assert_eq!(serde_position("{\"a\": 1,,}"), pos(1, 9));
        assert_eq!(serde_position("{\n  \"a\" 1}"), pos(2, 7));
    }
}
