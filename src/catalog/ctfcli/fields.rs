//! Tolerant readers for ctfcli's top-level fields. Real files are messy: numbers where strings
//! are expected (`name: 1337`), strings where numbers are (`value: "100"`), one string where a
//! list is expected (`tags: web`). Whatever has one sensible meaning is accepted; the rest is
//! reported at its position and, when it only costs an optional field, left out.

use crate::catalog::diagnostic::Severity;
use crate::catalog::findings::Findings;
use crate::catalog::locate::Position;
use crate::catalog::model::Hint;

use super::tree::{Node, Value};

pub fn error(out: &mut Findings<'_>, at: Position, message: impl Into<String>) {
    out.push(at, Severity::Error, message.into());
}

pub fn warning(out: &mut Findings<'_>, at: Position, message: impl Into<String>) {
    out.push(at, Severity::Warning, message.into());
}

/// A scalar field as text; absent or `null` is `None`. A list or mapping is an error.
pub fn text(root: &Node, key: &str, out: &mut Findings<'_>) -> Option<String> {
    let node = root.get(key)?;
    if node.is_null() {
        return None;
    }
    match node.text() {
        Some(text) => Some(text),
        None => {
            error(
                out,
                node.at,
                format!("`{key}` should be a string, not {}", node.kind()),
            );
            None
        }
    }
}

/// `author` is a string in the ctfcli spec; lists of authors are common and joined.
pub fn author(root: &Node, out: &mut Findings<'_>) -> Option<String> {
    let node = root.get("author")?;
    match &node.value {
        Value::Seq(items) => {
            let names: Vec<String> = items.iter().filter_map(Node::text).collect();
            (!names.is_empty()).then(|| names.join(", "))
        }
        _ => text(root, "author", out),
    }
}

/// A whole number of points from an integer, an integral float or a numeric string.
pub fn whole_number(node: &Node) -> Option<u32> {
    match &node.value {
        Value::Int(i) => u32::try_from(*i).ok(),
        Value::Float(f) if f.fract() == 0.0 && *f >= 0.0 && *f <= f64::from(u32::MAX) => {
            Some(*f as u32)
        }
        Value::Str(s) => {
            let s = s.trim();
            s.parse::<u32>().ok().or_else(|| {
                s.parse::<f64>()
                    .ok()
                    .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= f64::from(u32::MAX))
                    .map(|f| f as u32)
            })
        }
        _ => None,
    }
}

/// `value`, or for dynamic challenges without one, `extra.initial`.
pub fn points(root: &Node, out: &mut Findings<'_>) -> u32 {
    let node = root
        .get("value")
        .filter(|n| !n.is_null())
        .or_else(|| root.pointer("/extra/initial").filter(|n| !n.is_null()));
    let Some(node) = node else {
        return 0;
    };
    whole_number(node).unwrap_or_else(|| {
        let shown = node.text().unwrap_or_else(|| node.kind().to_string());
        error(
            out,
            node.at,
            format!("value {shown:?} is not a whole number of points"),
        );
        0
    })
}

/// A list of scalars; a lone scalar counts as a list of one. Entries that are mappings with
/// a `value` (CTFd's export format for tags) are read through it.
pub fn string_list(root: &Node, key: &str, out: &mut Findings<'_>) -> Vec<String> {
    let Some(node) = root.get(key) else {
        return Vec::new();
    };
    let items: Vec<&Node> = match &node.value {
        Value::Null => return Vec::new(),
        Value::Seq(items) => items.iter().collect(),
        _ => vec![node],
    };
    let mut list = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let text = item
            .text()
            .or_else(|| item.get("value").and_then(Node::text));
        match text {
            Some(text) => list.push(text),
            None if item.is_null() => {}
            None => warning(
                out,
                item.at,
                format!(
                    "{key}[{i}] is {}, not a string; it is kept but not used",
                    item.kind()
                ),
            ),
        }
    }
    list
}

/// Hints as strings (free) or `{content, cost}` mappings.
pub fn hints(root: &Node, out: &mut Findings<'_>) -> Vec<Hint> {
    let Some(node) = root.get("hints") else {
        return Vec::new();
    };
    let items: Vec<&Node> = match &node.value {
        Value::Null => return Vec::new(),
        Value::Seq(items) => items.iter().collect(),
        _ => vec![node],
    };
    let mut hints = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        if let Some(text) = item.text() {
            hints.push(Hint { text, cost: 0 });
            continue;
        }
        let Some(content) = item.get("content").and_then(Node::text) else {
            warning(
                out,
                item.at,
                format!(
                    "hints[{i}] has no content (use a string or {{content: …, cost: …}}); it is kept but not used"
                ),
            );
            continue;
        };
        let cost = match item.get("cost").filter(|c| !c.is_null()) {
            None => 0,
            Some(cost) => whole_number(cost).unwrap_or_else(|| {
                warning(
                    out,
                    cost.at,
                    format!(
                        "hints[{i}].cost {:?} is not a whole number; the hint is taken as free",
                        cost.text().unwrap_or_default()
                    ),
                );
                0
            }),
        };
        hints.push(Hint {
            text: content,
            cost,
        });
    }
    hints
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::path::Path;

    use super::super::tree::parse;
    use super::*;
    use crate::catalog::locate::Locator;

    fn with_findings<T>(
        doc: &str,
        f: impl FnOnce(&Node, &mut Findings<'_>) -> T,
    ) -> (T, Vec<String>) {
        let root = parse(doc).unwrap();
        let locator = Locator::new("");
        let mut out = Findings::new(Path::new("c.yml"), &locator);
        let value = f(&root, &mut out);
        (
            value,
            out.diagnostics.iter().map(ToString::to_string).collect(),
        )
    }

    #[test]
    fn numbers_and_strings_stand_in_for_each_other() {
        let (name, d) = with_findings("name: 1337\n", |r, o| text(r, "name", o));
        assert_eq!((name.as_deref(), d.len()), (Some("1337"), 0));
        for doc in [
            "value: \"100\"\n",
            "value: 100\n",
            "value: 100.0\n",
            "value: ' 100 '\n",
        ] {
            let (p, d) = with_findings(doc, points);
            assert_eq!((p, d.len()), (100, 0), "{doc}");
        }
        let (p, _) = with_findings("type: dynamic\nextra: {initial: 500, decay: 10}\n", points);
        assert_eq!(p, 500);
        let (p, d) = with_findings("value: lots\n", points);
        assert_eq!(p, 0);
        assert_eq!(
            d,
            ["c.yml:1:8: value \"lots\" is not a whole number of points"]
        );
    }

    #[test]
    fn lists_accept_a_lone_string_and_ctfd_tag_objects() {
        let (tags, d) = with_findings("tags: web\n", |r, o| string_list(r, "tags", o));
        assert_eq!((tags, d.len()), (vec!["web".to_string()], 0));
        let (tags, d) = with_findings(
            "tags:\n  - web\n  - {value: sqli}\n  - 2024\n  - [x]\n",
            |r, o| string_list(r, "tags", o),
        );
        assert_eq!(tags, ["web", "sqli", "2024"]);
        assert_eq!(
            d,
            ["c.yml:5:5: warning: tags[3] is a list, not a string; it is kept but not used"]
        );
    }

    #[test]
    fn hints_are_strings_or_content_and_cost() {
        let (h, d) = with_findings(
            "hints:\n  - free one\n  - {content: paid, cost: \"10\"}\n  - {cost: 5}\n",
            hints,
        );
        assert_eq!(
            h,
            [
                Hint {
                    text: "free one".into(),
                    cost: 0
                },
                Hint {
                    text: "paid".into(),
                    cost: 10
                }
            ]
        );
        assert_eq!(d.len(), 1);
        assert!(d[0].contains("hints[2] has no content"), "{d:?}");
    }

    #[test]
    fn authors_may_be_a_list() {
        let (a, _) = with_findings("author: [Zoë, bob]\n", author);
        assert_eq!(a.as_deref(), Some("Zoë, bob"));
        let (a, d) = with_findings("author: {name: x}\n", author);
        assert_eq!(a, None);
        assert_eq!(d, ["c.yml:1:9: `author` should be a string, not a mapping"]);
    }
}
