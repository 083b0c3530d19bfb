//! `reap`: stop what expired. `--watch` runs the daemon (`domain::reaper`); this only prints
//! what it reports, one timestamped line per event.

use std::sync::Arc;

use color_eyre::eyre::Result;

use crate::cli::context::Context;
use crate::domain::ExitHandled;
use crate::domain::reaper::{self, ReaperEvent, ReaperTiming};
use crate::domain::view::rfc3339;
use crate::store::now_millis;

pub async fn run(ctx: &Context, watch: bool) -> Result<()> {
    ctx.require_write("reap")?;
    if !watch {
        let lifecycle = ctx.lifecycle().await?;
        let done = reaper::reap_once(&lifecycle).await?;
        for id in &done.reaped {
            println!("{} reaped {id}", rfc3339(now_millis()));
        }
        println!("reaped {} instance(s)", done.reaped.len());
        for handled in done.exits {
            print(ReaperEvent::ExitHandled(handled));
        }
        return Ok(());
    }
    let connect = || async {
        ctx.reconciled_lifecycle()
            .await
            .map_err(|e| format!("{e:#}"))
    };
    reaper::run(connect, ReaperTiming::default(), Arc::new(print)).await;
    Ok(())
}

/// One timestamped line per reaper event (`serve` prints the same).
pub fn print(event: ReaperEvent) {
    let now = rfc3339(now_millis());
    match event {
        ReaperEvent::Watching { store, engine } => {
            println!("{now} reaper watching {} on {engine}", store.display());
        }
        ReaperEvent::Reconciled(report) => println!("{now} reconciled: {report}"),
        ReaperEvent::ReconcileFailed(e) => eprintln!("{now} reconcile failed: {e}"),
        ReaperEvent::Reaped {
            id,
            challenge,
            owner,
            late_ms,
        } => println!("{now} reaped {id} ({challenge} of {owner}), {late_ms} ms after expiry"),
        ReaperEvent::ReapFailed { id, error } => tracing::warn!("reaping {id}: {error}"),
        ReaperEvent::Cleared { id } => println!("{now} cleared {id}"),
        ReaperEvent::ClearFailed { id, error } => eprintln!("{now} clearing {id}: {error}"),
        ReaperEvent::Exited { id, reason } => println!("{now} exited {id}: {reason}"),
        ReaperEvent::ExitNotRecorded { id, error } => {
            eprintln!("{now} noting the exit of {id}: {error}")
        }
        ReaperEvent::ExitHandled(handled @ ExitHandled::Restarted { .. }) => {
            println!("{now} {handled}")
        }
        ReaperEvent::ExitHandled(handled) => eprintln!("{now} {handled}"),
        ReaperEvent::ExitsFailed(e) => eprintln!("{now} restarting exited instances: {e}"),
        ReaperEvent::EngineLost(e) => {
            eprintln!("{now} reaper lost the engine: {e}; reconnecting");
        }
        ReaperEvent::CannotStart(e) => eprintln!("{now} reaper cannot start: {e}; retrying"),
    }
}
