//! An instance whose Swarm node went down: marked `lost` and its service removed, or, with
//! `[swarm] on_node_down = "reschedule"`, placed again by the Swarm on a node that takes
//! instances, the row kept running (same id, owner, expiry and flag) on its new node's address
//! and port. What ran inside is gone either way.

use std::collections::BTreeMap;

use crate::engine::EngineKind;
use crate::engine::swarm::OnNodeDown;
use crate::shared::PublishedPort;
use crate::store::{InstanceRecord, InstanceStatus};

use super::{DomainError, Lifecycle, lease};

/// Audit action of placing an instance again after its node went down.
pub const RESCHEDULE_ACTION: &str = "reschedule";
/// Why a row is `lost` when its node went down.
pub const NODE_DOWN_REASON: &str = "the node running it went down";

/// What became (or, for a monitor, would become) of an instance whose node went down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum NodeDown {
    Lost,
    Rescheduled,
    /// Another process claimed it first and is placing it again.
    Elsewhere,
}

impl Lifecycle {
    /// Act on a running row whose node went down, as `[swarm] on_node_down` says. Nothing is
    /// changed unless `apply` (an admin's reconcile); the answer then says what would be.
    pub(super) async fn node_went_down(
        &self,
        row: &InstanceRecord,
        apply: bool,
    ) -> Result<NodeDown, DomainError> {
        let reschedule = self.policy.on_node_down == OnNodeDown::Reschedule;
        if !apply {
            return Ok(if reschedule {
                NodeDown::Rescheduled
            } else {
                NodeDown::Lost
            });
        }
        let service = match (reschedule, row.container_id.as_deref()) {
            (true, Some(service)) => service,
            _ => {
                self.lose(row, NODE_DOWN_REASON).await?;
                return Ok(NodeDown::Lost);
            }
        };
        if !self
            .store
            .claim_reschedule(&row.id, lease::this_process().as_ref())?
        {
            return Ok(NodeDown::Elsewhere);
        }
        match self.place_again(row, service).await {
            Ok(ports) => {
                let network = row.network_id.clone().unwrap_or_default();
                self.store
                    .mark_running(&row.id, service, &network, &ports)?;
                let at = super::view::addresses(&ports, "");
                self.audit(
                    RESCHEDULE_ACTION,
                    Some(&row.id),
                    &format!("{NODE_DOWN_REASON}; now at {at}"),
                    "ok",
                );
                Ok(NodeDown::Rescheduled)
            }
            Err(e) if e.is_unreachable() => {
                self.store.release_reschedule(&row.id)?;
                Err(e)
            }
            Err(e) => {
                self.audit(
                    RESCHEDULE_ACTION,
                    Some(&row.id),
                    NODE_DOWN_REASON,
                    &format!("failed: {e}"),
                );
                self.lose(
                    row,
                    &format!("{NODE_DOWN_REASON}; no other node could take it: {e}"),
                )
                .await?;
                Ok(NodeDown::Lost)
            }
        }
    }

    /// Follow an instance the Swarm started again by itself, on a port or a node of its
    /// choosing (its restart policy after the task failed, or its node went down and it was
    /// quicker than ctfdeck): the row takes the ports it runs on now. True when the row moved.
    pub(super) fn follow_move(
        &self,
        row: &InstanceRecord,
        running_on: &[PublishedPort],
    ) -> Result<bool, DomainError> {
        if self.engine.info().kind != EngineKind::Swarm || !moved(&row.ports, running_on) {
            return Ok(false);
        }
        let ports: Vec<PublishedPort> = running_on
            .iter()
            .map(|p| PublishedPort {
                protocol: row
                    .ports
                    .iter()
                    .find(|r| r.container == p.container)
                    .map_or_else(|| p.protocol.clone(), |r| r.protocol.clone()),
                ..p.clone()
            })
            .collect();
        let (Some(service), Some(network)) = (&row.container_id, &row.network_id) else {
            return Ok(false);
        };
        self.store.mark_running(&row.id, service, network, &ports)?;
        self.audit(
            RESCHEDULE_ACTION,
            Some(&row.id),
            &format!(
                "placed again by the Swarm; now at {}",
                super::view::addresses(&ports, "")
            ),
            "ok",
        );
        Ok(true)
    }

    /// Ask the Swarm to place the service again (on a node that is up and takes instances),
    /// the flag file written anew, and read where it is published now.
    async fn place_again(
        &self,
        row: &InstanceRecord,
        service: &str,
    ) -> Result<Vec<PublishedPort>, DomainError> {
        self.engine.start_again(service).await?;
        let flag_file = self
            .catalog
            .get(&row.challenge)
            .and_then(|c| c.flag.inject.strip_prefix("file:"));
        if let (Some(path), Some(flag)) = (flag_file, &row.flag) {
            self.write_flag_file(service, path, flag).await?;
        }
        let protocols: BTreeMap<u16, String> = row
            .ports
            .iter()
            .map(|p| (p.container, p.protocol.clone()))
            .collect();
        Ok(self.engine.published_ports(service, &protocols).await?)
    }

    /// `lost`, with what the engine still holds of it removed.
    async fn lose(&self, row: &InstanceRecord, reason: &str) -> Result<(), DomainError> {
        self.remove_engine_objects(row).await;
        self.store.finish(&row.id, InstanceStatus::Lost, reason)?;
        self.audit("reconcile", Some(&row.id), "node down", "lost");
        Ok(())
    }
}

/// A port the row records is published elsewhere now (another node's address or port). Ports
/// not published now are not a move: a task between two states publishes none.
fn moved(recorded: &[PublishedPort], now: &[PublishedPort]) -> bool {
    recorded.iter().any(|r| {
        now.iter()
            .find(|n| n.container == r.container)
            .is_some_and(|n| (n.host_ip.as_str(), n.host_port) != (r.host_ip.as_str(), r.host_port))
    })
}

#[cfg(test)]
mod tests {
    use super::moved;
    use crate::shared::PublishedPort;

    fn port(host_ip: &str, host_port: u16) -> PublishedPort {
        PublishedPort {
            container: 8080,
            host_ip: host_ip.into(),
            host_port,
            protocol: "http".into(),
        }
    }

    #[test]
    fn a_move_is_another_address_or_port_never_a_missing_one() {
        let here = [port("10.99.0.3", 30001)];
        assert!(!moved(&here, &[port("10.99.0.3", 30001)]));
        assert!(moved(&here, &[port("10.99.0.2", 30001)]));
        assert!(moved(&here, &[port("10.99.0.3", 30002)]));
        assert!(!moved(&here, &[]));
    }
}
