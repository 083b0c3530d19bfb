//! Lifecycle and policy: where the rules live. The CLI and the console both call this layer;
//! neither re-implements a rule.

mod actor;
pub mod drift;
mod error;
pub mod flags;
pub mod ids;
mod lifecycle;
mod owner;
pub mod plan;
mod policy;
mod reconcile;
pub mod view;

pub use actor::Actor;
pub use drift::{Drift, instance_drift};
pub use error::DomainError;
pub use lifecycle::{BULK_CONCURRENCY, Lifecycle, PurgeSelector, Spawned, StopOutcome};
pub use owner::{Owner, OwnerKind, OwnerParseError};
pub use policy::{ContainerDefaults, Lifetime, LifetimeDefaults, Policy};
pub use reconcile::{ReconcileReport, SPAWN_GRACE_MS};
pub use view::InstanceView;
