//! API tokens: who may call `ctfdeck serve`, and as what. A token is shown once when it is
//! made; the store keeps only its SHA-256 hash, and a presented token is checked against
//! every live hash in constant time, so neither the store nor the timing gives one away.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::store::{NewToken, Store, TokenRecord};

use super::{Actor, DomainError, Role};

/// Random bytes in a token (hex-encoded after the `ctfd_` prefix).
const TOKEN_BYTES: usize = 32;

/// The prefix that lets secret scanners and people recognise a ctfdeck token.
pub const TOKEN_PREFIX: &str = "ctfd_";

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRole {
    /// A scoreboard: instances and flag checks on behalf of its owners, and metrics.
    Scoreboard,
    /// A metrics scraper: `/metrics` only.
    Metrics,
}

impl TokenRole {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenRole::Scoreboard => "scoreboard",
            TokenRole::Metrics => "metrics",
        }
    }
}

impl fmt::Display for TokenRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TokenRole {
    type Err = TokenError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "scoreboard" => Ok(TokenRole::Scoreboard),
            "metrics" => Ok(TokenRole::Metrics),
            other => Err(TokenError::BadRole(other.to_string())),
        }
    }
}

/// A token that authenticated: its name (for the audit) and role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub name: String,
    pub role: TokenRole,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("invalid token name {0:?}: 1-64 of letters, digits, . _ -")]
    BadName(String),
    #[error("unknown token role {0:?}: expected scoreboard or metrics")]
    BadRole(String),
    #[error("a token named {0:?} exists already (revoked names stay taken); choose another name")]
    Exists(String),
    #[error("no live token named {0:?}")]
    NoSuchToken(String),
    #[error("cannot make a token: the system's random source failed ({0}); nothing was stored")]
    NoRandomness(String),
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn audit(store: &Store, actor: &Actor, action: &str, detail: &str, outcome: &str) {
    let entry = crate::store::NewAuditEntry {
        actor: &actor.name,
        origin: &actor.origin,
        action,
        instance: None,
        detail,
        outcome,
    };
    if let Err(e) = store.append_audit(&entry) {
        tracing::warn!("audit write failed: {e}");
    }
}

fn require_admin(actor: &Actor, action: &str) -> Result<(), DomainError> {
    match actor.role {
        Role::Admin => Ok(()),
        Role::Monitor => Err(DomainError::NotAllowed {
            action: action.to_string(),
            actor: actor.name.clone(),
        }),
    }
}

/// Make a token: returns the secret, which exists nowhere else afterwards.
pub fn add_token(
    store: &Store,
    actor: &Actor,
    name: &str,
    role: TokenRole,
) -> Result<String, DomainError> {
    add_token_with(store, actor, name, role, getrandom::fill)
}

fn add_token_with(
    store: &Store,
    actor: &Actor,
    name: &str,
    role: TokenRole,
    fill: impl FnOnce(&mut [u8]) -> Result<(), getrandom::Error>,
) -> Result<String, DomainError> {
    require_admin(actor, "token add")?;
    if !valid_name(name) {
        return Err(TokenError::BadName(name.to_string()).into());
    }
    let mut bytes = [0u8; TOKEN_BYTES];
    fill(&mut bytes).map_err(|e| TokenError::NoRandomness(e.to_string()))?;
    let secret = format!("{TOKEN_PREFIX}{}", hex::encode(bytes));
    let hashed = hash(&secret);
    let added = store.insert_token(&NewToken {
        name,
        role: role.as_str(),
        hash: &hashed,
    })?;
    if !added {
        return Err(TokenError::Exists(name.to_string()).into());
    }
    audit(store, actor, "token-add", &format!("{name} ({role})"), "ok");
    Ok(secret)
}

/// Every token, revoked ones included (no hashes leave the store through the CLI).
pub fn list_tokens(store: &Store) -> Result<Vec<TokenRecord>, DomainError> {
    Ok(store.tokens()?)
}

pub fn revoke_token(store: &Store, actor: &Actor, name: &str) -> Result<(), DomainError> {
    require_admin(actor, "token revoke")?;
    if !store.revoke_token(name)? {
        return Err(TokenError::NoSuchToken(name.to_string()).into());
    }
    audit(store, actor, "token-revoke", name, "ok");
    Ok(())
}

/// The live token `presented` is, if any. Every live hash is compared, in constant time, so
/// how long this takes says nothing about which (or how much of one) matched.
pub fn authenticate(store: &Store, presented: &str) -> Result<Option<ApiToken>, DomainError> {
    let presented = hash(presented);
    let mut found = None;
    for token in store.tokens()? {
        let same: bool = token.hash.as_bytes().ct_eq(presented.as_bytes()).into();
        if same && token.revoked_at.is_none() && found.is_none() {
            found = Some(token);
        }
    }
    let Some(token) = found else {
        return Ok(None);
    };
    let role = token
        .role
        .parse()
        .map_err(|e: TokenError| crate::store::StoreError::Corrupt(e.to_string()))?;
    Ok(Some(ApiToken {
        name: token.name,
        role,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        (dir, store)
    }

    fn admin() -> Actor {
        Actor::admin("alice")
    }

    #[test]
    fn a_token_authenticates_until_revoked_and_only_its_hash_is_stored() {
        let (_dir, store) = store();
        let secret = add_token(&store, &admin(), "board", TokenRole::Scoreboard).unwrap();
        assert!(secret.starts_with(TOKEN_PREFIX));
        assert_eq!(secret.len(), TOKEN_PREFIX.len() + 2 * TOKEN_BYTES);
        let stored = store.token("board").unwrap().unwrap();
        assert_ne!(stored.hash, secret);
        assert!(!stored.hash.contains(&secret[TOKEN_PREFIX.len()..]));
        assert_eq!(stored.hash, hash(&secret));
        assert_eq!(
            authenticate(&store, &secret).unwrap(),
            Some(ApiToken {
                name: "board".into(),
                role: TokenRole::Scoreboard
            })
        );
        assert_eq!(authenticate(&store, "ctfd_nope").unwrap(), None);
        assert_eq!(authenticate(&store, "").unwrap(), None);
        revoke_token(&store, &admin(), "board").unwrap();
        assert_eq!(authenticate(&store, &secret).unwrap(), None);
        assert!(matches!(
            revoke_token(&store, &admin(), "board"),
            Err(DomainError::Token(TokenError::NoSuchToken(_)))
        ));
    }

    #[test]
    fn two_tokens_are_different_and_names_are_unique_and_checked() {
        let (_dir, store) = store();
        let a = add_token(&store, &admin(), "a", TokenRole::Scoreboard).unwrap();
        let b = add_token(&store, &admin(), "b", TokenRole::Metrics).unwrap();
        assert_ne!(a, b);
        assert_eq!(
            authenticate(&store, &b).unwrap().unwrap().role,
            TokenRole::Metrics
        );
        assert!(matches!(
            add_token(&store, &admin(), "a", TokenRole::Metrics),
            Err(DomainError::Token(TokenError::Exists(_)))
        ));
        for bad in ["", "a b", "x\n", &"n".repeat(65)] {
            assert!(matches!(
                add_token(&store, &admin(), bad, TokenRole::Metrics),
                Err(DomainError::Token(TokenError::BadName(_)))
            ));
        }
        let names: Vec<String> = list_tokens(&store)
            .unwrap()
            .into_iter()
            .map(|t| t.name)
            .collect();
        assert_eq!(names, ["a", "b"]);
    }

    #[test]
    fn monitors_cannot_manage_tokens() {
        let (_dir, store) = store();
        let monitor = Actor {
            name: "mo".into(),
            origin: "local".into(),
            role: Role::Monitor,
        };
        assert!(matches!(
            add_token(&store, &monitor, "x", TokenRole::Scoreboard),
            Err(DomainError::NotAllowed { .. })
        ));
        add_token(&store, &admin(), "x", TokenRole::Scoreboard).unwrap();
        assert!(matches!(
            revoke_token(&store, &monitor, "x"),
            Err(DomainError::NotAllowed { .. })
        ));
        assert!(store.token("x").unwrap().unwrap().revoked_at.is_none());
    }

    #[test]
    fn a_failing_random_source_stores_nothing() {
        let (_dir, store) = store();
        let err = add_token_with(&store, &admin(), "x", TokenRole::Scoreboard, |_| {
            Err(getrandom::Error::UNSUPPORTED)
        })
        .unwrap_err();
        assert!(
            matches!(err, DomainError::Token(TokenError::NoRandomness(_))),
            "{err}"
        );
        assert!(store.tokens().unwrap().is_empty());
    }
}
