//! Leases: which process claimed an in-flight row. A spawn (`starting`) or a stop (`stopping`)
//! records its process here; whether that process still lives is the domain's question.

use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError};

/// A process, named so that it is recognised again and never confused with a later one that
/// got the same pid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub pid: u32,
    /// When it started, as the host tells it (opaque; compared for equality only).
    pub started: String,
    pub host: String,
}

impl Store {
    /// The lease of the last claim of row `id`; `None` when it has none (no such row, or one
    /// claimed by a ctfdeck from before leases).
    pub fn lease(&self, id: &str) -> Result<Option<Lease>, StoreError> {
        let found: Option<(Option<u32>, Option<String>, Option<String>)> = self
            .conn()
            .query_row(
                "SELECT lease_pid, lease_started, lease_host FROM instances WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        Ok(match found {
            Some((Some(pid), Some(started), Some(host))) => Some(Lease { pid, started, host }),
            _ => None,
        })
    }
}

/// Record `lease` (or clear it) on row `id`, inside the caller's transaction or connection.
pub(super) fn write_lease(
    conn: &rusqlite::Connection,
    id: &str,
    lease: Option<&Lease>,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE instances SET lease_pid = ?2, lease_started = ?3, lease_host = ?4 WHERE id = ?1",
        params![
            id,
            lease.map(|l| l.pid),
            lease.map(|l| l.started.as_str()),
            lease.map(|l| l.host.as_str())
        ],
    )?;
    Ok(())
}
