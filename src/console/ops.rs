//! Background operations: each lifecycle call runs in its own task and reports back as an
//! event, so the screen keeps drawing while a spawn or a purge of hundreds is under way.

use std::sync::Arc;

use futures_util::StreamExt;
use tokio::sync::mpsc::Sender;

use crate::domain::smoke::{self, Cancel, CancelHandle, SmokeOptions, StageEvent};
use crate::domain::{BuildOutcome, Lifecycle, StopOutcome};

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
        Op::SetNodeTaking { node, take } => OpOutcome::NodeTaking(Box::new(
            lifecycle.set_node_taking(&node, take).await.map_err(e)?,
        )),
        Op::Smoke { .. } => return Err("a smoke test starts through start_smoke".to_string()),
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
            // Build output would scribble over the screen; the outcome is what matters here.
            let quiet = |_: &str| {};
            match lifecycle.build(&challenge, &quiet).await.map_err(e)? {
                BuildOutcome::Built { .. } => {}
                BuildOutcome::NoContext { .. } => {
                    return Err(format!("{challenge} has no build context"));
                }
            }
            OpOutcome::Built { challenge }
        }
    })
}

/// Start a smoke test of `challenge` in the background: each stage event comes back as
/// `Event::Smoke`, then the report as `Event::OpDone`. The handle cancels it (teardown still
/// runs).
pub fn start_smoke(
    lifecycle: Arc<Lifecycle>,
    op: u64,
    challenge: String,
    tx: Sender<Event>,
) -> CancelHandle {
    let (handle, cancel) = Cancel::new();
    tokio::spawn(async move {
        // The domain reports progress synchronously; an unbounded hop keeps it from ever
        // blocking the run, and the forwarder keeps the order.
        let (events_tx, mut events) = tokio::sync::mpsc::unbounded_channel::<StageEvent>();
        let forward_tx = tx.clone();
        let forwarder = tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                if forward_tx.send(Event::Smoke { op, event }).await.is_err() {
                    break;
                }
            }
        });
        let opts = SmokeOptions {
            cancel,
            ..SmokeOptions::default()
        };
        let progress = move |event: StageEvent| {
            let _ = events_tx.send(event);
        };
        let report = smoke::smoke(&lifecycle, &challenge, &opts, &progress).await;
        // Every stage event is on the channel before the report.
        drop(progress);
        let _ = forwarder.await;
        let outcome = OpOutcome::Smoked(Box::new(report));
        let _ = tx.send(Event::OpDone { op, outcome }).await;
    });
    handle
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
    let mut done = 0;
    let mut results = lifecycle.stop_ids(&ids, reason).await;
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::catalog::Catalog;
    use crate::domain::{Actor, Policy, Role};
    use crate::engine::SwarmNode;
    use crate::engine::fake::FakeEngine;
    use crate::store::Store;

    fn node() -> SwarmNode {
        SwarmNode::ready_for_tests("node-1", "10.99.0.2")
    }

    /// What the console's drain of node-1 comes back with, for `role`.
    async fn drain_as(role: Role, engine: Arc<FakeEngine>) -> OpOutcome {
        let dir = tempfile::tempdir().unwrap();
        let actor = Actor {
            name: "staff".into(),
            origin: "local".into(),
            role,
        };
        let lifecycle = Lifecycle::new(
            engine,
            Store::open(&dir.path().join("ctfdeck.db")).unwrap(),
            Arc::new(Catalog::default()),
            Policy::default(),
            actor,
        )
        .unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::channel(4);
        let request = Op::SetNodeTaking {
            node: "node-1".into(),
            take: false,
        };
        start(Arc::new(lifecycle), 7, request, tx);
        match rx.recv().await {
            Some(Event::OpDone { op: 7, outcome }) => outcome,
            other => panic!("expected the drain's outcome, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn the_consoles_drain_goes_through_the_domains_role_check() {
        let engine = Arc::new(FakeEngine::new());
        engine.set_nodes(vec![node()]);
        match drain_as(Role::Monitor, engine.clone()).await {
            OpOutcome::Failed { what, error } => {
                assert_eq!(what, "drain node node-1");
                assert!(error.contains("monitor role"), "{error}");
            }
            other => panic!("a monitor's drain ran: {other:?}"),
        }
        assert_eq!(engine.nodes()[0].availability, "active");
        match drain_as(Role::Admin, engine.clone()).await {
            OpOutcome::NodeTaking(n) => assert_eq!(n.availability, "pause"),
            other => panic!("expected the drained node, got {other:?}"),
        }
        assert_eq!(engine.nodes()[0].availability, "pause");
    }
}
