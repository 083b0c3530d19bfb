//! The engine connection: connect (the console may start while the engine is down), list what
//! runs, then follow the event stream. When the engine goes away, say so and retry with
//! backoff; on return, reconcile and list again, so nothing that changed meanwhile is missed
//! or forgotten.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc::Sender;
use tokio::sync::watch;

use crate::console::event::Event;
use crate::console::launch::Connector;
use crate::domain::Lifecycle;

const MAX_BACKOFF_SECS: u64 = 30;
/// The wait before the first retry.
pub const FIRST_RETRY_SECS: u64 = 1;

/// The lifecycle on the connected engine, shared with whoever starts engine work; `None`
/// until the engine first answers.
pub type Current = watch::Receiver<Option<Arc<Lifecycle>>>;

pub struct Connection {
    pub connect: Connector,
    /// The lifecycle of the connection made at start, if the engine answered then.
    pub first: Option<Arc<Lifecycle>>,
    /// Reconcile on every reconnection (a read-only console only reconciles its first one,
    /// as every command does).
    pub reconcile: bool,
    pub current: watch::Sender<Option<Arc<Lifecycle>>>,
}

pub fn spawn(conn: Connection, tx: Sender<Event>) {
    let gone = tx.clone();
    let follow = async move {
        let Connection {
            connect,
            first,
            reconcile,
            current,
        } = conn;
        let mut lifecycle = first;
        // Whether the next successful connection is the first one: it is reconciled always.
        let mut reconciled_once = false;
        let mut lost = false;
        let mut backoff = FIRST_RETRY_SECS;
        if lifecycle.is_none() {
            // The console said so already at start.
            lost = true;
            tokio::time::sleep(Duration::from_secs(backoff)).await;
            backoff = (backoff * 2).min(MAX_BACKOFF_SECS);
        }
        loop {
            let reason = match &lifecycle {
                Some(l) => {
                    let l = l.clone();
                    let engine = l.engine().clone();
                    let store_id = l.store_id().to_string();
                    // Subscribe before listing, so no event between the two is missed.
                    let mut events = engine.container_events(&store_id);
                    match engine.managed_containers(&store_id).await {
                        Ok(list) => {
                            if !reconciled_once || (lost && reconcile) {
                                match l.reconcile().await {
                                    // A monitor's reconcile changes nothing: the drift it
                                    // found is a warning on screen, for an admin to settle.
                                    Ok(report) if report.pending && !report.is_empty() => {
                                        tracing::warn!("{report}")
                                    }
                                    Ok(report) if !report.is_empty() => {
                                        tracing::info!("reconciled: {report}")
                                    }
                                    Ok(_) => {}
                                    Err(e) => tracing::warn!("reconciling store and engine: {e}"),
                                }
                                reconciled_once = true;
                            }
                            current.send_replace(Some(l.clone()));
                            backoff = FIRST_RETRY_SECS;
                            let version = engine.info().described_version();
                            if tx.send(Event::EngineBack { version }).await.is_err()
                                || tx.send(Event::EngineSynced(list)).await.is_err()
                            {
                                return;
                            }
                            check_images(&l, &tx).await;
                            loop {
                                match events.next().await {
                                    Some(Ok(ev)) => {
                                        if reconcile {
                                            note_exit(&l, &ev).await;
                                        }
                                        if tx.send(Event::Engine(ev)).await.is_err() {
                                            return;
                                        }
                                    }
                                    Some(Err(e)) => break e.to_string(),
                                    None => break "the engine closed its event stream".to_string(),
                                }
                            }
                        }
                        Err(e) => e.to_string(),
                    }
                }
                None => match connect().await {
                    Ok(l) => {
                        lifecycle = Some(Arc::new(l));
                        // Straight on to listing and reconciling.
                        continue;
                    }
                    Err(reason) => reason,
                },
            };
            lost = true;
            let lost_event = Event::EngineLost {
                reason,
                retry_in_secs: backoff,
            };
            if tx.send(lost_event).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(backoff)).await;
            backoff = (backoff * 2).min(MAX_BACKOFF_SECS);
        }
    };
    // A quiet engine sends nothing for hours: stop with the console, not at the next event.
    tokio::spawn(async move {
        tokio::select! {
            () = gone.closed() => {}
            () = follow => {}
        }
    });
}

/// A container of ours died: the store learns it at once (`exited`, with the reason), and
/// every console and the reaper see it from there.
async fn note_exit(lifecycle: &Lifecycle, ev: &crate::engine::ContainerEvent) {
    // Its Swarm node went down, or the Swarm moved it: reconcile says what became of it (and
    // says so in the log).
    if ev.calls_for_reconcile() {
        match lifecycle.reconcile().await {
            Ok(report) if !report.is_empty() => tracing::info!("reconciled: {report}"),
            Ok(_) => {}
            Err(e) => tracing::warn!("reconciling after a node went down: {e}"),
        }
        return;
    }
    if let Some(instance) = ev.instance.as_deref().filter(|_| ev.may_have_exited())
        && let Err(e) = lifecycle.note_exit(instance).await
    {
        tracing::warn!("noting the exit of {instance}: {e}");
    }
}

/// Which challenge images the engine has.
async fn check_images(lifecycle: &Lifecycle, tx: &Sender<Event>) {
    let mut found = Vec::new();
    for c in &lifecycle.catalog().challenges {
        if let Ok(present) = lifecycle.engine().image_present(&c.container.image).await {
            found.push((c.id.clone(), present));
        }
    }
    let _ = tx.send(Event::Images(found)).await;
}
