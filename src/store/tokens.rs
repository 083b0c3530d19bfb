//! API tokens: a name, a role and the SHA-256 hash of the secret (never the secret itself).

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{Millis, Store, StoreError, now_millis};

/// A token as stored: no secret, only its hash (which `list` never shows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenRecord {
    pub name: String,
    pub role: String,
    #[serde(skip)]
    pub hash: String,
    pub created_at: Millis,
    pub revoked_at: Option<Millis>,
}

/// What `insert_token` writes.
#[derive(Debug, Clone, Copy)]
pub struct NewToken<'a> {
    pub name: &'a str,
    pub role: &'a str,
    pub hash: &'a str,
}

const COLUMNS: &str = "name, role, hash, created_at, revoked_at";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRecord> {
    Ok(TokenRecord {
        name: r.get(0)?,
        role: r.get(1)?,
        hash: r.get(2)?,
        created_at: r.get(3)?,
        revoked_at: r.get(4)?,
    })
}

impl Store {
    /// Add a token; false when the name is taken (revoked names stay taken, so the audit's
    /// `api:NAME` always means one token).
    pub fn insert_token(&self, token: &NewToken<'_>) -> Result<bool, StoreError> {
        let added = self.conn().execute(
            "INSERT INTO api_tokens(name, role, hash, created_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(name) DO NOTHING",
            params![token.name, token.role, token.hash, now_millis()],
        )?;
        Ok(added == 1)
    }

    pub fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM api_tokens ORDER BY name"))?;
        let rows = stmt.query_map([], from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn token(&self, name: &str) -> Result<Option<TokenRecord>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM api_tokens WHERE name = ?1"),
                [name],
                from_row,
            )
            .optional()?)
    }

    /// Mark a token revoked; false when no live token has that name.
    pub fn revoke_token(&self, name: &str) -> Result<bool, StoreError> {
        let changed = self.conn().execute(
            "UPDATE api_tokens SET revoked_at = ?2 WHERE name = ?1 AND revoked_at IS NULL",
            params![name, now_millis()],
        )?;
        Ok(changed == 1)
    }
}
