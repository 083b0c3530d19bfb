//! Background operations: each lifecycle call runs in its own task and reports back as an
//! event, so the screen keeps drawing while a spawn or a purge of hundreds is under way.

use std::sync::Arc;

use futures_util::StreamExt;
use tokio::sync::mpsc::Sender;

use crate::domain::{Lifecycle, StopOutcome};

use super::event::{Event, OpOutcome};
use super::state::Op;

pub fn start(lifecycle: Arc<Lifecycle>, op: u64, request: Op, tx: Sender<Event>) {
    tokio::spawn(async move {
        let what = request.label();
        let outcome = match run(&lifecycle, op, request, &tx).await {
            Ok(outcome) => outcome,
            Err(error) => OpOutcome::Failed { what, error },
        };
        let _ = tx.send(Event::OpDone { op, outcome }).await;
    });
}

async fn run(
    lifecycle: &Lifecycle,
    op: u64,
    request: Op,
    tx: &Sender<Event>,
) -> Result<OpOutcome, String> {
    let e = |e: crate::domain::DomainError| e.to_string();
    Ok(match request {
        Op::Spawn { challenge, owner } => {
            let spawned = lifecycle.spawn(&challenge, &owner).await.map_err(e)?;
            OpOutcome::Spawned {
                instance: Box::new(spawned.instance),
                existing: spawned.existing,
            }
        }
        Op::Extend { id } => {
            OpOutcome::Extended(Box::new(lifecycle.extend(&id, None).await.map_err(e)?))
        }
        Op::Reset { id } => {
            let fresh = lifecycle.reset(&id).await.map_err(e)?;
            OpOutcome::Reset {
                old: id,
                fresh: Box::new(fresh),
            }
        }
        Op::Stop { ids, reason } => stop(lifecycle, op, ids, &reason, tx).await,
        Op::WhoseFlag { flag } => {
            let owners = lifecycle.whose_flag(&flag).map_err(e)?;
            OpOutcome::FlagOwners { flag, owners }
        }
        Op::SelectPurge(selector) => {
            let records = lifecycle.select(&selector).map_err(e)?;
            OpOutcome::Selected { selector, records }
        }
        Op::Inspect {
            instance,
            container,
        } => {
            let detail = lifecycle
                .engine()
                .inspect_container(&container)
                .await
                .map_err(|e| e.to_string())?;
            OpOutcome::Inspected {
                instance,
                detail: Box::new(detail),
            }
        }
        Op::Build { challenge } => {
            let c = lifecycle
                .catalog()
                .get(&challenge)
                .ok_or_else(|| format!("unknown challenge {challenge}"))?;
            // Build output would scribble over the screen; the outcome is what matters here.
            let quiet = |_: &str| {};
            lifecycle
                .build_image(c, &quiet)
                .await
                .map_err(|e| e.to_string())?;
            OpOutcome::Built { challenge }
        }
    })
}

/// Stop the instances through the domain: all are halted at once, then removed; progress is
/// reported as each completes.
async fn stop(
    lifecycle: &Lifecycle,
    op: u64,
    ids: Vec<String>,
    reason: &str,
    tx: &Sender<Event>,
) -> OpOutcome {
    let total = ids.len();
    let mut failed = Vec::new();
    let mut records = Vec::new();
    for id in ids {
        match lifecycle.store().resolve(&id) {
            Ok(record) => records.push(record),
            Err(err) => failed.push((id, err.to_string())),
        }
    }
    let mut done = failed.len();
    let mut results = lifecycle.stop_stream(records, reason).await;
    let (mut stopped, mut already) = (0, 0);
    while let Some((id, r)) = results.next().await {
        done += 1;
        match r {
            Ok(StopOutcome::Stopped) => stopped += 1,
            Ok(StopOutcome::AlreadyDone(_)) => already += 1,
            Err(err) => failed.push((id, err.to_string())),
        }
        if total > 1 {
            let _ = tx.send(Event::OpProgress { op, done, total }).await;
        }
    }
    OpOutcome::Stopped {
        stopped,
        already,
        failed,
    }
}
