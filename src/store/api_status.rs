//! The heartbeat row of the running `serve`: where its API listens and how busy it was over
//! the last minute. Written by `serve` every few seconds, read by consoles in any process.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{Millis, Store, StoreError};

/// The API's last report of itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiStatusRecord {
    pub listen: String,
    pub pid: u32,
    pub started_at: Millis,
    /// When `serve` last wrote this row (its heartbeat).
    pub updated_at: Millis,
    /// How often `serve` writes it: readers call the API down after a few missed beats.
    pub interval_ms: Millis,
    pub requests_per_min: u64,
    /// Requests answered with a 5xx status in the last minute.
    pub errors_per_min: u64,
    pub queue_length: u64,
    /// Set when `serve` stopped cleanly.
    pub stopped_at: Option<Millis>,
}

const COLUMNS: &str = "listen, pid, started_at, updated_at, interval_ms, requests_per_min, \
                       errors_per_min, queue_length, stopped_at";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ApiStatusRecord> {
    // SQLite integers are signed; counts and pids are never negative, but a hand-edited row
    // must not wrap around.
    let count = |i| r.get::<_, i64>(i).map(|v| u64::try_from(v).unwrap_or(0));
    Ok(ApiStatusRecord {
        listen: r.get(0)?,
        pid: u32::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
        started_at: r.get(2)?,
        updated_at: r.get(3)?,
        interval_ms: r.get(4)?,
        requests_per_min: count(5)?,
        errors_per_min: count(6)?,
        queue_length: count(7)?,
        stopped_at: r.get(8)?,
    })
}

fn signed(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Store {
    /// Write the API's heartbeat, replacing the previous one.
    pub fn put_api_status(&self, s: &ApiStatusRecord) -> Result<(), StoreError> {
        self.conn().execute(
            &format!(
                "INSERT INTO api_status(id, {COLUMNS}) VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT(id) DO UPDATE SET listen = excluded.listen, pid = excluded.pid,
                   started_at = excluded.started_at, updated_at = excluded.updated_at,
                   interval_ms = excluded.interval_ms,
                   requests_per_min = excluded.requests_per_min,
                   errors_per_min = excluded.errors_per_min,
                   queue_length = excluded.queue_length, stopped_at = excluded.stopped_at"
            ),
            params![
                s.listen,
                i64::from(s.pid),
                s.started_at,
                s.updated_at,
                s.interval_ms,
                signed(s.requests_per_min),
                signed(s.errors_per_min),
                signed(s.queue_length),
                s.stopped_at
            ],
        )?;
        Ok(())
    }

    /// Mark the API stopped at `at`, if the row is still the one `pid` started at
    /// `started_at` (a newer `serve` may have taken over since); true when it was.
    pub fn stop_api_status(
        &self,
        pid: u32,
        started_at: Millis,
        at: Millis,
    ) -> Result<bool, StoreError> {
        let changed = self.conn().execute(
            "UPDATE api_status SET stopped_at = ?3, updated_at = ?3
             WHERE id = 1 AND pid = ?1 AND started_at = ?2",
            params![i64::from(pid), started_at, at],
        )?;
        Ok(changed == 1)
    }

    /// The last heartbeat, if a `serve` ever ran on this store.
    pub fn api_status(&self) -> Result<Option<ApiStatusRecord>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM api_status WHERE id = 1"),
                [],
                from_row,
            )
            .optional()?)
    }
}
