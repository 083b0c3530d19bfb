//! The event's rules as configured by admins: lifetimes, resource defaults and ceilings.

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
}

impl Default for LifetimeDefaults {
    fn default() -> Self {
        LifetimeDefaults {
            default: Duration::from_secs(45 * 60),
            extend_by: Duration::from_secs(30 * 60),
            max_renewals: 3,
            max_total: Duration::from_secs(3 * 3600),
        }
    }
}

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
            user: "1000:1000".to_string(),
            memory: "512m".to_string(),
            cpus: 1.0,
            pids: 256,
            bind_address: "0.0.0.0".to_string(),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub lifetime: LifetimeDefaults,
    pub container: ContainerDefaults,
    pub ceilings: Ceilings,
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
