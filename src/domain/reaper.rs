//! The reaper: stop what expired. [`reap_once`] is the one-shot `reap`; [`run`] is the daemon
//! behind `reap --watch`, which keeps going through engine restarts.
//!
//! The daemon's loop only halts instances (freezes them and marks them stopped), which takes
//! the engine milliseconds. Removing what is left, which takes it seconds, runs beside the loop
//! ([`ClearingQueue`]), so a wave of expiries never delays the next one. What it does is
//! reported as [`ReaperEvent`]s; the caller decides how to show them.
//!
//! The daemon also follows the engine's events, so an instance whose process dies is marked
//! `exited` at once, and applies `[lifetime] on_exit` to exited instances ([`Lifecycle::handle_exits`]).

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::task::JoinSet;

use crate::engine::{ContainerEvent, EngineError};
use crate::store::now_millis;

use super::{
    ClearReport, ClearingQueue, DomainError, ExitHandled, Halt, Lifecycle, ReconcileReport,
    StopOutcome,
};

/// The daemon's pauses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaperTiming {
    /// The longest it sleeps between looks at the store (one indexed query; cheap). It wakes
    /// earlier, at the very millisecond of the next known expiry; the cap catches spawns and
    /// extends made meanwhile by other processes.
    pub tick: Duration,
    /// The pause before looking again at a row that is expired but still running.
    pub retry: Duration,
    /// How often it reconciles with the engine.
    pub reconcile_every: Duration,
    /// The pause before connecting again after the engine was lost or could not be reached.
    pub reconnect: Duration,
}

impl Default for ReaperTiming {
    fn default() -> Self {
        ReaperTiming {
            tick: Duration::from_millis(250),
            retry: Duration::from_millis(20),
            reconcile_every: Duration::from_secs(30),
            reconnect: Duration::from_secs(2),
        }
    }
}

/// What the daemon did, as it happens.
#[derive(Debug)]
pub enum ReaperEvent {
    /// Connected and reconciled; watching this store on this engine.
    Watching {
        store: PathBuf,
        engine: String,
    },
    /// A reconcile (at start or now and then) changed something.
    Reconciled(ReconcileReport),
    ReconcileFailed(DomainError),
    /// An expired instance was halted: its row is final, its container and network are being
    /// cleared. `late_ms`: how long after its expiry, the figure that says whether the reaper
    /// keeps up.
    Reaped {
        id: String,
        challenge: String,
        owner: String,
        late_ms: i64,
    },
    /// Halting one expired instance failed though the engine answered; the next look retries.
    ReapFailed {
        id: String,
        error: DomainError,
    },
    /// A halted instance's container and network are gone.
    Cleared {
        id: String,
    },
    /// Clearing failed; the row is already final and the next reconcile removes what is left.
    ClearFailed {
        id: String,
        error: DomainError,
    },
    /// An instance's process died (engine `die`/`oom` event); its row is now `exited`.
    Exited {
        id: String,
        reason: String,
    },
    /// Recording an exit failed though the engine answered.
    ExitNotRecorded {
        id: String,
        error: DomainError,
    },
    /// `[lifetime] on_exit` acted on an exited instance (restarted it, failed to, or gave up).
    ExitHandled(ExitHandled),
    /// Applying `on_exit` failed though the engine answered; the next pass tries again.
    ExitsFailed(DomainError),
    /// The engine went away; the daemon connects again after a pause.
    EngineLost(DomainError),
    /// Connecting (or the first reconcile) failed; the daemon tries again after a pause.
    CannotStart(String),
}

/// Where the daemon reports its [`ReaperEvent`]s.
pub type ReaperEvents = Arc<dyn Fn(ReaperEvent) + Send + Sync>;

/// What one `reap` did: the ids it stopped, and what `on_exit` did to exited instances.
#[derive(Debug, Default)]
pub struct ReapedOnce {
    pub reaped: Vec<String>,
    pub exits: Vec<ExitHandled>,
}

/// Stop what has expired now, completely, then apply `on_exit` to exited instances. An
/// unreachable engine fails the whole reap; any other failure is logged and the rest go on.
pub async fn reap_once(lifecycle: &Lifecycle) -> Result<ReapedOnce, DomainError> {
    let mut done = ReapedOnce::default();
    for (id, outcome) in lifecycle.reap_once().await? {
        match outcome {
            Ok(StopOutcome::Stopped) => done.reaped.push(id),
            Ok(StopOutcome::AlreadyDone(_)) => {}
            Err(e) if e.is_unreachable() => return Err(e),
            Err(e) => tracing::warn!("reaping {id}: {e}"),
        }
    }
    match lifecycle.handle_exits().await {
        Ok(exits) => done.exits = exits,
        Err(e) if e.is_unreachable() => return Err(e),
        Err(e) => tracing::warn!("restarting exited instances: {e}"),
    }
    Ok(done)
}

/// The daemon, forever: `connect` gives a lifecycle (already reconciled, with what that
/// changed), [`watch`] runs on it until the engine is lost, then it connects again.
pub async fn run<F, Fut>(mut connect: F, timing: ReaperTiming, events: ReaperEvents)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(Lifecycle, ReconcileReport), String>>,
{
    loop {
        match connect().await {
            Ok((lifecycle, report)) => {
                events(ReaperEvent::Watching {
                    store: lifecycle.store().path().to_path_buf(),
                    engine: lifecycle.engine().info().target.clone(),
                });
                if !report.is_empty() {
                    events(ReaperEvent::Reconciled(report));
                }
                if let Err(e) = watch(Arc::new(lifecycle), &timing, events.clone()).await {
                    events(ReaperEvent::EngineLost(e));
                }
            }
            Err(e) => events(ReaperEvent::CannotStart(e)),
        }
        tokio::time::sleep(timing.reconnect).await;
    }
}

/// The daemon on one engine connection. Returns when the engine is lost; the tasks beside the
/// loop end with it (the next start's reconcile clears whatever they left).
pub async fn watch(
    lifecycle: Arc<Lifecycle>,
    timing: &ReaperTiming,
    events: ReaperEvents,
) -> Result<(), DomainError> {
    let mut beside = JoinSet::new();
    let cleared = events.clone();
    let report: ClearReport = Arc::new(move |id: &str, outcome| {
        let id = id.to_string();
        cleared(match outcome {
            Ok(()) => ReaperEvent::Cleared { id },
            Err(error) => ReaperEvent::ClearFailed { id, error },
        })
    });
    let clearing = ClearingQueue::start(lifecycle.clone(), report, &mut beside);
    beside.spawn(reconcile_now_and_then(
        lifecycle.clone(),
        timing.reconcile_every,
        events.clone(),
    ));
    let mut engine_events = lifecycle.engine().container_events(lifecycle.store_id());
    loop {
        halt_expired(&lifecycle, &clearing, &events).await?;
        handle_exits(&lifecycle, &events).await?;
        tokio::select! {
            () = tokio::time::sleep(until_next_expiry(&lifecycle, timing)?) => {}
            event = engine_events.next() => match event {
                Some(Ok(event)) if event.calls_for_reconcile() => note_lost(&lifecycle, &events).await?,
                Some(Ok(event)) => note_exit(&lifecycle, &event, &events).await?,
                Some(Err(e)) => return Err(e.into()),
                None => {
                    return Err(EngineError::Unexpected(
                        "the engine closed its event stream".into(),
                    )
                    .into());
                }
            },
        }
    }
}

/// An instance's Swarm node went down: a reconcile marks it lost now (and removes what is left
/// of it), not at the next periodic one.
async fn note_lost(lifecycle: &Lifecycle, events: &ReaperEvents) -> Result<(), DomainError> {
    match lifecycle.reconcile().await {
        Ok(report) if report.is_empty() => {}
        Ok(report) => events(ReaperEvent::Reconciled(report)),
        Err(e) if e.is_unreachable() => return Err(e),
        Err(e) => events(ReaperEvent::ReconcileFailed(e)),
    }
    Ok(())
}

/// A container of ours died: the store learns it now, not at the next reconcile.
async fn note_exit(
    lifecycle: &Lifecycle,
    event: &ContainerEvent,
    events: &ReaperEvents,
) -> Result<(), DomainError> {
    let Some(id) = event
        .instance
        .as_deref()
        .filter(|_| event.may_have_exited())
    else {
        return Ok(());
    };
    match lifecycle.note_exit(id).await {
        Ok(Some(reason)) => events(ReaperEvent::Exited {
            id: id.to_string(),
            reason,
        }),
        Ok(None) => {}
        Err(e) if e.is_unreachable() => return Err(e),
        Err(error) => events(ReaperEvent::ExitNotRecorded {
            id: id.to_string(),
            error,
        }),
    }
    Ok(())
}

/// Restart (or leave) exited instances as `[lifetime] on_exit` says.
async fn handle_exits(lifecycle: &Lifecycle, events: &ReaperEvents) -> Result<(), DomainError> {
    match lifecycle.handle_exits().await {
        Ok(done) => {
            for handled in done {
                events(ReaperEvent::ExitHandled(handled));
            }
            Ok(())
        }
        Err(e) if e.is_unreachable() => Err(e),
        Err(e) => {
            events(ReaperEvent::ExitsFailed(e));
            Ok(())
        }
    }
}

/// Halt every expired instance and queue what it leaves on the engine.
async fn halt_expired(
    lifecycle: &Lifecycle,
    clearing: &ClearingQueue,
    events: &ReaperEvents,
) -> Result<(), DomainError> {
    let expired = lifecycle.store.expired(now_millis())?;
    if expired.is_empty() {
        return Ok(());
    }
    for (id, halt) in lifecycle.halt_many(expired, "expired").await {
        match halt {
            Ok(Halt::Halted(leftover)) => {
                let r = &leftover.record;
                events(ReaperEvent::Reaped {
                    id,
                    challenge: r.challenge.clone(),
                    owner: r.owner.clone(),
                    late_ms: now_millis() - r.expires_at,
                });
                clearing.push(*leftover);
            }
            Ok(Halt::AlreadyDone(_)) => {}
            Err(e) if e.is_unreachable() => return Err(e),
            Err(error) => events(ReaperEvent::ReapFailed { id, error }),
        }
    }
    Ok(())
}

async fn reconcile_now_and_then(lifecycle: Arc<Lifecycle>, every: Duration, events: ReaperEvents) {
    loop {
        tokio::time::sleep(every).await;
        match lifecycle.reconcile().await {
            Ok(report) if report.is_empty() => {}
            Ok(report) => events(ReaperEvent::Reconciled(report)),
            Err(e) => events(ReaperEvent::ReconcileFailed(e)),
        }
    }
}

/// How long to sleep: until the next expiry the store knows of, at most `timing.tick`.
fn until_next_expiry(
    lifecycle: &Lifecycle,
    timing: &ReaperTiming,
) -> Result<Duration, DomainError> {
    let now = now_millis();
    let wait = match lifecycle.store.next_expiry()? {
        // Expired and still running: it expired just now, or its stop failed (reported). Look
        // again soon, without spinning.
        Some(at) if at <= now => timing.retry,
        Some(at) => Duration::from_millis(u64::try_from(at - now).unwrap_or(0)),
        None => timing.tick,
    };
    Ok(wait.min(timing.tick))
}
