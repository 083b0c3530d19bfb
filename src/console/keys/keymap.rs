//! The effective bindings: defaults from the table, overrides from the config, clash checks.

use std::collections::{BTreeMap, HashMap};

use crossterm::event::KeyEvent;

use super::{ACTIONS, Action, Context, Key};
use crate::config::KeySetting;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeymapError {
    #[error("[keys]: unknown action {name:?}; actions: {known}")]
    UnknownAction { name: String, known: String },
    #[error("[keys] {action}: {message}")]
    BadKey { action: String, message: String },
    #[error(
        "[keys]: key `{key}` is bound to both {first} and {second} in the {context} pane; rebind one of them"
    )]
    Clash {
        key: String,
        first: &'static str,
        second: &'static str,
        context: &'static str,
    },
}

/// The effective bindings: the table's defaults with the config's overrides applied.
#[derive(Debug, Clone)]
pub struct Keymap {
    keys: HashMap<Action, Vec<Key>>,
    lookup: HashMap<(Context, Key), Action>,
}

impl Keymap {
    pub fn defaults() -> Keymap {
        match Keymap::new(&BTreeMap::new()) {
            Ok(map) => map,
            // The built-in table is clash-free; a unit test proves it.
            Err(e) => unreachable!("built-in key table: {e}"),
        }
    }

    /// Apply `[keys]` overrides (action name → key or keys) and check for clashes.
    pub fn new(overrides: &BTreeMap<String, KeySetting>) -> Result<Keymap, KeymapError> {
        let mut keys: HashMap<Action, Vec<Key>> = HashMap::new();
        for info in ACTIONS {
            let parsed = info.default_keys.iter().filter_map(|k| Key::parse(k).ok());
            keys.insert(info.action, parsed.collect());
        }
        for (name, setting) in overrides {
            let info = ACTIONS.iter().find(|i| i.name == name).ok_or_else(|| {
                KeymapError::UnknownAction {
                    name: name.clone(),
                    known: ACTIONS
                        .iter()
                        .map(|i| i.name)
                        .collect::<Vec<_>>()
                        .join(", "),
                }
            })?;
            let parsed = setting
                .keys()
                .iter()
                .map(|k| Key::parse(k))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|message| KeymapError::BadKey {
                    action: name.clone(),
                    message,
                })?;
            keys.insert(info.action, parsed);
        }
        let mut lookup: HashMap<(Context, Key), Action> = HashMap::new();
        for info in ACTIONS {
            for key in keys.get(&info.action).into_iter().flatten() {
                for ctx in info.contexts {
                    if let Some(other) = lookup.insert((*ctx, *key), info.action)
                        && other != info.action
                    {
                        return Err(KeymapError::Clash {
                            key: key.to_string(),
                            first: super::info(other).name,
                            second: info.name,
                            context: ctx.name(),
                        });
                    }
                }
            }
        }
        Ok(Keymap { keys, lookup })
    }

    pub fn action(&self, ctx: Context, ev: &KeyEvent) -> Option<Action> {
        self.lookup.get(&(ctx, Key::from_event(ev))).copied()
    }

    pub fn keys(&self, action: Action) -> &[Key] {
        self.keys.get(&action).map(Vec::as_slice).unwrap_or(&[])
    }

    /// `s`, or `y/enter` for an action with several keys.
    pub fn keys_text(&self, action: Action) -> String {
        let keys: Vec<String> = self.keys(action).iter().map(Key::to_string).collect();
        keys.join("/")
    }

    /// The status-bar hints for a context, in table order.
    pub fn hints(&self, ctx: Context) -> Vec<(String, &'static str)> {
        ACTIONS
            .iter()
            .filter(|i| i.hint && i.contexts.contains(&ctx) && !self.keys(i.action).is_empty())
            .map(|i| {
                let first = self.keys(i.action).first().map(Key::to_string);
                (first.unwrap_or_default(), i.label)
            })
            .collect()
    }
}

/// The default key bindings as a Markdown table, for `docs/KEYS.md` (a test keeps that file
/// in step with this table).
pub fn cheatsheet() -> String {
    let mut out = String::from(
        "# Console keys\n\nGenerated from the console's action table (`src/console/keys.rs`); \
         rebind any action in the config file's `[keys]` table by its name.\n\n\
         | keys | action (config name) | where | what it does |\n|---|---|---|---|\n",
    );
    for info in ACTIONS {
        let keys: Vec<String> = info.default_keys.iter().map(|k| format!("`{k}`")).collect();
        let wher: Vec<&str> = info.contexts.iter().map(|c| c.name()).collect();
        let role = if info.mutating || info.admin_only {
            " (admin; refused read-only)"
        } else {
            ""
        };
        out.push_str(&format!(
            "| {} | `{}` | {} | {}{role} |\n",
            keys.join(" "),
            info.name,
            wher.join(", "),
            info.help
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyCode, KeyModifiers};

    #[test]
    fn the_keys_doc_is_generated_from_the_table() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/KEYS.md");
        let want = cheatsheet();
        if std::env::var_os("UPDATE_KEYS_DOC").is_some() {
            std::fs::write(&path, &want).unwrap();
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "docs/KEYS.md is out of date: run UPDATE_KEYS_DOC=1 cargo test --lib keys"
        );
    }

    fn key(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    #[test]
    fn the_built_in_table_has_no_clash_and_dispatches_by_pane() {
        let map = Keymap::new(&BTreeMap::new()).unwrap();
        assert_eq!(
            map.action(Context::Instances, &key('s')),
            Some(Action::Spawn)
        );
        assert_eq!(
            map.action(Context::Instances, &key('/')),
            Some(Action::Filter)
        );
        assert_eq!(map.action(Context::Logs, &key('/')), Some(Action::Search));
        assert_eq!(map.action(Context::Logs, &key('e')), None);
        let shift_p = KeyEvent::new(KeyCode::Char('P'), KeyModifiers::SHIFT);
        assert_eq!(
            map.action(Context::Instances, &shift_p),
            Some(Action::Purge)
        );
    }

    #[test]
    fn rebinding_changes_dispatch_and_hints() {
        let overrides = BTreeMap::from([("spawn".to_string(), KeySetting::One("S".into()))]);
        let map = Keymap::new(&overrides).unwrap();
        assert_eq!(
            map.action(Context::Instances, &key('S')),
            Some(Action::Spawn)
        );
        assert_eq!(map.action(Context::Instances, &key('s')), None);
        assert!(
            map.hints(Context::Instances)
                .contains(&("S".to_string(), "spawn"))
        );
    }

    #[test]
    fn a_clash_names_both_actions() {
        let overrides = BTreeMap::from([("extend".to_string(), KeySetting::One("x".into()))]);
        let err = Keymap::new(&overrides).unwrap_err().to_string();
        assert!(err.contains("extend") && err.contains("stop"), "{err}");
        assert!(err.contains("`x`"), "{err}");
    }

    #[test]
    fn unknown_actions_and_keys_are_reported() {
        let bad = BTreeMap::from([("spwan".to_string(), KeySetting::One("s".into()))]);
        assert!(matches!(
            Keymap::new(&bad),
            Err(KeymapError::UnknownAction { .. })
        ));
        let bad = BTreeMap::from([("spawn".to_string(), KeySetting::One("hyper-s".into()))]);
        assert!(matches!(Keymap::new(&bad), Err(KeymapError::BadKey { .. })));
        assert_eq!(Key::parse("ctrl-X").unwrap().to_string(), "ctrl-x");
        assert_eq!(Key::parse("f5").unwrap().code, KeyCode::F(5));
    }
}
