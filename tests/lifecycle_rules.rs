#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Lifetime rules, purge and reap on the real engine.

mod common;

use std::time::Duration;

use common::Fixture;
use ctfdeck::domain::{DomainError, PurgeSelector, StopOutcome};
use ctfdeck::store::{InstanceStatus, now_millis};

#[tokio::test(flavor = "multi_thread")]
async fn extend_respects_max_renewals_and_max_total() {
    let f = Fixture::new().await;
    // web-robots: 45m default, extend_by 30m, 3 renewals, 3h total.
    let rec = f.spawn("web-robots", "team:ext").await;
    let mut last = rec.expires_at;
    for n in 1..=2 {
        let r = f.lifecycle.extend(&rec.id[..4], None).await.unwrap();
        assert_eq!(r.renewals, n);
        assert!(
            r.expires_at >= last + 30 * 60_000 - 5_000,
            "pushed by extend_by"
        );
        last = r.expires_at;
    }
    // A long extension is capped at created + 3h.
    let r = f
        .lifecycle
        .extend(&rec.id, Some(Duration::from_secs(24 * 3600)))
        .await
        .unwrap();
    assert_eq!(r.expires_at, rec.created_at + 3 * 3600 * 1000);
    assert_eq!(r.renewals, 3);
    let err = f.lifecycle.extend(&rec.id, None).await.unwrap_err();
    assert!(
        matches!(err, DomainError::RenewalsExhausted { max: 3, .. }),
        "{err}"
    );

    // At the total cap with renewals left: refused for the cap, saying until when.
    let other = f.spawn("nc-calc", "team:ext").await;
    f.lifecycle
        .extend(&other.id, Some(Duration::from_secs(24 * 3600)))
        .await
        .unwrap();
    let err = f.lifecycle.extend(&other.id, None).await.unwrap_err();
    assert!(matches!(err, DomainError::AtMaxTotal { .. }), "{err}");
    assert!(err.to_string().contains("maximum lifetime"), "{err}");

    for r in f
        .lifecycle
        .stop_many(f.lifecycle.select(&PurgeSelector::All).unwrap(), "test")
        .await
    {
        r.1.unwrap();
    }
    let err = f.lifecycle.extend(&rec.id, None).await.unwrap_err();
    assert!(
        matches!(
            err,
            DomainError::NotRunning {
                status: InstanceStatus::Stopped,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(f.leftovers().await, (0, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn purge_selects_by_challenge_and_owner_and_reap_takes_the_expired() {
    let f = Fixture::new().await;
    let mut ids = Vec::new();
    for (ch, owner) in [
        ("web-robots", "team:p1"),
        ("web-robots", "team:p2"),
        ("nc-calc", "team:p1"),
    ] {
        ids.push(f.spawn(ch, owner).await.id);
    }
    let by_challenge = f
        .lifecycle
        .select(&PurgeSelector::Challenge("web-robots".into()))
        .unwrap();
    assert_eq!(by_challenge.len(), 2);
    let by_owner = f
        .lifecycle
        .select(&PurgeSelector::Owner("team:p1".into()))
        .unwrap();
    assert_eq!(by_owner.len(), 2);
    assert!(
        f.lifecycle
            .select(&PurgeSelector::Expired)
            .unwrap()
            .is_empty()
    );

    // The nc-calc instance expires.
    let past = now_millis() - 1_000;
    f.lifecycle
        .store()
        .set_times(&ids[2], past - 60_000, past)
        .unwrap();
    let expired = f.lifecycle.select(&PurgeSelector::Expired).unwrap();
    assert_eq!(
        expired.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
        vec![ids[2].clone()]
    );
    let reaped = f.lifecycle.reap_once().await.unwrap();
    assert_eq!(reaped.len(), 1);
    assert!(matches!(reaped[0].1, Ok(StopOutcome::Stopped)));
    let row = f.lifecycle.store().instance(&ids[2]).unwrap().unwrap();
    assert_eq!(
        (row.status, row.stop_reason.as_deref()),
        (InstanceStatus::Stopped, Some("expired"))
    );

    let results = f.lifecycle.stop_many(by_challenge, "purged").await;
    assert!(
        results
            .iter()
            .all(|(_, r)| matches!(r, Ok(StopOutcome::Stopped)))
    );
    assert_eq!(f.leftovers().await, (0, 0));
    // Every mutation is in the audit log.
    let audit = f.lifecycle.store().audit_tail(100).unwrap();
    assert_eq!(audit.iter().filter(|e| e.action == "spawn").count(), 3);
    assert_eq!(audit.iter().filter(|e| e.action == "stop").count(), 3);
    assert!(audit.iter().all(|e| e.actor == "tester"));
}

#[tokio::test(flavor = "multi_thread")]
async fn reset_replaces_the_instance_with_a_fresh_one() {
    let f = Fixture::new().await;
    let old = f.spawn("nc-calc", "team:again").await;
    let fresh = f.lifecycle.reset(&old.id).await.unwrap();
    assert_ne!(fresh.id, old.id);
    assert_eq!(
        (fresh.challenge.as_str(), fresh.owner.as_str()),
        ("nc-calc", "team:again")
    );
    assert_eq!(fresh.status, InstanceStatus::Running);
    assert_ne!(fresh.flag, old.flag, "a fresh instance gets its own flag");
    let gone = f.lifecycle.store().instance(&old.id).unwrap().unwrap();
    assert_eq!(gone.status, InstanceStatus::Stopped);
    assert_eq!(gone.stop_reason.as_deref(), Some("reset"));
    // Only the fresh instance is left on the engine.
    assert_eq!(f.leftovers().await, (1, 1));
    let actions: Vec<String> = f
        .lifecycle
        .store()
        .audit_for_instance(&old.id, 20)
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(actions.contains(&"reset".to_string()), "{actions:?}");
    f.lifecycle.stop(&fresh.id, "test").await.unwrap();
    assert_eq!(f.leftovers().await, (0, 0));
}
