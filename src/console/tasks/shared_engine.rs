//! One engine connection and one event stream for many consoles in one process (the SSH
//! sessions of `serve`): each console would otherwise connect, list every managed container,
//! check the images and hold an event stream of its own — per session, at each session's
//! start. Here that happens once; a console that joins gets the listing, the events since it
//! and the image check from memory, then the events as they come.
//!
//! Exits are not noted here: the process that runs the consoles (`serve`) runs the reaper,
//! which follows the engine's events and keeps the store for everyone.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::{broadcast, mpsc, watch};

use super::engine::FIRST_RETRY_SECS;
use crate::console::event::Event;
use crate::console::launch::Connector;
use crate::domain::Lifecycle;
use crate::engine::{ContainerEvent, Engine, ManagedContainer};

const MAX_BACKOFF_SECS: u64 = 30;
/// Events kept after the listing for consoles that join later; past this many the engine is
/// listed again (the list then stands for them).
const MAX_SINCE: usize = 4096;
/// Events in flight to the consoles; one that falls this far behind is given the listing again.
const FANOUT: usize = 1024;

/// What the connection is at.
#[derive(Clone)]
enum Status {
    Connecting,
    Up(Arc<Link>),
    Lost { reason: String, retry_in_secs: u64 },
}

struct Link {
    engine: Arc<dyn Engine>,
    version: String,
    /// What the engine runs for the store, as last listed, and every event after it.
    listed: Mutex<(Vec<ManagedContainer>, Vec<ContainerEvent>)>,
    /// Which challenge images the engine had when it connected.
    images: Vec<(String, bool)>,
}

struct Inner {
    status: Mutex<Status>,
    /// Bumped at each change of status: followers look again.
    generation: watch::Sender<u64>,
    events: broadcast::Sender<ContainerEvent>,
}

impl Inner {
    fn status(&self) -> std::sync::MutexGuard<'_, Status> {
        self.status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn set(&self, status: Status) {
        *self.status() = status;
        self.generation.send_modify(|g| *g += 1);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[derive(Clone)]
pub struct SharedEngine {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SharedEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedEngine").finish_non_exhaustive()
    }
}

impl SharedEngine {
    /// Connect with `connect` (retrying with backoff while the engine does not answer) and
    /// follow the engine for as long as the process runs.
    pub fn spawn(connect: Connector) -> SharedEngine {
        let (generation, _) = watch::channel(0);
        let (events, _) = broadcast::channel(FANOUT);
        let inner = Arc::new(Inner {
            status: Mutex::new(Status::Connecting),
            generation,
            events,
        });
        tokio::spawn(follow_engine(connect, inner.clone()));
        SharedEngine { inner }
    }

    /// The engine, while it answers.
    pub fn engine(&self) -> Option<Arc<dyn Engine>> {
        match &*self.inner.status() {
            Status::Up(link) => Some(link.engine.clone()),
            _ => None,
        }
    }

    /// Why there is no engine now.
    pub fn why_not(&self) -> String {
        match &*self.inner.status() {
            Status::Lost { reason, .. } => reason.clone(),
            _ => "the engine has not answered yet".to_string(),
        }
    }

    /// Feed one console: its lifecycle (built by `connect`, which works on this shared
    /// engine; `first` when the console built one already) goes to `current`, the engine's
    /// state and events to `tx`, until the console is gone.
    pub fn follow(
        &self,
        connect: Connector,
        first: Option<Arc<Lifecycle>>,
        current: watch::Sender<Option<Arc<Lifecycle>>>,
        tx: mpsc::Sender<Event>,
    ) {
        let inner = self.inner.clone();
        let gone = tx.clone();
        let feed = async move {
            let mut first = first;
            let mut generation = inner.generation.subscribe();
            // The link the console was last told about (and its lifecycle is on).
            let mut told: Option<Arc<Link>> = None;
            loop {
                let _ = generation.borrow_and_update();
                let status = inner.status().clone();
                match status {
                    Status::Up(link) => {
                        let fresh = !told.as_ref().is_some_and(|t| Arc::ptr_eq(t, &link));
                        if fresh {
                            let lifecycle = match first.take() {
                                Some(l) => Ok(l),
                                None => connect().await.map(Arc::new),
                            };
                            match lifecycle {
                                Ok(l) => {
                                    current.send_replace(Some(l));
                                }
                                Err(reason) => {
                                    let lost = Event::EngineLost {
                                        reason,
                                        retry_in_secs: FIRST_RETRY_SECS,
                                    };
                                    if tx.send(lost).await.is_err() {
                                        return;
                                    }
                                    tokio::time::sleep(Duration::from_secs(FIRST_RETRY_SECS)).await;
                                    continue;
                                }
                            }
                            let version = link.version.clone();
                            if tx.send(Event::EngineBack { version }).await.is_err() {
                                return;
                            }
                        }
                        // Subscribed under the same lock the listing is read under, so no
                        // event falls between the two.
                        let (mut events, list, since) = {
                            let listed = lock(&link.listed);
                            (inner.events.subscribe(), listed.0.clone(), listed.1.clone())
                        };
                        if tx.send(Event::EngineSynced(list)).await.is_err() {
                            return;
                        }
                        for ev in since {
                            if tx.send(Event::Engine(ev)).await.is_err() {
                                return;
                            }
                        }
                        if fresh {
                            let images = link.images.clone();
                            if !images.is_empty() && tx.send(Event::Images(images)).await.is_err() {
                                return;
                            }
                        }
                        told = Some(link);
                        loop {
                            tokio::select! {
                                ev = events.recv() => match ev {
                                    Ok(ev) => if tx.send(Event::Engine(ev)).await.is_err() {
                                        return;
                                    },
                                    // Too slow to keep up: take the listing again.
                                    Err(broadcast::error::RecvError::Lagged(_)) => break,
                                    Err(broadcast::error::RecvError::Closed) => return,
                                },
                                changed = generation.changed() => {
                                    if changed.is_err() {
                                        return;
                                    }
                                    break;
                                }
                            }
                        }
                    }
                    Status::Lost {
                        reason,
                        retry_in_secs,
                    } => {
                        told = None;
                        current.send_replace(None);
                        let lost = Event::EngineLost {
                            reason,
                            retry_in_secs,
                        };
                        if tx.send(lost).await.is_err() || generation.changed().await.is_err() {
                            return;
                        }
                    }
                    Status::Connecting => {
                        if generation.changed().await.is_err() {
                            return;
                        }
                    }
                }
            }
        };
        // A quiet engine sends nothing for hours: stop with the console, not at the next event.
        tokio::spawn(async move {
            tokio::select! {
                () = gone.closed() => {}
                () = feed => {}
            }
        });
    }
}

/// The one connection: connect, list, check images, follow events; on loss, say so and
/// retry with backoff.
async fn follow_engine(connect: Connector, inner: Arc<Inner>) {
    let mut backoff = FIRST_RETRY_SECS;
    loop {
        let reason = match connect().await {
            Ok(lifecycle) => {
                let reason = follow_one(&lifecycle, &inner).await;
                backoff = FIRST_RETRY_SECS;
                reason
            }
            Err(reason) => reason,
        };
        inner.set(Status::Lost {
            reason,
            retry_in_secs: backoff,
        });
        tokio::time::sleep(Duration::from_secs(backoff)).await;
        backoff = (backoff * 2).min(MAX_BACKOFF_SECS);
    }
}

/// Follow one connection until it fails; returns why.
async fn follow_one(lifecycle: &Lifecycle, inner: &Inner) -> String {
    let engine = lifecycle.engine().clone();
    let store_id = lifecycle.store_id().to_string();
    // Subscribe before listing, so no event between the two is missed.
    let mut events = engine.container_events(&store_id);
    let list = match engine.managed_containers(&store_id).await {
        Ok(list) => list,
        Err(e) => return e.to_string(),
    };
    let mut images = Vec::new();
    for c in &lifecycle.catalog().challenges {
        if let Ok(present) = engine.image_present(&c.container.image).await {
            images.push((c.id.clone(), present));
        }
    }
    let link = Arc::new(Link {
        engine: engine.clone(),
        version: engine.info().described_version(),
        listed: Mutex::new((list, Vec::new())),
        images,
    });
    inner.set(Status::Up(link.clone()));
    loop {
        match events.next().await {
            Some(Ok(ev)) => {
                let relist = {
                    let mut listed = lock(&link.listed);
                    // Kept and sent under the lock a joining console reads under.
                    listed.1.push(ev.clone());
                    let _ = inner.events.send(ev);
                    listed.1.len() > MAX_SINCE
                };
                if relist {
                    match engine.managed_containers(&store_id).await {
                        Ok(list) => *lock(&link.listed) = (list, Vec::new()),
                        Err(e) => return e.to_string(),
                    }
                }
            }
            Some(Err(e)) => return e.to_string(),
            None => return "the engine closed its event stream".to_string(),
        }
    }
}
