//! Bringing the store and the engine back into agreement after a crash, a restart or someone
//! removing containers by hand. The engine is the truth for what runs; the store for who owns
//! it and until when.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::engine::{ManagedContainer, labels};
use crate::store::{InstanceFilter, InstanceRecord, InstanceStatus, now_millis};

use super::lease::{self, Liveness};
use super::node_down::NodeDown;
use super::{DomainError, Lifecycle, Role};

/// A `starting` (or `stopping`) row younger than this may belong to a spawn (or stop) in
/// progress in another process; reconcile leaves it alone — unless its lease says that
/// process is dead, in which case it is repaired at once.
pub const SPAWN_GRACE_MS: i64 = 60_000;

/// What reconcile changed — or, for a monitor, what it found and left for an admin.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReconcileReport {
    /// True when nothing was changed: the actor may not (a monitor, `--read-only`), so the
    /// lists say what an admin's next command or the reaper will do.
    pub pending: bool,
    /// Rows whose container is gone, now `lost`.
    pub lost: Vec<String>,
    /// Containers without a row, rebuilt from their labels.
    pub adopted: Vec<String>,
    /// Containers or networks removed because nothing could own them.
    pub removed: Vec<String>,
    /// Interrupted spawns completed (`running`) or cleaned up (`failed`).
    pub repaired: Vec<String>,
    /// Running rows whose container had stopped, now `exited` with the reason.
    pub exited: Vec<String>,
    /// Instances whose Swarm node went down, placed again on another node
    /// (`[swarm] on_node_down = "reschedule"`), or that the Swarm had already moved.
    pub rescheduled: Vec<String>,
}

impl ReconcileReport {
    pub fn is_empty(&self) -> bool {
        self.lost.is_empty()
            && self.adopted.is_empty()
            && self.removed.is_empty()
            && self.repaired.is_empty()
            && self.exited.is_empty()
            && self.rescheduled.is_empty()
    }
}

/// `2 lost (ab12cd, ef34gh); 1 removed (ctfdeck-net-x)`: what the reaper's log says. A
/// pending report says what drifted: `1 container without a row (ab12cd) — an admin's next
/// command or the reaper will reconcile`.
impl std::fmt::Display for ReconcileReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts = if self.pending {
            [
                (
                    &self.lost,
                    "row whose container is gone",
                    "rows whose container is gone",
                ),
                (
                    &self.adopted,
                    "container without a row",
                    "containers without a row",
                ),
                (&self.removed, "leftover to remove", "leftovers to remove"),
                (
                    &self.repaired,
                    "interrupted spawn or stop",
                    "interrupted spawns or stops",
                ),
                (
                    &self.exited,
                    "instance whose process exited",
                    "instances whose process exited",
                ),
                (
                    &self.rescheduled,
                    "instance to place on another node",
                    "instances to place on another node",
                ),
            ]
        } else {
            [
                (&self.lost, "lost", "lost"),
                (&self.adopted, "adopted", "adopted"),
                (&self.removed, "removed", "removed"),
                (&self.repaired, "repaired", "repaired"),
                (&self.exited, "exited", "exited"),
                (&self.rescheduled, "rescheduled", "rescheduled"),
            ]
        };
        let said: Vec<String> = parts
            .iter()
            .filter(|(ids, _, _)| !ids.is_empty())
            .map(|(ids, one, many)| {
                let what = if ids.len() == 1 { one } else { many };
                format!("{} {what} ({})", ids.len(), ids.join(", "))
            })
            .collect();
        if said.is_empty() {
            f.write_str("nothing to do")
        } else if self.pending {
            write!(
                f,
                "{} — an admin's next command or the reaper will reconcile",
                said.join("; ")
            )
        } else {
            f.write_str(&said.join("; "))
        }
    }
}

impl Lifecycle {
    /// Bring store and engine into agreement. Only an admin's reconcile changes anything; a
    /// monitor's (and `--read-only`'s) finds the same drift and reports it as pending.
    pub async fn reconcile(&self) -> Result<ReconcileReport, DomainError> {
        let apply = self.actor.role == Role::Admin;
        let mut report = ReconcileReport {
            pending: !apply,
            ..Default::default()
        };
        let containers = self.engine.managed_containers(&self.store_id).await?;
        let by_instance: HashMap<&str, &ManagedContainer> = containers
            .iter()
            .filter_map(|c| c.labels.get(labels::INSTANCE).map(|i| (i.as_str(), c)))
            .collect();
        let live = self.store.list_instances(&InstanceFilter {
            all: false,
            ..Default::default()
        })?;
        let now = now_millis();
        let mut accounted: HashSet<String> = HashSet::new();

        for row in &live {
            let container = by_instance.get(row.id.as_str()).copied();
            if let Some(c) = container {
                accounted.insert(c.id.clone());
            }
            match row.status {
                InstanceStatus::Starting if !self.abandoned(row, now)? => {}
                InstanceStatus::Starting => {
                    if apply {
                        self.repair_interrupted_spawn(row, container).await?;
                    }
                    report.repaired.push(row.id.clone());
                }
                InstanceStatus::Stopping if self.abandoned(row, now)? => {
                    // A stop that crashed half way: finish it.
                    if apply {
                        self.remove_engine_objects(row).await;
                        self.store.finish(
                            &row.id,
                            InstanceStatus::Stopped,
                            "stop completed by reconcile",
                        )?;
                    }
                    report.repaired.push(row.id.clone());
                }
                InstanceStatus::Running | InstanceStatus::Exited if container.is_none() => {
                    if apply {
                        self.remove_engine_objects(row).await;
                        self.store.finish(
                            &row.id,
                            InstanceStatus::Lost,
                            "container disappeared from the engine",
                        )?;
                        self.audit("reconcile", Some(&row.id), "container gone", "lost");
                    }
                    report.lost.push(row.id.clone());
                }
                // The engine says nothing can answer for it (its Swarm node is down): lost, and
                // what the engine still holds of it goes — or placed again on another node, as
                // `[swarm] on_node_down` says.
                InstanceStatus::Running if container.is_some_and(|c| c.state == "lost") => {
                    match self.node_went_down(row, apply).await? {
                        NodeDown::Lost => report.lost.push(row.id.clone()),
                        NodeDown::Rescheduled => report.rescheduled.push(row.id.clone()),
                        NodeDown::Elsewhere => {}
                    }
                }
                // The Swarm started it again by itself, elsewhere: the row follows.
                InstanceStatus::Running if apply => {
                    if let Some(c) = container.filter(|c| c.state == "running")
                        && self.follow_move(row, &c.ports)?
                    {
                        report.rescheduled.push(row.id.clone());
                    }
                }
                _ => {}
            }
        }

        // Exits are recorded for admins only (record_exits asks the role itself); a monitor's
        // pass only reports them.
        let engine_state: BTreeMap<&str, &str> = by_instance
            .iter()
            .map(|(id, c)| (*id, c.state.as_str()))
            .collect();
        report.exited = self.record_exits(&live, &engine_state).await?;

        // Instances whose container this pass removes: their networks can go too.
        let mut cleared: HashSet<String> = HashSet::new();
        for c in &containers {
            if accounted.contains(&c.id) {
                continue;
            }
            let instance = c.labels.get(labels::INSTANCE).cloned().unwrap_or_default();
            let known = if instance.is_empty() {
                None
            } else {
                self.store.instance(&instance)?
            };
            match known {
                // A row exists but is final: the container is a leftover.
                Some(_) => {
                    if apply {
                        self.engine.remove_container(&c.id).await?;
                    }
                    report.removed.push(c.name.clone());
                    cleared.insert(instance);
                }
                None => match self.adoptable(c) {
                    Some(record) => {
                        if apply {
                            self.adopt(&record)?;
                        }
                        report.adopted.push(instance);
                    }
                    None => {
                        if apply {
                            self.engine.remove_container(&c.id).await?;
                            self.audit(
                                "reconcile",
                                None,
                                &format!("removed unowned {}", c.name),
                                "ok",
                            );
                        }
                        report.removed.push(c.name.clone());
                        cleared.insert(instance);
                    }
                },
            }
        }

        // Networks whose instance is not live and has no container left.
        let live_ids: HashSet<String> = self
            .store
            .list_instances(&InstanceFilter::default())?
            .into_iter()
            .map(|r| r.id)
            .collect();
        let container_instances: HashSet<&str> = by_instance
            .keys()
            .copied()
            .filter(|i| !cleared.contains(*i))
            .collect();
        for n in self.engine.managed_networks(&self.store_id).await? {
            let inst = n
                .labels
                .get(labels::INSTANCE)
                .map(String::as_str)
                .unwrap_or("");
            if !live_ids.contains(inst) && !container_instances.contains(inst) {
                if !apply {
                    report.removed.push(n.name.clone());
                    continue;
                }
                match self.engine.remove_network(&n.id).await {
                    Ok(()) => report.removed.push(n.name.clone()),
                    Err(e) if e.is_unreachable() => return Err(e.into()),
                    // Say, a container still being removed holds it: the next reconcile
                    // takes it. One stuck network must not keep the others.
                    Err(e) => tracing::warn!("removing network {}: {e}", n.name),
                }
            }
        }
        Ok(report)
    }

    /// Whether an in-flight row is left to reconcile: its lease says its claimant died, or the
    /// row outlived the grace period. A claimant that lives keeps only the grace: a stop the
    /// engine refused stays `stopping` for reconcile to finish, and a long-running reaper or
    /// console must not hold that off for good.
    fn abandoned(&self, row: &InstanceRecord, now: i64) -> Result<bool, DomainError> {
        let lease = self.store.lease(&row.id)?;
        Ok(match lease.as_ref().map(lease::liveness) {
            Some(Liveness::Dead) => true,
            Some(Liveness::Alive | Liveness::Unknown) | None => {
                now - row.updated_at >= SPAWN_GRACE_MS
            }
        })
    }

    /// A `starting` row whose spawner is gone: adopt what it started, or clean up after it.
    async fn repair_interrupted_spawn(
        &self,
        row: &InstanceRecord,
        container: Option<&ManagedContainer>,
    ) -> Result<(), DomainError> {
        if let Some(c) = container.filter(|c| c.state == "running") {
            let network = row
                .network_id
                .clone()
                .unwrap_or_else(|| super::plan::network_name(&row.id));
            let protocols = self
                .catalog
                .get(&row.challenge)
                .map(|ch| {
                    ch.container
                        .ports
                        .iter()
                        .filter_map(|p| {
                            Some((
                                u16::try_from(p.container).ok()?,
                                p.protocol.as_str().to_string(),
                            ))
                        })
                        .collect()
                })
                .unwrap_or_default();
            let ports = self.engine.published_ports(&c.id, &protocols).await?;
            self.store.mark_running(&row.id, &c.id, &network, &ports)?;
            self.audit(
                "reconcile",
                Some(&row.id),
                "interrupted spawn adopted",
                "running",
            );
        } else {
            self.remove_engine_objects(row).await;
            self.store
                .finish(&row.id, InstanceStatus::Failed, "spawn interrupted")?;
            self.audit(
                "reconcile",
                Some(&row.id),
                "interrupted spawn cleaned up",
                "failed",
            );
        }
        Ok(())
    }

    /// The row a container's labels rebuild; `None` when the labels are not enough.
    fn adoptable(&self, c: &ManagedContainer) -> Option<InstanceRecord> {
        let get = |k: &str| c.labels.get(k).filter(|v| !v.is_empty());
        let (Some(id), Some(challenge), Some(owner), Some(expires)) = (
            get(labels::INSTANCE),
            get(labels::CHALLENGE),
            get(labels::OWNER),
            get(labels::EXPIRES).and_then(|e| e.parse::<i64>().ok()),
        ) else {
            return None;
        };
        if c.state != "running" || owner.parse::<super::Owner>().is_err() {
            return None;
        }
        let ch = self.catalog.get(challenge)?;
        let lifetime = self.policy.lifetime_for(ch);
        let created = c.created.saturating_mul(1000);
        let network = super::plan::network_name(id);
        let record = InstanceRecord {
            id: id.clone(),
            challenge: challenge.clone(),
            owner: owner.clone(),
            status: InstanceStatus::Running,
            container_id: Some(c.id.clone()),
            network_id: Some(network),
            ports: c
                .ports
                .iter()
                .map(|p| {
                    let mut p = p.clone();
                    if let Some(spec) = ch
                        .container
                        .ports
                        .iter()
                        .find(|s| s.container == u32::from(p.container))
                    {
                        p.protocol = spec.protocol.as_str().to_string();
                    }
                    p
                })
                .collect(),
            flag: self.flag_for(ch, id),
            created_at: created,
            expires_at: expires,
            stopped_at: None,
            renewals: 0,
            max_renewals: lifetime.max_renewals,
            max_total_at: created + crate::store::millis(lifetime.max_total),
            stop_reason: None,
            updated_at: now_millis(),
        };
        Some(record)
    }

    /// Insert a row rebuilt by [`Lifecycle::adoptable`].
    fn adopt(&self, record: &InstanceRecord) -> Result<(), DomainError> {
        self.store.insert_instance(record)?;
        self.audit(
            "reconcile",
            Some(&record.id),
            "adopted from container labels",
            "running",
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::ReconcileReport;

    #[test]
    fn the_report_says_what_changed_and_only_that() {
        assert_eq!(ReconcileReport::default().to_string(), "nothing to do");
        let report = ReconcileReport {
            lost: vec!["ab12cd".into(), "ef34gh".into()],
            removed: vec!["ctfdeck-net-x".into()],
            ..Default::default()
        };
        assert_eq!(
            report.to_string(),
            "2 lost (ab12cd, ef34gh); 1 removed (ctfdeck-net-x)"
        );
        let report = ReconcileReport {
            exited: vec!["ij56kl".into()],
            ..Default::default()
        };
        assert!(!report.is_empty());
        assert_eq!(report.to_string(), "1 exited (ij56kl)");
    }

    #[test]
    fn a_pending_report_says_what_drifted_and_who_will_reconcile() {
        let report = ReconcileReport {
            pending: true,
            adopted: vec!["ab12cd".into()],
            lost: vec!["ef34gh".into(), "gh56jk".into()],
            ..Default::default()
        };
        assert_eq!(
            report.to_string(),
            "2 rows whose container is gone (ef34gh, gh56jk); 1 container without a row (ab12cd) \
             — an admin's next command or the reaper will reconcile"
        );
        let nothing = ReconcileReport {
            pending: true,
            ..Default::default()
        };
        assert!(nothing.is_empty());
        assert_eq!(nothing.to_string(), "nothing to do");
    }
}
