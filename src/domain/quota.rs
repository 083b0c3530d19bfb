//! Turning the configured quotas into admission limits for one spawn, and refusals into
//! messages that name the rule and say when it frees up.

use crate::store::{AdmissionLimits, InstanceRecord, Millis, Refusal, millis, now_millis};

use super::view::{remaining, rfc3339};
use super::{AssignmentMode, DomainError, Owner, OwnerKind, Policy};

/// The limits for `owner` spawning `challenge`. Smoke owners are never counted or limited
/// (beyond the global capacity, which protects the host).
pub fn admission_limits(
    policy: &Policy,
    challenge: &str,
    owner: &Owner,
) -> Result<AdmissionLimits, DomainError> {
    let q = &policy.quotas;
    if owner.kind == OwnerKind::Smoke {
        return Ok(AdmissionLimits {
            global: q.global,
            ..Default::default()
        });
    }
    let mode = policy.mode_for(challenge);
    let wrong_kind = match (mode, owner.kind) {
        (AssignmentMode::Team, OwnerKind::User) => Some("team:NAME"),
        (AssignmentMode::User, OwnerKind::Team) => Some("user:NAME"),
        _ => None,
    };
    if let Some(expected) = wrong_kind {
        return Err(DomainError::Refused {
            rule: "the assignment mode",
            message: format!(
                "{challenge} is assigned per {}: the owner must be {expected}, not {owner}",
                mode.as_str()
            ),
            retry_after_ms: None,
        });
    }
    Ok(AdmissionLimits {
        one_per_challenge: mode != AssignmentMode::Unlimited,
        per_owner: q.per_owner,
        per_challenge: policy.per_challenge_for(challenge),
        global: q.global,
        cooldown_ms: q.cooldown.map(millis),
    })
}

/// The refusal as a domain error. `soonest` is the earliest expiry among the instances that
/// hold the limit, i.e. the latest moment a slot frees up by itself.
pub fn refused(refusal: &Refusal, record: &InstanceRecord, soonest: Option<Millis>) -> DomainError {
    let now = now_millis();
    let retry_after_ms = match refusal {
        Refusal::Cooldown { wait_ms } => Some(*wait_ms),
        _ => soonest.map(|at| (at - now).max(0)),
    };
    let (rule, message) = refusal_message(refusal, record, soonest, now);
    DomainError::Refused {
        rule,
        message,
        retry_after_ms,
    }
}

fn refusal_message(
    refusal: &Refusal,
    record: &InstanceRecord,
    soonest: Option<Millis>,
    now: Millis,
) -> (&'static str, String) {
    let frees = soonest
        .map(|at| {
            format!(
                "; a slot frees up when one is stopped, at the latest at {} (in {})",
                rfc3339(at),
                remaining(at, now)
            )
        })
        .unwrap_or_default();
    match refusal {
        Refusal::PerOwner { live, max } => (
            "the per-owner quota",
            format!(
                "{} already holds {live} live instance(s) (limit {max} per owner){frees}",
                record.owner
            ),
        ),
        Refusal::PerChallenge { live, max } => (
            "the per-challenge quota",
            format!(
                "{} already has {live} live instance(s) (limit {max} per challenge){frees}",
                record.challenge
            ),
        ),
        Refusal::Global { live, max } => (
            "the global capacity",
            format!("{live} instances are live (capacity {max}){frees}"),
        ),
        Refusal::Cooldown { wait_ms } => (
            "the spawn cooldown",
            format!(
                "{} spawned or reset too recently; try again in {}",
                record.owner,
                remaining(now + wait_ms, now)
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn refusals_say_how_long_until_they_free_up_where_that_is_known() {
        let record = InstanceRecord {
            id: "abc234".into(),
            challenge: "web".into(),
            owner: "team:red".into(),
            status: crate::store::InstanceStatus::Starting,
            container_id: None,
            network_id: None,
            ports: Vec::new(),
            flag: None,
            created_at: 0,
            expires_at: 0,
            stopped_at: None,
            renewals: 0,
            max_renewals: 0,
            max_total_at: 0,
            stop_reason: None,
            updated_at: 0,
        };
        let wait = |e: DomainError| match e {
            DomainError::Refused { retry_after_ms, .. } => retry_after_ms,
            other => panic!("{other}"),
        };
        let cooldown = refused(&Refusal::Cooldown { wait_ms: 1_500 }, &record, None);
        assert_eq!(wait(cooldown), Some(1_500));
        let soon = now_millis() + 60_000;
        let quota = wait(refused(
            &Refusal::PerOwner { live: 1, max: 1 },
            &record,
            Some(soon),
        ))
        .unwrap();
        assert!((55_000..=60_000).contains(&quota), "{quota}");
        // Already past its expiry (the reaper is on it): retry at once, never a negative wait.
        let past = refused(&Refusal::Global { live: 9, max: 9 }, &record, Some(0));
        assert_eq!(wait(past), Some(0));
        let unknown = refused(&Refusal::Global { live: 9, max: 9 }, &record, None);
        assert_eq!(wait(unknown), None);
    }

    #[test]
    fn smoke_owners_are_held_only_by_the_global_capacity() {
        let mut policy = Policy::default();
        policy.quotas.mode = AssignmentMode::Team;
        policy.quotas.per_owner = Some(1);
        policy.quotas.global = Some(9);
        policy.quotas.cooldown = Some(Duration::from_secs(60));
        let limits = admission_limits(&policy, "c", &Owner::smoke()).unwrap();
        assert_eq!(
            limits,
            AdmissionLimits {
                global: Some(9),
                ..Default::default()
            }
        );
        let team: Owner = "team:red".parse().unwrap();
        let limits = admission_limits(&policy, "c", &team).unwrap();
        assert_eq!(limits.per_owner, Some(1));
        assert_eq!(limits.cooldown_ms, Some(60_000));
    }
}
