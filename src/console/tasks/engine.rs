//! The engine connection: list what runs, then follow the event stream. When the engine goes
//! away, say so and retry with backoff; on return, reconcile and list again, so nothing that
//! changed meanwhile is missed or forgotten.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc::Sender;

use crate::console::event::Event;
use crate::domain::Lifecycle;

const MAX_BACKOFF_SECS: u64 = 30;

pub fn spawn(lifecycle: Arc<Lifecycle>, reconcile: bool, tx: Sender<Event>) {
    tokio::spawn(async move {
        let engine = lifecycle.engine().clone();
        let store_id = lifecycle.store_id().to_string();
        let mut lost = false;
        let mut backoff = 1;
        loop {
            // Subscribe before listing, so no event between the two is missed.
            let mut events = engine.container_events(&store_id);
            let reason = match engine.managed_containers(&store_id).await {
                Ok(list) => {
                    if lost {
                        if reconcile && let Err(e) = lifecycle.reconcile().await {
                            tracing::warn!("reconcile after reconnect: {e}");
                        }
                        backoff = 1;
                        if tx.send(Event::EngineBack).await.is_err() {
                            return;
                        }
                    }
                    if tx.send(Event::EngineSynced(list)).await.is_err() {
                        return;
                    }
                    check_images(&lifecycle, &tx).await;
                    loop {
                        match events.next().await {
                            Some(Ok(ev)) => {
                                if reconcile {
                                    note_exit(&lifecycle, &ev).await;
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
    });
}

/// A container of ours died: the store learns it at once (`exited`, with the reason), and
/// every console and the reaper see it from there.
async fn note_exit(lifecycle: &Lifecycle, ev: &crate::engine::ContainerEvent) {
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
