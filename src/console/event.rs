//! The one event type. Producers (terminal input, a 1 Hz tick, the store watcher, the engine's
//! event stream, stats sampling, log following, background operations, signals) each send it
//! into one channel; one loop applies it to the state and draws when something changed.

use crossterm::event::KeyEvent;

use crate::domain::smoke::{SmokeReport, StageEvent};
use crate::domain::{FlagOwner, PurgeSelector};
use crate::engine::{ContainerDetail, ContainerEvent, ContainerStats, ManagedContainer};
use crate::store::{AuditEntry, InstanceRecord, Millis};

use super::logging::Warning;

#[derive(Debug)]
pub enum Event {
    Key(KeyEvent),
    /// The terminal was resized (or needs a full redraw).
    Redraw,
    /// Once a second, with the current time.
    Tick(Millis),
    /// The store changed (a commit from this or another process): its live rows and audit tail.
    Store(StoreSnapshot),
    /// Only the API's heartbeat in the store moved (instances and audit are as they were).
    Api(Option<crate::domain::api_status::ApiStatus>),
    /// What the engine runs for this store, listed after (re)connecting.
    EngineSynced(Vec<ManagedContainer>),
    Engine(ContainerEvent),
    EngineLost {
        reason: String,
        retry_in_secs: u64,
    },
    /// The engine answers again (or for the first time), reconciled; its version.
    EngineBack {
        version: String,
    },
    /// The store watcher stopped: the screen no longer follows the store.
    StoreWatchStopped(String),
    /// A warning or error logged while the console runs (it goes to the activity pane).
    Warning(Warning),
    /// Resource samples, by instance id.
    Stats(Vec<(String, ContainerStats)>),
    /// Image presence, by challenge id.
    Images(Vec<(String, bool)>),
    /// The Swarm's nodes with their live instances (never sent for a single-host engine).
    Nodes(Vec<crate::domain::nodes::NodeView>),
    /// New lines of the followed log; stale generations are ignored.
    LogLines {
        generation: u64,
        lines: Vec<String>,
    },
    LogEnded {
        generation: u64,
        error: Option<String>,
    },
    OpProgress {
        op: u64,
        done: usize,
        total: usize,
    },
    OpDone {
        op: u64,
        outcome: OpOutcome,
    },
    /// A stage of the smoke test running as operation `op` started, printed or ended.
    Smoke {
        op: u64,
        event: StageEvent,
    },
    /// The catalog folder was read again (a file changed, or at start).
    Catalog(CatalogReload),
    /// SIGHUP / SIGTERM / SIGINT: leave, restoring the terminal.
    Terminate,
}

/// The catalog as read again: its valid challenges (`None` when the folder could not be read),
/// and its errors as `path:line:col: message`.
#[derive(Debug, Clone)]
pub struct CatalogReload {
    pub catalog: Option<std::sync::Arc<crate::catalog::Catalog>>,
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct StoreSnapshot {
    pub instances: Vec<InstanceRecord>,
    pub audit: Vec<AuditEntry>,
    /// `serve`'s last heartbeat, if one ever ran on this store.
    pub api: Option<crate::domain::api_status::ApiStatus>,
}

/// What a background operation came back with.
#[derive(Debug)]
pub enum OpOutcome {
    Spawned {
        instance: Box<InstanceRecord>,
        existing: bool,
    },
    Extended(Box<InstanceRecord>),
    Stopped {
        stopped: usize,
        already: usize,
        failed: Vec<(String, String)>,
    },
    Reset {
        old: String,
        fresh: Box<InstanceRecord>,
    },
    /// What a purge selector takes now, for the confirmation.
    Selected {
        selector: PurgeSelector,
        records: Vec<InstanceRecord>,
    },
    Inspected {
        instance: String,
        detail: Box<ContainerDetail>,
    },
    Built {
        challenge: String,
    },
    FlagOwners {
        flag: String,
        owners: Vec<FlagOwner>,
    },
    /// A smoke test's whole report (teardown included).
    Smoked(Box<SmokeReport>),
    /// A Swarm node drained or let take instances again, as it is now.
    NodeTaking(Box<crate::engine::SwarmNode>),
    Failed {
        what: String,
        error: String,
    },
}
