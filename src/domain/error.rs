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
    #[error("refused by {rule}: {message}")]
    Refused { rule: &'static str, message: String },
    #[error("{action} refused: {actor} has the monitor role (read-only); ask an admin")]
    NotAllowed { action: String, actor: String },
    /// The owner named in a spawn request may not be given an instance (a `smoke:` owner).
    #[error(transparent)]
    Owner(#[from] super::SpawnOwnerError),
    #[error(transparent)]
    Engine(#[from] EngineError),
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
