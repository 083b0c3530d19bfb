//! `[ssh]`: the console served over SSH by `ctfdeck serve`, and the staff allowed in.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::domain::Role;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SshConfig {
    /// Where `serve` accepts SSH; no SSH server without it.
    pub listen: Option<SocketAddr>,
    /// The server's ed25519 key, created (mode 0600) on first start; beside the store when
    /// not set.
    pub host_key: Option<PathBuf>,
    /// Consoles open at once at most; one more is told so and closed.
    pub max_sessions: usize,
    /// A console nobody types in (no key, no window change) for this long is closed.
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// Bytes of screen output one client may have waiting; beyond it the waiting frames are
    /// dropped and the screen is drawn whole once the client catches up.
    pub output_budget: usize,
    /// `[[ssh.staff]]`: who may connect, with which keys and role.
    pub staff: Vec<StaffEntry>,
}

impl Default for SshConfig {
    fn default() -> Self {
        SshConfig {
            listen: None,
            host_key: None,
            max_sessions: 32,
            idle_timeout: Duration::from_secs(30 * 60),
            output_budget: 256 * 1024,
            staff: Vec::new(),
        }
    }
}

/// One staff member: a name for the audit, a role, and the public keys that are them.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffEntry {
    pub name: String,
    pub role: Role,
    /// OpenSSH public key lines (`ssh-ed25519 AAAA… alice@laptop`).
    pub keys: Vec<String>,
}

impl SshConfig {
    /// What a config file cannot say: unreadable keys, one key for two people, limits of 0.
    /// The message starts with the field it is about.
    pub fn check(&self) -> Result<(), String> {
        if self.max_sessions == 0 {
            return Err("max_sessions must be at least 1".to_string());
        }
        if self.output_budget < 16 * 1024 {
            return Err(format!(
                "output_budget must be at least 16384 bytes (one full screen), got {}",
                self.output_budget
            ));
        }
        super::staff::StaffTable::from_config(&self.staff).map(|_| ())
    }
}
