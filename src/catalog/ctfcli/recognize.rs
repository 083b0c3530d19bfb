//! Telling a ctfcli `challenge.yml` from other YAML that happens to carry the name (a compose
//! file, a Kubernetes manifest, an empty file), so that the author gets "this is not what you
//! think" instead of a cascade of missing-field errors.

use crate::catalog::locate::Position;

use super::tree::{Node, Value};

/// Keys at least one of which every ctfcli challenge has besides `name`.
const CHALLENGE_KEYS: &[&str] = &["category", "value", "flags", "type", "description"];

/// `Err((position, reason))` when `root` is not a ctfcli challenge; the reason completes
/// "not a ctfcli challenge.yml: …".
pub fn check(root: &Node) -> Result<(), (Position, String)> {
    let entries = match &root.value {
        Value::Map(entries) => entries,
        Value::Null => return Err((Position::START, "the file is empty".to_string())),
        _ => {
            return Err((
                root.at,
                format!(
                    "the top level is {}, not a mapping of fields (name, category, value, flags, …)",
                    root.kind()
                ),
            ));
        }
    };
    let has = |key: &str| entries.iter().any(|e| e.key == key);
    if !has("name") {
        let looks_like = if has("services") {
            " (it looks like a docker-compose file)"
        } else if has("apiVersion") && has("kind") {
            " (it looks like a Kubernetes manifest)"
        } else {
            ""
        };
        return Err((
            root.at,
            format!(
                "it has no `name` field{looks_like}; a ctfcli challenge has name, category, value, flags, …"
            ),
        ));
    }
    if !CHALLENGE_KEYS.iter().any(|k| has(k)) {
        return Err((
            root.at,
            format!("it has a name but none of {}", CHALLENGE_KEYS.join(", ")),
        ));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::tree::parse;
    use super::*;

    fn reason(doc: &str) -> String {
        check(&parse(doc).unwrap()).unwrap_err().1
    }

    #[test]
    fn challenges_are_recognised() {
        assert!(check(&parse("name: x\ncategory: web\n").unwrap()).is_ok());
        assert!(check(&parse("name: x\nvalue: 1\n").unwrap()).is_ok());
    }

    #[test]
    fn other_yaml_is_named_for_what_it_is() {
        assert_eq!(reason(""), "the file is empty");
        assert!(reason("- a\n- b\n").starts_with("the top level is a list"));
        assert!(reason("just text\n").starts_with("the top level is a string"));
        assert!(reason("services:\n  web: {image: x}\n").contains("docker-compose"));
        assert!(reason("apiVersion: v1\nkind: Pod\n").contains("Kubernetes"));
        assert_eq!(
            reason("name: my-app\nversion: 2\n"),
            "it has a name but none of category, value, flags, type, description"
        );
    }
}
