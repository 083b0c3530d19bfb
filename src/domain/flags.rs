//! Per-instance flags: `<hex:N>` placeholders in the template are filled from
//! HMAC-SHA256(secret, instance id), so a flag is unique per instance and reproducible from the
//! store's secret, yet not guessable from the id.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::catalog::{TemplatePart, parse_flag_template};
use crate::store::{Store, StoreError};

use super::DomainError;

type HmacSha256 = Hmac<Sha256>;

/// Render `template` for `instance_id`. Each placeholder draws fresh bytes (counter-mode HMAC).
/// The template syntax is the catalog's (`parse_flag_template`); a template it rejects —
/// which the catalog never loads — is returned unchanged rather than half-filled.
pub fn render(template: &str, secret: &[u8], instance_id: &str) -> String {
    let Ok(parts) = parse_flag_template(template) else {
        return template.to_string();
    };
    let mut out = String::with_capacity(template.len() + 32);
    let mut counter = 0u32;
    for part in parts {
        match part {
            TemplatePart::Literal(text) => out.push_str(text),
            TemplatePart::Hex(len) => {
                let mut hex = String::new();
                while hex.len() < len {
                    hex.push_str(&hex::encode(block(secret, instance_id, counter)));
                    counter += 1;
                }
                out.push_str(&hex[..len]);
            }
        }
    }
    out
}

fn block(secret: &[u8], instance_id: &str, counter: u32) -> [u8; 32] {
    // HMAC accepts keys of any length; new_from_slice cannot fail for it.
    let mut mac = match HmacSha256::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return [0; 32],
    };
    mac.update(instance_id.as_bytes());
    mac.update(&counter.to_be_bytes());
    mac.finalize().into_bytes().into()
}

/// Settings key of the flag HMAC secret.
pub const SECRET_KEY: &str = "flag_secret";
/// Random bytes in a new secret (kept hex-encoded: 64 digits).
const SECRET_BYTES: usize = 32;
/// The fewest hex digits a sound secret has (128 bits).
const MIN_SECRET_DIGITS: usize = 32;

/// What `doctor` finds of the store's flag secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretState {
    /// None yet: the first instance command creates it.
    Absent,
    Sound,
    /// Flags made from it can be forged; says why.
    Weak(String),
}

/// The store's flag secret, created on first use. The random source failing is an error and
/// nothing is stored: a predictable secret, kept for good, would make every flag forgeable.
pub fn store_secret(store: &Store) -> Result<String, DomainError> {
    store_secret_with(store, getrandom::fill)
}

fn store_secret_with(
    store: &Store,
    fill: impl FnOnce(&mut [u8]) -> Result<(), getrandom::Error>,
) -> Result<String, DomainError> {
    if let Some(secret) = store.setting(SECRET_KEY)? {
        return Ok(secret);
    }
    let mut bytes = [0u8; SECRET_BYTES];
    fill(&mut bytes).map_err(|e| DomainError::NoRandomness {
        reason: e.to_string(),
    })?;
    let fresh = hex::encode(bytes);
    // Another process may have created it meanwhile: everyone keeps the first one written.
    Ok(store.setting_or_init(SECRET_KEY, || fresh)?)
}

/// Whether the store's secret is there and sound (long enough, not all zero).
pub fn stored_secret_state(store: &Store) -> Result<SecretState, StoreError> {
    Ok(match store.setting(SECRET_KEY)? {
        None => SecretState::Absent,
        Some(secret) => secret_weakness(&secret).map_or(SecretState::Sound, SecretState::Weak),
    })
}

fn secret_weakness(secret: &str) -> Option<String> {
    if !secret.is_empty() && secret.bytes().all(|b| b == b'0') {
        Some("all zero".to_string())
    } else if secret.len() < MIN_SECRET_DIGITS {
        Some(format!(
            "only {} characters long (at least {MIN_SECRET_DIGITS} expected)",
            secret.len()
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_reproducible_and_distinct_per_instance() {
        let a = render("flag{<hex:16>}", b"s3cret", "abc234");
        assert_eq!(a, render("flag{<hex:16>}", b"s3cret", "abc234"));
        assert_ne!(a, render("flag{<hex:16>}", b"s3cret", "abc235"));
        assert_ne!(a, render("flag{<hex:16>}", b"other", "abc234"));
        assert_eq!(a.len(), "flag{}".len() + 16);
        assert!(a[5..21].bytes().all(|b| b.is_ascii_hexdigit()));
    }

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        (dir, store)
    }

    #[test]
    fn a_failing_random_source_stores_no_secret() {
        let (_d, s) = store();
        let err = store_secret_with(&s, |_| Err(getrandom::Error::UNSUPPORTED)).unwrap_err();
        assert!(matches!(err, DomainError::NoRandomness { .. }), "{err:?}");
        assert_eq!(s.setting(SECRET_KEY).unwrap(), None, "nothing stored");
        assert_eq!(stored_secret_state(&s).unwrap(), SecretState::Absent);
        // The next start, with randomness back, makes a sound one and keeps it.
        let made = store_secret(&s).unwrap();
        assert_eq!(made.len(), 64);
        assert_eq!(stored_secret_state(&s).unwrap(), SecretState::Sound);
        let again = store_secret_with(&s, |_| Err(getrandom::Error::UNSUPPORTED)).unwrap();
        assert_eq!(again, made, "an existing secret needs no randomness");
    }

    #[test]
    fn zero_and_short_secrets_are_weak() {
        assert_eq!(
            secret_weakness(&"0".repeat(64)).as_deref(),
            Some("all zero")
        );
        assert!(
            secret_weakness("abc123")
                .unwrap()
                .contains("only 6 characters")
        );
        assert!(secret_weakness("").is_some());
        assert_eq!(secret_weakness(&"5a".repeat(16)), None);
    }

    #[test]
    fn long_and_multiple_placeholders_are_filled() {
        let f = render("CTF{<hex:64>_<hex:8>}", b"k", "i");
        assert_eq!(f.len(), 4 + 64 + 1 + 8 + 1);
        assert_eq!(render("no placeholder", b"k", "i"), "no placeholder");
        assert_eq!(
            render("bad <hex:0> <hex:x>", b"k", "i"),
            "bad <hex:0> <hex:x>"
        );
    }
}
