//! Lifecycle and policy: where the rules live. The CLI and the console both call this layer;
//! neither re-implements a rule.

mod actor;
pub mod api_status;
mod build;
mod clearing;
pub mod drift;
mod error;
pub mod exits;
pub mod flags;
mod host_accounts;
pub mod ids;
pub mod lease;
mod lifecycle;
mod node_down;
pub mod nodes;
mod owned;
mod owner;
pub mod plan;
mod policy;
pub mod queue;
mod quota;
pub mod reaper;
mod reconcile;
mod renewal;
mod roles;
pub mod smoke;
mod teardown;
pub mod tokens;
pub mod view;
mod whose;

pub use crate::engine::SubnetPool;
pub use actor::{Actor, UnixUser, current_user, group_name, origin_from_env};
pub use build::{BuildDefaults, BuildError, BuildOutcome, BuildTarget, build_image, build_network};
pub use clearing::{ClearReport, ClearingQueue};
pub use drift::{Drift, instance_drift};
pub use error::DomainError;
pub use exits::{ExitHandled, ExitStep};
pub use host_accounts::{HostAccounts, host_account_clashes};
pub use lifecycle::{BULK_CONCURRENCY, Lifecycle, Spawned};
pub use node_down::{NODE_DOWN_REASON, RESCHEDULE_ACTION};
pub use owner::{Owner, OwnerKind, OwnerParseError, SpawnOwnerError};
pub use policy::{
    AssignmentMode, ChallengeQuota, ContainerDefaults, DEFAULT_USER, Lifetime, LifetimeDefaults,
    OnExit, Policy, Quotas,
};
pub use reconcile::{ReconcileReport, SPAWN_GRACE_MS};
pub use roles::{Role, RolesConfig};
pub use teardown::{Halt, Leftover, PurgeSelector, StopOutcome};
pub use view::{InstanceView, describe_selection};
pub use whose::{FLAG_SHARED, FlagOwner, Submission};

#[cfg(test)]
mod tests;
