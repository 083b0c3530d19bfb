//! One store watcher for many consoles in one process (the SSH sessions of `serve`): each
//! console would otherwise poll the store and read every live row again after each commit,
//! once per session. The snapshot is kept as the latest value: a console that is slow to take
//! it skips to the newest, never queues old ones.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::{mpsc, watch};

use crate::console::event::{Event, StoreSnapshot};

#[derive(Debug, Clone, Default)]
pub struct StoreState {
    pub snapshot: Option<Arc<StoreSnapshot>>,
    /// Bumped when the instances or the audit changed — not for `serve`'s heartbeat alone,
    /// which commits every few seconds and needs no console to take every row again.
    pub content: u64,
    /// Why the watcher stopped, if it did.
    pub stopped: Option<String>,
}

/// The shared watcher's latest state; clone it for each console.
#[derive(Debug, Clone)]
pub struct SharedStore {
    state: watch::Receiver<StoreState>,
}

impl SharedStore {
    /// Start the one watcher on `path`; it runs as long as the process.
    pub fn spawn(path: PathBuf) -> SharedStore {
        let (tx, mut rx) = mpsc::channel(4);
        super::store::spawn(path, tx);
        let (state_tx, state) = watch::channel(StoreState::default());
        tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                match event {
                    Event::Store(snapshot) => state_tx.send_modify(|s| {
                        let same = s.snapshot.as_ref().is_some_and(|old| {
                            old.instances == snapshot.instances && old.audit == snapshot.audit
                        });
                        if !same {
                            s.content += 1;
                        }
                        s.snapshot = Some(Arc::new(snapshot));
                    }),
                    Event::StoreWatchStopped(reason) => {
                        state_tx.send_modify(|s| s.stopped = Some(reason))
                    }
                    _ => {}
                }
            }
        });
        SharedStore { state }
    }

    /// The latest snapshot, if the watcher has read one: a console starts from it instead of
    /// reading every row itself.
    pub fn latest(&self) -> Option<Arc<StoreSnapshot>> {
        self.state.borrow().snapshot.clone()
    }

    /// Feed one console from the shared watcher, until the console is gone.
    pub fn follow(&self, tx: mpsc::Sender<Event>) {
        let mut state = self.state.clone();
        // What is there already was read by the console itself at start.
        let mut content = state.borrow_and_update().content;
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = tx.closed() => return,
                    changed = state.changed() => if changed.is_err() { return },
                }
                let now = state.borrow_and_update().clone();
                if let Some(reason) = now.stopped {
                    let _ = tx.send(Event::StoreWatchStopped(reason)).await;
                    return;
                }
                let Some(snapshot) = now.snapshot else {
                    continue;
                };
                let event = if now.content == content {
                    Event::Api(snapshot.api.clone())
                } else {
                    content = now.content;
                    Event::Store((*snapshot).clone())
                };
                if tx.send(event).await.is_err() {
                    return;
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{NewAuditEntry, Store};

    async fn next_store(rx: &mut mpsc::Receiver<Event>) -> StoreSnapshot {
        loop {
            match tokio::time::timeout(std::time::Duration::from_secs(30), rx.recv()).await {
                Ok(Some(Event::Store(s))) => return s,
                Ok(Some(_)) => continue,
                other => panic!("no snapshot: {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn one_watcher_feeds_every_console() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let store = Store::open(&path).unwrap();
        let shared = SharedStore::spawn(path);
        let (tx_a, mut rx_a) = mpsc::channel(8);
        let (tx_b, mut rx_b) = mpsc::channel(8);
        shared.follow(tx_a);
        shared.follow(tx_b);
        store
            .append_audit(&NewAuditEntry {
                actor: "alice",
                origin: "ssh:203.0.113.7",
                action: "stop",
                instance: None,
                detail: "",
                outcome: "ok",
            })
            .unwrap();
        for rx in [&mut rx_a, &mut rx_b] {
            let mut snapshot = next_store(rx).await;
            // The watcher's first read may come before the commit; the commit follows.
            while snapshot.audit.is_empty() {
                snapshot = next_store(rx).await;
            }
            assert_eq!(snapshot.audit[0].actor, "alice");
        }
    }
}
