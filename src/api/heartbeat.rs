//! `serve`'s heartbeat into the store: every few seconds, where the API listens, its requests
//! and errors over the last minute and the queue length, so a console in any process (or an
//! SSH session) shows whether the API runs. A clean stop is written when the guard drops.

use std::sync::Arc;

use crate::domain::DomainError;
use crate::domain::api_status::{
    self, ApiStatus, HEARTBEAT, MinuteWindow, heartbeat_ms, report_api_status,
};
use crate::store::{Store, now_millis};

use super::Metrics;

/// How many requests wait in the spawn queue (0 while there is none).
pub type QueueLength = Arc<dyn Fn() -> u64 + Send + Sync>;

/// Beats while it lives; dropping it stops the beat and marks the API stopped.
pub struct Heartbeat {
    task: tokio::task::JoinHandle<()>,
    store: Store,
    first: ApiStatus,
}

/// Write the first beat now (so a store that cannot be written fails `serve` at start), then
/// one every [`HEARTBEAT`].
pub fn start(
    store: Store,
    listen: String,
    metrics: Arc<Metrics>,
    queue: QueueLength,
) -> Result<Heartbeat, DomainError> {
    let started_at = now_millis();
    let first = ApiStatus {
        listen,
        pid: std::process::id(),
        started_at,
        updated_at: started_at,
        interval_ms: heartbeat_ms(),
        requests_per_min: 0,
        errors_per_min: 0,
        queue_length: queue(),
        stopped_at: None,
    };
    report_api_status(&store, &first)?;
    let task = tokio::spawn(beat(store.clone(), first.clone(), metrics, queue));
    Ok(Heartbeat { task, store, first })
}

async fn beat(store: Store, mut status: ApiStatus, metrics: Arc<Metrics>, queue: QueueLength) {
    let mut window = MinuteWindow::new(status.started_at);
    let mut interval = tokio::time::interval(HEARTBEAT);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is immediate and the first beat is written already.
    interval.tick().await;
    loop {
        interval.tick().await;
        let now = now_millis();
        let (requests, errors) = metrics.traffic.totals();
        (status.requests_per_min, status.errors_per_min) = window.observe(now, requests, errors);
        status.queue_length = queue();
        status.updated_at = now;
        let s = store.clone();
        let row = status.clone();
        // A busy store delays one beat; it does not stop the next.
        match tokio::task::spawn_blocking(move || report_api_status(&s, &row)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!("cannot write the API heartbeat: {e}"),
            Err(e) => tracing::warn!("cannot write the API heartbeat: {e}"),
        }
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.task.abort();
        if let Err(e) = api_status::report_api_stopped(&self.store, &self.first, now_millis()) {
            tracing::warn!("cannot mark the API stopped in the store: {e}");
        }
    }
}
