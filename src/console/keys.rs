//! One table of key actions. Dispatch, the status-bar hints and the help popup all read it, so
//! a key shown is a key that works, and a rebinding in the config changes all three at once.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::config::KeySetting;

/// Where keys are read: one of the three panes, or the popup that has focus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Context {
    Catalog,
    Instances,
    Logs,
    Help,
    Confirm,
    Detail,
    PurgeMenu,
}

impl Context {
    pub const PANES: [Context; 3] = [Context::Catalog, Context::Instances, Context::Logs];

    pub fn name(self) -> &'static str {
        match self {
            Context::Catalog => "catalog",
            Context::Instances => "instances",
            Context::Logs => "logs",
            Context::Help => "help",
            Context::Confirm => "confirm",
            Context::Detail => "detail",
            Context::PurgeMenu => "purge menu",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Spawn,
    Extend,
    Stop,
    Reset,
    Purge,
    Build,
    Mark,
    Filter,
    Detail,
    FocusLogs,
    NextPane,
    PrevPane,
    Help,
    Quit,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    SortNext,
    SortReverse,
    LogSource,
    Timestamps,
    Follow,
    Search,
    NextMatch,
    Confirm,
    Cancel,
    Reveal,
}

use Action as A;
use Context as C;

/// One row of the action table.
#[derive(Debug)]
pub struct ActionInfo {
    pub action: Action,
    /// The name used in the config file's `[keys]` table.
    pub name: &'static str,
    /// Short label for the status-bar hints.
    pub label: &'static str,
    /// One line for the help popup.
    pub help: &'static str,
    pub contexts: &'static [Context],
    /// Changes instances or images: refused in the read-only role.
    pub mutating: bool,
    /// Needs the admin role without changing anything (revealing a flag).
    pub admin_only: bool,
    /// Shown in the status bar's hints (navigation keys are not, to save room).
    pub hint: bool,
    pub default_keys: &'static [&'static str],
}

const PANES: &[Context] = &[C::Catalog, C::Instances, C::Logs];
const LISTS: &[Context] = &[
    C::Catalog,
    C::Instances,
    C::Logs,
    C::Help,
    C::Detail,
    C::PurgeMenu,
];

const fn row(
    action: Action,
    name: &'static str,
    label: &'static str,
    help: &'static str,
    contexts: &'static [Context],
    default_keys: &'static [&'static str],
) -> ActionInfo {
    ActionInfo {
        action,
        name,
        label,
        help,
        contexts,
        mutating: false,
        admin_only: false,
        hint: true,
        default_keys,
    }
}

const fn mutating(mut info: ActionInfo) -> ActionInfo {
    info.mutating = true;
    info
}

const fn quiet(mut info: ActionInfo) -> ActionInfo {
    info.hint = false;
    info
}

/// The table. Order is the order of the hints and of the help popup.
pub const ACTIONS: &[ActionInfo] = &[
    mutating(row(
        A::Spawn,
        "spawn",
        "spawn",
        "start an instance of the challenge (asks for the owner)",
        &[C::Catalog, C::Instances],
        &["s"],
    )),
    mutating(row(
        A::Extend,
        "extend",
        "extend",
        "push the selected instance's expiry by its challenge's extend_by",
        &[C::Instances],
        &["e"],
    )),
    mutating(row(
        A::Stop,
        "stop",
        "stop",
        "stop the marked instances (or the selected one), after confirming",
        &[C::Instances],
        &["x"],
    )),
    mutating(row(
        A::Reset,
        "reset",
        "reset",
        "replace the selected instance with a fresh one, after confirming",
        &[C::Instances],
        &["r"],
    )),
    mutating(row(
        A::Purge,
        "purge",
        "purge",
        "stop many: expired / this challenge / marked / all, after confirming",
        &[C::Catalog, C::Instances],
        &["P"],
    )),
    mutating(row(
        A::Build,
        "build",
        "build",
        "build the selected challenge's image",
        &[C::Catalog],
        &["b"],
    )),
    row(
        A::Mark,
        "mark",
        "mark",
        "mark or unmark the selected instance for bulk actions",
        &[C::Instances],
        &["space"],
    ),
    row(
        A::Filter,
        "filter",
        "filter",
        "filter instances by owner, challenge, id, status or address",
        &[C::Instances],
        &["/"],
    ),
    row(
        A::Search,
        "search",
        "search",
        "search the log lines",
        &[C::Logs],
        &["/"],
    ),
    row(
        A::NextMatch,
        "next_match",
        "next",
        "jump to the next search match",
        &[C::Logs],
        &["n"],
    ),
    row(
        A::Detail,
        "detail",
        "detail",
        "everything about the selected instance: inspect, hardening, flag",
        &[C::Instances],
        &["enter"],
    ),
    row(
        A::SortNext,
        "sort",
        "sort",
        "sort by the next column",
        &[C::Instances],
        &["o"],
    ),
    quiet(row(
        A::SortReverse,
        "sort_reverse",
        "reverse",
        "reverse the sort order",
        &[C::Instances],
        &["O"],
    )),
    row(
        A::LogSource,
        "log_source",
        "audit/logs",
        "switch between the instance's logs and ctfdeck's activity log",
        &[C::Logs],
        &["a"],
    ),
    row(
        A::Timestamps,
        "timestamps",
        "times",
        "show or hide timestamps",
        &[C::Logs],
        &["t"],
    ),
    row(
        A::Follow,
        "follow",
        "follow",
        "follow new lines (jump to the end)",
        &[C::Logs],
        &["f"],
    ),
    row(
        A::FocusLogs,
        "focus_logs",
        "logs",
        "focus the logs pane",
        PANES,
        &["l"],
    ),
    quiet(row(
        A::NextPane,
        "next_pane",
        "next pane",
        "focus the next pane",
        PANES,
        &["tab"],
    )),
    quiet(row(
        A::PrevPane,
        "prev_pane",
        "previous pane",
        "focus the previous pane",
        PANES,
        &["backtab"],
    )),
    quiet(row(A::Up, "up", "up", "move up", LISTS, &["up", "k"])),
    quiet(row(
        A::Down,
        "down",
        "down",
        "move down",
        LISTS,
        &["down", "j"],
    )),
    quiet(row(
        A::PageUp,
        "page_up",
        "page up",
        "one page up (scroll back in logs)",
        LISTS,
        &["pageup"],
    )),
    quiet(row(
        A::PageDown,
        "page_down",
        "page down",
        "one page down",
        LISTS,
        &["pagedown"],
    )),
    quiet(row(
        A::Top,
        "top",
        "top",
        "first row",
        LISTS,
        &["home", "g"],
    )),
    quiet(row(
        A::Bottom,
        "bottom",
        "bottom",
        "last row",
        LISTS,
        &["end", "G"],
    )),
    row(
        A::Confirm,
        "confirm",
        "yes",
        "do it",
        &[C::Confirm, C::PurgeMenu],
        &["y", "enter"],
    ),
    ActionInfo {
        admin_only: true,
        ..row(
            A::Reveal,
            "reveal",
            "reveal flag",
            "reveal the instance's flag (admin only)",
            &[C::Detail],
            &["v"],
        )
    },
    row(
        A::Cancel,
        "cancel",
        "close",
        "close the popup without doing anything",
        &[C::Help, C::Confirm, C::Detail, C::PurgeMenu],
        &["esc", "n", "q"],
    ),
    row(A::Help, "help", "help", "this help", PANES, &["?"]),
    row(
        A::Quit,
        "quit",
        "quit",
        "quit the console (instances keep running)",
        PANES,
        &["q"],
    ),
];

pub fn info(action: Action) -> &'static ActionInfo {
    ACTIONS
        .iter()
        .find(|i| i.action == action)
        .unwrap_or(&ACTIONS[0])
}

/// A key as the table stores it: Shift is folded into the character (`P`, not Shift+p).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Key {
    pub fn from_event(ev: &KeyEvent) -> Key {
        let mut mods = ev.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT);
        let code = match ev.code {
            KeyCode::Char(c) if mods.is_empty() => KeyCode::Char(c),
            KeyCode::Char(c) => KeyCode::Char(c.to_ascii_lowercase()),
            KeyCode::BackTab => {
                mods = KeyModifiers::NONE;
                KeyCode::BackTab
            }
            other => other,
        };
        Key { code, mods }
    }

    /// `s`, `P`, `space`, `enter`, `tab`, `ctrl-x`, `f5`, `pageup`, …
    pub fn parse(text: &str) -> Result<Key, String> {
        let mut mods = KeyModifiers::NONE;
        let mut rest = text;
        loop {
            let lower = rest.to_ascii_lowercase();
            if let Some(r) = lower.strip_prefix("ctrl-").or(lower.strip_prefix("ctrl+")) {
                mods |= KeyModifiers::CONTROL;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower.strip_prefix("alt-").or(lower.strip_prefix("alt+")) {
                mods |= KeyModifiers::ALT;
                rest = &rest[rest.len() - r.len()..];
            } else {
                break;
            }
        }
        let named = match rest.to_ascii_lowercase().as_str() {
            "space" => Some(KeyCode::Char(' ')),
            "enter" | "return" => Some(KeyCode::Enter),
            "tab" => Some(KeyCode::Tab),
            "backtab" | "shift-tab" => Some(KeyCode::BackTab),
            "esc" | "escape" => Some(KeyCode::Esc),
            "up" => Some(KeyCode::Up),
            "down" => Some(KeyCode::Down),
            "left" => Some(KeyCode::Left),
            "right" => Some(KeyCode::Right),
            "pageup" | "pgup" => Some(KeyCode::PageUp),
            "pagedown" | "pgdn" => Some(KeyCode::PageDown),
            "home" => Some(KeyCode::Home),
            "end" => Some(KeyCode::End),
            "backspace" => Some(KeyCode::Backspace),
            "delete" | "del" => Some(KeyCode::Delete),
            f if f.len() > 1 && f.starts_with('f') => f[1..].parse::<u8>().ok().map(KeyCode::F),
            _ => None,
        };
        let code = match named {
            Some(code) => code,
            None => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) if !mods.is_empty() => KeyCode::Char(c.to_ascii_lowercase()),
                    (Some(c), None) => KeyCode::Char(c),
                    _ => return Err(format!("unknown key {text:?}")),
                }
            }
        };
        Ok(Key { code, mods })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mods.contains(KeyModifiers::CONTROL) {
            f.write_str("ctrl-")?;
        }
        if self.mods.contains(KeyModifiers::ALT) {
            f.write_str("alt-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("shift-tab"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::PageUp => f.write_str("pgup"),
            KeyCode::PageDown => f.write_str("pgdn"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::Backspace => f.write_str("backspace"),
            KeyCode::Delete => f.write_str("delete"),
            KeyCode::F(n) => write!(f, "f{n}"),
            other => write!(f, "{other:?}").map(|_| ()),
        }
    }
}

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
                            first: self::info(other).name,
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
