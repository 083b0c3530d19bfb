//! The console's state: plain data updated by events, read by the views. No I/O happens here;
//! what must happen outside comes back as [`Command`]s.

mod api;
pub mod catalog;
pub mod command;
mod dispatch;
pub mod format;
pub mod instances;
pub mod logs;
#[cfg(test)]
mod node_tests;
pub mod popup;
pub mod smoke;
#[cfg(test)]
mod tests;
mod update;

use std::collections::BTreeMap;

use tui_input::Input;

use crate::catalog::Catalog;
use crate::store::Millis;

use super::keys::{Context, Keymap};
pub use api::ApiFact;
use catalog::CatalogState;
pub use command::{Command, LogTarget, Op, PendingAction};
use instances::InstancesState;
use logs::LogsState;
use popup::Popup;

/// How long a message stays in the status bar.
pub const FLASH_MS: Millis = 6_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineStatus {
    pub connected: bool,
    pub version: String,
    /// Which engine: socket path or URL.
    pub target: String,
    /// Why it was lost, while it is.
    pub lost_reason: Option<String>,
    pub retry_in_secs: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    pub text: String,
    pub error: bool,
    pub until: Millis,
}

/// A background operation in flight, with progress for bulk ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Running {
    pub request: Op,
    pub done: usize,
    pub total: usize,
}

/// What the console is started with.
#[derive(Debug, Clone)]
pub struct Setup {
    pub keymap: Keymap,
    pub read_only: bool,
    pub store_path: String,
    pub engine_target: String,
    pub engine_version: String,
    /// Shown instead of 0.0.0.0 in addresses.
    pub public_host: String,
    pub now: Millis,
}

#[derive(Debug)]
pub struct App {
    pub focus: Context,
    pub keymap: Keymap,
    pub read_only: bool,
    pub now: Millis,
    pub catalog: CatalogState,
    pub instances: InstancesState,
    pub logs: LogsState,
    pub popup: Option<Popup>,
    /// Open while the instance filter is being typed.
    pub filter_input: Option<Input>,
    /// Open while a flag to look up is being typed (or pasted).
    pub flag_input: Option<Input>,
    pub engine: EngineStatus,
    /// On a Swarm: its nodes, for the nodes strip (empty otherwise).
    pub nodes: Vec<crate::domain::nodes::NodeView>,
    pub store_path: String,
    /// Why the store watcher stopped, if it did: the screen no longer follows the store.
    pub store_watch_stopped: Option<String>,
    /// `serve`'s last heartbeat, if one ever ran on this store.
    pub api: Option<crate::domain::api_status::ApiStatus>,
    pub flash: Option<Flash>,
    pub running: BTreeMap<u64, Running>,
    next_op: u64,
    /// Something visible changed since the last draw: the whole screen is drawn again.
    pub dirty: bool,
    /// Only the instances' clock cells (status, age, expiry) read differently since the last
    /// draw: drawing those cells again over the last frame is enough.
    pub clocks_moved: bool,
    pub quit: bool,
    /// What the clock columns read when last drawn.
    last_clock: String,
    /// What they read at the last tick: what a clocks-only draw then shows (nothing else
    /// moved, or the whole screen would be drawn), kept so it is not worked out twice.
    clock_at_tick: Option<String>,
    /// The catalog pane's "last smoke" ages as last drawn.
    last_catalog_clock: String,
    /// What the API's status read when last drawn.
    last_api: String,
}

/// How much of the screen changed since it was last drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redraw {
    Nothing,
    /// Only the countdowns, ages and time-derived states of the visible instances: once a
    /// second on an idle console, so these are drawn over the last frame, not from scratch.
    Clocks,
    Whole,
}

impl App {
    pub fn new(setup: Setup, catalog: &Catalog) -> App {
        App {
            focus: Context::Instances,
            keymap: setup.keymap,
            read_only: setup.read_only,
            now: setup.now,
            catalog: CatalogState::from_catalog(catalog),
            instances: InstancesState::new(&setup.public_host),
            logs: LogsState::default(),
            popup: None,
            filter_input: None,
            flag_input: None,
            engine: EngineStatus {
                connected: true,
                version: setup.engine_version,
                target: setup.engine_target,
                lost_reason: None,
                retry_in_secs: 0,
            },
            nodes: Vec::new(),
            store_path: setup.store_path,
            store_watch_stopped: None,
            api: None,
            flash: None,
            running: BTreeMap::new(),
            next_op: 0,
            dirty: true,
            clocks_moved: false,
            quit: false,
            last_clock: String::new(),
            clock_at_tick: None,
            last_catalog_clock: String::new(),
            last_api: String::new(),
        }
    }

    /// The context keys are read in: the open popup's, else the focused pane's.
    pub fn context(&self) -> Context {
        match &self.popup {
            Some(Popup::Help { .. }) => Context::Help,
            Some(Popup::Confirm(_)) => Context::Confirm,
            Some(Popup::Detail(_)) => Context::Detail,
            Some(Popup::PurgeMenu(_)) => Context::PurgeMenu,
            Some(Popup::NodeMenu(_)) => Context::NodeMenu,
            Some(Popup::Whose(_)) => Context::Whose,
            Some(Popup::Smoke(_)) => Context::Smoke,
            Some(Popup::Spawn(_)) | None => self.focus,
        }
    }

    pub fn role(&self) -> &'static str {
        if self.read_only { "read-only" } else { "admin" }
    }

    pub(crate) fn say(&mut self, text: impl Into<String>) {
        self.flash = Some(Flash {
            text: text.into(),
            error: false,
            until: self.now + FLASH_MS,
        });
    }

    pub(crate) fn complain(&mut self, text: impl Into<String>) {
        self.flash = Some(Flash {
            text: text.into(),
            error: true,
            until: self.now + FLASH_MS,
        });
    }

    /// Register a background operation and return the command that starts it.
    pub(crate) fn run(&mut self, request: Op) -> Command {
        self.next_op += 1;
        let op = self.next_op;
        self.running.insert(
            op,
            Running {
                request: request.clone(),
                done: 0,
                total: 0,
            },
        );
        Command::Run { op, request }
    }

    /// The whole screen was drawn at `now`.
    pub fn drawn(&mut self) {
        self.dirty = false;
        self.clocks_moved = false;
        self.clock_at_tick = None;
        self.last_clock = self.instances.clock_text(self.now);
        self.last_catalog_clock = self.catalog.clock_text(self.now);
        self.last_api = self.api_text();
    }

    /// The instances' clock cells were drawn at `now`.
    pub fn clocks_drawn(&mut self) {
        self.clocks_moved = false;
        self.last_clock = match self.clock_at_tick.take() {
            Some(clock) => clock,
            None => self.instances.clock_text(self.now),
        };
    }

    /// What the next draw has to do.
    pub fn redraw(&self) -> Redraw {
        if self.dirty {
            Redraw::Whole
        } else if self.clocks_moved {
            Redraw::Clocks
        } else {
            Redraw::Nothing
        }
    }
}
