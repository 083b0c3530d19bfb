//! The reaper daemon, driven directly: what it halts, what it clears, what it reports, and how
//! it rides out an engine that goes away.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::Deck;
use crate::domain::reaper::{self, ReaperEvent, ReaperEvents, ReaperTiming};
use crate::domain::{Actor, Lifecycle, ReconcileReport};
use crate::engine::Engine;
use crate::store::{InstanceStatus, now_millis};

/// Quick pauses: the tests wait for events, never for a clock. The periodic reconcile only
/// where a test is about it: it may remove a frozen container before the clearing does.
fn timing() -> ReaperTiming {
    ReaperTiming {
        tick: Duration::from_millis(5),
        retry: Duration::from_millis(1),
        reconnect: Duration::from_millis(1),
        ..ReaperTiming::default()
    }
}

fn events() -> (ReaperEvents, mpsc::UnboundedReceiver<ReaperEvent>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let events: ReaperEvents = Arc::new(move |e| {
        let _ = tx.send(e);
    });
    (events, rx)
}

/// Events until `done` says enough, in order. Fails the test if the daemon falls silent.
async fn until(
    rx: &mut mpsc::UnboundedReceiver<ReaperEvent>,
    mut done: impl FnMut(&ReaperEvent) -> bool,
) -> Vec<ReaperEvent> {
    let mut seen = Vec::new();
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .unwrap_or_else(|_| panic!("the reaper fell silent after {seen:?}"))
            .unwrap_or_else(|| panic!("the reaper stopped after {seen:?}"));
        let stop = done(&event);
        seen.push(event);
        if stop {
            return seen;
        }
    }
}

fn daemon(d: &Deck) -> Arc<Lifecycle> {
    Arc::new(d.second(Actor::admin("reaper")))
}

#[tokio::test]
async fn the_reaper_halts_what_expires_then_clears_it() {
    let d = Deck::new();
    let late = d.spawn("web", "team:a").await;
    let fine = d.spawn("pwn", "team:b").await;
    let expires = now_millis() + 30;
    d.expire_at(&late, expires);
    let (report, mut rx) = events();
    let pauses = timing();
    let seen = tokio::select! {
        r = reaper::watch(daemon(&d), &pauses, report) => panic!("the reaper ended: {r:?}"),
        seen = until(&mut rx, |e| matches!(e, ReaperEvent::Cleared { .. })) => seen,
    };
    match &seen[..] {
        [
            ReaperEvent::Reaped {
                id,
                challenge,
                owner,
                late_ms,
            },
            ReaperEvent::Cleared { id: cleared },
        ] => {
            assert_eq!((id, cleared), (&late.id, &late.id));
            assert_eq!((challenge.as_str(), owner.as_str()), ("web", "team:a"));
            assert!(*late_ms >= 0, "never before its expiry");
        }
        other => panic!("unexpected events {other:?}"),
    }
    let row = d.row(&late.id);
    assert_eq!(row.status, InstanceStatus::Stopped);
    assert_eq!(row.stop_reason.as_deref(), Some("expired"));
    assert!(row.stopped_at.unwrap() >= expires);
    assert_eq!(d.row(&fine.id).status, InstanceStatus::Running);
    assert_eq!(d.engine_objects(), (1, 1), "only the live instance is left");
    assert_eq!(d.audit("stop").len(), 1);
}

#[tokio::test]
async fn the_reaper_reports_what_its_periodic_reconcile_changed() {
    let d = Deck::new();
    let rec = d.spawn("web", "team:a").await;
    let (report, mut rx) = events();
    let pauses = ReaperTiming {
        reconcile_every: Duration::from_millis(5),
        ..timing()
    };
    let seen = tokio::select! {
        r = reaper::watch(daemon(&d), &pauses, report) => panic!("the reaper ended: {r:?}"),
        seen = async {
            // Gone behind ctfdeck's back while the reaper runs.
            d.engine.remove_container(rec.container_id.as_deref().unwrap()).await.unwrap();
            until(&mut rx, |e| matches!(e, ReaperEvent::Reconciled(_))).await
        } => seen,
    };
    let Some(ReaperEvent::Reconciled(changes)) = seen.last() else {
        panic!("{seen:?}");
    };
    assert_eq!(changes.lost, [rec.id.as_str()]);
    assert_eq!(d.row(&rec.id).status, InstanceStatus::Lost);
}

#[tokio::test]
async fn a_lost_engine_ends_the_watch_and_leaves_the_row_claimable() {
    let d = Deck::new();
    let rec = d.spawn("web", "team:a").await;
    d.engine.set_unreachable(true);
    d.expire_at(&rec, now_millis() - 1);
    let (report, _rx) = events();
    let pauses = timing();
    let e = reaper::watch(daemon(&d), &pauses, report)
        .await
        .unwrap_err();
    assert!(e.is_unreachable(), "{e}");
    assert_eq!(d.row(&rec.id).status, InstanceStatus::Running);
    d.engine.set_unreachable(false);
    assert!(d.engine.ping().await.is_ok());
    // The next connection's daemon stops it.
    let (report, mut rx) = events();
    let pauses = timing();
    tokio::select! {
        r = reaper::watch(daemon(&d), &pauses, report) => panic!("the reaper ended: {r:?}"),
        _ = until(&mut rx, |e| matches!(e, ReaperEvent::Cleared { .. })) => {}
    };
    assert_eq!(d.row(&rec.id).status, InstanceStatus::Stopped);
}

#[tokio::test]
async fn the_daemon_connects_again_until_it_can_watch() {
    let d = Deck::new();
    let rec = d.spawn("web", "team:a").await;
    d.expire_at(&rec, now_millis() - 1);
    let mut attempts = 0;
    let connect = || {
        attempts += 1;
        let outcome = if attempts < 3 {
            Err(format!("no engine yet ({attempts})"))
        } else {
            Ok((d.second(Actor::admin("reaper")), ReconcileReport::default()))
        };
        async move { outcome }
    };
    let (report, mut rx) = events();
    let seen = tokio::select! {
        () = reaper::run(connect, timing(), report) => unreachable!("the daemon never ends"),
        seen = until(&mut rx, |e| matches!(e, ReaperEvent::Cleared { .. })) => seen,
    };
    let said: Vec<String> = seen
        .iter()
        .map(|e| match e {
            ReaperEvent::CannotStart(why) => format!("cannot start: {why}"),
            ReaperEvent::Watching { engine, .. } => format!("watching {engine}"),
            ReaperEvent::Reaped { id, .. } => format!("reaped {id}"),
            ReaperEvent::Cleared { id } => format!("cleared {id}"),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        said,
        [
            "cannot start: no engine yet (1)".to_string(),
            "cannot start: no engine yet (2)".to_string(),
            "watching fake://memory".to_string(),
            format!("reaped {}", rec.id),
            format!("cleared {}", rec.id),
        ]
    );
}
