//! `reap`: stop what expired. `--watch` is the daemon: it keeps going through engine restarts.

use std::time::Duration;

use color_eyre::eyre::Result;

use crate::cli::context::Context;
use crate::domain::view::rfc3339;
use crate::domain::{Lifecycle, StopOutcome};
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
        let n = reap(&lifecycle).await?;
        println!("reaped {n} instance(s)");
        return Ok(());
    }
    loop {
        match ctx.lifecycle().await {
            Ok(lifecycle) => {
                println!(
                    "{} reaper watching {} on {}",
                    rfc3339(now_millis()),
                    lifecycle.store().path().display(),
                    lifecycle.engine().info().target
                );
                if let Err(e) = watch_loop(&lifecycle).await {
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

async fn watch_loop(lifecycle: &Lifecycle) -> Result<()> {
    let mut last_reconcile = tokio::time::Instant::now();
    loop {
        reap(lifecycle).await?;
        if last_reconcile.elapsed() >= RECONCILE_EVERY {
            let report = lifecycle.reconcile().await?;
            if !report.is_empty() {
                println!("{} reconciled: {report:?}", rfc3339(now_millis()));
            }
            last_reconcile = tokio::time::Instant::now();
        }
        tokio::time::sleep(until_next_expiry(lifecycle)?).await;
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

async fn reap(lifecycle: &Lifecycle) -> Result<usize> {
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
