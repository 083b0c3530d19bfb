#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Quotas and assignment modes refuse exactly when they should — on the real engine and a
//! real store.

mod common;

use std::time::Duration;

use common::Fixture;
use ctfdeck::domain::{
    Actor, AssignmentMode, ChallengeQuota, DomainError, Owner, Role, SpawnOwnerError,
};
use ctfdeck::store::InstanceStatus;

fn owner(s: &str) -> Owner {
    s.parse().unwrap()
}

fn refused_rule(e: &DomainError) -> &'static str {
    match e {
        DomainError::Refused { rule, .. } => rule,
        other => panic!("expected a refusal, got {other}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn assignment_modes() {
    let f = Fixture::with_policy(|p| {
        p.quotas.mode = AssignmentMode::Team;
        p.quotas.challenges.insert(
            "nc-calc".into(),
            ChallengeQuota {
                mode: Some(AssignmentMode::Unlimited),
                per_challenge: None,
            },
        );
    })
    .await;
    // team mode: users are refused, naming the rule; a team's second spawn returns the first.
    let e = f
        .lifecycle
        .spawn("web-robots", &owner("user:eve"))
        .await
        .unwrap_err();
    assert_eq!(refused_rule(&e), "the assignment mode");
    assert!(e.to_string().contains("team:NAME"), "{e}");
    let first = f
        .lifecycle
        .spawn("web-robots", &owner("team:red"))
        .await
        .unwrap();
    let second = f
        .lifecycle
        .spawn("web-robots", &owner("team:red"))
        .await
        .unwrap();
    assert!(!first.existing && second.existing);
    assert_eq!(first.instance.id, second.instance.id);
    // unlimited (per-challenge override): a second, distinct instance.
    let a = f
        .lifecycle
        .spawn("nc-calc", &owner("user:eve"))
        .await
        .unwrap();
    let b = f
        .lifecycle
        .spawn("nc-calc", &owner("user:eve"))
        .await
        .unwrap();
    assert!(!b.existing);
    assert_ne!(a.instance.id, b.instance.id);
    f.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn user_mode_and_the_default_owner_mode() {
    let f = Fixture::with_policy(|p| {
        assert_eq!(p.quotas.mode, AssignmentMode::Owner, "the default mode");
        p.quotas.challenges.insert(
            "nc-calc".into(),
            ChallengeQuota {
                mode: Some(AssignmentMode::User),
                per_challenge: None,
            },
        );
    })
    .await;
    // user mode (per-challenge override): teams are refused, naming the rule and the form.
    let e = f
        .lifecycle
        .spawn("nc-calc", &owner("team:blue"))
        .await
        .unwrap_err();
    assert_eq!(refused_rule(&e), "the assignment mode");
    assert!(e.to_string().contains("user:NAME"), "{e}");
    let first = f
        .lifecycle
        .spawn("nc-calc", &owner("user:ann"))
        .await
        .unwrap();
    let again = f
        .lifecycle
        .spawn("nc-calc", &owner("user:ann"))
        .await
        .unwrap();
    assert!(!first.existing && again.existing);
    assert_eq!(first.instance.id, again.instance.id);
    // owner mode: a team and a user each get one of their own, and only one.
    let team = f
        .lifecycle
        .spawn("web-robots", &owner("team:blue"))
        .await
        .unwrap();
    let user = f
        .lifecycle
        .spawn("web-robots", &owner("user:ann"))
        .await
        .unwrap();
    assert!(!team.existing && !user.existing);
    assert_ne!(team.instance.id, user.instance.id);
    let team_again = f
        .lifecycle
        .spawn("web-robots", &owner("team:blue"))
        .await
        .unwrap();
    assert!(team_again.existing);
    assert_eq!(team_again.instance.id, team.instance.id);
    assert_eq!(f.leftovers().await, (3, 3));
    f.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn per_owner_per_challenge_and_global_caps() {
    let f = Fixture::with_policy(|p| {
        p.quotas.per_owner = Some(2);
        p.quotas.per_challenge = Some(2);
        p.quotas.global = Some(4);
    })
    .await;
    f.lifecycle
        .spawn("web-robots", &owner("team:a"))
        .await
        .unwrap();
    f.lifecycle
        .spawn("nc-calc", &owner("team:a"))
        .await
        .unwrap();
    // Per owner: team:a holds 2.
    let e = f
        .lifecycle
        .spawn("web-cmdinject", &owner("team:a"))
        .await
        .unwrap_err();
    assert_eq!(refused_rule(&e), "the per-owner quota");
    assert!(e.to_string().contains("limit 2 per owner"), "{e}");
    assert!(
        e.to_string().contains("at the latest at"),
        "says when it frees up: {e}"
    );
    // Per challenge: web-robots holds 2 after team:b.
    f.lifecycle
        .spawn("web-robots", &owner("team:b"))
        .await
        .unwrap();
    let e = f
        .lifecycle
        .spawn("web-robots", &owner("team:c"))
        .await
        .unwrap_err();
    assert_eq!(refused_rule(&e), "the per-challenge quota");
    // Global: 4 live.
    f.lifecycle
        .spawn("web-cmdinject", &owner("team:c"))
        .await
        .unwrap();
    let e = f
        .lifecycle
        .spawn("nc-calc", &owner("team:d"))
        .await
        .unwrap_err();
    assert_eq!(refused_rule(&e), "the global capacity");
    // A refusal leaves no row, no container; the audit records it.
    let rows = f
        .lifecycle
        .store()
        .list_instances(&Default::default())
        .unwrap();
    assert_eq!(rows.len(), 4);
    // Four containers; five networks, since web-cmdinject (no egress) has the edge network of
    // its port proxy besides its own. On the Swarm it runs with egress (see `common::Fixture`):
    // no proxy, four services on four networks.
    let edge = if f.on_swarm() { 0 } else { 1 };
    assert_eq!(f.leftovers().await, (4, 4 + edge));
    let refusals = f
        .lifecycle
        .store()
        .audit_tail(100)
        .unwrap()
        .into_iter()
        .filter(|e| e.outcome.starts_with("refused"))
        .count();
    assert_eq!(refusals, 3);
    // Stopping one frees a slot.
    let stop = rows.iter().find(|r| r.owner == "team:c").unwrap();
    f.lifecycle.stop(&stop.id, "test").await.unwrap();
    f.lifecycle
        .spawn("nc-calc", &owner("team:d"))
        .await
        .unwrap();
    f.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cooldown_refuses_spawn_and_reset_with_the_remaining_wait() {
    let f = Fixture::with_policy(|p| p.quotas.cooldown = Some(Duration::from_secs(3600))).await;
    let rec = f
        .lifecycle
        .spawn("web-robots", &owner("team:fast"))
        .await
        .unwrap()
        .instance;
    let e = f
        .lifecycle
        .spawn("nc-calc", &owner("team:fast"))
        .await
        .unwrap_err();
    assert_eq!(refused_rule(&e), "the spawn cooldown");
    assert!(e.to_string().contains("try again in 59m"), "{e}");
    // A refused reset stops nothing.
    let e = f.lifecycle.reset(&rec.id).await.unwrap_err();
    assert_eq!(refused_rule(&e), "the spawn cooldown");
    let row = f.lifecycle.store().instance(&rec.id).unwrap().unwrap();
    assert_eq!(row.status, InstanceStatus::Running);
    f.cleanup().await;
}

/// `smoke:` owners skip quotas and assignment modes, so the public spawn refuses them for
/// every caller (CLI, console, API); only the smoke test reaches them, through its own entry.
#[tokio::test(flavor = "multi_thread")]
async fn the_public_spawn_refuses_smoke_owners_that_would_skip_the_quotas() {
    let f = Fixture::with_policy(|p| p.quotas.per_owner = Some(1)).await;
    for given in [owner("smoke:red"), Owner::smoke()] {
        let e = f.lifecycle.spawn("nc-calc", &given).await.unwrap_err();
        assert!(
            matches!(e, DomainError::Owner(SpawnOwnerError::Reserved { .. })),
            "{e}"
        );
        assert!(e.to_string().contains("team:NAME or user:NAME"), "{e}");
    }
    assert_eq!(f.leftovers().await, (0, 0), "nothing started");
    let rows = f
        .lifecycle
        .store()
        .list_instances(&Default::default())
        .unwrap();
    assert!(rows.is_empty(), "no row admitted: {rows:?}");
    f.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_consoles_spawning_at_once_cannot_both_pass_a_quota() {
    let f = Fixture::with_policy(|p| p.quotas.per_challenge = Some(1)).await;
    let other = f.second(Actor::admin("other"));
    let (x, y) = (owner("team:x"), owner("team:y"));
    let (a, b) = tokio::join!(
        f.lifecycle.spawn("web-robots", &x),
        other.spawn("web-robots", &y),
    );
    let ok = [a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count();
    assert_eq!(ok, 1, "exactly one admitted: {a:?} / {b:?}");
    assert_eq!(f.leftovers().await, (1, 1));
    f.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_monitor_cannot_mutate() {
    let f = Fixture::new().await;
    let rec = f
        .lifecycle
        .spawn("nc-calc", &owner("team:m"))
        .await
        .unwrap()
        .instance;
    let monitor = f.second(Actor {
        name: "watcher".into(),
        origin: "local".into(),
        role: Role::Monitor,
    });
    for e in [
        monitor
            .spawn("web-robots", &owner("team:m"))
            .await
            .unwrap_err(),
        monitor.stop(&rec.id, "x").await.unwrap_err(),
        monitor.extend(&rec.id, None).await.unwrap_err(),
        monitor.reset(&rec.id).await.unwrap_err(),
        monitor.build("web-robots", &|_| {}).await.unwrap_err(),
    ] {
        assert!(matches!(e, DomainError::NotAllowed { .. }), "{e}");
        assert!(e.to_string().contains("monitor role"), "{e}");
    }
    // Reading is fine.
    assert_eq!(
        monitor
            .store()
            .list_instances(&Default::default())
            .unwrap()
            .len(),
        1
    );
    let row = f.lifecycle.store().instance(&rec.id).unwrap().unwrap();
    assert_eq!((row.status, row.renewals), (InstanceStatus::Running, 0));
    f.cleanup().await;
}
