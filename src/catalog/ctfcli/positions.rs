//! Positions for the checks shared with `challenge.json`: they speak of the native model
//! (`/container/ports/0/container`), the author wrote YAML (`/x-ctfdeck/ports/0/container`,
//! or nothing at all when a default was taken). Each native pointer is mapped to where its
//! value came from, falling back to the nearest field that does exist.

use crate::catalog::locate::{Locate, Position};

use super::tree::Node;
use super::xblock::KEY;

pub struct YamlPositions<'a> {
    root: &'a Node,
}

impl<'a> YamlPositions<'a> {
    pub fn new(root: &'a Node) -> Self {
        YamlPositions { root }
    }

    /// Where each native pointer may have come from, most specific first.
    fn candidates(&self, pointer: &str) -> Vec<String> {
        let x = format!("/{KEY}");
        let mut segments = pointer.splitn(3, '/').skip(1);
        let first = segments.next().unwrap_or_default();
        let rest = segments.next().map(|r| format!("/{r}")).unwrap_or_default();
        match first {
            "" | "schema_version" => vec![String::new()],
            "id" => vec![format!("{x}/id"), "/name".into()],
            "points" => vec!["/value".into(), "/extra/initial".into()],
            "difficulty" | "estimated_minutes" | "learning_objectives" => {
                vec![format!("{x}{pointer}")]
            }
            "container" => {
                let (field, _) = rest
                    .trim_start_matches('/')
                    .split_once('/')
                    .unwrap_or((rest.trim_start_matches('/'), ""));
                match field {
                    // The tag of a built image may come from the block.
                    "image" => vec![format!("{x}/image"), "/image".into()],
                    "build" => vec!["/image".into()],
                    _ => vec![format!("{x}{rest}"), "/image".into()],
                }
            }
            "flag" => vec![format!("{x}{pointer}"), "/flags".into()],
            "lifetime" => vec![format!("{x}{pointer}")],
            "smoke" => vec![
                format!("{x}{pointer}"),
                "/healthcheck".into(),
                format!("{x}/smoke"),
            ],
            _ => vec![pointer.to_string()],
        }
    }

    /// The first candidate that exists, else the deepest existing field on the way to one.
    fn resolve(&self, pointer: &str, want_key: bool) -> Position {
        let candidates = self.candidates(pointer);
        for candidate in &candidates {
            if let Some(node) = self.root.pointer(candidate) {
                if want_key && let Some(at) = self.root.key_position(candidate) {
                    return at;
                }
                return node.at;
            }
        }
        for candidate in &candidates {
            let mut path = candidate.as_str();
            while let Some((parent, _)) = path.rsplit_once('/') {
                path = parent;
                if path.is_empty() {
                    break;
                }
                if let Some(node) = self.root.pointer(path) {
                    return node.at;
                }
            }
        }
        Position::START
    }
}

impl Locate for YamlPositions<'_> {
    fn value(&self, pointer: &str) -> Position {
        self.resolve(pointer, false)
    }

    fn key(&self, pointer: &str) -> Position {
        self.resolve(pointer, true)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::tree::parse;
    use super::*;

    fn pos(line: usize, column: usize) -> Position {
        Position { line, column }
    }

    const DOC: &str = "name: web\nimage: .\nhealthcheck: solve.sh\nx-ctfdeck:\n  ports:\n    - container: 70000\n  env:\n    1BAD: x\n";

    #[test]
    fn native_pointers_land_where_the_value_was_written() {
        let root = parse(DOC).unwrap();
        let at = YamlPositions::new(&root);
        assert_eq!(at.value("/container/ports/0/container"), pos(6, 18));
        assert_eq!(at.value("/container/build"), pos(2, 8));
        assert_eq!(at.value("/smoke/check"), pos(3, 14));
        assert_eq!(at.value("/id"), pos(1, 7));
        assert_eq!(at.key("/container/env/1BAD"), pos(8, 5));
        assert_eq!(at.value("/schema_version"), pos(1, 1));
    }

    #[test]
    fn defaults_point_at_the_nearest_field_that_exists() {
        let root = parse(DOC).unwrap();
        let at = YamlPositions::new(&root);
        // A container setting with no x-ctfdeck field: the image it is about.
        assert_eq!(at.value("/container/healthcheck/test"), pos(2, 8));
        // No x-ctfdeck.flag and no flags: the block it could be set in.
        assert_eq!(at.value("/flag/static"), pos(5, 3));
        let bare = parse("name: web\nimage: .\n").unwrap();
        assert_eq!(
            YamlPositions::new(&bare).value("/container/ports"),
            pos(2, 8)
        );
        // No image either: the deepest part of the x-ctfdeck path that exists.
        let block_only = parse("name: web\nx-ctfdeck:\n  user: 1000\n").unwrap();
        assert_eq!(
            YamlPositions::new(&block_only).value("/container/resources/memory"),
            pos(3, 3)
        );
    }
}
