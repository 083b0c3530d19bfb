//! Stopping: the claim that makes each stop happen once, the order of halt and removal, stops
//! by id, purge selections, and an engine that goes away half way.

use futures_util::StreamExt;

use super::Deck;
use crate::domain::{Actor, DomainError, Halt, PurgeSelector, StopOutcome};
use crate::store::{InstanceStatus, StoreError, now_millis};

#[tokio::test]
async fn a_stop_removes_container_and_network_and_keeps_the_row() {
    let d = Deck::new();
    let rec = d.spawn("web", "team:a").await;
    assert_eq!(d.engine_objects(), (1, 1));
    let outcome = d.lifecycle.stop(&rec.id, "done").await.unwrap();
    assert_eq!(outcome, StopOutcome::Stopped);
    assert_eq!(d.engine_objects(), (0, 0));
    let row = d.row(&rec.id);
    assert_eq!(row.status, InstanceStatus::Stopped);
    assert_eq!(row.stop_reason.as_deref(), Some("done"));
    assert!(row.stopped_at.is_some());
    // Again: nothing to do, said as such.
    assert_eq!(
        d.lifecycle.stop(&rec.id, "again").await.unwrap(),
        StopOutcome::AlreadyDone(InstanceStatus::Stopped)
    );
    assert_eq!(d.audit("stop").len(), 1);
}

#[tokio::test]
async fn two_processes_stopping_the_same_instance_stop_it_once() {
    let d = Deck::new();
    let rec = d.spawn("web", "team:a").await;
    let other = d.second(Actor::admin("other"));
    let (a, b) = tokio::join!(
        d.lifecycle.stop(&rec.id, "mine"),
        other.stop(&rec.id, "theirs")
    );
    let mut outcomes = [a.unwrap(), b.unwrap()];
    outcomes.sort_by_key(|o| matches!(o, StopOutcome::AlreadyDone(_)));
    assert_eq!(outcomes[0], StopOutcome::Stopped);
    assert!(matches!(outcomes[1], StopOutcome::AlreadyDone(_)));
    assert_eq!(d.audit("stop").len(), 1, "one stop, audited once");
}

#[tokio::test]
async fn a_halt_freezes_and_finalises_before_anything_is_removed() {
    let d = Deck::new();
    let rec = d.spawn("web", "team:a").await;
    let mut halted = d.lifecycle.halt_many(vec![rec.clone()], "expired").await;
    let Some((_, Ok(Halt::Halted(leftover)))) = halted.pop() else {
        panic!("not halted");
    };
    // The row is final and the container frozen, still there.
    assert_eq!(d.row(&rec.id).status, InstanceStatus::Stopped);
    let containers = d.engine.containers();
    let frozen = containers.values().next().unwrap();
    assert_eq!(frozen.managed.state, "paused");
    d.lifecycle.remove_frozen(&leftover).await.unwrap();
    assert_eq!(d.engine_objects(), (0, 1));
    d.lifecycle.release_network(&leftover.record).await.unwrap();
    assert_eq!(d.engine_objects(), (0, 0));
}

#[tokio::test]
async fn stop_by_id_reports_unknown_ids_first_and_stops_the_rest() {
    let d = Deck::new();
    let a = d.spawn("web", "team:a").await;
    let b = d.spawn("pwn", "team:b").await;
    let ids = vec!["zz9".to_string(), a.id[..5].to_string(), b.id.clone()];
    let results: Vec<_> = d.lifecycle.stop_ids(&ids, "operator").await.collect().await;
    assert_eq!(results.len(), 3);
    assert_eq!(results[0].0, "zz9");
    assert!(
        matches!(
            results[0].1,
            Err(DomainError::Store(StoreError::NotFound(_)))
        ),
        "{:?}",
        results[0].1
    );
    for (_, outcome) in &results[1..] {
        assert_eq!(outcome.as_ref().unwrap(), &StopOutcome::Stopped);
    }
    assert_eq!(d.row(&a.id).stop_reason.as_deref(), Some("operator"));
    assert_eq!(d.row(&b.id).status, InstanceStatus::Stopped);
    assert_eq!(d.engine_objects(), (0, 0));
}

#[tokio::test]
async fn a_stop_the_engine_never_answered_gives_the_claim_back() {
    let d = Deck::new();
    let rec = d.spawn("web", "team:a").await;
    d.engine.set_unreachable(true);
    let e = d.lifecycle.stop(&rec.id, "test").await.unwrap_err();
    assert!(e.is_unreachable(), "{e}");
    // Not stuck in `stopping`: the instance still runs, and any process may stop it later.
    assert_eq!(d.row(&rec.id).status, InstanceStatus::Running);
    d.engine.set_unreachable(false);
    assert_eq!(
        d.lifecycle.stop(&rec.id, "test").await.unwrap(),
        StopOutcome::Stopped
    );
    assert_eq!(d.engine_objects(), (0, 0));
}

#[tokio::test]
async fn purges_select_the_live_instances_they_name() {
    let d = Deck::new();
    let a = d.spawn("web", "team:a").await;
    let b = d.spawn("pwn", "team:a").await;
    let c = d.spawn("web", "team:b").await;
    d.lifecycle.stop(&c.id, "test").await.unwrap();
    d.expire_at(&b, now_millis() - 1);
    let ids = |selector: PurgeSelector| {
        let mut ids: Vec<String> = d
            .lifecycle
            .select(&selector)
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        ids.sort();
        ids
    };
    let mut both = vec![a.id.clone(), b.id.clone()];
    both.sort();
    assert_eq!(ids(PurgeSelector::All), both, "stopped ones are not live");
    assert_eq!(ids(PurgeSelector::Owner("team:a".into())), both);
    assert_eq!(ids(PurgeSelector::Challenge("web".into())), [a.id.as_str()]);
    assert_eq!(ids(PurgeSelector::Expired), [b.id.as_str()]);
}

#[tokio::test]
async fn reap_once_stops_what_expired_and_only_that() {
    let d = Deck::new();
    let late = d.spawn("web", "team:a").await;
    let fine = d.spawn("web", "team:b").await;
    d.expire_at(&late, now_millis() - 1);
    let reaped = crate::domain::reaper::reap_once(&d.lifecycle)
        .await
        .unwrap();
    assert_eq!(reaped.reaped, [late.id.as_str()]);
    let row = d.row(&late.id);
    assert_eq!(row.status, InstanceStatus::Stopped);
    assert_eq!(row.stop_reason.as_deref(), Some("expired"));
    assert_eq!(d.row(&fine.id).status, InstanceStatus::Running);
    assert_eq!(d.engine_objects(), (1, 1));
}
