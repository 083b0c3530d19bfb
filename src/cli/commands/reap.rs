//! `reap`: stop what expired. `--watch` runs the daemon (`domain::reaper`); this only prints
//! what it reports, one timestamped line per event.

use std::sync::Arc;

use color_eyre::eyre::Result;

use crate::cli::context::Context;
use crate::domain::reaper::{self, ReaperEvent, ReaperTiming};
use crate::domain::view::rfc3339;
use crate::store::now_millis;

pub async fn run(ctx: &Context, watch: bool) -> Result<()> {
    ctx.require_write("reap")?;
    if !watch {
        let lifecycle = ctx.lifecycle().await?;
        let reaped = reaper::reap_once(&lifecycle).await?;
        for id in &reaped {
            println!("{} reaped {id}", rfc3339(now_millis()));
        }
        println!("reaped {} instance(s)", reaped.len());
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

fn print(event: ReaperEvent) {
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
        ReaperEvent::EngineLost(e) => {
            eprintln!("{now} reaper lost the engine: {e}; reconnecting");
        }
        ReaperEvent::CannotStart(e) => eprintln!("{now} reaper cannot start: {e}; retrying"),
    }
}
