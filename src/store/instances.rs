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

fn ports_json(ports: &[PublishedPort]) -> Result<String, StoreError> {
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
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM instances
             WHERE (?1 IS NULL OR challenge = ?1)
               AND (?2 IS NULL OR owner = ?2)
               AND (?3 OR status IN ('starting', 'running', 'stopping', 'exited'))
             ORDER BY created_at, id"
        ))?;
        let rows = stmt.query_map(
            params![filter.challenge, filter.owner, filter.all],
            from_row,
        )?;
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
mod tests {
    use super::*;

    fn sample(id: &str, now: Millis) -> InstanceRecord {
        InstanceRecord {
            id: id.to_string(),
            challenge: "web-robots".into(),
            owner: "team:red".into(),
            status: InstanceStatus::Running,
            container_id: Some("c".into()),
            network_id: Some("n".into()),
            ports: vec![PublishedPort {
                container: 8080,
                host_ip: "0.0.0.0".into(),
                host_port: 32768,
                protocol: "http".into(),
            }],
            flag: Some("flag{x}".into()),
            created_at: now,
            expires_at: now + 60_000,
            stopped_at: None,
            renewals: 0,
            max_renewals: 2,
            max_total_at: now + 150_000,
            stop_reason: None,
            updated_at: now,
        }
    }

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        (dir, store)
    }

    #[test]
    fn round_trips_a_row_and_resolves_prefixes() {
        let (_d, s) = store();
        let now = now_millis();
        s.insert_instance(&sample("abc234", now)).unwrap();
        s.insert_instance(&sample("abd567", now)).unwrap();
        assert_eq!(s.resolve("abc").unwrap(), sample("abc234", now));
        assert!(matches!(s.resolve("ab"), Err(StoreError::Ambiguous { .. })));
        assert!(matches!(s.resolve("zz"), Err(StoreError::NotFound(_))));
        assert!(matches!(s.resolve("a%"), Err(StoreError::NotFound(_))));
    }

    #[test]
    fn an_empty_prefix_matches_nothing_even_with_one_instance() {
        let (_d, s) = store();
        s.insert_instance(&sample("only23", now_millis())).unwrap();
        for empty in ["", "  "] {
            assert!(
                matches!(s.resolve(empty), Err(StoreError::EmptyPrefix)),
                "{empty:?}"
            );
        }
    }

    #[test]
    fn ambiguity_is_decided_on_every_match_not_on_the_first_page() {
        let (_d, s) = store();
        let now = now_millis();
        // Two live matches, twenty finished ones sorting between them.
        s.insert_instance(&sample("ab0000", now)).unwrap();
        for i in 0..20 {
            let id = format!("ab1{i:03}");
            s.insert_instance(&sample(&id, now)).unwrap();
            s.finish(&id, InstanceStatus::Stopped, "test").unwrap();
        }
        s.insert_instance(&sample("ab9999", now)).unwrap();
        let Err(StoreError::Ambiguous { candidates, .. }) = s.resolve("ab") else {
            panic!("two live matches must be ambiguous")
        };
        assert!(
            candidates.starts_with("ab0000 (web-robots, running), ab9999 (web-robots, running)"),
            "{candidates}"
        );
        assert!(candidates.ends_with(" and 2 more"), "{candidates}");
        // One live match among finished ones is what the operator means.
        s.finish("ab9999", InstanceStatus::Stopped, "test").unwrap();
        assert_eq!(s.resolve("ab").unwrap().id, "ab0000");
        assert!(matches!(
            s.resolve("ab10"),
            Err(StoreError::Ambiguous { .. })
        ));
    }

    #[test]
    fn inserting_a_taken_id_says_so() {
        let (_d, s) = store();
        let now = now_millis();
        s.insert_instance(&sample("dup234", now)).unwrap();
        match s.insert_instance(&sample("dup234", now)) {
            Err(StoreError::IdTaken(id)) => assert_eq!(id, "dup234"),
            other => panic!("expected IdTaken, got {other:?}"),
        }
        let limits = crate::store::AdmissionLimits::default();
        match s.admit(&sample("dup234", now), &limits, None) {
            Err(StoreError::IdTaken(id)) => assert_eq!(id, "dup234"),
            other => panic!("expected IdTaken, got {other:?}"),
        }
    }

    #[test]
    fn a_claim_records_its_lease() {
        let (_d, s) = store();
        let now = now_millis();
        let spawner = Lease {
            pid: 4242,
            started: "boot:123".into(),
            host: "deck1".into(),
        };
        let mut rec = sample("lse234", now);
        rec.status = InstanceStatus::Starting;
        let limits = crate::store::AdmissionLimits::default();
        s.admit(&rec, &limits, Some(&spawner)).unwrap();
        assert_eq!(s.lease("lse234").unwrap(), Some(spawner));
        let stopper = Lease {
            pid: 77,
            started: "boot:456".into(),
            host: "deck2".into(),
        };
        assert!(s.claim_stop("lse234", "test", Some(&stopper)).unwrap());
        assert_eq!(s.lease("lse234").unwrap(), Some(stopper));
        // A row written without one (as before leases existed) has none.
        s.insert_instance(&sample("old234", now)).unwrap();
        assert_eq!(s.lease("old234").unwrap(), None);
        assert_eq!(s.lease("nosuch").unwrap(), None);
    }

    #[test]
    fn extend_stops_at_renewals_and_total_cap() {
        let (_d, s) = store();
        let now = now_millis();
        s.insert_instance(&sample("ext234", now)).unwrap();
        let ExtendOutcome::Extended(r) = s.extend("ext234", 60_000, None).unwrap() else {
            panic!("first extend refused")
        };
        assert_eq!(r.renewals, 1);
        assert_eq!(r.expires_at, now + 120_000);
        let ExtendOutcome::Extended(r) = s.extend("ext234", 60_000, None).unwrap() else {
            panic!("second extend refused")
        };
        assert_eq!(r.expires_at, now + 150_000, "capped at max_total_at");
        assert_eq!(
            s.extend("ext234", 60_000, None).unwrap(),
            ExtendOutcome::RenewalsExhausted {
                renewals: 2,
                max: 2
            }
        );
    }

    #[test]
    fn claim_stop_is_won_once() {
        let (_d, s) = store();
        s.insert_instance(&sample("stp234", now_millis())).unwrap();
        assert!(s.claim_stop("stp234", "test", None).unwrap());
        assert!(!s.claim_stop("stp234", "test", None).unwrap());
        s.finish("stp234", InstanceStatus::Stopped, "test").unwrap();
        let r = s.instance("stp234").unwrap().unwrap();
        assert_eq!(r.status, InstanceStatus::Stopped);
        assert!(r.stopped_at.is_some());
    }

    #[test]
    fn an_exit_is_recorded_once_and_the_instance_stays_its_owners_until_stopped() {
        let (_d, s) = store();
        let now = now_millis();
        s.insert_instance(&sample("ext567", now)).unwrap();
        assert!(s.mark_exited("ext567", "exited with code 3").unwrap());
        // A second observer of the same exit changes nothing.
        assert!(!s.mark_exited("ext567", "exited with code 3").unwrap());
        let row = s.instance("ext567").unwrap().unwrap();
        assert_eq!(row.status, InstanceStatus::Exited);
        assert_eq!(row.stop_reason.as_deref(), Some("exited with code 3"));
        assert!(row.stopped_at.is_some());
        // Listed as live, and the reaper takes it when it expires.
        let live = s.list_instances(&InstanceFilter::default()).unwrap();
        assert_eq!(live.len(), 1);
        assert_eq!(s.exited().unwrap().len(), 1);
        assert!(s.expired(now).unwrap().is_empty());
        assert_eq!(s.expired(now + 60_000).unwrap().len(), 1);
        assert_eq!(s.next_expiry().unwrap(), Some(now + 60_000));
        // One restart attempt per reading of the row, whoever asks.
        let seen = s.instance("ext567").unwrap().unwrap().updated_at;
        assert!(s.claim_restart("ext567", seen).unwrap());
        assert!(!s.claim_restart("ext567", seen).unwrap());
        // Restarted: running again, the reason gone.
        assert!(s.mark_restarted("ext567", &[]).unwrap());
        let row = s.instance("ext567").unwrap().unwrap();
        assert_eq!(
            (row.status, row.stop_reason, row.stopped_at),
            (InstanceStatus::Running, None, None)
        );
        // An exited instance can be stopped; a stopped one is never restarted.
        assert!(s.mark_exited("ext567", "exited with code 3").unwrap());
        assert!(s.claim_stop("ext567", "stopped by operator", None).unwrap());
        s.finish("ext567", InstanceStatus::Stopped, "stopped by operator")
            .unwrap();
        assert!(!s.mark_restarted("ext567", &[]).unwrap());
        assert!(!s.mark_exited("ext567", "late event").unwrap());
        assert_eq!(
            s.instance("ext567").unwrap().unwrap().status,
            InstanceStatus::Stopped
        );
    }

    #[test]
    fn a_released_claim_can_be_claimed_again() {
        let (_d, s) = store();
        s.insert_instance(&sample("rel234", now_millis())).unwrap();
        let before = s.instance("rel234").unwrap().unwrap().status;
        assert!(s.claim_stop("rel234", "expired", None).unwrap());
        s.release_stop("rel234", before).unwrap();
        let row = s.instance("rel234").unwrap().unwrap();
        assert_eq!(row.status, before);
        assert_eq!(row.stop_reason, None);
        assert!(s.claim_stop("rel234", "expired", None).unwrap());
        // A final row is never brought back.
        s.finish("rel234", InstanceStatus::Stopped, "expired")
            .unwrap();
        s.release_stop("rel234", before).unwrap();
        let row = s.instance("rel234").unwrap().unwrap();
        assert_eq!(row.status, InstanceStatus::Stopped);
    }

    #[cfg(unix)]
    #[test]
    fn a_store_in_a_set_group_id_folder_is_shared_with_the_group_never_others() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let shared = d.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o2770)).unwrap();
        let path = shared.join("ctfdeck.db");
        let s = Store::open(&path).unwrap();
        s.insert_instance(&sample("grp234", now_millis())).unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o660);
        // SQLite's side files follow the store's mode, so the group can write through WAL too.
        assert_eq!(mode(&shared.join("ctfdeck.db-wal")), 0o660);
        assert_eq!(mode(&shared.join("ctfdeck.db-shm")), 0o660);
    }

    #[cfg(unix)]
    #[test]
    fn new_parent_folders_of_a_store_are_private_and_existing_ones_untouched() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let outer = d.path().join("data");
        let inner = outer.join("ctfdeck");
        Store::open(&inner.join("ctfdeck.db")).unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&outer), 0o700);
        assert_eq!(mode(&inner), 0o700);
        assert_eq!(mode(d.path()), 0o755, "an existing folder keeps its mode");
    }

    #[cfg(unix)]
    #[test]
    fn store_file_is_private_and_in_wal_mode() {
        use std::os::unix::fs::PermissionsExt;
        let (d, s) = store();
        let mode = std::fs::metadata(d.path().join("s.db"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let journal: String = s
            .conn()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(journal, "wal");
        assert_eq!(
            s.schema_version().unwrap(),
            super::super::migrations::LATEST
        );
    }
}
