//! Admitting a new instance: the quota checks and the insert happen in one immediate
//! transaction, so two consoles spawning at once cannot both slip under a limit.

use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::instances::{COLUMNS, from_row, insert_row};
use super::lease::write_lease;
use super::{InstanceRecord, Lease, Millis, Store, StoreError};

/// The limits that apply to one admission. `None` means "no limit".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdmissionLimits {
    /// Return the owner's live instance of the same challenge instead of starting a second.
    pub one_per_challenge: bool,
    /// Live instances one owner may hold across all challenges.
    pub per_owner: Option<u32>,
    /// Live instances of this challenge across all owners.
    pub per_challenge: Option<u32>,
    /// Live instances in total on this store.
    pub global: Option<u32>,
    /// Minimum time between two spawns/resets of the same owner.
    pub cooldown_ms: Option<Millis>,
}

/// Why an admission was refused, with what the caller needs to say when it frees up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    PerOwner { live: u32, max: u32 },
    PerChallenge { live: u32, max: u32 },
    Global { live: u32, max: u32 },
    Cooldown { wait_ms: Millis },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// The row was inserted.
    Admitted,
    /// The owner already has this live instance.
    Existing(Box<InstanceRecord>),
    Refused(Refusal),
}

/// An exited instance still holds its owner's slot: the owner gets it back (restarted or
/// reset), it is not silently replaced by a second one.
const LIVE: &str = "status IN ('starting', 'running', 'stopping', 'exited')";

impl Store {
    /// Check `limits` for `rec` (a fresh `starting` row) and insert it if they allow.
    /// An id already taken is [`StoreError::IdTaken`], for the caller to retry with another.
    /// `lease` names the process that will complete the spawn.
    pub fn admit(
        &self,
        rec: &InstanceRecord,
        limits: &AdmissionLimits,
        lease: Option<&Lease>,
    ) -> Result<Admission, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if limits.one_per_challenge {
            let existing = tx
                .query_row(
                    &format!(
                        "SELECT {COLUMNS} FROM instances
                         WHERE owner = ?1 AND challenge = ?2 AND {LIVE}
                         ORDER BY created_at DESC LIMIT 1"
                    ),
                    params![rec.owner, rec.challenge],
                    from_row,
                )
                .optional()?;
            if let Some(existing) = existing {
                return Ok(Admission::Existing(Box::new(existing)));
            }
        }
        if let Some(cooldown) = limits.cooldown_ms {
            let last: Option<Millis> = tx.query_row(
                "SELECT MAX(created_at) FROM instances WHERE owner = ?1",
                [&rec.owner],
                |r| r.get(0),
            )?;
            if let Some(last) = last {
                let wait = last + cooldown - rec.created_at;
                if wait > 0 {
                    return Ok(Admission::Refused(Refusal::Cooldown { wait_ms: wait }));
                }
            }
        }
        let count = |sql: &str, p: &[&dyn rusqlite::ToSql]| -> rusqlite::Result<u32> {
            tx.query_row(sql, p, |r| r.get(0))
        };
        if let Some(max) = limits.global {
            let live = count(&format!("SELECT COUNT(*) FROM instances WHERE {LIVE}"), &[])?;
            if live >= max {
                return Ok(Admission::Refused(Refusal::Global { live, max }));
            }
        }
        if let Some(max) = limits.per_challenge {
            let live = count(
                &format!("SELECT COUNT(*) FROM instances WHERE challenge = ?1 AND {LIVE}"),
                &[&rec.challenge],
            )?;
            if live >= max {
                return Ok(Admission::Refused(Refusal::PerChallenge { live, max }));
            }
        }
        if let Some(max) = limits.per_owner {
            let live = count(
                &format!("SELECT COUNT(*) FROM instances WHERE owner = ?1 AND {LIVE}"),
                &[&rec.owner],
            )?;
            if live >= max {
                return Ok(Admission::Refused(Refusal::PerOwner { live, max }));
            }
        }
        insert_row(&tx, rec)?;
        write_lease(&tx, &rec.id, lease)?;
        tx.commit()?;
        Ok(Admission::Admitted)
    }

    /// Instances (live or finished) holding exactly this flag, newest first.
    pub fn instances_with_flag(&self, flag: &str) -> Result<Vec<InstanceRecord>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM instances WHERE flag = ?1 ORDER BY created_at DESC"
        ))?;
        let rows = stmt.query_map([flag], from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

impl Store {
    /// How long `owner` must still wait before another spawn or reset (0 = not at all).
    pub fn cooldown_wait(
        &self,
        owner: &str,
        cooldown_ms: Millis,
        now: Millis,
    ) -> Result<Millis, StoreError> {
        let last: Option<Millis> = self.conn().query_row(
            "SELECT MAX(created_at) FROM instances WHERE owner = ?1",
            [owner],
            |r| r.get(0),
        )?;
        Ok(last.map_or(0, |last| (last + cooldown_ms - now).max(0)))
    }

    /// The earliest expiry among the live instances that make `refusal` hold.
    pub fn soonest_expiry_for(
        &self,
        refusal: &Refusal,
        rec: &InstanceRecord,
    ) -> Result<Option<Millis>, StoreError> {
        let (clause, arg): (&str, Option<&str>) = match refusal {
            Refusal::PerOwner { .. } => ("owner = ?1", Some(&rec.owner)),
            Refusal::PerChallenge { .. } => ("challenge = ?1", Some(&rec.challenge)),
            Refusal::Global { .. } => ("?1 IS NULL", None),
            Refusal::Cooldown { .. } => return Ok(None),
        };
        Ok(self.conn().query_row(
            &format!("SELECT MIN(expires_at) FROM instances WHERE {clause} AND status IN ('running', 'exited')"),
            [arg],
            |r| r.get(0),
        )?)
    }
}
