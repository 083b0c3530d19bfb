//! Keeping an instance: extending it within the renewal rules, or resetting it to a fresh one.

use std::time::Duration;

use crate::store::{ExtendOutcome, InstanceRecord, millis, now_millis};

use super::lifecycle::SpawnError;
use super::quota::refused;
use super::{DomainError, Lifecycle, Owner};

impl Lifecycle {
    /// Push an instance's expiry by `by` (else the challenge's `extend_by`), within its
    /// renewal count and maximum total lifetime.
    pub async fn extend(
        &self,
        id_or_prefix: &str,
        by: Option<Duration>,
    ) -> Result<InstanceRecord, DomainError> {
        self.require_admin("extend")?;
        let record = self.store.resolve(id_or_prefix)?;
        let by = match by {
            Some(by) => by,
            None => match self.catalog.get(&record.challenge) {
                Some(ch) => self.policy.lifetime_for(ch).extend_by,
                None => self.policy.lifetime.extend_by,
            },
        };
        let window = self.policy.lifetime.renew_window.map(millis);
        let outcome = self.store.extend(&record.id, millis(by), window)?;
        let result = match outcome {
            ExtendOutcome::Extended(rec) => Ok(*rec),
            ExtendOutcome::NotLive(status) => Err(DomainError::NotRunning {
                id: record.id.clone(),
                status,
            }),
            ExtendOutcome::RenewalsExhausted { max, .. } => Err(DomainError::RenewalsExhausted {
                id: record.id.clone(),
                max,
            }),
            ExtendOutcome::AtMaxTotal { max_total_at } => Err(DomainError::AtMaxTotal {
                id: record.id.clone(),
                until: super::view::rfc3339(max_total_at),
            }),
            ExtendOutcome::OutsideWindow { opens_at } => Err(DomainError::Refused {
                rule: "the renewal window",
                message: format!(
                    "{} can be extended once at most {} remain, from {} (in {})",
                    record.id,
                    humantime::format_duration(std::time::Duration::from_millis(
                        window.unwrap_or(0).max(0) as u64
                    )),
                    super::view::rfc3339(opens_at),
                    super::view::remaining(opens_at, now_millis()),
                ),
                retry_after_ms: Some((opens_at - now_millis()).max(0)),
            }),
        };
        let detail = format!("by {}", humantime::format_duration(by));
        match &result {
            Ok(_) => self.audit("extend", Some(&record.id), &detail, "ok"),
            Err(e) => self.audit(
                "extend",
                Some(&record.id),
                &detail,
                &format!("refused: {e}"),
            ),
        }
        result
    }

    /// Replace an instance with a fresh one of the same challenge for the same owner.
    pub async fn reset(&self, id_or_prefix: &str) -> Result<InstanceRecord, DomainError> {
        self.require_admin("reset")?;
        let record = self.store.resolve(id_or_prefix)?;
        let challenge = self.challenge(&record.challenge)?;
        let owner: Owner =
            record
                .owner
                .parse()
                .map_err(|e: super::OwnerParseError| DomainError::Unspawnable {
                    id: challenge.id.clone(),
                    reason: e.to_string(),
                })?;
        // The cooldown is checked before anything is stopped: a refused reset changes nothing.
        if let Some(cooldown) = self
            .policy
            .quotas
            .cooldown
            .filter(|_| owner.kind != super::OwnerKind::Smoke)
        {
            let wait = self
                .store
                .cooldown_wait(&record.owner, millis(cooldown), now_millis())?;
            if wait > 0 {
                return Err(refused(
                    &crate::store::Refusal::Cooldown { wait_ms: wait },
                    &record,
                    None,
                ));
            }
        }
        if let Some((_, Err(e))) = self.stop_many(vec![record.clone()], "reset").await.pop() {
            return Err(e);
        }
        let fresh = match self.spawn_new(challenge, &owner).await {
            Ok(fresh) => fresh,
            Err(SpawnError::Existing(existing)) => *existing,
            Err(SpawnError::Failed(e)) => return Err(e),
        };
        self.audit(
            "reset",
            Some(&record.id),
            &format!("replaced by {}", fresh.id),
            "ok",
        );
        Ok(fresh)
    }
}
