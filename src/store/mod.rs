//! The only code that speaks SQL. One SQLite file in WAL mode: the truth for who owns which
//! instance until when, and the audit log.

mod admission;
mod api_status;
mod audit;
mod error;
mod exits;
mod instances;
mod lease;
mod migrations;
mod open;
mod record;
mod reschedule;
mod settings;
mod tokens;

pub use admission::{Admission, AdmissionLimits, Refusal};
pub use api_status::ApiStatusRecord;
pub use audit::{AuditEntry, AuditFilter, NewAuditEntry};
pub use error::StoreError;
pub use instances::{ExtendOutcome, InstanceFilter};
pub use lease::Lease;
pub use open::{FileAccess, Store};
pub use record::{InstanceRecord, InstanceStatus, PublishedPort};
pub use tokens::{NewToken, TokenRecord};

/// Milliseconds since the Unix epoch: the store's one time unit.
pub type Millis = i64;

/// A duration in store units; an absurdly long one saturates far from overflow.
pub fn millis(d: std::time::Duration) -> Millis {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

/// The current time in store units.
pub fn now_millis() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
