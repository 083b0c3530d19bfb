//! Stage 6: the instance goes, as any stop does (container and network removed, the row kept
//! as `stopped`), and the engine is asked whether anything of it is left.

use crate::domain::{Lifecycle, StopOutcome};
use crate::engine::labels;

use super::outcome::{Failed, Passed, StageOutcome};

/// Why the row says it stopped.
pub const REASON: &str = "smoke test finished";

pub async fn run(lifecycle: &Lifecycle, instance_id: &str) -> StageOutcome<()> {
    let outcome = lifecycle
        .stop(instance_id, REASON)
        .await
        .map_err(|e| Failed::new(format!("stopping {instance_id} failed: {e}")))?;
    if let StopOutcome::AlreadyDone(status) = outcome {
        tracing::info!("smoke instance {instance_id} was already {status}");
    }
    let engine = lifecycle.engine();
    let store_id = lifecycle.store_id();
    let ours = |labels: &std::collections::BTreeMap<String, String>| {
        labels.get(labels::INSTANCE).map(String::as_str) == Some(instance_id)
    };
    let containers = engine
        .managed_containers(store_id)
        .await
        .map_err(|e| Failed::new(format!("checking for leftovers failed: {e}")))?;
    let networks = engine
        .managed_networks(store_id)
        .await
        .map_err(|e| Failed::new(format!("checking for leftovers failed: {e}")))?;
    let left: Vec<String> = containers
        .iter()
        .filter(|c| ours(&c.labels))
        .map(|c| format!("container {}", c.name))
        .chain(
            networks
                .iter()
                .filter(|n| ours(&n.labels))
                .map(|n| format!("network {}", n.name)),
        )
        .collect();
    if !left.is_empty() {
        return Err(Failed::new(format!(
            "{} still on the engine after the stop",
            left.join(" and ")
        )));
    }
    Ok(Passed::new(
        (),
        format!("instance {instance_id} stopped; its container and network are gone"),
    ))
}
