//! `smoke CHALLENGE… [--json] [--keep]`: the author's end-to-end check, several challenges
//! at once. Stages are shown on stderr as they finish; the full report (or the JSON) goes to
//! stdout at the end. Ctrl-C interrupts the running stages and still tears down.

mod print;

use color_eyre::eyre::Result;

use crate::cli::args::SmokeArgs;
use crate::cli::context::Context;
use crate::cli::exit::Reported;
use crate::cli::output::print_json;
use crate::domain::smoke::{self, Cancel, CancelHandle, SmokeOptions, SmokeReport};

pub async fn run(ctx: &Context, args: &SmokeArgs) -> Result<()> {
    ctx.require_write("smoke")?;
    let lifecycle = ctx.lifecycle().await?;
    let ids: Vec<String> = if args.all {
        smoke::every_challenge(&lifecycle)
    } else {
        args.challenges.clone()
    };
    let (handle, cancel) = Cancel::new();
    let interrupts = tokio::spawn(watch_interrupts(handle));
    let opts = SmokeOptions {
        keep: args.keep,
        skip_check: args.no_check,
        ready_timeout: args.ready_timeout,
        check_timeout: args.check_timeout,
        cancel,
        ..SmokeOptions::default()
    };
    let progress = |event| print::Live.event(event);
    let reports = smoke::smoke_many(&lifecycle, &ids, &opts, args.jobs, &progress).await;
    interrupts.abort();

    if args.json {
        let values: Vec<serde_json::Value> = reports.iter().map(SmokeReport::to_json).collect();
        print_json(&values)?;
    } else {
        print!("{}", print::reports(&reports));
    }
    let failed: Vec<String> = reports
        .iter()
        .filter(|r| !r.passed())
        .map(|r| match r.failed_stage() {
            Some(stage) => format!("{} ({})", r.challenge, stage.stage),
            None => format!("{} (interrupted)", r.challenge),
        })
        .collect();
    if !failed.is_empty() {
        return Err(Reported(format!("smoke failed: {}", failed.join(", "))).into());
    }
    Ok(())
}

/// Ctrl-C cancels the runs; the runs then tear down, which a second Ctrl-C does not skip
/// (that would leave containers behind).
async fn watch_interrupts(handle: CancelHandle) {
    let mut first = true;
    while tokio::signal::ctrl_c().await.is_ok() {
        if first {
            eprintln!("interrupted: stopping the running stages, then tearing down");
            handle.cancel();
            first = false;
        } else {
            eprintln!("still tearing down; ctfdeck exits once the instances are gone");
        }
    }
}
