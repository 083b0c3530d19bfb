//! Versioned schema migrations, tracked in `PRAGMA user_version`. Append only: a released
//! migration is never edited, a new one is added after it.

use rusqlite::Connection;

/// Each entry moves the schema from version `index` to `index + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: instances, audit, settings.
    "CREATE TABLE instances (
        id            TEXT PRIMARY KEY,
        challenge     TEXT NOT NULL,
        owner         TEXT NOT NULL,
        status        TEXT NOT NULL,
        container_id  TEXT,
        network_id    TEXT,
        ports         TEXT NOT NULL DEFAULT '[]',
        flag          TEXT,
        created_at    INTEGER NOT NULL,
        expires_at    INTEGER NOT NULL,
        stopped_at    INTEGER,
        renewals      INTEGER NOT NULL DEFAULT 0,
        max_renewals  INTEGER NOT NULL,
        max_total_at  INTEGER NOT NULL,
        stop_reason   TEXT,
        updated_at    INTEGER NOT NULL
    );
    CREATE INDEX instances_by_status ON instances(status, expires_at);
    CREATE INDEX instances_by_owner ON instances(owner, challenge);
    CREATE TABLE audit (
        seq       INTEGER PRIMARY KEY AUTOINCREMENT,
        at        INTEGER NOT NULL,
        actor     TEXT NOT NULL,
        origin    TEXT NOT NULL,
        action    TEXT NOT NULL,
        instance  TEXT,
        detail    TEXT NOT NULL DEFAULT '',
        outcome   TEXT NOT NULL
    );
    CREATE INDEX audit_by_instance ON audit(instance);
    CREATE TABLE settings (
        key    TEXT PRIMARY KEY,
        value  TEXT NOT NULL
    );",
    // 2: find an instance by its flag ("whose flag is this?") and audit by time.
    "CREATE INDEX instances_by_flag ON instances(flag);
    CREATE INDEX audit_by_time ON audit(at);",
    // 3: the lease of the process that claimed an in-flight row (starting or stopping), so a
    // crashed claimant is recognised at once instead of after a grace period.
    "ALTER TABLE instances ADD COLUMN lease_pid INTEGER;
    ALTER TABLE instances ADD COLUMN lease_started TEXT;
    ALTER TABLE instances ADD COLUMN lease_host TEXT;",
    // 4: API tokens. Only a SHA-256 hash of each token is kept; a revoked token stays listed.
    "CREATE TABLE api_tokens (
        name        TEXT PRIMARY KEY,
        role        TEXT NOT NULL,
        hash        TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        revoked_at  INTEGER
    );",
    // 5: the heartbeat of the running `serve`, so consoles in other processes can show
    // whether the API listens and how busy it is. One row: one API per store.
    "CREATE TABLE api_status (
        id                 INTEGER PRIMARY KEY CHECK (id = 1),
        listen             TEXT NOT NULL,
        pid                INTEGER NOT NULL,
        started_at         INTEGER NOT NULL,
        updated_at         INTEGER NOT NULL,
        interval_ms        INTEGER NOT NULL,
        requests_per_min   INTEGER NOT NULL,
        errors_per_min     INTEGER NOT NULL,
        queue_length       INTEGER NOT NULL,
        stopped_at         INTEGER
    );",
];

pub const LATEST: i64 = MIGRATIONS.len() as i64;

/// Bring the schema up to date inside one immediate transaction, so two processes opening a
/// fresh store at once cannot both migrate.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<i64> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let current: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current.max(0) as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
    }
    tx.commit()?;
    Ok(current)
}
