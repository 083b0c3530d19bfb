//! The audit log: who did what, from where, with what outcome.

use rusqlite::params;
use serde::Serialize;

use super::{Millis, Store, StoreError, now_millis};

#[derive(Debug, Clone)]
pub struct NewAuditEntry<'a> {
    pub actor: &'a str,
    pub origin: &'a str,
    pub action: &'a str,
    pub instance: Option<&'a str>,
    pub detail: &'a str,
    pub outcome: &'a str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: Millis,
    pub actor: String,
    pub origin: String,
    pub action: String,
    pub instance: Option<String>,
    pub detail: String,
    pub outcome: String,
}

impl Store {
    pub fn append_audit(&self, entry: &NewAuditEntry<'_>) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO audit(at, actor, origin, action, instance, detail, outcome)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                now_millis(),
                entry.actor,
                entry.origin,
                entry.action,
                entry.instance,
                entry.detail,
                entry.outcome
            ],
        )?;
        Ok(())
    }

    /// The most recent `limit` entries about one instance, oldest first.
    pub fn audit_for_instance(
        &self,
        instance: &str,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.audit_query(
            "SELECT seq, at, actor, origin, action, instance, detail, outcome FROM
             (SELECT * FROM audit WHERE instance = ?2 ORDER BY seq DESC LIMIT ?1) ORDER BY seq",
            rusqlite::params![limit as i64, instance],
        )
    }

    /// The most recent `limit` entries, oldest first.
    pub fn audit_tail(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        self.audit_query(
            "SELECT seq, at, actor, origin, action, instance, detail, outcome
             FROM (SELECT * FROM audit ORDER BY seq DESC LIMIT ?1) ORDER BY seq",
            rusqlite::params![limit as i64],
        )
    }

    fn audit_query(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(sql)?;
        let rows = stmt.query_map(params, |r| {
            Ok(AuditEntry {
                seq: r.get(0)?,
                at: r.get(1)?,
                actor: r.get(2)?,
                origin: r.get(3)?,
                action: r.get(4)?,
                instance: r.get(5)?,
                detail: r.get(6)?,
                outcome: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
