//! Instance rows: insert before the container exists, complete after, conditional updates for
//! everything several processes may race on (extend, stop).

use rusqlite::{OptionalExtension, Row, params};

use super::{
    InstanceRecord, InstanceStatus, Lease, Millis, PublishedPort, Store, StoreError, now_millis,
};

pub(super) const COLUMNS: &str = "id, challenge, owner, status, container_id, network_id, ports, flag, \
     created_at, expires_at, stopped_at, renewals, max_renewals, max_total_at, stop_reason, updated_at";

/// SQL true for a live row (starting, running or stopping).
const LIVE_SQL: &str = "status IN ('starting', 'running', 'stopping')";
/// How many candidates an "ambiguous prefix" error names.
const SHOWN_CANDIDATES: usize = 20;

/// What an extend attempt did. The refusals are decided by SQLite in the same statement that
/// would have written, so concurrent extenders can never overshoot a limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtendOutcome {
    Extended(Box<InstanceRecord>),
    NotLive(InstanceStatus),
    RenewalsExhausted {
        renewals: u32,
        max: u32,
    },
    AtMaxTotal {
        max_total_at: Millis,
    },
    /// Too early: renewals open when at most the window remains, i.e. from `opens_at`.
    OutsideWindow {
        opens_at: Millis,
    },
}

pub(super) fn from_row(r: &Row<'_>) -> rusqlite::Result<InstanceRecord> {
    let status: String = r.get(3)?;
    let ports: String = r.get(6)?;
    Ok(InstanceRecord {
        id: r.get(0)?,
        challenge: r.get(1)?,
        owner: r.get(2)?,
        status: InstanceStatus::parse(&status).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                3,
                rusqlite::types::Type::Text,
                format!("unknown status {status:?}").into(),
            )
        })?,
        container_id: r.get(4)?,
        network_id: r.get(5)?,
        ports: serde_json::from_str(&ports).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(6, rusqlite::types::Type::Text, e.into())
        })?,
        flag: r.get(7)?,
        created_at: r.get(8)?,
        expires_at: r.get(9)?,
        stopped_at: r.get(10)?,
        renewals: r.get(11)?,
        max_renewals: r.get(12)?,
        max_total_at: r.get(13)?,
        stop_reason: r.get(14)?,
        updated_at: r.get(15)?,
    })
}

/// Insert a row on `conn` (a connection or a transaction). A row with the same id already
/// there is [`StoreError::IdTaken`], which callers can match on (and retry with a fresh id).
pub(super) fn insert_row(
    conn: &rusqlite::Connection,
    rec: &InstanceRecord,
) -> Result<(), StoreError> {
    let inserted = conn.execute(
        &format!(
            "INSERT INTO instances ({COLUMNS}) VALUES \
             (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
        ),
        params![
            rec.id,
            rec.challenge,
            rec.owner,
            rec.status.as_str(),
            rec.container_id,
            rec.network_id,
            ports_json(&rec.ports)?,
            rec.flag,
            rec.created_at,
            rec.expires_at,
            rec.stopped_at,
            rec.renewals,
            rec.max_renewals,
            rec.max_total_at,
            rec.stop_reason,
            rec.updated_at,
        ],
    );
    match inserted {
        Ok(_) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
        {
            Err(StoreError::IdTaken(rec.id.clone()))
        }
        Err(e) => Err(e.into()),
    }
}

pub(super) fn ports_json(ports: &[PublishedPort]) -> Result<String, StoreError> {
    serde_json::to_string(ports).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Filters for listing instances; empty means "any".
#[derive(Debug, Clone, Default)]
pub struct InstanceFilter<'a> {
    pub challenge: Option<&'a str>,
    pub owner: Option<&'a str>,
    /// Only live rows (starting/running/stopping/exited) unless `all`.
    pub all: bool,
}

impl Store {
    /// Insert a new row. Fails with [`StoreError::IdTaken`] if the id is taken (the caller
    /// retries with a fresh id).
    pub fn insert_instance(&self, rec: &InstanceRecord) -> Result<(), StoreError> {
        insert_row(&self.conn(), rec)
    }

    pub fn instance(&self, id: &str) -> Result<Option<InstanceRecord>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM instances WHERE id = ?1"),
                [id],
                from_row,
            )
            .optional()?)
    }

    /// Find one instance by its id or a unique prefix of it. Live instances win over finished
    /// ones sharing the prefix, because that is what an operator typing an id means. An empty
    /// prefix is refused: it would match every instance, and `stop ""` must never stop one.
    pub fn resolve(&self, prefix: &str) -> Result<InstanceRecord, StoreError> {
        if prefix.trim().is_empty() {
            return Err(StoreError::EmptyPrefix);
        }
        if let Some(rec) = self.instance(prefix)? {
            return Ok(rec);
        }
        let escaped = prefix
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        const MATCHES: &str = "id LIKE ?1 || '%' ESCAPE '\\'";
        let conn = self.conn();
        // Decide on every match, never on a page of them: a limit could hide the second live
        // instance and turn an ambiguous prefix into a silent pick.
        let (total, live): (u32, u32) = conn.query_row(
            &format!(
                "SELECT COUNT(*), COALESCE(SUM({LIVE_SQL}), 0) FROM instances WHERE {MATCHES}"
            ),
            [&escaped],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let pick = |only_live: bool| {
            conn.query_row(
                &format!(
                    "SELECT {COLUMNS} FROM instances WHERE {MATCHES} AND (NOT ?2 OR {LIVE_SQL})"
                ),
                params![escaped, only_live],
                from_row,
            )
        };
        match (total, live) {
            (0, _) => Err(StoreError::NotFound(prefix.to_string())),
            (1, _) => Ok(pick(false)?),
            (_, 1) => Ok(pick(true)?),
            _ => {
                let mut stmt = conn.prepare(&format!(
                    "SELECT {COLUMNS} FROM instances WHERE {MATCHES}
                     ORDER BY {LIVE_SQL} DESC, id LIMIT {SHOWN_CANDIDATES}"
                ))?;
                let shown: Vec<InstanceRecord> = stmt
                    .query_map([&escaped], from_row)?
                    .collect::<Result<_, _>>()?;
                let mut candidates = shown
                    .iter()
                    .map(|r| format!("{} ({}, {})", r.id, r.challenge, r.status))
                    .collect::<Vec<_>>()
                    .join(", ");
                if let Some(more) = total.checked_sub(shown.len() as u32).filter(|n| *n > 0) {
                    candidates.push_str(&format!(" and {more} more"));
                }
                Err(StoreError::Ambiguous {
                    prefix: prefix.to_string(),
                    candidates,
                })
            }
        }
    }

    pub fn list_instances(
        &self,
        filter: &InstanceFilter<'_>,
    ) -> Result<Vec<InstanceRecord>, StoreError> {
        // Only the conditions that apply are in the statement, so that SQLite can use the
        // owner index (`?1 IS NULL OR owner = ?1` would scan every row ever recorded, and the
        // API lists one owner's instances on every request).
        let mut conditions = Vec::new();
        let mut values: Vec<&str> = Vec::new();
        for (column, value) in [("challenge", filter.challenge), ("owner", filter.owner)] {
            if let Some(value) = value {
                values.push(value);
                conditions.push(format!("{column} = ?{}", values.len()));
            }
        }
        if !filter.all {
            conditions.push("status IN ('starting', 'running', 'stopping', 'exited')".into());
        }
        let condition = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM instances {condition} ORDER BY created_at, id"
        ))?;
        let rows = stmt.query_map(rusqlite::params_from_iter(values), from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Running or exited rows whose expiry has passed at `now`: what the reaper takes.
    pub fn expired(&self, now: Millis) -> Result<Vec<InstanceRecord>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM instances
             WHERE status IN ('running', 'exited') AND expires_at <= ?1 ORDER BY expires_at"
        ))?;
        let rows = stmt.query_map([now], from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The earliest expiry among running (or exited) instances, for sleeping until the next
    /// reap.
    pub fn next_expiry(&self) -> Result<Option<Millis>, StoreError> {
        Ok(self.conn().query_row(
            "SELECT MIN(expires_at) FROM instances WHERE status IN ('running', 'exited')",
            [],
            |r| r.get(0),
        )?)
    }

    /// Complete a spawn: the container runs, record where.
    pub fn mark_running(
        &self,
        id: &str,
        container_id: &str,
        network_id: &str,
        ports: &[PublishedPort],
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE instances SET status = 'running', container_id = ?2, network_id = ?3,
                 ports = ?4, updated_at = ?5 WHERE id = ?1",
            params![
                id,
                container_id,
                network_id,
                ports_json(ports)?,
                now_millis()
            ],
        )?;
        Ok(())
    }

    /// Record the engine objects as soon as they exist, so a crash between create and start
    /// still leaves enough to clean up.
    pub fn record_engine_ids(
        &self,
        id: &str,
        container_id: Option<&str>,
        network_id: Option<&str>,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE instances SET container_id = COALESCE(?2, container_id),
                 network_id = COALESCE(?3, network_id), updated_at = ?4 WHERE id = ?1",
            params![id, container_id, network_id, now_millis()],
        )?;
        Ok(())
    }

    /// Atomically claim a live instance for teardown. Returns false when another process
    /// already claimed or finished it, so two stoppers never both act. `lease` names the
    /// process that will finish the stop.
    pub fn claim_stop(
        &self,
        id: &str,
        reason: &str,
        lease: Option<&Lease>,
    ) -> Result<bool, StoreError> {
        let changed = self.conn().execute(
            "UPDATE instances SET status = 'stopping', stop_reason = ?2, updated_at = ?3,
                 lease_pid = ?4, lease_started = ?5, lease_host = ?6
             WHERE id = ?1 AND status IN ('starting', 'running', 'exited')",
            params![
                id,
                reason,
                now_millis(),
                lease.map(|l| l.pid),
                lease.map(|l| l.started.as_str()),
                lease.map(|l| l.host.as_str())
            ],
        )?;
        Ok(changed == 1)
    }

    /// Give a claimed stop back (the engine could not be reached): the row is `status` again,
    /// so the next attempt, by anyone, claims it anew.
    pub fn release_stop(&self, id: &str, status: InstanceStatus) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE instances SET status = ?2, stop_reason = NULL, updated_at = ?3
             WHERE id = ?1 AND status = 'stopping'",
            params![id, status.as_str(), now_millis()],
        )?;
        Ok(())
    }

    /// Move a row to a final state (stopped / failed / lost).
    pub fn finish(&self, id: &str, status: InstanceStatus, reason: &str) -> Result<(), StoreError> {
        let now = now_millis();
        self.conn().execute(
            "UPDATE instances SET status = ?2, stop_reason = COALESCE(?3, stop_reason),
                 stopped_at = ?4, updated_at = ?4 WHERE id = ?1",
            params![id, status.as_str(), Some(reason), now],
        )?;
        Ok(())
    }

    /// Push expiry by `by_ms`, capped at the row's `max_total_at`, only if renewals remain and
    /// the cap is not yet reached. One statement: atomic against concurrent extenders.
    ///
    /// With a renewal `window`, extending is only allowed once at most that much time remains.
    pub fn extend(
        &self,
        id: &str,
        by_ms: Millis,
        window_ms: Option<Millis>,
    ) -> Result<ExtendOutcome, StoreError> {
        let now = now_millis();
        let changed = self.conn().execute(
            "UPDATE instances
             SET expires_at = MIN(MAX(expires_at, ?3) + ?2, max_total_at),
                 renewals = renewals + 1, updated_at = ?3
             WHERE id = ?1 AND status = 'running'
               AND renewals < max_renewals AND expires_at < max_total_at
               AND (?4 IS NULL OR expires_at - ?3 <= ?4)",
            params![id, by_ms, now, window_ms],
        )?;
        let rec = self
            .instance(id)?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        if changed == 1 {
            return Ok(ExtendOutcome::Extended(Box::new(rec)));
        }
        Ok(if rec.status != InstanceStatus::Running {
            ExtendOutcome::NotLive(rec.status)
        } else if rec.renewals >= rec.max_renewals {
            ExtendOutcome::RenewalsExhausted {
                renewals: rec.renewals,
                max: rec.max_renewals,
            }
        } else if rec.expires_at >= rec.max_total_at {
            ExtendOutcome::AtMaxTotal {
                max_total_at: rec.max_total_at,
            }
        } else {
            ExtendOutcome::OutsideWindow {
                opens_at: rec.expires_at - window_ms.unwrap_or(0),
            }
        })
    }

    /// Test and repair helper: move a row's clock (e.g. to make it expired or old).
    pub fn set_times(
        &self,
        id: &str,
        created_at: Millis,
        expires_at: Millis,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE instances SET created_at = ?2, expires_at = ?3, updated_at = ?4 WHERE id = ?1",
            params![id, created_at, expires_at, now_millis()],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
