//! The operations both the CLI and the console call: spawn, stop, extend, reset, purge, reap.
//! Every rule lives here; callers only choose what to ask for.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::catalog::{Catalog, Challenge};
use crate::engine::Engine;
use crate::store::{
    Admission, InstanceRecord, InstanceStatus, Lease, NewAuditEntry, Store, StoreError, millis,
    now_millis,
};

use super::plan::{PlanInput, cover_image_volumes, plan_for};
use super::quota::{admission_limits, refused};
use super::{Actor, DomainError, Owner, Policy, Role, flags, ids};

/// How many engine operations a bulk action runs at once: enough to hide engine latency,
/// few enough not to starve a busy daemon.
pub const BULK_CONCURRENCY: usize = 16;

/// Settings key of the store's identity label.
const STORE_ID_KEY: &str = "store_id";

pub struct Lifecycle {
    pub(super) engine: Arc<dyn Engine>,
    pub(super) store: Store,
    pub(super) catalog: Arc<Catalog>,
    pub(super) policy: Policy,
    pub(super) actor: Actor,
    pub(super) store_id: String,
    flag_secret: String,
    /// This process, as recorded with each claim it makes (spawn, stop).
    pub(super) lease: Option<Lease>,
}

/// What `spawn` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spawned {
    pub instance: InstanceRecord,
    /// True when the owner already had a live instance of this challenge and got it back.
    pub existing: bool,
}

impl Lifecycle {
    pub fn new(
        engine: Arc<dyn Engine>,
        store: Store,
        catalog: Arc<Catalog>,
        policy: Policy,
        actor: Actor,
    ) -> Result<Lifecycle, DomainError> {
        let store_id = store.setting_or_init(STORE_ID_KEY, || {
            format!("{}{}", ids::new_instance_id(), ids::new_instance_id())
        })?;
        let flag_secret = flags::store_secret(&store)?;
        super::host_accounts::warn_clashes("[container] user: an instance", &policy.container.user);
        Ok(Lifecycle {
            engine,
            store,
            catalog,
            policy,
            actor,
            store_id,
            flag_secret,
            lease: super::lease::this_process(),
        })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn engine(&self) -> &Arc<dyn Engine> {
        &self.engine
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The same lifecycle on a catalog read again (the console follows edits to it).
    pub fn with_catalog(&self, catalog: Arc<Catalog>) -> Lifecycle {
        Lifecycle {
            engine: self.engine.clone(),
            store: self.store.clone(),
            catalog,
            policy: self.policy.clone(),
            actor: self.actor.clone(),
            store_id: self.store_id.clone(),
            flag_secret: self.flag_secret.clone(),
            lease: self.lease.clone(),
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub fn store_id(&self) -> &str {
        &self.store_id
    }

    pub(super) fn audit(&self, action: &str, instance: Option<&str>, detail: &str, outcome: &str) {
        let entry = NewAuditEntry {
            actor: &self.actor.name,
            origin: &self.actor.origin,
            action,
            instance,
            detail,
            outcome,
        };
        // The audit must never turn a successful operation into a failure; a write error is
        // logged instead.
        if let Err(e) = self.store.append_audit(&entry) {
            tracing::warn!("audit write failed: {e}");
        }
    }

    pub(super) fn challenge(&self, id: &str) -> Result<&Challenge, DomainError> {
        self.catalog
            .get(id)
            .ok_or_else(|| DomainError::UnknownChallenge {
                id: id.to_string(),
                known: self
                    .catalog
                    .challenges
                    .iter()
                    .map(|c| c.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// Refuse a mutating action for a monitor.
    pub(super) fn require_admin(&self, action: &str) -> Result<(), DomainError> {
        match self.actor.role {
            Role::Admin => Ok(()),
            Role::Monitor => Err(DomainError::NotAllowed {
                action: action.to_string(),
                actor: self.actor.name.clone(),
            }),
        }
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// Start one instance of `challenge_id` for `owner`, within the quotas. In the one-per-owner
    /// modes an owner who already has a live instance of the challenge gets that one back.
    /// `smoke:` owners are refused here, for every caller: they skip quotas and assignment
    /// modes, so only the smoke test may use them (through [`Lifecycle::spawn_smoke`]).
    pub async fn spawn(&self, challenge_id: &str, owner: &Owner) -> Result<Spawned, DomainError> {
        self.require_admin("spawn")?;
        if let Err(e) = owner.require_spawnable() {
            self.audit(
                "spawn",
                None,
                &format!("{challenge_id} for {owner}"),
                &format!("refused: {e}"),
            );
            return Err(e.into());
        }
        self.spawn_for(challenge_id, owner).await
    }

    /// The smoke test's own door: one instance for a fresh throwaway `smoke:` owner.
    pub(super) async fn spawn_smoke(&self, challenge_id: &str) -> Result<Spawned, DomainError> {
        self.require_admin("spawn")?;
        self.spawn_for(challenge_id, &Owner::smoke()).await
    }

    async fn spawn_for(&self, challenge_id: &str, owner: &Owner) -> Result<Spawned, DomainError> {
        let challenge = self.challenge(challenge_id)?;
        let owner_text = owner.to_string();
        match self.spawn_new(challenge, owner).await {
            Ok(instance) => Ok(Spawned {
                instance,
                existing: false,
            }),
            Err(SpawnError::Existing(instance)) => Ok(Spawned {
                instance: *instance,
                existing: true,
            }),
            Err(SpawnError::Failed(e)) => {
                if matches!(e, DomainError::Refused { .. }) {
                    self.audit(
                        "spawn",
                        None,
                        &format!("{challenge_id} for {owner_text}"),
                        &format!("refused: {e}"),
                    );
                }
                Err(e)
            }
        }
    }

    pub(super) async fn spawn_new(
        &self,
        challenge: &Challenge,
        owner: &Owner,
    ) -> Result<InstanceRecord, SpawnError> {
        let lifetime = self.policy.lifetime_for(challenge);
        let now = now_millis();
        let mut record = InstanceRecord {
            id: String::new(),
            challenge: challenge.id.clone(),
            owner: owner.to_string(),
            status: InstanceStatus::Starting,
            container_id: None,
            network_id: None,
            ports: Vec::new(),
            flag: None,
            created_at: now,
            expires_at: now + millis(lifetime.default),
            stopped_at: None,
            renewals: 0,
            max_renewals: lifetime.max_renewals,
            max_total_at: now + millis(lifetime.max_total),
            stop_reason: None,
            updated_at: now,
        };
        // The row exists before any engine object does: a crash from here on leaves a
        // `starting` row that reconcile repairs. Quotas are checked in the same transaction.
        self.admit_with_fresh_id(&mut record, challenge, owner)?;
        let id = record.id.clone();
        let owner = &record.owner;

        match self.start_on_engine(challenge, &record).await {
            Ok(running) => {
                self.audit(
                    "spawn",
                    Some(&id),
                    &format!("{} for {owner}", challenge.id),
                    "ok",
                );
                Ok(running)
            }
            Err(err) => {
                // Leave nothing behind: no container, no network, a `failed` row with the reason.
                self.remove_engine_objects(&record).await;
                let reason = err.to_string();
                self.store.finish(&id, InstanceStatus::Failed, &reason)?;
                self.audit(
                    "spawn",
                    Some(&id),
                    &format!("{} for {owner}", challenge.id),
                    &format!("failed: {reason}"),
                );
                Err(err.into())
            }
        }
    }

    fn admit_with_fresh_id(
        &self,
        record: &mut InstanceRecord,
        challenge: &Challenge,
        owner: &Owner,
    ) -> Result<(), SpawnError> {
        let limits = admission_limits(&self.policy, &challenge.id, owner)?;
        let mut taken = None;
        for _ in 0..8 {
            record.id = ids::new_instance_id();
            record.flag = self.flag_for(challenge, &record.id);
            match self.store.admit(record, &limits, self.lease.as_ref()) {
                Ok(Admission::Admitted) => return Ok(()),
                Ok(Admission::Existing(existing)) => return Err(SpawnError::Existing(existing)),
                Ok(Admission::Refused(refusal)) => {
                    let soonest = self.store.soonest_expiry_for(&refusal, record)?;
                    return Err(refused(&refusal, record, soonest).into());
                }
                // Another instance got this id first: draw another.
                Err(StoreError::IdTaken(id)) => taken = Some(id),
                Err(e) => return Err(DomainError::from(e).into()),
            }
        }
        Err(DomainError::from(StoreError::IdTaken(taken.unwrap_or_default())).into())
    }

    /// The instance's flag: rendered from the template, or the static one.
    pub fn flag_for(&self, challenge: &Challenge, instance_id: &str) -> Option<String> {
        match (&challenge.flag.template, &challenge.flag.static_value) {
            (Some(template), _) => Some(flags::render(
                template,
                self.flag_secret.as_bytes(),
                instance_id,
            )),
            (None, Some(value)) => Some(value.clone()),
            (None, None) => None,
        }
    }

    async fn start_on_engine(
        &self,
        challenge: &Challenge,
        record: &InstanceRecord,
    ) -> Result<InstanceRecord, DomainError> {
        let spawn_failed = |source| DomainError::SpawnFailed {
            challenge: challenge.id.clone(),
            owner: record.owner.clone(),
            source,
        };
        let mut env = Vec::new();
        let mut flag_file = None;
        if let Some(flag) = &record.flag {
            match challenge.flag.inject.split_once(':') {
                Some(("env", name)) => env.push((name.to_string(), flag.clone())),
                Some(("file", path)) => flag_file = Some(path.to_string()),
                _ => {
                    return Err(DomainError::Unspawnable {
                        id: challenge.id.clone(),
                        reason: format!(
                            "flag.inject {:?} is not env:NAME or file:/path",
                            challenge.flag.inject
                        ),
                    });
                }
            }
        }
        let input = PlanInput {
            instance_id: &record.id,
            owner: &record.owner,
            store_id: &self.store_id,
            expires_at: record.expires_at,
            env,
        };
        let unspawnable = |reason| DomainError::Unspawnable {
            id: challenge.id.clone(),
            reason,
        };
        let mut plan = plan_for(challenge, &self.policy, input).map_err(unspawnable)?;
        super::host_accounts::warn_clashes(&format!("instance {}", record.id), &plan.user);
        let volumes = self
            .engine
            .image_volumes(&plan.image)
            .await
            .map_err(spawn_failed)?;
        cover_image_volumes(&mut plan, &volumes, challenge, &self.policy).map_err(unspawnable)?;
        let network_id = self
            .create_instance_network(&plan.network, &plan.labels)
            .await
            .map_err(spawn_failed)?;
        self.store
            .record_engine_ids(&record.id, None, Some(&network_id))?;
        let container_id = self
            .engine
            .create_container(&plan)
            .await
            .map_err(spawn_failed)?;
        self.store
            .record_engine_ids(&record.id, Some(&container_id), None)?;
        self.engine
            .start_container(&container_id)
            .await
            .map_err(spawn_failed)?;
        if let (Some(path), Some(flag)) = (flag_file, &record.flag) {
            self.write_flag_file(&container_id, &path, flag)
                .await
                .map_err(spawn_failed)?;
        }
        let protocols: BTreeMap<u16, String> = plan
            .ports
            .iter()
            .map(|p| (p.container, p.protocol.clone()))
            .collect();
        let ports = self
            .engine
            .published_ports(&container_id, &protocols)
            .await
            .map_err(spawn_failed)?;
        self.store
            .mark_running(&record.id, &container_id, &network_id, &ports)?;
        Ok(self
            .store
            .instance(&record.id)?
            .ok_or_else(|| StoreError::NotFound(record.id.clone()))?)
    }

    /// The instance's own network, on a free subnet of the configured pool.
    async fn create_instance_network(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<String, crate::engine::EngineError> {
        self.engine
            .create_network_in(name, labels, &self.policy.network)
            .await
    }

    /// Write the flag into a tmpfs file inside the container. The flag travels in the exec's
    /// own environment, not on a command line that `ps` would show; the path as an argument.
    pub(super) async fn write_flag_file(
        &self,
        container_id: &str,
        path: &str,
        flag: &str,
    ) -> Result<(), crate::engine::EngineError> {
        // The path is the script's first argument, never part of its text: whatever it holds,
        // the shell treats it as one file name.
        let script = "umask 077; printf '%s' \"$CTFDECK_FLAG\" > \"$1\"";
        let out = self
            .engine
            .exec_with_env(
                container_id,
                &["sh", "-c", script, "sh", path],
                &[("CTFDECK_FLAG", flag)],
            )
            .await?;
        if out.exit_code != 0 {
            return Err(crate::engine::EngineError::Unexpected(format!(
                "writing the flag file {path} failed ({}): {}",
                out.exit_code,
                out.output.trim()
            )));
        }
        Ok(())
    }
}

/// Why `spawn_new` did not start a new instance.
pub(super) enum SpawnError {
    /// The owner already holds a live instance of the challenge.
    Existing(Box<InstanceRecord>),
    Failed(DomainError),
}

impl<E: Into<DomainError>> From<E> for SpawnError {
    fn from(e: E) -> Self {
        SpawnError::Failed(e.into())
    }
}
