//! Acting for one owner (what the API does): another owner's instance is refused and audited,
//! ids are whole ids, and the actor of each request is the one the audit records.

use super::*;
use crate::domain::DomainError;

#[tokio::test]
async fn another_owners_instance_is_refused_and_the_refusal_audited() {
    let d = Deck::new();
    let red: Owner = "team:red".parse().unwrap();
    let blue: Owner = "team:blue".parse().unwrap();
    let rec = d.spawn("web", "team:red").await;
    let api = d.lifecycle.with_actor(Actor {
        name: "api:board (alice)".into(),
        origin: "api:192.0.2.7".into(),
        role: Role::Admin,
    });
    assert_eq!(
        api.owned_instance(&rec.id, &red, "show").unwrap().id,
        rec.id
    );
    let err = api.owned_instance(&rec.id, &blue, "extend").unwrap_err();
    assert!(matches!(err, DomainError::NotOwner { .. }), "{err}");
    let refused = d.audit("extend");
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].actor, "api:board (alice)");
    assert_eq!(refused[0].origin, "api:192.0.2.7");
    assert!(refused[0].outcome.starts_with("refused"), "{refused:?}");
    // A prefix is not an id here: it would let a caller probe for other owners' ids.
    let prefix = &rec.id[..3];
    assert!(api.owned_instance(prefix, &red, "show").is_err());
    assert_eq!(api.instances_of(&red).unwrap().len(), 1);
    assert!(api.instances_of(&blue).unwrap().is_empty());
    assert!(api.require_challenge("web").is_ok());
    assert!(matches!(
        api.require_challenge("nope"),
        Err(DomainError::UnknownChallenge { .. })
    ));
}

#[tokio::test]
async fn can_extend_now_agrees_with_what_extend_does() {
    use crate::store::now_millis;
    use std::time::Duration;
    const MINUTE: i64 = 60_000;
    let d = Deck::with_policy(|p| p.lifetime.renew_window = Some(Duration::from_secs(600)));
    let rec = d.spawn("web", "team:a").await;
    assert!(!d.lifecycle.can_extend_now(&d.row(&rec.id), now_millis()));
    assert!(d.lifecycle.extend(&rec.id, None).await.is_err());
    d.expire_at(&rec, now_millis() + 5 * MINUTE);
    assert!(d.lifecycle.can_extend_now(&d.row(&rec.id), now_millis()));
    d.lifecycle.extend(&rec.id, None).await.unwrap();
    // `web` allows 2 renewals; use the last one, then none is left.
    d.expire_at(&rec, now_millis() + 5 * MINUTE);
    d.lifecycle.extend(&rec.id, None).await.unwrap();
    d.expire_at(&rec, now_millis() + 5 * MINUTE);
    assert!(!d.lifecycle.can_extend_now(&d.row(&rec.id), now_millis()));
    assert!(d.lifecycle.extend(&rec.id, None).await.is_err());
}
