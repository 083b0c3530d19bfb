//! Instances whose process stopped by itself: recorded once as `exited`, restarted under a claim
//! only one process wins, listed for `doctor` and the reaper.

use rusqlite::params;

use super::instances::{COLUMNS, from_row, ports_json};
use super::{InstanceRecord, Millis, PublishedPort, Store, StoreError, now_millis};

impl Store {
    /// A running instance's container stopped by itself: the row is `exited` with `reason`
    /// (kept in `stop_reason`) and `stopped_at` says since when. False when the row was not
    /// running (a stop or another observer got there first), so an exit is recorded once.
    pub fn mark_exited(&self, id: &str, reason: &str) -> Result<bool, StoreError> {
        let now = now_millis();
        let changed = self.conn().execute(
            "UPDATE instances SET status = 'exited', stop_reason = ?2, stopped_at = ?3,
                 updated_at = ?3 WHERE id = ?1 AND status = 'running'",
            params![id, reason, now],
        )?;
        Ok(changed == 1)
    }

    /// An exited instance runs again (restarted): `running`, with the ports the engine
    /// published this time. False when it was no longer exited (stopped meanwhile).
    pub fn mark_restarted(&self, id: &str, ports: &[PublishedPort]) -> Result<bool, StoreError> {
        let changed = self.conn().execute(
            "UPDATE instances SET status = 'running', ports = ?2, stop_reason = NULL,
                 stopped_at = NULL, updated_at = ?3 WHERE id = ?1 AND status = 'exited'",
            params![id, ports_json(ports)?, now_millis()],
        )?;
        Ok(changed == 1)
    }

    /// Claim the next restart attempt of an exited row, as read with `updated_at` `seen`: true
    /// for exactly one of several processes that read the same row.
    pub fn claim_restart(&self, id: &str, seen: Millis) -> Result<bool, StoreError> {
        let changed = self.conn().execute(
            "UPDATE instances SET updated_at = MAX(?3, updated_at + 1)
             WHERE id = ?1 AND status = 'exited' AND updated_at = ?2",
            params![id, seen, now_millis()],
        )?;
        Ok(changed == 1)
    }

    /// Every exited row, oldest exit first.
    pub fn exited(&self) -> Result<Vec<InstanceRecord>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM instances WHERE status = 'exited' ORDER BY stopped_at, id"
        ))?;
        let rows = stmt.query_map([], from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
