//! What the console is started with. The command line builds it (config, flags, catalog) and
//! hands it over; the console itself knows nothing of how those were found.

use std::path::PathBuf;
use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::catalog::{Catalog, Ceilings};
use crate::domain::Lifecycle;

use super::keys::Keymap;
use super::logging::Warnings;
use super::tasks::shared_catalog::SharedCatalog;
use super::tasks::shared_engine::SharedEngine;
use super::tasks::shared_stats::SharedStats;
use super::tasks::shared_store::SharedStore;

/// Producers one process runs once for all its consoles (the SSH sessions of `serve`).
#[derive(Debug, Clone)]
pub struct SharedFeeds {
    pub store: SharedStore,
    pub stats: SharedStats,
    pub engine: SharedEngine,
    pub catalog: SharedCatalog,
}

impl SharedFeeds {
    /// `connect` opens the one engine connection (with the process's own actor: the
    /// consoles act through lifecycles of their own on that engine); `catalog` is the folder
    /// every console's catalog pane follows.
    pub fn spawn(
        store: PathBuf,
        connect: Connector,
        catalog: PathBuf,
        ceilings: Ceilings,
    ) -> SharedFeeds {
        SharedFeeds {
            store: SharedStore::spawn(store),
            stats: SharedStats::spawn(),
            engine: SharedEngine::spawn(connect),
            catalog: SharedCatalog::spawn(catalog, ceilings),
        }
    }
}
use super::theme::Theme;

/// Connects to the engine and opens the lifecycle on it; the console calls it at start and
/// again, with backoff, for as long as the engine does not answer. The error says which engine
/// was tried and why it did not answer.
pub type Connector = Arc<dyn Fn() -> BoxFuture<'static, Result<Lifecycle, String>> + Send + Sync>;

pub struct Launch {
    pub keymap: Keymap,
    pub theme: Theme,
    /// `--read-only` or the monitor role: every mutating key is refused.
    pub read_only: bool,
    pub store_path: PathBuf,
    pub catalog: Arc<Catalog>,
    /// What the catalog is checked against when it is read again after an edit.
    pub ceilings: Ceilings,
    /// The engine the connector tries, named while it does not answer.
    pub engine_target: String,
    pub connect: Connector,
    /// Shown instead of 0.0.0.0 in addresses.
    pub public_host: String,
    /// Warnings logged while the console runs, for the activity pane.
    pub warnings: Option<Warnings>,
    /// The store watcher, stats sampler, engine connection and catalog watcher shared by the
    /// consoles of one process (`connect` then works on the shared engine); `None`: the
    /// console runs its own.
    pub shared: Option<SharedFeeds>,
}
