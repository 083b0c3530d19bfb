//! Extending within the renewal count, the maximum lifetime and the renewal window; resetting.

use std::time::Duration;

use super::Deck;
use crate::domain::DomainError;
use crate::store::{InstanceStatus, now_millis};

const MINUTE: i64 = 60_000;

#[tokio::test]
async fn extends_are_counted_and_capped_at_the_maximum_lifetime() {
    // web: 45m, +30m per renewal, 2 renewals, 2h in all.
    let d = Deck::new();
    let rec = d.spawn("web", "team:a").await;
    assert_eq!(rec.expires_at - rec.created_at, 45 * MINUTE);
    let once = d.lifecycle.extend(&rec.id[..4], None).await.unwrap();
    assert_eq!(once.renewals, 1);
    assert_eq!(once.expires_at, rec.expires_at + 30 * MINUTE);
    // A long extension stops at created + 2h.
    let capped = d
        .lifecycle
        .extend(&rec.id, Some(Duration::from_secs(24 * 3600)))
        .await
        .unwrap();
    assert_eq!(capped.expires_at, rec.created_at + 120 * MINUTE);
    assert_eq!(capped.renewals, 2);
    let e = d.lifecycle.extend(&rec.id, None).await.unwrap_err();
    assert!(
        matches!(e, DomainError::RenewalsExhausted { max: 2, .. }),
        "{e}"
    );
    let audited: Vec<_> = d.audit("extend").into_iter().map(|a| a.outcome).collect();
    assert_eq!(audited.len(), 3);
    assert!(audited[2].starts_with("refused: "), "{audited:?}");
}

#[tokio::test]
async fn at_the_maximum_lifetime_an_extend_is_refused_saying_until_when() {
    let d = Deck::with_policy(|p| p.lifetime.max_renewals = 10);
    let rec = d.spawn("pwn", "team:a").await;
    d.lifecycle
        .extend(&rec.id, Some(Duration::from_secs(24 * 3600)))
        .await
        .unwrap();
    let e = d.lifecycle.extend(&rec.id, None).await.unwrap_err();
    assert!(matches!(e, DomainError::AtMaxTotal { .. }), "{e}");
    assert!(e.to_string().contains("maximum lifetime"), "{e}");
}

#[tokio::test]
async fn the_renewal_window_opens_only_near_the_expiry() {
    let d = Deck::with_policy(|p| p.lifetime.renew_window = Some(Duration::from_secs(600)));
    let rec = d.spawn("web", "team:a").await;
    let e = d.lifecycle.extend(&rec.id, None).await.unwrap_err();
    assert!(
        matches!(
            e,
            DomainError::Refused {
                rule: "the renewal window",
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(d.row(&rec.id).renewals, 0);
    d.expire_at(&rec, now_millis() + 5 * MINUTE);
    assert_eq!(d.lifecycle.extend(&rec.id, None).await.unwrap().renewals, 1);
}

#[tokio::test]
async fn a_stopped_instance_cannot_be_extended() {
    let d = Deck::new();
    let rec = d.spawn("web", "team:a").await;
    d.lifecycle.stop(&rec.id, "test").await.unwrap();
    let e = d.lifecycle.extend(&rec.id, None).await.unwrap_err();
    assert!(
        matches!(
            e,
            DomainError::NotRunning {
                status: InstanceStatus::Stopped,
                ..
            }
        ),
        "{e}"
    );
}

#[tokio::test]
async fn a_reset_replaces_the_instance_for_the_same_owner() {
    let d = Deck::new();
    let old = d.spawn("web", "team:a").await;
    let fresh = d.lifecycle.reset(&old.id).await.unwrap();
    assert_ne!(fresh.id, old.id);
    assert_eq!(
        (fresh.challenge.as_str(), fresh.owner.as_str()),
        ("web", "team:a")
    );
    assert_ne!(fresh.flag, old.flag, "a fresh instance, a fresh flag");
    let old = d.row(&old.id);
    assert_eq!(old.status, InstanceStatus::Stopped);
    assert_eq!(old.stop_reason.as_deref(), Some("reset"));
    assert_eq!(d.engine_objects(), (1, 1));
    assert_eq!(d.audit("reset").len(), 1);
}
