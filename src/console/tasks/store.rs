//! Notice commits to the store — from this console's background operations, another console, a
//! CLI run or the reaper — and send a fresh snapshot only then.

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc::Sender;

use crate::console::event::{Event, StoreSnapshot};
use crate::store::{InstanceFilter, Store};

/// `PRAGMA data_version` costs microseconds, so polling it this often is free; the full
/// reload happens only when it moves.
const POLL: Duration = Duration::from_millis(250);
/// Activity-log entries kept on screen.
const AUDIT_LINES: usize = 500;

/// Watch the store; if the watcher ever stops while the console runs (the store cannot be
/// opened, the task panicked), the screen is told, since it no longer follows the store.
pub fn spawn(path: PathBuf, tx: Sender<Event>) {
    let (gone, feed) = (tx.clone(), tx.clone());
    let watcher = tokio::spawn(async move {
        // An idle store sends nothing: stop with the console, not at the next commit.
        tokio::select! {
            () = gone.closed() => Ok(()),
            watched = watch(path, feed) => watched,
        }
    });
    tokio::spawn(async move {
        let reason = match watcher.await {
            Ok(Ok(())) => return,
            Ok(Err(reason)) => reason,
            Err(e) if e.is_panic() => "it crashed".to_string(),
            Err(e) => e.to_string(),
        };
        tracing::error!("store watcher stopped: {reason}");
        let _ = tx.send(Event::StoreWatchStopped(reason)).await;
    });
}

/// Returns `Ok` when the console is gone, an error when the store cannot be watched.
async fn watch(path: PathBuf, tx: Sender<Event>) -> Result<(), String> {
    // A connection of its own: `data_version` moves for commits made by *other*
    // connections, which then includes this console's own operations.
    let store = Store::open(&path).map_err(|e| e.to_string())?;
    let mut last = None;
    // Said once per run of failures, not four times a second.
    let mut failing = false;
    let mut interval = tokio::time::interval(POLL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        interval.tick().await;
        let version = match store.data_version() {
            Ok(v) => {
                failing = false;
                v
            }
            Err(e) => {
                if !failing {
                    tracing::warn!("store watcher: {e}");
                }
                failing = true;
                continue;
            }
        };
        if last == Some(version) {
            continue;
        }
        last = Some(version);
        let s = store.clone();
        let snapshot = tokio::task::spawn_blocking(move || load(&s)).await;
        match snapshot {
            Ok(Ok(snapshot)) => {
                if tx.send(Event::Store(snapshot)).await.is_err() {
                    return Ok(());
                }
            }
            Ok(Err(e)) => tracing::warn!("store watcher: {e}"),
            Err(e) => tracing::warn!("store watcher: {e}"),
        }
    }
}

pub fn load(store: &Store) -> Result<StoreSnapshot, crate::domain::DomainError> {
    Ok(StoreSnapshot {
        instances: store.list_instances(&InstanceFilter::default())?,
        audit: store.audit_tail(AUDIT_LINES)?,
        api: crate::domain::api_status::api_status(store)?,
    })
}
