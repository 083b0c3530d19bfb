//! Instances placed again on another node after theirs went down: claimed by one process (the
//! row is `starting` again while the Swarm places it), then running with their new ports.

use rusqlite::params;

use super::{Lease, Store, StoreError, now_millis};

impl Store {
    /// Claim a running instance to place it again: `starting`, with `lease` naming this
    /// process, so that a second reconcile (the console's and the reaper's both hear of the
    /// node) leaves it alone. False when it was no longer running (another got there first).
    pub fn claim_reschedule(&self, id: &str, lease: Option<&Lease>) -> Result<bool, StoreError> {
        let changed = self.conn().execute(
            "UPDATE instances SET status = 'starting', updated_at = ?2,
                 lease_pid = ?3, lease_started = ?4, lease_host = ?5
             WHERE id = ?1 AND status = 'running'",
            params![
                id,
                now_millis(),
                lease.map(|l| l.pid),
                lease.map(|l| l.started.as_str()),
                lease.map(|l| l.host.as_str())
            ],
        )?;
        Ok(changed == 1)
    }

    /// Give a claim back (the engine could not be reached): running again, as it was, for the
    /// next reconcile to try.
    pub fn release_reschedule(&self, id: &str) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE instances SET status = 'running', updated_at = ?2
             WHERE id = ?1 AND status = 'starting'",
            params![id, now_millis()],
        )?;
        Ok(())
    }
}
