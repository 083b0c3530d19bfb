//! Clearing halted instances off the engine in the background, for the reaper: a halt takes the
//! engine milliseconds, the removal that follows takes it seconds, and the reaper must not wait
//! for one wave's removal before halting the next.
//!
//! Containers go first, as many at once as [`BULK_CONCURRENCY`]. Networks go only while no
//! container removal is waiting: the engine serialises network removal (iptables), and run
//! side by side it holds container removals up behind it.

use std::sync::Arc;

use futures_util::{StreamExt, stream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::{BULK_CONCURRENCY, DomainError, Leftover, Lifecycle};

/// How many network removals are in flight at once. The engine does them one at a time anyway;
/// a few in flight keep it busy without queueing many behind a returning container wave.
const NETWORK_CONCURRENCY: usize = 4;

/// Where the reaper hands halted instances over; see the module documentation.
pub struct ClearingQueue {
    containers: mpsc::UnboundedSender<Leftover>,
    /// Container removals queued or in flight.
    pending: watch::Sender<usize>,
}

/// Called once per instance when its clearing ends, with the instance id and how it went.
pub type ClearReport = Arc<dyn Fn(&str, Result<(), DomainError>) + Send + Sync>;

impl ClearingQueue {
    /// Start the two clearing stages as tasks of `tasks` (they end when it is dropped).
    pub fn start(lifecycle: Arc<Lifecycle>, report: ClearReport, tasks: &mut JoinSet<()>) -> Self {
        let (containers, container_queue) = mpsc::unbounded_channel();
        let (networks, network_queue) = mpsc::unbounded_channel();
        let (pending, idle) = watch::channel(0usize);
        tasks.spawn(remove_containers(
            lifecycle.clone(),
            container_queue,
            networks,
            pending.clone(),
            report.clone(),
        ));
        tasks.spawn(remove_networks(lifecycle, network_queue, idle, report));
        ClearingQueue {
            containers,
            pending,
        }
    }

    pub fn push(&self, leftover: Leftover) {
        self.pending.send_modify(|n| *n += 1);
        if self.containers.send(leftover).is_err() {
            // The stage has ended (its tasks were dropped): whatever is left on the engine is
            // removed by the next reconcile.
            self.pending.send_modify(|n| *n -= 1);
        }
    }
}

fn queue<T: Send + 'static>(rx: mpsc::UnboundedReceiver<T>) -> impl futures_util::Stream<Item = T> {
    stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
}

async fn remove_containers(
    lifecycle: Arc<Lifecycle>,
    queue_in: mpsc::UnboundedReceiver<Leftover>,
    networks: mpsc::UnboundedSender<Leftover>,
    pending: watch::Sender<usize>,
    report: ClearReport,
) {
    let lifecycle = &lifecycle;
    queue(queue_in)
        .map(|leftover| async move {
            let removed = lifecycle.remove_frozen(&leftover).await;
            (leftover, removed)
        })
        .buffer_unordered(BULK_CONCURRENCY)
        .for_each(|(leftover, removed)| {
            match removed {
                Ok(()) => {
                    let _ = networks.send(leftover);
                }
                Err(e) => report(&leftover.record.id, Err(e)),
            }
            pending.send_modify(|n| *n -= 1);
            async {}
        })
        .await;
}

async fn remove_networks(
    lifecycle: Arc<Lifecycle>,
    queue_in: mpsc::UnboundedReceiver<Leftover>,
    idle: watch::Receiver<usize>,
    report: ClearReport,
) {
    let lifecycle = &lifecycle;
    queue(queue_in)
        .map(|leftover| {
            let mut idle = idle.clone();
            async move {
                // Containers first. The sender lives as long as the container stage; if it is
                // gone, so is any reason to wait.
                let _ = idle.wait_for(|pending| *pending == 0).await;
                let released = lifecycle.release_network(&leftover.record).await;
                (leftover.record.id, released)
            }
        })
        .buffer_unordered(NETWORK_CONCURRENCY)
        .for_each(|(id, released)| {
            report(&id, released);
            async {}
        })
        .await;
}
