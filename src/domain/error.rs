use crate::engine::EngineError;
use crate::store::{InstanceStatus, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    #[error("unknown challenge {id:?}; known: {known}")]
    UnknownChallenge { id: String, known: String },
    #[error("challenge {id} cannot be spawned: {reason}")]
    Unspawnable { id: String, reason: String },
    #[error("spawn of {challenge} for {owner} failed: {source}")]
    SpawnFailed {
        challenge: String,
        owner: String,
        #[source]
        source: EngineError,
    },
    #[error("instance {id} is {status}; only running instances can be extended")]
    NotRunning { id: String, status: InstanceStatus },
    #[error("instance {id} cannot be extended: all {max} renewals used")]
    RenewalsExhausted { id: String, max: u32 },
    #[error(
        "instance {id} cannot be extended: it already runs until its maximum lifetime ({until})"
    )]
    AtMaxTotal { id: String, until: String },
    /// A quota, cooldown, assignment-mode or renewal rule said no. `rule` names it; the
    /// message says when it frees up where that is known.
    /// `retry_after_ms`: how long until it frees up by itself, where that is known (the API
    /// answers it as `Retry-After`).
    #[error("refused by {rule}: {message}")]
    Refused {
        rule: &'static str,
        message: String,
        retry_after_ms: Option<i64>,
    },
    #[error("{action} refused: {actor} has the monitor role (read-only); ask an admin")]
    NotAllowed { action: String, actor: String },
    /// The owner named in a spawn request may not be given an instance (a `smoke:` owner).
    #[error(transparent)]
    Owner(#[from] super::SpawnOwnerError),
    #[error(
        "cannot create the store's flag secret: the system's random source failed ({reason}); nothing was stored"
    )]
    NoRandomness { reason: String },
    /// An API caller asked about an instance that belongs to another owner.
    #[error("instance {id} belongs to another owner than {owner}")]
    NotOwner { id: String, owner: String },
    #[error(transparent)]
    Token(#[from] super::tokens::TokenError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A build refused before it reached the engine (its context leads outside its folder).
    #[error(transparent)]
    Build(super::BuildError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl DomainError {
    /// True when the engine could not be reached at all (the CLI exits 3 for it).
    pub fn is_unreachable(&self) -> bool {
        match self {
            DomainError::Engine(e) | DomainError::SpawnFailed { source: e, .. } => {
                e.is_unreachable()
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    /// The store speaks SQL and says what went wrong in its own terms (`StoreError::IdTaken`,
    /// …); the domain decides on those, never on SQLite's error codes.
    #[test]
    fn the_domain_never_looks_at_sqlite_errors() {
        // Spelled in two halves so that this file does not name the crate itself.
        const CRATE: &str = concat!("rusq", "lite");
        fn walk(dir: &std::path::Path, offenders: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, offenders);
                } else if path.extension().is_some_and(|e| e == "rs")
                    && std::fs::read_to_string(&path).unwrap().contains(CRATE)
                {
                    offenders.push(path.display().to_string());
                }
            }
        }
        let mut offenders = Vec::new();
        walk(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/domain"),
            &mut offenders,
        );
        assert!(offenders.is_empty(), "{CRATE} used in {offenders:?}");
    }
}
