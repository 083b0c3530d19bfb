//! spawn, list, extend, stop, reset.

use std::time::Duration;

use color_eyre::eyre::{Result, WrapErr, bail};
use futures_util::StreamExt;

use crate::cli::context::Context;
use crate::cli::output::{
    colour_on_stdout, instance_line, instances_json, instances_table, print_json,
};
use crate::domain::{InstanceView, Owner, StopOutcome};
use crate::store::InstanceFilter;

pub async fn spawn(ctx: &Context, challenge: &str, owner: &str, json: bool) -> Result<()> {
    ctx.require_write("spawn")?;
    let owner = Owner::for_spawn(owner)?;
    let lifecycle = ctx.lifecycle().await?;
    let spawned = lifecycle.spawn(challenge, &owner).await?;
    if json {
        return print_json(&InstanceView::from(&spawned.instance));
    }
    let verb = if spawned.existing {
        "already running"
    } else {
        "spawned"
    };
    println!("{verb}: {}", instance_line(&spawned.instance));
    Ok(())
}

pub async fn list(
    ctx: &Context,
    json: bool,
    challenge: Option<&str>,
    owner: Option<&str>,
    all: bool,
) -> Result<()> {
    let lifecycle = ctx.lifecycle().await?;
    let records = lifecycle.store().list_instances(&InstanceFilter {
        challenge,
        owner,
        all,
    })?;
    if json {
        return print_json(&instances_json(&records));
    }
    if records.is_empty() {
        eprintln!("no {}instances", if all { "" } else { "live " });
        return Ok(());
    }
    print!("{}", instances_table(&records, colour_on_stdout()));
    Ok(())
}

pub async fn extend(ctx: &Context, instance: &str, by: Option<Duration>, json: bool) -> Result<()> {
    ctx.require_write("extend")?;
    let lifecycle = ctx.lifecycle().await?;
    let rec = lifecycle.extend(instance, by).await?;
    if json {
        return print_json(&InstanceView::from(&rec));
    }
    println!("extended: {}", instance_line(&rec));
    Ok(())
}

/// Stop the given instances: all are halted at once, then removed (see `Lifecycle::stop_ids`).
pub async fn stop(ctx: &Context, instances: &[String]) -> Result<()> {
    ctx.require_write("stop")?;
    let lifecycle = ctx.lifecycle().await?;
    let mut failures = 0;
    let mut results = lifecycle.stop_ids(instances, "stopped by operator").await;
    while let Some((id, outcome)) = results.next().await {
        match outcome {
            Ok(StopOutcome::Stopped) => println!("stopped {id}"),
            Ok(StopOutcome::AlreadyDone(status)) => println!("{id} already {status}"),
            Err(e) => {
                failures += 1;
                eprintln!("error: {id}: {e}");
            }
        }
    }
    if failures > 0 {
        bail!(
            "{failures} of {} instance(s) could not be stopped",
            instances.len()
        );
    }
    Ok(())
}

pub async fn reset(ctx: &Context, instance: &str, json: bool) -> Result<()> {
    ctx.require_write("reset")?;
    let lifecycle = ctx.lifecycle().await?;
    let fresh = lifecycle
        .reset(instance)
        .await
        .wrap_err_with(|| format!("reset of {instance} failed"))?;
    if json {
        return print_json(&InstanceView::from(&fresh));
    }
    println!("reset {instance}: now {}", instance_line(&fresh));
    Ok(())
}
