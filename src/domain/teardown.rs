//! Taking instances down: one, many, or whatever expired. An instance is first halted (its
//! container frozen: nothing in it runs, it answers nothing), then its container is removed,
//! then its network.

use futures_util::{Stream, StreamExt, stream};

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

/// The first pass of a stop, [`Lifecycle::halt_many`], for one instance.
#[derive(Debug)]
pub enum Halt {
    /// Halted by this call: the row is final; what is left on the engine is to be cleared
    /// ([`Lifecycle::remove_frozen`], then [`Lifecycle::release_network`]).
    Halted(Box<Leftover>),
    /// Already finished (or being stopped by someone else): nothing to do.
    AlreadyDone(InstanceStatus),
}

/// What a halted instance still holds on the engine.
#[derive(Debug)]
pub struct Leftover {
    pub record: InstanceRecord,
    /// Its container, frozen; `None` when it was removed outright (it was not running).
    frozen: Option<String>,
}

/// How many halts are in flight at once. Freezing is a cgroup write for the engine, so this is
/// higher than [`BULK_CONCURRENCY`]: a whole expiry wave should stop together.
const HALT_CONCURRENCY: usize = 64;

/// The engine name of an instance's network: its recorded id, else the name it was given.
fn network_of(record: &InstanceRecord) -> String {
    record
        .network_id
        .clone()
        .unwrap_or_else(|| network_name(&record.id))
}

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
        if let Err(e) = self.engine.remove_network(&network_of(record)).await {
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
    pub async fn release_network(&self, record: &InstanceRecord) -> Result<(), DomainError> {
        Ok(self.engine.remove_network(&network_of(record)).await?)
    }

    /// Claim the instance and make it stop running: freeze its container, or, when that is not
    /// possible (not running, already gone), remove it outright. The row is final on return.
    async fn halt_record(&self, record: InstanceRecord, reason: &str) -> Result<Halt, DomainError> {
        self.require_admin("stop")?;
        if !self
            .store
            .claim_stop(&record.id, reason, self.lease.as_ref())?
        {
            // Another process claimed it first, or it is already final.
            let now = self.store.instance(&record.id)?.map(|r| r.status);
            return Ok(Halt::AlreadyDone(now.unwrap_or(record.status)));
        }
        let container = container_of(&record);
        let frozen = match self.engine.freeze_container(&container).await {
            Ok(()) => Ok(Some(container)),
            Err(e) if e.is_unreachable() => Err(e),
            Err(_) => self
                .engine
                .remove_container(&container)
                .await
                .map(|()| None),
        };
        let frozen = match frozen {
            Ok(frozen) => frozen,
            Err(e) if e.is_unreachable() => {
                // Nothing happened to the instance: give the claim back, or the row would sit
                // in `stopping` (and the instance keep running) until a reconcile's grace
                // period ran out, long after the engine is back.
                self.store.release_stop(&record.id, record.status)?;
                return Err(e.into());
            }
            // The engine answered but would not remove it: the row stays `stopping` and the
            // next reconcile finishes the stop.
            Err(e) => return Err(e.into()),
        };
        self.store
            .finish(&record.id, InstanceStatus::Stopped, reason)?;
        self.audit("stop", Some(&record.id), reason, "ok");
        Ok(Halt::Halted(Box::new(Leftover { record, frozen })))
    }

    /// Halt many instances at once (see [`Halt`]). A hundred halt within a second: freezing is
    /// a cgroup write for the engine, where removing is a slow teardown.
    pub async fn halt_many(
        &self,
        records: Vec<InstanceRecord>,
        reason: &str,
    ) -> Vec<(String, Result<Halt, DomainError>)> {
        stream::iter(records)
            .map(|r| async move { (r.id.clone(), self.halt_record(r, reason).await) })
            .buffer_unordered(HALT_CONCURRENCY)
            .collect()
            .await
    }

    /// Remove a halted instance's frozen container, if it has one.
    ///
    /// It is cut off its network first. To remove a frozen container the engine thaws it and
    /// kills its init; in between, the other processes run for a moment and could still answer
    /// a connection made while it was frozen. Cut off, they have no one to answer.
    pub async fn remove_frozen(&self, leftover: &Leftover) -> Result<(), DomainError> {
        let Some(container) = &leftover.frozen else {
            return Ok(());
        };
        let network = network_of(&leftover.record);
        match self.engine.disconnect(&network, container).await {
            Ok(()) => {}
            Err(e) if e.is_unreachable() => return Err(e.into()),
            // Removal goes on regardless: this is about a moment, the removal is the point.
            Err(e) => tracing::warn!("cutting {} off its network: {e}", leftover.record.id),
        }
        Ok(self.engine.remove_container(container).await?)
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

    /// Stop the instances named by id or unique prefix, as [`Lifecycle::stop_stream`]. A name
    /// that matches no instance, or several, comes first with its error; the others are
    /// stopped all the same.
    pub async fn stop_ids<'a>(
        &'a self,
        ids: &[String],
        reason: &str,
    ) -> impl Stream<Item = (String, Result<StopOutcome, DomainError>)> + 'a {
        let mut unknown = Vec::new();
        let mut records = Vec::new();
        for id in ids {
            match self.store.resolve(id) {
                Ok(record) => records.push(record),
                Err(e) => unknown.push((id.clone(), Err(e.into()))),
            }
        }
        stream::iter(unknown).chain(self.stop_stream(records, reason).await)
    }

    /// Stop many instances concurrently. Returns each id with its outcome.
    pub async fn stop_many(
        &self,
        records: Vec<InstanceRecord>,
        reason: &str,
    ) -> Vec<(String, Result<StopOutcome, DomainError>)> {
        self.stop_stream(records, reason).await.collect().await
    }

    /// As [`Lifecycle::stop_many`], yielding each instance's outcome as it completes (for
    /// progress).
    ///
    /// Three passes, in the order players feel them: every instance is halted
    /// ([`Lifecycle::halt_many`]) before this returns; then the containers are removed, which
    /// the engine does at its own, much slower pace; networks go last, since the engine
    /// serialises their removal (iptables). Outcomes are yielded as networks go.
    pub async fn stop_stream<'a>(
        &'a self,
        records: Vec<InstanceRecord>,
        reason: &str,
    ) -> impl Stream<Item = (String, Result<StopOutcome, DomainError>)> + 'a {
        let halted = self.halt_many(records, reason).await;
        let removed: Vec<(String, Result<Halt, DomainError>)> = stream::iter(halted)
            .map(|(id, halt)| async move {
                let halt = match halt {
                    Ok(Halt::Halted(leftover)) => self
                        .remove_frozen(&leftover)
                        .await
                        .map(|()| Halt::Halted(leftover)),
                    other => other,
                };
                (id, halt)
            })
            .buffer_unordered(BULK_CONCURRENCY)
            .collect()
            .await;
        stream::iter(removed)
            .map(move |(id, halt)| async move {
                let outcome = match halt {
                    Ok(Halt::Halted(leftover)) => self
                        .release_network(&leftover.record)
                        .await
                        .map(|()| StopOutcome::Stopped),
                    Ok(Halt::AlreadyDone(status)) => Ok(StopOutcome::AlreadyDone(status)),
                    Err(e) => Err(e),
                };
                (id, outcome)
            })
            .buffer_unordered(BULK_CONCURRENCY)
    }

    /// Stop every running instance whose expiry has passed.
    pub async fn reap_once(
        &self,
    ) -> Result<Vec<(String, Result<StopOutcome, DomainError>)>, DomainError> {
        let expired = self.store.expired(now_millis())?;
        Ok(self.stop_many(expired, "expired").await)
    }
}
