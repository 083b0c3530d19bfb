//! One stats sampler for many consoles in one process (the SSH sessions of `serve`): each
//! console says which rows it shows; one loop samples the union every few seconds, so 20
//! sessions watching the same instances cost the engine what one does. It borrows the engine
//! of a console that follows (it holds no connection of its own), and each console gets the
//! latest samples of its own rows.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, mpsc, watch};

use super::engine::Current;
use super::stats::{EVERY, Targets, sample};
use crate::console::event::Event;
use crate::engine::{ContainerStats, Engine};

type Samples = Arc<HashMap<String, ContainerStats>>;

struct Slot {
    targets: Targets,
    current: Current,
}

struct Inner {
    slots: Mutex<HashMap<u64, Slot>>,
    next: AtomicU64,
    changed: Notify,
    samples: watch::Sender<Samples>,
}

impl Inner {
    fn slots(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Slot>> {
        self.slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[derive(Clone)]
pub struct SharedStats {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SharedStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedStats").finish_non_exhaustive()
    }
}

/// Takes the console's slot away when its follower ends, whichever way.
struct SlotGuard {
    id: u64,
    inner: Arc<Inner>,
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        self.inner.slots().remove(&self.id);
    }
}

impl SharedStats {
    /// Start the one sampler; it runs as long as the process.
    pub fn spawn() -> SharedStats {
        let (samples, _) = watch::channel(Samples::default());
        let inner = Arc::new(Inner {
            slots: Mutex::new(HashMap::new()),
            next: AtomicU64::new(0),
            changed: Notify::new(),
            samples,
        });
        let sampler = inner.clone();
        tokio::spawn(async move {
            let mut previous = HashMap::new();
            loop {
                let (union, engine) = union_and_engine(&sampler);
                if let Some(engine) = engine.filter(|_| !union.is_empty()) {
                    let samples = sample(&engine, union, &mut previous).await;
                    // Borrowed for this round only: a console that ends takes its connection.
                    drop(engine);
                    sampler
                        .samples
                        .send_replace(Arc::new(samples.into_iter().collect()));
                }
                tokio::select! {
                    () = tokio::time::sleep(EVERY) => {}
                    () = sampler.changed.notified() => {
                        // Let scrolling settle before sampling the new rows.
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                }
            }
        });
        SharedStats { inner }
    }

    /// Feed one console: `targets` are its visible rows, `current` its engine; samples of its
    /// rows go to `tx` until the console is gone.
    pub fn follow(
        &self,
        current: Current,
        mut targets: watch::Receiver<Targets>,
        tx: mpsc::Sender<Event>,
    ) {
        let inner = self.inner.clone();
        let id = inner.next.fetch_add(1, Ordering::Relaxed);
        let mine = targets.borrow_and_update().clone();
        inner.slots().insert(
            id,
            Slot {
                targets: mine,
                current,
            },
        );
        inner.changed.notify_one();
        let mut samples = inner.samples.subscribe();
        samples.mark_unchanged();
        tokio::spawn(async move {
            let guard = SlotGuard { id, inner };
            loop {
                tokio::select! {
                    () = tx.closed() => return,
                    changed = targets.changed() => {
                        if changed.is_err() {
                            return;
                        }
                        let now = targets.borrow_and_update().clone();
                        if let Some(slot) = guard.inner.slots().get_mut(&id) {
                            slot.targets = now;
                        }
                        guard.inner.changed.notify_one();
                    }
                    changed = samples.changed() => {
                        if changed.is_err() {
                            return;
                        }
                        let all = samples.borrow_and_update().clone();
                        let wanted = targets.borrow().clone();
                        let mine: Vec<(String, ContainerStats)> = wanted
                            .iter()
                            .filter_map(|(instance, _)| Some((instance.clone(), *all.get(instance)?)))
                            .collect();
                        if !mine.is_empty() && tx.send(Event::Stats(mine)).await.is_err() {
                            return;
                        }
                    }
                }
            }
        });
    }

    /// Consoles followed now (for tests and the log).
    pub fn followers(&self) -> usize {
        self.inner.slots().len()
    }
}

/// Every row some console shows (each container once), and an engine to sample them on.
fn union_and_engine(inner: &Inner) -> (Targets, Option<Arc<dyn Engine>>) {
    let slots = inner.slots();
    let mut seen = std::collections::HashSet::new();
    let union = slots
        .values()
        .flat_map(|s| s.targets.iter())
        .filter(|(_, container)| seen.insert(container.clone()))
        .cloned()
        .collect();
    let engine = slots
        .values()
        .find_map(|s| s.current.borrow().as_ref().map(|l| l.engine().clone()));
    (union, engine)
}
