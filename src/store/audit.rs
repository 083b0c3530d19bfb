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

/// Which audit entries to read; an unset condition matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    pub instance: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    /// Entries at or after this moment.
    pub since: Option<Millis>,
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
        let filter = AuditFilter {
            instance: Some(instance.to_string()),
            ..Default::default()
        };
        self.audit_matching(&filter, limit)
    }

    /// The most recent `limit` entries, oldest first.
    pub fn audit_tail(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        self.audit_matching(&AuditFilter::default(), limit)
    }

    /// The most recent `limit` entries that match every condition `filter` sets, oldest first.
    pub fn audit_matching(
        &self,
        filter: &AuditFilter,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.audit_query(
            "SELECT seq, at, actor, origin, action, instance, detail, outcome FROM
             (SELECT * FROM audit
              WHERE (?2 IS NULL OR instance = ?2) AND (?3 IS NULL OR actor = ?3)
                AND (?4 IS NULL OR action = ?4) AND (?5 IS NULL OR at >= ?5)
              ORDER BY seq DESC LIMIT ?1)
             ORDER BY seq",
            rusqlite::params![
                limit as i64,
                filter.instance,
                filter.actor,
                filter.action,
                filter.since
            ],
        )
    }

    /// How many entries the log holds by action and outcome word (`ok`, `refused`, `failed`,
    /// …: the outcome up to its first colon), for metrics over every process's actions.
    pub fn audit_counts(&self) -> Result<Vec<(String, String, i64)>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT action,
                    CASE WHEN instr(outcome, ':') > 0
                         THEN substr(outcome, 1, instr(outcome, ':') - 1) ELSE outcome END AS word,
                    COUNT(*)
             FROM audit GROUP BY action, word ORDER BY action, word",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn entry<'a>(actor: &'a str, action: &'a str, instance: Option<&'a str>) -> NewAuditEntry<'a> {
        NewAuditEntry {
            actor,
            origin: "local",
            action,
            instance,
            detail: "",
            outcome: "ok",
        }
    }

    #[test]
    fn every_condition_of_a_filter_must_hold() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("a.db")).unwrap();
        s.append_audit(&entry("alice", "spawn", Some("aaa234")))
            .unwrap();
        s.append_audit(&entry("bob", "stop", Some("aaa234")))
            .unwrap();
        s.append_audit(&entry("bob", "purge", None)).unwrap();
        let actions = |f: AuditFilter| -> Vec<String> {
            s.audit_matching(&f, 10)
                .unwrap()
                .into_iter()
                .map(|e| e.action)
                .collect()
        };
        assert_eq!(actions(AuditFilter::default()), ["spawn", "stop", "purge"]);
        let bob = AuditFilter {
            actor: Some("bob".into()),
            ..Default::default()
        };
        assert_eq!(actions(bob.clone()), ["stop", "purge"]);
        let bob_on_aaa = AuditFilter {
            instance: Some("aaa234".into()),
            ..bob
        };
        assert_eq!(actions(bob_on_aaa), ["stop"]);
        let future = AuditFilter {
            since: Some(now_millis() + 60_000),
            ..Default::default()
        };
        assert!(actions(future).is_empty());
        let purges = AuditFilter {
            action: Some("purge".into()),
            since: Some(0),
            ..Default::default()
        };
        assert_eq!(actions(purges), ["purge"]);
        // The limit keeps the most recent, still oldest first.
        let last_two: Vec<String> = s
            .audit_tail(2)
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(last_two, ["stop", "purge"]);
    }
}
