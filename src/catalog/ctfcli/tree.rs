//! A YAML document as a tree whose every key and value knows where it was written.
//!
//! ctfcli files are converted field by field, tolerantly (numbers where strings are expected,
//! a single string where a list is expected…), and every problem is reported at its position.
//! serde-saphyr's `Spanned` gives each node its line and column; this module turns that into a
//! plain tree plus the raw source text of each scalar (so that an unquoted `version: 1.10`
//! is kept as written, not as the float `1.1`).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{MessageFormatter, Spanned, UserMessageFormatter};

use crate::catalog::locate::Position;
use crate::textfile::MAX_NESTING;

/// One node of the document.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Where the value starts (for a block mapping or sequence: its first entry).
    pub at: Position,
    pub value: Value,
    /// The scalar exactly as written, when the source text is at hand.
    pub raw: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Keys are scalars in ctfcli files; a number or boolean key is kept as its text.
    pub key: String,
    pub key_at: Position,
    pub value: Node,
}

/// A document that is not valid YAML: where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub at: Position,
    pub message: String,
}

/// Parse one YAML document. An empty document (or one holding only comments) is `Null`.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    match serde_saphyr::from_str_with_options::<Spanned<Raw>>(text, options()) {
        Ok(spanned) => Ok(convert(spanned, text)),
        Err(err) => Err(describe_error(&err)),
    }
}

/// The parser's defaults, with flow collections (`{a: {b: …}}`) bounded like block ones. Its
/// default allows 255 levels of flow nesting, which the recursive deserializers above do not
/// survive on a small (2 MiB) thread stack.
pub fn options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = MAX_NESTING;
    budget.flow_nesting_limit = MAX_NESTING;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options
}

/// serde-saphyr's error for a typed deserialization, as a position and a user-facing message.
pub fn describe_error(err: &serde_saphyr::Error) -> SyntaxError {
    SyntaxError {
        at: err
            .location()
            .map(|l| position(l.line(), l.column()))
            .unwrap_or(Position::START),
        message: message(err),
    }
}

/// The user-facing message; nesting past the parser's depth budget is said in the same words as
/// for `challenge.json` instead of as the budget's debug form.
fn message(err: &serde_saphyr::Error) -> String {
    use serde_saphyr::Error as E;
    use serde_saphyr::budget::BudgetBreach;
    let mut inner = err;
    while let E::WithSnippet { error, .. } | E::AliasError { error, .. } = inner {
        inner = error;
    }
    match inner {
        E::Budget {
            breach: BudgetBreach::Depth { .. },
            ..
        } => format!("nested deeper than {MAX_NESTING} levels"),
        E::Budget {
            breach: BudgetBreach::Nodes { nodes },
            ..
        } => format!(
            "the document is too large: it has more than {} values (a value an alias repeats counts each time)",
            nodes.saturating_sub(1)
        ),
        E::Budget {
            breach: BudgetBreach::Aliases { aliases },
            ..
        } => format!(
            "the document is too large: it uses more than {} aliases",
            aliases.saturating_sub(1)
        ),
        _ => {
            let text = UserMessageFormatter.format_message(err).into_owned();
            // The scanner's words for the same limit on flow collections (`[[[…`, `{a: {…`).
            if text == "recursion limit exceeded" {
                format!("nested deeper than {MAX_NESTING} levels")
            } else {
                text
            }
        }
    }
}

impl Node {
    /// The entries of a mapping; `None` for anything else.
    pub fn entries(&self) -> Option<&[Entry]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The value of `key` in a mapping (the last one, should a key repeat).
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries()?
            .iter()
            .rev()
            .find(|e| e.key == key)
            .map(|e| &e.value)
    }

    /// The node at an RFC 6901 pointer (`/x-ctfdeck/ports/0`), if it exists.
    pub fn pointer(&self, pointer: &str) -> Option<&Node> {
        let mut current = self;
        for raw in pointer.split('/').skip(1) {
            let segment = raw.replace("~1", "/").replace("~0", "~");
            current = match &current.value {
                Value::Map(_) => current.get(&segment)?,
                Value::Seq(items) => items.get(segment.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(current)
    }

    /// Where the key of the entry at `pointer` was written (the value's position for list items).
    pub fn key_position(&self, pointer: &str) -> Option<Position> {
        let (parent, last) = pointer.rsplit_once('/')?;
        let last = last.replace("~1", "/").replace("~0", "~");
        let parent = self.pointer(parent)?;
        match &parent.value {
            Value::Map(entries) => entries
                .iter()
                .rev()
                .find(|e| e.key == last)
                .map(|e| e.key_at),
            Value::Seq(items) => items.get(last.parse::<usize>().ok()?).map(|n| n.at),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// What kind of YAML value this is, for messages.
    pub fn kind(&self) -> &'static str {
        match self.value {
            Value::Null => "nothing",
            Value::Bool(_) => "a boolean",
            Value::Int(_) | Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// A scalar as text: strings as they are, numbers and booleans as written.
    pub fn text(&self) -> Option<String> {
        match &self.value {
            Value::Str(s) => Some(s.clone()),
            Value::Int(_) | Value::Float(_) | Value::Bool(_) => Some(
                self.raw
                    .clone()
                    .unwrap_or_else(|| scalar_text(&self.value).unwrap_or_default()),
            ),
            _ => None,
        }
    }

    /// The node as JSON, for keeping fields ctfdeck does not use. Unquoted numbers that JSON
    /// would change (`1.10`, `007`, huge integers) are kept as the text written.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => match (i64::try_from(*i), &self.raw) {
                (Ok(n), Some(raw)) if raw.trim() == n.to_string() => J::from(n),
                (Ok(n), None) => J::from(n),
                _ => J::String(self.text().unwrap_or_default()),
            },
            Value::Float(f) => match (serde_json::Number::from_f64(*f), &self.raw) {
                (Some(n), Some(raw)) if raw.trim() == n.to_string() => J::Number(n),
                (Some(n), None) => J::Number(n),
                _ => J::String(self.text().unwrap_or_default()),
            },
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|e| (e.key.clone(), e.value.to_json()))
                    .collect(),
            ),
        }
    }
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::Bool(b) => Some(b.to_string()),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Str(s) => Some(s.clone()),
        _ => None,
    }
}

fn position(line: u64, column: u64) -> Position {
    // serde-saphyr reports 1-based, character-based positions; 0 means unknown.
    Position {
        line: usize::try_from(line.max(1)).unwrap_or(usize::MAX),
        column: usize::try_from(column.max(1)).unwrap_or(usize::MAX),
    }
}

/// The source slice a scalar was read from, when its byte range is known.
fn raw_slice(location: &serde_saphyr::Location, text: &str) -> Option<String> {
    let span = location.span();
    let start = usize::try_from(span.byte_offset()?).ok()?;
    let len = usize::try_from(span.byte_len()?).ok()?;
    text.get(start..start.checked_add(len)?).map(str::to_string)
}

fn convert(spanned: Spanned<Raw>, text: &str) -> Node {
    let at = position(spanned.referenced.line(), spanned.referenced.column());
    let raw = match &spanned.value {
        // An alias (`*a`) is used in one place and written in another: the text is the latter.
        Raw::Int(_) | Raw::Float(_) | Raw::Bool(_) => raw_slice(&spanned.defined, text),
        _ => None,
    };
    let value = match spanned.value {
        Raw::Null => Value::Null,
        Raw::Bool(b) => Value::Bool(b),
        Raw::Int(i) => Value::Int(i),
        Raw::Float(f) => Value::Float(f),
        Raw::Str(s) => Value::Str(s),
        Raw::Seq(items) => Value::Seq(items.into_iter().map(|n| convert(n, text)).collect()),
        Raw::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(key, value)| Entry {
                    key: key.value.0,
                    key_at: position(key.referenced.line(), key.referenced.column()),
                    value: convert(value, text),
                })
                .collect(),
        ),
    };
    Node { at, value, raw }
}

/// The tree as serde-saphyr hands it over: every node wrapped in `Spanned`.
enum Raw {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Raw>>),
    Map(Vec<(Spanned<Key>, Spanned<Raw>)>),
}

/// A mapping key: any scalar, as text.
struct Key(String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a scalar key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_i128<E: de::Error>(self, v: i128) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_u128<E: de::Error>(self, v: u128) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Key, E> {
                Ok(Key("null".to_string()))
            }
        }
        deserializer.deserialize_any(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RawVisitor;
        impl<'de> Visitor<'de> for RawVisitor {
            type Value = Raw;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Raw, E> {
                Ok(Raw::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Raw, E> {
                Ok(Raw::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Raw, D::Error> {
                Raw::deserialize(d)
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Raw, E> {
                Ok(Raw::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Raw, E> {
                Ok(Raw::Int(i128::from(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Raw, E> {
                Ok(Raw::Int(i128::from(v)))
            }
            fn visit_i128<E: de::Error>(self, v: i128) -> Result<Raw, E> {
                Ok(Raw::Int(v))
            }
            fn visit_u128<E: de::Error>(self, v: u128) -> Result<Raw, E> {
                // Beyond i128 nobody means a number; keep the digits.
                Ok(i128::try_from(v).map_or_else(|_| Raw::Str(v.to_string()), Raw::Int))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Raw, E> {
                Ok(Raw::Float(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Raw, E> {
                Ok(Raw::Str(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Raw, E> {
                Ok(Raw::Str(v))
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Raw, E> {
                Ok(Raw::Str(String::from_utf8_lossy(v).into_owned()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Raw::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Raw::Map(entries))
            }
        }
        deserializer.deserialize_any(RawVisitor)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn pos(line: usize, column: usize) -> Position {
        Position { line, column }
    }

    const DOC: &str = "name: Zoë's web\nvalue: \"100\"\nversion: 1.10\nflags:\n  - flag{a}\n  - {type: regex, content: \"fl.*\"}\nx-ctfdeck:\n  ports:\n    - container: 8080\n";

    #[test]
    fn every_key_and_value_knows_its_position() {
        let root = parse(DOC).unwrap();
        assert_eq!(root.pointer("/name").unwrap().at, pos(1, 7));
        assert_eq!(root.key_position("/value"), Some(pos(2, 1)));
        assert_eq!(root.pointer("/flags/1/content").unwrap().at, pos(6, 28));
        assert_eq!(root.key_position("/flags/1/content"), Some(pos(6, 19)));
        assert_eq!(
            root.pointer("/x-ctfdeck/ports/0/container").unwrap().at,
            pos(9, 18)
        );
        assert!(root.pointer("/x-ctfdeck/nope").is_none());
        assert!(root.pointer("/flags/7").is_none());
    }

    #[test]
    fn scalars_keep_the_text_they_were_written_as() {
        let root = parse(DOC).unwrap();
        let version = root.get("version").unwrap();
        assert_eq!(version.value, Value::Float(1.1));
        assert_eq!(version.text().as_deref(), Some("1.10"));
        assert_eq!(version.to_json(), serde_json::json!("1.10"));
        assert_eq!(root.get("value").unwrap().text().as_deref(), Some("100"));
        assert_eq!(
            root.get("name").unwrap().to_json(),
            serde_json::json!("Zoë's web")
        );
        let plain = parse("a: 42\nb: 0.5\nc: 007\n").unwrap();
        assert_eq!(plain.get("a").unwrap().to_json(), serde_json::json!(42));
        assert_eq!(plain.get("b").unwrap().to_json(), serde_json::json!(0.5));
        assert_eq!(plain.get("c").unwrap().to_json(), serde_json::json!("007"));
    }

    #[test]
    fn non_string_keys_become_text() {
        let root = parse("1: one\ntrue: yes\n").unwrap();
        let keys: Vec<_> = root.entries().unwrap().iter().map(|e| &e.key).collect();
        assert_eq!(keys, ["1", "true"]);
    }

    #[test]
    fn empty_documents_are_null() {
        assert!(parse("").unwrap().is_null());
        assert!(parse("# only a comment\n").unwrap().is_null());
    }

    #[test]
    fn syntax_errors_carry_a_position_and_a_plain_message() {
        let err = parse("name: a\n  bad: [1, 2\n").unwrap_err();
        assert_eq!(err.at, pos(2, 6));
        assert_eq!(
            err.message,
            "mapping values are not allowed in this context"
        );
        let dup = parse("name: a\nname: b\n").unwrap_err();
        assert_eq!(dup.at, pos(2, 1));
        assert!(dup.message.contains("duplicate mapping key"), "{dup:?}");
        assert!(!dup.message.contains("Options"), "{dup:?}");
    }

    #[test]
    fn aliases_resolve_to_their_anchor() {
        let root = parse("base: &b {k: 1}\nother: *b\n").unwrap();
        assert_eq!(
            root.get("other").unwrap().to_json(),
            serde_json::json!({"k": 1})
        );
    }
}
