//! Taking instances down: one, many, or whatever expired. The container goes first (it is
//! what players reach); the network follows.

use futures_util::{StreamExt, stream};

use crate::store::{InstanceFilter, InstanceRecord, InstanceStatus, now_millis};

use super::plan::{container_name, network_name};
use super::{BULK_CONCURRENCY, DomainError, Lifecycle};

/// Result of stopping one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopOutcome {
    Stopped,
    /// Already finished (or being stopped by someone else): nothing to do.
    AlreadyDone(InstanceStatus),
}

/// Which instances a purge takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PurgeSelector {
    Expired,
    Challenge(String),
    Owner(String),
    Ids(Vec<String>),
    All,
}

impl Lifecycle {
    /// Remove whatever the engine may hold for this instance. Idempotent.
    pub(super) async fn remove_engine_objects(&self, record: &InstanceRecord) {
        let container = record
            .container_id
            .clone()
            .unwrap_or_else(|| container_name(&record.challenge, &record.id));
        if let Err(e) = self.engine.remove_container(&container).await {
            tracing::warn!("removing container of {}: {e}", record.id);
        }
        let network = record
            .network_id
            .clone()
            .unwrap_or_else(|| network_name(&record.id));
        if let Err(e) = self.engine.remove_network(&network).await {
            tracing::warn!("removing network of {}: {e}", record.id);
        }
    }

    /// Stop one instance: remove its container and network, keep the row as `stopped`.
    pub async fn stop(&self, id_or_prefix: &str, reason: &str) -> Result<StopOutcome, DomainError> {
        let record = self.store.resolve(id_or_prefix)?;
        let outcome = self.stop_record(record.clone(), reason).await?;
        self.release_network(&record).await?;
        Ok(outcome)
    }

    /// Remove an instance's network once its container is gone. Not urgent: a network left
    /// behind (say, by a crash) is removed by the next reconcile.
    pub(super) async fn release_network(&self, record: &InstanceRecord) -> Result<(), DomainError> {
        let network = record
            .network_id
            .clone()
            .unwrap_or_else(|| network_name(&record.id));
        Ok(self.engine.remove_network(&network).await?)
    }

    pub(super) async fn stop_record(
        &self,
        record: InstanceRecord,
        reason: &str,
    ) -> Result<StopOutcome, DomainError> {
        self.require_admin("stop")?;
        let claimed = self.store.claim_stop(&record.id, reason)?;
        if !claimed {
            // Another process claimed it first, or it is already final.
            let now = self.store.instance(&record.id)?.map(|r| r.status);
            return Ok(StopOutcome::AlreadyDone(now.unwrap_or(record.status)));
        }
        let container = record
            .container_id
            .clone()
            .unwrap_or_else(|| container_name(&record.challenge, &record.id));
        // The container is what players reach: it goes first, and the row is final as soon as
        // it is gone. The network follows (see `release_network`).
        self.engine.remove_container(&container).await?;
        self.store
            .finish(&record.id, InstanceStatus::Stopped, reason)?;
        self.audit("stop", Some(&record.id), reason, "ok");
        Ok(StopOutcome::Stopped)
    }

    /// The live instances a purge would take.
    pub fn select(&self, selector: &PurgeSelector) -> Result<Vec<InstanceRecord>, DomainError> {
        let live = |challenge: Option<&str>, owner: Option<&str>| {
            self.store.list_instances(&InstanceFilter {
                challenge,
                owner,
                all: false,
            })
        };
        Ok(match selector {
            PurgeSelector::Expired => self.store.expired(now_millis())?,
            PurgeSelector::Challenge(c) => live(Some(c), None)?,
            PurgeSelector::Owner(o) => live(None, Some(o))?,
            PurgeSelector::All => live(None, None)?,
            PurgeSelector::Ids(ids) => {
                let mut out = Vec::new();
                for id in ids {
                    out.push(self.store.resolve(id)?);
                }
                out
            }
        })
    }

    /// Stop many instances concurrently. Returns each id with its outcome.
    ///
    /// All containers go first, then all networks: the engine serialises network removal
    /// (iptables), and players should lose access as soon as possible.
    pub async fn stop_many(
        &self,
        records: Vec<InstanceRecord>,
        reason: &str,
    ) -> Vec<(String, Result<StopOutcome, DomainError>)> {
        let results: Vec<(InstanceRecord, Result<StopOutcome, DomainError>)> =
            stream::iter(records)
                .map(|r| async move {
                    let outcome = self.stop_record(r.clone(), reason).await;
                    (r, outcome)
                })
                .buffer_unordered(BULK_CONCURRENCY)
                .collect()
                .await;
        stream::iter(results)
            .map(|(r, outcome)| async move {
                let outcome = match outcome {
                    Ok(StopOutcome::Stopped) => self
                        .release_network(&r)
                        .await
                        .map(|()| StopOutcome::Stopped),
                    other => other,
                };
                (r.id, outcome)
            })
            .buffer_unordered(BULK_CONCURRENCY)
            .collect()
            .await
    }

    /// Stop every running instance whose expiry has passed.
    pub async fn reap_once(
        &self,
    ) -> Result<Vec<(String, Result<StopOutcome, DomainError>)>, DomainError> {
        let expired = self.store.expired(now_millis())?;
        Ok(self.stop_many(expired, "expired").await)
    }
}
