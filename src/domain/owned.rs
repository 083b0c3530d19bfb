//! Acting for one owner: what a scoreboard may see and touch on behalf of the team or user
//! it names. Another owner's instance is refused, and the refusal is audited, so a
//! scoreboard probing ids shows up in the audit.

use crate::store::{InstanceFilter, InstanceRecord, InstanceStatus, Millis, StoreError, millis};

use super::{Actor, DomainError, Lifecycle, Owner};

impl Lifecycle {
    /// The same lifecycle acting as `actor` (the API makes one per request, for the audit).
    pub fn with_actor(&self, actor: Actor) -> Lifecycle {
        let mut copy = self.with_catalog(self.catalog.clone());
        copy.actor = actor;
        copy
    }

    /// Refuse an id the catalog does not have, naming the ones it has.
    pub fn require_challenge(&self, id: &str) -> Result<(), DomainError> {
        self.challenge(id).map(|_| ())
    }

    /// Whether an extend asked at `now` would be granted: running, renewals left, below its
    /// maximum lifetime, inside the renewal window. The same conditions `Store::extend`
    /// applies in its single statement (which stays the one that decides).
    pub fn can_extend_now(&self, r: &InstanceRecord, now: Millis) -> bool {
        let window = self.policy.lifetime.renew_window.map(millis);
        r.status == InstanceStatus::Running
            && r.renewals < r.max_renewals
            && r.expires_at < r.max_total_at
            && window.is_none_or(|w| r.expires_at - now <= w)
    }

    /// The owner's live instances.
    pub fn instances_of(&self, owner: &Owner) -> Result<Vec<InstanceRecord>, DomainError> {
        let owner = owner.to_string();
        Ok(self.store.list_instances(&InstanceFilter {
            challenge: None,
            owner: Some(&owner),
            all: false,
        })?)
    }

    /// Instance `id` (the whole id: no prefixes, which would let a caller probe for others'
    /// ids), if `owner` holds it. For another owner's instance the answer is
    /// [`DomainError::NotOwner`], and `action` is audited as refused.
    pub fn owned_instance(
        &self,
        id: &str,
        owner: &Owner,
        action: &str,
    ) -> Result<InstanceRecord, DomainError> {
        let record = self
            .store
            .instance(id)?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        let owner = owner.to_string();
        if record.owner != owner {
            let err = DomainError::NotOwner {
                id: record.id.clone(),
                owner: owner.clone(),
            };
            self.audit(
                action,
                Some(&record.id),
                &format!("asked for {owner}"),
                &format!("refused: {err}"),
            );
            return Err(err);
        }
        Ok(record)
    }
}
