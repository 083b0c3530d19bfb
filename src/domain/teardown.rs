//! Taking instances down: one, many, or whatever expired. An instance is first halted (its
//! container frozen: nothing in it runs, it answers nothing), then its container is removed,
//! then its network.

use futures_util::{StreamExt, stream};

use crate::engine::EngineError;
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

/// How far the first pass of a stop got.
enum Halted {
    /// Frozen and final in the store; this container is still to be removed.
    Frozen(String),
    /// It was not running; removed outright.
    Removed,
    AlreadyDone(InstanceStatus),
}

/// How many halts are in flight at once. Freezing is a cgroup write for the engine, so this is
/// higher than [`BULK_CONCURRENCY`]: a whole expiry wave should stop together.
const HALT_CONCURRENCY: usize = 64;

/// The engine name of an instance's container: its recorded id, else the name it was given.
fn container_of(record: &InstanceRecord) -> String {
    record
        .container_id
        .clone()
        .unwrap_or_else(|| container_name(&record.challenge, &record.id))
}

impl Lifecycle {
    /// Remove whatever the engine may hold for this instance. Idempotent.
    pub(super) async fn remove_engine_objects(&self, record: &InstanceRecord) {
        let container = container_of(record);
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

    /// Stop one instance: halt it, remove its container and network, keep the row as `stopped`.
    pub async fn stop(&self, id_or_prefix: &str, reason: &str) -> Result<StopOutcome, DomainError> {
        let record = self.store.resolve(id_or_prefix)?;
        self.stop_many(vec![record], reason)
            .await
            .pop()
            .map(|(_, outcome)| outcome)
            .unwrap_or(Ok(StopOutcome::AlreadyDone(InstanceStatus::Stopped)))
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
        let container = container_of(&record);
        // The container is what players reach: it goes first, and the row is final as soon as
        // it is gone. The network follows (see `release_network`).
        self.engine.remove_container(&container).await?;
        self.store
            .finish(&record.id, InstanceStatus::Stopped, reason)?;
        self.audit("stop", Some(&record.id), reason, "ok");
        Ok(StopOutcome::Stopped)
    }

    /// Claim the instance and make it stop running: freeze its container, or, when that is not
    /// possible (not running, already gone), remove it outright. The row is final on return;
    /// a frozen container still has to be removed ([`Halted::Frozen`]).
    async fn halt_record(
        &self,
        record: &InstanceRecord,
        reason: &str,
    ) -> Result<Halted, DomainError> {
        self.require_admin("stop")?;
        if !self.store.claim_stop(&record.id, reason)? {
            // Another process claimed it first, or it is already final.
            let now = self.store.instance(&record.id)?.map(|r| r.status);
            return Ok(Halted::AlreadyDone(now.unwrap_or(record.status)));
        }
        let container = container_of(record);
        let halted = match self.engine.freeze_container(&container).await {
            Ok(()) => Halted::Frozen(container),
            Err(e @ EngineError::Unreachable { .. }) => return Err(e.into()),
            Err(_) => {
                self.engine.remove_container(&container).await?;
                Halted::Removed
            }
        };
        self.store
            .finish(&record.id, InstanceStatus::Stopped, reason)?;
        self.audit("stop", Some(&record.id), reason, "ok");
        Ok(halted)
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
    /// Three passes, in the order players feel them. First every instance is halted (frozen:
    /// cheap for the engine, so a hundred halt together within a second) and its row becomes
    /// `stopped`. Then the containers are removed, which the engine does at its own, much slower
    /// pace. Networks go last: the engine serialises their removal (iptables).
    pub async fn stop_many(
        &self,
        records: Vec<InstanceRecord>,
        reason: &str,
    ) -> Vec<(String, Result<StopOutcome, DomainError>)> {
        let halted: Vec<(InstanceRecord, Result<Halted, DomainError>)> = stream::iter(records)
            .map(|r| async move {
                let halted = self.halt_record(&r, reason).await;
                (r, halted)
            })
            .buffer_unordered(HALT_CONCURRENCY)
            .collect()
            .await;
        let removed: Vec<(InstanceRecord, Result<StopOutcome, DomainError>)> = stream::iter(halted)
            .map(|(r, halted)| async move {
                let outcome = match halted {
                    Ok(Halted::Frozen(container)) => self
                        .engine
                        .remove_container(&container)
                        .await
                        .map(|()| StopOutcome::Stopped)
                        .map_err(DomainError::from),
                    Ok(Halted::Removed) => Ok(StopOutcome::Stopped),
                    Ok(Halted::AlreadyDone(status)) => Ok(StopOutcome::AlreadyDone(status)),
                    Err(e) => Err(e),
                };
                (r, outcome)
            })
            .buffer_unordered(BULK_CONCURRENCY)
            .collect()
            .await;
        stream::iter(removed)
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
