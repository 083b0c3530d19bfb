//! The event's rules as configured by admins: lifetimes, resource defaults and ceilings.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use crate::catalog::{Ceilings, Challenge};

/// Global lifetime defaults; a challenge's `lifetime` block overrides field by field.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LifetimeDefaults {
    #[serde(with = "humantime_serde")]
    pub default: Duration,
    #[serde(with = "humantime_serde")]
    pub extend_by: Duration,
    pub max_renewals: u32,
    #[serde(with = "humantime_serde")]
    pub max_total: Duration,
    /// Extending is only allowed once at most this much time remains (unset: any time).
    #[serde(with = "humantime_serde")]
    pub renew_window: Option<Duration>,
    /// What happens when an instance's container stops by itself.
    pub on_exit: OnExit,
}

/// What happens when an instance's process exits, is OOM-killed or goes down with the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnExit {
    /// Start the same container again, a bounded number of times with backoff
    /// (see `domain::exits`): players get their service back without staff stepping in, and
    /// a challenge that crashes at once does not loop for ever.
    #[default]
    Restart,
    /// Leave it exited (for staff to look at, `reset` or stop) until it expires.
    Keep,
}

impl OnExit {
    pub fn as_str(self) -> &'static str {
        match self {
            OnExit::Restart => "restart",
            OnExit::Keep => "keep",
        }
    }
}

impl Default for LifetimeDefaults {
    fn default() -> Self {
        LifetimeDefaults {
            default: Duration::from_secs(45 * 60),
            extend_by: Duration::from_secs(30 * 60),
            max_renewals: 3,
            max_total: Duration::from_secs(3 * 3600),
            renew_window: None,
            on_exit: OnExit::default(),
        }
    }
}

/// The uid:gid instances run as when neither the challenge nor its profile says. Without a user
/// namespace a container's uid is the host's, and a host account with the same uid could read
/// every instance's environment (the flag) and signal its processes; this one lies outside the
/// ranges accounts are handed out from (regular users, system users, systemd's dynamic users,
/// the subordinate ids of rootless containers), and `doctor` checks it against the host.
pub const DEFAULT_USER: &str = "2000000000:2000000000";

/// Resource and identity defaults for challenges that do not say.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ContainerDefaults {
    pub user: String,
    pub memory: String,
    pub cpus: f64,
    pub pids: i64,
    /// Host address published ports bind to.
    pub bind_address: String,
}

impl Default for ContainerDefaults {
    fn default() -> Self {
        ContainerDefaults {
            user: DEFAULT_USER.to_string(),
            memory: "512m".to_string(),
            cpus: 1.0,
            pids: 256,
            bind_address: "0.0.0.0".to_string(),
        }
    }
}

/// Who may hold instances, and how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AssignmentMode {
    /// One live instance per owner (team or user) per challenge.
    #[default]
    Owner,
    /// Only `team:` owners, one instance per team per challenge.
    Team,
    /// Only `user:` owners, one instance per user per challenge.
    User,
    /// Any owner, any number of instances of the same challenge.
    Unlimited,
}

impl AssignmentMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AssignmentMode::Owner => "owner",
            AssignmentMode::Team => "team",
            AssignmentMode::User => "user",
            AssignmentMode::Unlimited => "unlimited",
        }
    }
}

/// Quotas, global and per challenge. Unset limits do not apply.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Quotas {
    pub mode: AssignmentMode,
    /// Live instances one owner may hold across all challenges.
    pub per_owner: Option<u32>,
    /// Live instances of one challenge across all owners.
    pub per_challenge: Option<u32>,
    /// Live instances on this store: the capacity of the host.
    pub global: Option<u32>,
    /// Minimum time between two spawns or resets of the same owner.
    #[serde(with = "humantime_serde")]
    pub cooldown: Option<Duration>,
    /// Overrides by challenge id.
    pub challenges: BTreeMap<String, ChallengeQuota>,
}

impl Default for Quotas {
    fn default() -> Self {
        Quotas {
            mode: AssignmentMode::Owner,
            per_owner: None,
            per_challenge: None,
            global: Some(500),
            cooldown: None,
            challenges: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChallengeQuota {
    pub mode: Option<AssignmentMode>,
    pub per_challenge: Option<u32>,
}

#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub lifetime: LifetimeDefaults,
    pub container: ContainerDefaults,
    pub ceilings: Ceilings,
    pub quotas: Quotas,
    pub network: super::SubnetPool,
    pub build: super::BuildDefaults,
    /// `[swarm] on_node_down`: what reconcile does with an instance whose node went down.
    pub on_node_down: crate::engine::swarm::OnNodeDown,
}

/// The effective lifetime rules for one challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    pub default: Duration,
    pub extend_by: Duration,
    pub max_renewals: u32,
    pub max_total: Duration,
}

impl Policy {
    pub fn mode_for(&self, challenge: &str) -> AssignmentMode {
        self.quotas
            .challenges
            .get(challenge)
            .and_then(|q| q.mode)
            .unwrap_or(self.quotas.mode)
    }

    pub fn per_challenge_for(&self, challenge: &str) -> Option<u32> {
        self.quotas
            .challenges
            .get(challenge)
            .and_then(|q| q.per_challenge)
            .or(self.quotas.per_challenge)
    }

    pub fn lifetime_for(&self, challenge: &Challenge) -> Lifetime {
        let l = &challenge.lifetime;
        let d = &self.lifetime;
        let default = l.default.unwrap_or(d.default);
        Lifetime {
            default,
            extend_by: l.extend_by.unwrap_or(d.extend_by),
            max_renewals: l.max_renewals.unwrap_or(d.max_renewals),
            // Never shorter than the first lifetime.
            max_total: l.max_total.unwrap_or(d.max_total).max(default),
        }
    }
}
