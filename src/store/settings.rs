//! Small key/value settings kept in the store (the store's identity, the flag secret).

use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError};

impl Store {
    pub fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn()
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Return the setting, creating it with `make()` if absent. Race-free across processes:
    /// the first writer wins and everyone reads its value.
    pub fn setting_or_init(
        &self,
        key: &str,
        make: impl FnOnce() -> String,
    ) -> Result<String, StoreError> {
        if let Some(v) = self.setting(key)? {
            return Ok(v);
        }
        let conn = self.conn();
        conn.execute(
            "INSERT INTO settings(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO NOTHING",
            params![key, make()],
        )?;
        Ok(
            conn.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })?,
        )
    }
}
