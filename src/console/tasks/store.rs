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

pub fn spawn(path: PathBuf, tx: Sender<Event>) {
    tokio::spawn(async move {
        // A connection of its own: `data_version` moves for commits made by *other*
        // connections, which then includes this console's own operations.
        let store = match Store::open(&path) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!("store watcher: {e}");
                return;
            }
        };
        let mut last = None;
        let mut interval = tokio::time::interval(POLL);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            interval.tick().await;
            let version = match store.data_version() {
                Ok(v) => v,
                Err(e) => {
                    tracing::warn!("store watcher: {e}");
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
                        break;
                    }
                }
                Ok(Err(e)) => tracing::warn!("store watcher: {e}"),
                Err(e) => tracing::warn!("store watcher: {e}"),
            }
        }
    });
}

pub fn load(store: &Store) -> Result<StoreSnapshot, crate::store::StoreError> {
    Ok(StoreSnapshot {
        instances: store.list_instances(&InstanceFilter::default())?,
        audit: store.audit_tail(AUDIT_LINES)?,
    })
}
