//! `purge`: bulk stop with a dry run and a confirmation that says exactly what will go.

use std::io::{BufRead, IsTerminal, Write};

use color_eyre::eyre::{Result, bail};

use crate::cli::args::PurgeArgs;
use crate::cli::context::Context;
use crate::cli::output::instances_table;
use crate::domain::{PurgeSelector, StopOutcome, describe_selection};

pub async fn run(ctx: &Context, args: &PurgeArgs) -> Result<()> {
    if !args.dry_run {
        ctx.require_write("purge")?;
    }
    let selector = if args.selector.expired {
        PurgeSelector::Expired
    } else if let Some(c) = &args.selector.challenge {
        PurgeSelector::Challenge(c.clone())
    } else if let Some(o) = &args.selector.owner {
        PurgeSelector::Owner(o.clone())
    } else {
        PurgeSelector::All
    };
    let lifecycle = ctx.lifecycle().await?;
    let selected = lifecycle.select(&selector)?;
    if selected.is_empty() {
        eprintln!("nothing to purge");
        return Ok(());
    }
    let summary = describe_selection(&selected);
    if args.dry_run {
        print!("{}", instances_table(&selected, false));
        println!("would stop {summary}");
        return Ok(());
    }
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            bail!("purge would stop {summary}; pass --yes to confirm when not on a terminal");
        }
        eprint!("{}", instances_table(&selected, false));
        eprint!("stop {summary}? [y/N] ");
        std::io::stderr().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            bail!("purge cancelled; nothing was stopped");
        }
    }
    let results = lifecycle.stop_many(selected, "purged").await;
    let mut stopped = 0;
    let mut failed = 0;
    for (id, r) in results {
        match r {
            Ok(StopOutcome::Stopped) => stopped += 1,
            Ok(StopOutcome::AlreadyDone(_)) => {}
            Err(e) => {
                failed += 1;
                eprintln!("error: {id}: {e}");
            }
        }
    }
    println!("purged {stopped} instance(s)");
    if failed > 0 {
        bail!("{failed} instance(s) could not be stopped");
    }
    Ok(())
}
