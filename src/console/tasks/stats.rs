//! Resource samples for the rows on screen only, every few seconds: from the cgroup files when
//! the engine runs on this host, else from the engine's stats API.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{StreamExt, stream};
use tokio::sync::mpsc::Sender;
use tokio::sync::watch;

use crate::console::event::Event;
use crate::console::tasks::engine::Current;
use crate::engine::Engine;

/// One-shot samples are cheap for the engine; every 5 s keeps its load low and gives CPU %
/// over the last 5 s.
pub const EVERY: Duration = Duration::from_secs(5);
/// Samples in flight at once.
const CONCURRENCY: usize = 4;

/// (instance id, container id) of the visible rows.
pub type Targets = Vec<(String, String)>;

pub fn spawn(lifecycle: Current, mut targets: watch::Receiver<Targets>, tx: Sender<Event>) {
    tokio::spawn(async move {
        // The previous sample of each container, for CPU % between samples.
        let mut previous: HashMap<String, crate::engine::ContainerStats> = HashMap::new();
        loop {
            let current = targets.borrow_and_update().clone();
            // Nothing to sample from until the engine has answered once.
            let engine: Option<Arc<dyn Engine>> =
                lifecycle.borrow().as_ref().map(|l| l.engine().clone());
            if let Some(engine) = engine.filter(|_| !current.is_empty()) {
                let samples = sample(&engine, current, &mut previous).await;
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

/// One round: a sample of each target, CPU % since `previous` (which becomes this round's
/// samples; containers no longer targeted are forgotten).
pub async fn sample(
    engine: &Arc<dyn Engine>,
    targets: Targets,
    previous: &mut HashMap<String, crate::engine::ContainerStats>,
) -> Vec<(String, crate::engine::ContainerStats)> {
    // The cgroup files first (one blocking pass over all); the engine's API for the rest.
    let (mut samples, rest) = tokio::task::spawn_blocking(move || {
        let mut local = Vec::new();
        let mut rest = Vec::new();
        for (instance, container) in targets {
            match super::cgroup_stats::sample(&container) {
                Some(s) => local.push((instance, container, s)),
                None => rest.push((instance, container)),
            }
        }
        (local, rest)
    })
    .await
    .unwrap_or_default();
    let asked: Vec<_> = stream::iter(rest)
        .map(|(instance, container)| {
            let engine = engine.clone();
            async move {
                let s = engine.container_stats(&container).await.ok()?;
                Some((instance, container, s))
            }
        })
        .buffer_unordered(CONCURRENCY)
        .filter_map(std::future::ready)
        .collect()
        .await;
    samples.extend(asked);
    let mut fresh = HashMap::new();
    let samples = samples
        .into_iter()
        .map(|(instance, container, s)| {
            let shown = previous.get(&container).map_or(s, |p| s.with_cpu_since(p));
            fresh.insert(container, s);
            (instance, shown)
        })
        .collect();
    *previous = fresh;
    samples
}
