//! What the store keeps about one instance.

use serde::{Deserialize, Serialize};

use super::Millis;
pub use crate::shared::PublishedPort;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InstanceStatus {
    /// Row written, container being created. Nothing may assume a container exists yet.
    Starting,
    Running,
    /// Being torn down.
    Stopping,
    /// Its container stopped by itself (the process exited or was OOM-killed, the engine
    /// restarted): the reason is in `stop_reason`. It still belongs to its owner until it
    /// expires or is stopped, and may be restarted (`[lifetime] on_exit`).
    Exited,
    Stopped,
    /// Spawn failed; nothing is left on the engine.
    Failed,
    /// The store thought it ran, but the engine no longer has it.
    Lost,
}

impl InstanceStatus {
    pub const LIVE: [InstanceStatus; 4] = [
        InstanceStatus::Starting,
        InstanceStatus::Running,
        InstanceStatus::Stopping,
        InstanceStatus::Exited,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InstanceStatus::Starting => "starting",
            InstanceStatus::Running => "running",
            InstanceStatus::Stopping => "stopping",
            InstanceStatus::Exited => "exited",
            InstanceStatus::Stopped => "stopped",
            InstanceStatus::Failed => "failed",
            InstanceStatus::Lost => "lost",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "starting" => InstanceStatus::Starting,
            "running" => InstanceStatus::Running,
            "stopping" => InstanceStatus::Stopping,
            "exited" => InstanceStatus::Exited,
            "stopped" => InstanceStatus::Stopped,
            "failed" => InstanceStatus::Failed,
            "lost" => InstanceStatus::Lost,
            _ => return None,
        })
    }

    pub fn is_live(self) -> bool {
        Self::LIVE.contains(&self)
    }
}

impl std::fmt::Display for InstanceStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceRecord {
    pub id: String,
    pub challenge: String,
    pub owner: String,
    pub status: InstanceStatus,
    pub container_id: Option<String>,
    pub network_id: Option<String>,
    pub ports: Vec<PublishedPort>,
    /// The instance's flag. Never printed in logs or the audit.
    pub flag: Option<String>,
    pub created_at: Millis,
    pub expires_at: Millis,
    pub stopped_at: Option<Millis>,
    pub renewals: u32,
    pub max_renewals: u32,
    /// Hard cap: expiry can never be pushed past this instant.
    pub max_total_at: Millis,
    pub stop_reason: Option<String>,
    pub updated_at: Millis,
}
