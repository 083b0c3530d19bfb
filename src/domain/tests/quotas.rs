//! Admission: assignment modes, the per-owner, per-challenge and global quotas, the cooldown,
//! smoke owners, and monitors — decided in one store transaction per spawn.

use std::time::Duration;

use super::{Deck, owner};
use crate::domain::{AssignmentMode, ChallengeQuota, DomainError};
use crate::store::InstanceStatus;

fn refused_rule(e: &DomainError) -> &'static str {
    match e {
        DomainError::Refused { rule, .. } => rule,
        other => panic!("expected a refusal, got {other}"),
    }
}

#[tokio::test]
async fn the_assignment_mode_names_who_may_hold_an_instance_and_how_many() {
    let d = Deck::with_policy(|p| {
        p.quotas.mode = AssignmentMode::Team;
        p.quotas.challenges.insert(
            "pwn".into(),
            ChallengeQuota {
                mode: Some(AssignmentMode::Unlimited),
                per_challenge: None,
            },
        );
    });
    let e = d
        .lifecycle
        .spawn("web", &owner("user:eve"))
        .await
        .unwrap_err();
    assert_eq!(refused_rule(&e), "the assignment mode");
    assert!(e.to_string().contains("team:NAME"), "{e}");
    assert_eq!(d.audit("spawn").len(), 1, "the refusal is audited");
    assert_eq!(d.engine_objects(), (0, 0), "nothing reached the engine");

    let first = d.lifecycle.spawn("web", &owner("team:red")).await.unwrap();
    let again = d.lifecycle.spawn("web", &owner("team:red")).await.unwrap();
    assert!(!first.existing && again.existing);
    assert_eq!(first.instance.id, again.instance.id);

    // The per-challenge override: any owner, any number.
    let a = d.spawn("pwn", "user:eve").await;
    let b = d.spawn("pwn", "user:eve").await;
    assert_ne!(a.id, b.id);
    assert_eq!(d.engine_objects(), (3, 3));
}

#[tokio::test]
async fn quotas_refuse_naming_the_rule_and_when_a_slot_frees_up() {
    let d = Deck::with_policy(|p| {
        p.quotas.mode = AssignmentMode::Unlimited;
        p.quotas.per_owner = Some(2);
        p.quotas.per_challenge = Some(3);
        p.quotas.global = Some(5);
    });
    d.spawn("web", "team:a").await;
    d.spawn("pwn", "team:a").await;
    let e = d
        .lifecycle
        .spawn("web", &owner("team:a"))
        .await
        .unwrap_err();
    assert_eq!(refused_rule(&e), "the per-owner quota");
    assert!(e.to_string().contains("a slot frees up"), "{e}");

    d.spawn("web", "team:b").await;
    d.spawn("web", "team:c").await;
    let e = d
        .lifecycle
        .spawn("web", &owner("team:d"))
        .await
        .unwrap_err();
    assert_eq!(refused_rule(&e), "the per-challenge quota");

    d.spawn("pwn", "team:d").await;
    let e = d
        .lifecycle
        .spawn("pwn", &owner("team:e"))
        .await
        .unwrap_err();
    assert_eq!(refused_rule(&e), "the global capacity");
    // A refusal leaves no row and nothing on the engine.
    assert_eq!(d.engine_objects(), (5, 5));
    assert_eq!(
        d.lifecycle
            .store()
            .list_instances(&Default::default())
            .unwrap()
            .len(),
        5
    );

    // Smoke owners are held to the capacity of the host, which protects it, too.
    let e = d.lifecycle.spawn_smoke("web").await.unwrap_err();
    assert_eq!(refused_rule(&e), "the global capacity");
}

#[tokio::test]
async fn stopping_an_instance_frees_its_slot() {
    let d = Deck::with_policy(|p| p.quotas.per_owner = Some(1));
    let first = d.spawn("web", "team:a").await;
    assert!(d.lifecycle.spawn("pwn", &owner("team:a")).await.is_err());
    d.lifecycle.stop(&first.id, "test").await.unwrap();
    d.spawn("pwn", "team:a").await;
}

#[tokio::test]
async fn smoke_owners_are_not_held_to_the_quotas() {
    let d = Deck::with_policy(|p| {
        p.quotas.per_owner = Some(1);
        p.quotas.per_challenge = Some(1);
        p.quotas.cooldown = Some(Duration::from_secs(600));
    });
    // Through the smoke test's own door: the public spawn refuses smoke owners.
    let a = d.lifecycle.spawn_smoke("web").await.unwrap().instance;
    let b = d.lifecycle.spawn_smoke("web").await.unwrap().instance;
    assert_ne!(a.id, b.id, "one-per-challenge does not apply either");
    d.lifecycle.spawn_smoke("pwn").await.unwrap();
    // The public door refuses them, for every caller.
    let e = d
        .lifecycle
        .spawn("web", &owner("smoke:one"))
        .await
        .unwrap_err();
    assert!(matches!(e, DomainError::Owner(_)), "{e}");
}

#[tokio::test]
async fn the_cooldown_refuses_spawns_and_resets_with_the_remaining_wait() {
    let d = Deck::with_policy(|p| {
        p.quotas.mode = AssignmentMode::Unlimited;
        p.quotas.cooldown = Some(Duration::from_secs(600));
    });
    let rec = d.spawn("web", "team:a").await;
    let e = d
        .lifecycle
        .spawn("pwn", &owner("team:a"))
        .await
        .unwrap_err();
    assert_eq!(refused_rule(&e), "the spawn cooldown");
    assert!(e.to_string().contains("try again in"), "{e}");
    // Another owner is not held back.
    d.spawn("pwn", "team:b").await;
    // A refused reset changes nothing: the instance still runs.
    let e = d.lifecycle.reset(&rec.id).await.unwrap_err();
    assert_eq!(refused_rule(&e), "the spawn cooldown");
    assert_eq!(d.row(&rec.id).status, InstanceStatus::Running);
}

#[tokio::test]
async fn two_processes_spawning_at_once_cannot_both_pass_a_quota() {
    let d = Deck::with_policy(|p| p.quotas.per_owner = Some(1));
    let other = d.second(crate::domain::Actor::admin("other"));
    let team = owner("team:a");
    let (a, b) = tokio::join!(d.lifecycle.spawn("web", &team), other.spawn("pwn", &team),);
    assert!(a.is_ok() != b.is_ok(), "exactly one passes: {a:?} / {b:?}");
    assert_eq!(d.engine_objects(), (1, 1));
}

#[tokio::test]
async fn a_monitor_can_read_but_not_change_anything() {
    let d = Deck::new();
    let rec = d.spawn("web", "team:a").await;
    let monitor = d.monitor();
    let refusals = [
        monitor.spawn("pwn", &owner("team:a")).await.unwrap_err(),
        monitor.stop(&rec.id, "x").await.unwrap_err(),
        monitor.extend(&rec.id, None).await.unwrap_err(),
        monitor.reset(&rec.id).await.unwrap_err(),
        monitor.build("web", &|_| {}).await.unwrap_err(),
    ];
    for e in refusals {
        assert!(matches!(e, DomainError::NotAllowed { .. }), "{e}");
    }
    let row = d.row(&rec.id);
    assert_eq!((row.status, row.renewals), (InstanceStatus::Running, 0));
    assert_eq!(d.engine_objects(), (1, 1));
    assert!(d.engine.builds().is_empty());
    assert_eq!(
        monitor
            .whose_flag(rec.flag.as_deref().unwrap())
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_spawn_that_fails_on_the_engine_leaves_nothing_but_a_failed_row() {
    let d = Deck::new();
    d.engine.fail_next_start("no space left on device");
    let e = d
        .lifecycle
        .spawn("web", &owner("team:a"))
        .await
        .unwrap_err();
    assert!(matches!(e, DomainError::SpawnFailed { .. }), "{e}");
    assert!(e.to_string().contains("no space left"), "{e}");
    assert_eq!(d.engine_objects(), (0, 0));
    let rows = d
        .lifecycle
        .store()
        .list_instances(&crate::store::InstanceFilter {
            all: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, InstanceStatus::Failed);
    assert!(
        rows[0]
            .stop_reason
            .as_deref()
            .unwrap()
            .contains("no space left")
    );
    // The failed row holds no slot.
    d.spawn("web", "team:a").await;
}
