//! `reap`: stop what expired. `--watch` is the daemon: it keeps going through engine restarts.
//!
//! It also follows the engine's events, so an instance whose process dies is marked `exited`
//! at once, and applies `[lifetime] on_exit` to exited instances (the rule is the domain's).
//!
//! The daemon's loop only halts instances (freezes them and marks them stopped), which takes
//! the engine milliseconds. Removing what is left, which takes it seconds, runs beside the loop,
//! so a wave of expiries never delays the next one.

use std::sync::Arc;
use std::time::Duration;

use color_eyre::eyre::{Result, bail};
use futures_util::StreamExt;
use tokio::task::JoinSet;

use crate::cli::context::Context;
use crate::domain::view::rfc3339;
use crate::domain::{ClearReport, ClearingQueue, ExitHandled, Halt, Lifecycle, StopOutcome};
use crate::engine::ContainerEvent;
use crate::store::now_millis;

/// The longest the daemon sleeps between looks at the store (one indexed query; cheap). It
/// wakes earlier, at the very millisecond of the next known expiry; the cap catches spawns
/// and extends made meanwhile by other processes.
const TICK: Duration = Duration::from_millis(250);
/// The pause before looking again at a row that is expired but still running.
const RETRY: Duration = Duration::from_millis(20);
/// How often it reconciles with the engine.
const RECONCILE_EVERY: Duration = Duration::from_secs(30);

pub async fn run(ctx: &Context, watch: bool) -> Result<()> {
    ctx.require_write("reap")?;
    if !watch {
        let lifecycle = ctx.lifecycle().await?;
        let n = reap_once(&lifecycle).await?;
        println!("reaped {n} instance(s)");
        handle_exits(&lifecycle).await?;
        return Ok(());
    }
    loop {
        match ctx.reconciled_lifecycle().await {
            Ok((lifecycle, report)) => {
                println!(
                    "{} reaper watching {} on {}",
                    rfc3339(now_millis()),
                    lifecycle.store().path().display(),
                    lifecycle.engine().info().target
                );
                if !report.is_empty() {
                    println!("{} reconciled: {report}", rfc3339(now_millis()));
                }
                if let Err(e) = daemon(Arc::new(lifecycle)).await {
                    eprintln!(
                        "{} reaper lost the engine: {e:#}; reconnecting",
                        rfc3339(now_millis())
                    );
                }
            }
            Err(e) => eprintln!(
                "{} reaper cannot start: {e:#}; retrying",
                rfc3339(now_millis())
            ),
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Stop what has expired now, completely (the one-shot `reap`).
async fn reap_once(lifecycle: &Lifecycle) -> Result<usize> {
    let mut n = 0;
    for (id, outcome) in lifecycle.reap_once().await? {
        match outcome {
            Ok(StopOutcome::Stopped) => {
                n += 1;
                println!("{} reaped {id}", rfc3339(now_millis()));
            }
            Ok(StopOutcome::AlreadyDone(_)) => {}
            Err(e) if e.is_unreachable() => return Err(e.into()),
            Err(e) => tracing::warn!("reaping {id}: {e}"),
        }
    }
    Ok(n)
}

/// The daemon on one engine connection. Returns when the engine is lost; the tasks beside the
/// loop end with it (the next start's reconcile clears whatever they left).
async fn daemon(lifecycle: Arc<Lifecycle>) -> Result<()> {
    let mut beside = JoinSet::new();
    let report: ClearReport = Arc::new(|id: &str, cleared| match cleared {
        Ok(()) => println!("{} cleared {id}", rfc3339(now_millis())),
        // The row is already final; reconcile removes what is left.
        Err(e) => eprintln!("{} clearing {id}: {e}", rfc3339(now_millis())),
    });
    let clearing = ClearingQueue::start(lifecycle.clone(), report, &mut beside);
    beside.spawn(reconcile_now_and_then(lifecycle.clone()));
    let mut events = lifecycle.engine().container_events(lifecycle.store_id());
    loop {
        halt_expired(&lifecycle, &clearing).await?;
        handle_exits(&lifecycle).await?;
        tokio::select! {
            () = tokio::time::sleep(until_next_expiry(&lifecycle)?) => {}
            event = events.next() => match event {
                Some(Ok(event)) => note_exit(&lifecycle, &event).await?,
                Some(Err(e)) => return Err(e.into()),
                None => bail!("the engine closed its event stream"),
            },
        }
    }
}

/// A container of ours died: the store learns it now, not at the next reconcile.
async fn note_exit(lifecycle: &Lifecycle, event: &ContainerEvent) -> Result<()> {
    let Some(instance) = event
        .instance
        .as_deref()
        .filter(|_| event.may_have_exited())
    else {
        return Ok(());
    };
    match lifecycle.note_exit(instance).await {
        Ok(Some(reason)) => println!("{} exited {instance}: {reason}", rfc3339(now_millis())),
        Ok(None) => {}
        Err(e) if e.is_unreachable() => return Err(e.into()),
        Err(e) => eprintln!(
            "{} noting the exit of {instance}: {e}",
            rfc3339(now_millis())
        ),
    }
    Ok(())
}

/// Restart (or leave) exited instances as `[lifetime] on_exit` says.
async fn handle_exits(lifecycle: &Lifecycle) -> Result<()> {
    match lifecycle.handle_exits().await {
        Ok(done) => {
            for handled in done {
                let line = format!("{} {handled}", rfc3339(now_millis()));
                match handled {
                    ExitHandled::Restarted { .. } => println!("{line}"),
                    ExitHandled::RestartFailed { .. } | ExitHandled::GaveUp { .. } => {
                        eprintln!("{line}")
                    }
                }
            }
            Ok(())
        }
        Err(e) if e.is_unreachable() => Err(e.into()),
        Err(e) => {
            eprintln!("{} restarting exited instances: {e}", rfc3339(now_millis()));
            Ok(())
        }
    }
}

/// Halt every expired instance and queue what it leaves on the engine.
async fn halt_expired(lifecycle: &Lifecycle, clearing: &ClearingQueue) -> Result<()> {
    let expired = lifecycle.store().expired(now_millis())?;
    if expired.is_empty() {
        return Ok(());
    }
    for (id, halt) in lifecycle.halt_many(expired, "expired").await {
        match halt {
            Ok(Halt::Halted(leftover)) => {
                let r = &leftover.record;
                let now = now_millis();
                // How late after its expiry: the figure that says whether the reaper keeps up.
                println!(
                    "{} reaped {id} ({} of {}), {} ms after expiry",
                    rfc3339(now),
                    r.challenge,
                    r.owner,
                    now - r.expires_at
                );
                clearing.push(*leftover);
            }
            Ok(Halt::AlreadyDone(_)) => {}
            Err(e) if e.is_unreachable() => return Err(e.into()),
            Err(e) => tracing::warn!("reaping {id}: {e}"),
        }
    }
    Ok(())
}

async fn reconcile_now_and_then(lifecycle: Arc<Lifecycle>) {
    loop {
        tokio::time::sleep(RECONCILE_EVERY).await;
        match lifecycle.reconcile().await {
            Ok(report) if report.is_empty() => {}
            Ok(report) => println!("{} reconciled: {report}", rfc3339(now_millis())),
            Err(e) => eprintln!("{} reconcile failed: {e}", rfc3339(now_millis())),
        }
    }
}

/// How long to sleep: until the next expiry the store knows of, at most [`TICK`].
fn until_next_expiry(lifecycle: &Lifecycle) -> Result<Duration> {
    let wait = match lifecycle.store().next_expiry()? {
        // Expired and still running: it expired just now, or its stop failed (logged). Look
        // again soon, without spinning.
        Some(at) if at <= now_millis() => RETRY,
        Some(at) => Duration::from_millis(u64::try_from(at - now_millis()).unwrap_or(0)),
        None => TICK,
    };
    Ok(wait.min(TICK))
}
