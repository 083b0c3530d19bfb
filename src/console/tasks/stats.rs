//! Resource samples for the rows on screen only, every few seconds.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{StreamExt, stream};
use tokio::sync::mpsc::Sender;
use tokio::sync::watch;

use crate::console::event::Event;
use crate::engine::Engine;

/// Each sample makes the engine read cgroup counters twice; every 5 s keeps its load low.
pub const EVERY: Duration = Duration::from_secs(5);
/// Samples in flight at once.
const CONCURRENCY: usize = 4;

/// (instance id, container id) of the visible rows.
pub type Targets = Vec<(String, String)>;

pub fn spawn(engine: Arc<dyn Engine>, mut targets: watch::Receiver<Targets>, tx: Sender<Event>) {
    tokio::spawn(async move {
        loop {
            let current = targets.borrow_and_update().clone();
            if !current.is_empty() {
                let samples: Vec<_> = stream::iter(current)
                    .map(|(instance, container)| {
                        let engine = engine.clone();
                        async move {
                            let s = engine.container_stats(&container).await.ok()?;
                            Some((instance, s))
                        }
                    })
                    .buffer_unordered(CONCURRENCY)
                    .filter_map(std::future::ready)
                    .collect()
                    .await;
                if !samples.is_empty() && tx.send(Event::Stats(samples)).await.is_err() {
                    return;
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(EVERY) => {}
                changed = targets.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    // Let scrolling settle before sampling the new rows.
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    });
}
