//! One table of key actions. Dispatch, the status-bar hints and the help popup all read it, so
//! a key shown is a key that works, and a rebinding in the config changes all three at once.

mod key;
mod keymap;

pub use key::Key;
pub use keymap::{Keymap, KeymapError, cheatsheet};

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
    /// Choosing the Swarm node to drain or activate.
    NodeMenu,
    Whose,
    Smoke,
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
            Context::NodeMenu => "node menu",
            Context::Whose => "whose flag",
            Context::Smoke => "smoke",
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
    /// Drain a Swarm node or let it take instances again.
    Node,
    Build,
    Smoke,
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
    WhoseFlag,
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
    C::NodeMenu,
    C::Whose,
    C::Smoke,
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
    // Out of the hints: it only means something on a Swarm, whose nodes strip shows the key.
    quiet(mutating(row(
        A::Node,
        "node",
        "drain/activate node",
        "on a Swarm: drain a node (no new instances; running ones stay) or let it take them again; the selected instance's node is offered first, then confirm",
        &[C::Instances],
        &["N"],
    ))),
    mutating(row(
        A::Build,
        "build",
        "build",
        "build the selected challenge's image",
        &[C::Catalog],
        &["b"],
    )),
    mutating(row(
        A::Smoke,
        "smoke",
        "smoke",
        "smoke-test the challenge (of the selected instance): validate, build, spawn, ready, check, teardown",
        &[C::Catalog, C::Instances],
        &["t"],
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
        &[C::Confirm, C::PurgeMenu, C::NodeMenu],
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
        "close the popup without doing anything (a running smoke test: cancel it, then tear down)",
        &[
            C::Help,
            C::Confirm,
            C::Detail,
            C::PurgeMenu,
            C::NodeMenu,
            C::Whose,
            C::Smoke,
        ],
        &["esc", "n", "q"],
    ),
    row(
        A::WhoseFlag,
        "whose_flag",
        "whose flag",
        "whose a pasted flag is: instance (live or stopped), owner, challenge",
        PANES,
        &["F"],
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
