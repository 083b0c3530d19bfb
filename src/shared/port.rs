//! Where the engine published one container port: the engine reports it, the store keeps it.

use serde::{Deserialize, Serialize};

/// One published port: the container port, where the engine published it, and what speaks on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedPort {
    pub container: u16,
    pub host_ip: String,
    pub host_port: u16,
    pub protocol: String,
}
