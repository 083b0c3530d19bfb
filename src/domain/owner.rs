//! Who an instance belongs to: `team:NAME` or `user:NAME`.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OwnerKind {
    Team,
    User,
    /// A throwaway owner for an author's smoke test: never counts against quotas.
    Smoke,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Owner {
    pub kind: OwnerKind,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid owner {given:?}: expected team:NAME or user:NAME (NAME: 1-64 of letters, digits, . _ -)"
)]
pub struct OwnerParseError {
    pub given: String,
}

impl FromStr for Owner {
    type Err = OwnerParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || OwnerParseError {
            given: s.to_string(),
        };
        let (kind, name) = s.split_once(':').ok_or_else(err)?;
        let kind = match kind {
            "team" => OwnerKind::Team,
            "user" => OwnerKind::User,
            "smoke" => OwnerKind::Smoke,
            _ => return Err(err()),
        };
        let valid = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !valid {
            return Err(err());
        }
        Ok(Owner {
            kind,
            name: name.to_string(),
        })
    }
}

/// Why an owner cannot be given a new instance by a spawn request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpawnOwnerError {
    #[error(transparent)]
    Invalid(#[from] OwnerParseError),
    /// `smoke:` owners skip quotas and assignment modes: only the smoke test may use them.
    #[error(
        "{owner} is refused: smoke:NAME owners are reserved for `ctfdeck smoke` (they skip quotas and assignment modes); use team:NAME or user:NAME"
    )]
    Reserved { owner: String },
}

impl Owner {
    /// Parse an owner typed for a spawn (CLI `--owner`, the console's form): `team:` or `user:`.
    pub fn for_spawn(s: &str) -> Result<Owner, SpawnOwnerError> {
        let owner: Owner = s.parse()?;
        owner.require_spawnable()?;
        Ok(owner)
    }

    /// Refuse the owner kinds a spawn request may not name. The smoke test reaches its own
    /// owners through the domain's smoke entry instead.
    pub fn require_spawnable(&self) -> Result<(), SpawnOwnerError> {
        match self.kind {
            OwnerKind::Team | OwnerKind::User => Ok(()),
            OwnerKind::Smoke => Err(SpawnOwnerError::Reserved {
                owner: self.to_string(),
            }),
        }
    }

    /// A fresh throwaway owner for one smoke run.
    pub fn smoke() -> Owner {
        Owner {
            kind: OwnerKind::Smoke,
            name: super::ids::new_instance_id(),
        }
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            OwnerKind::Team => "team",
            OwnerKind::User => "user",
            OwnerKind::Smoke => "smoke",
        };
        write!(f, "{kind}:{}", self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_teams_and_users_and_rejects_the_rest() {
        let o: Owner = "team:red-1".parse().unwrap();
        assert_eq!(o.kind, OwnerKind::Team);
        assert_eq!(o.to_string(), "team:red-1");
        assert_eq!("user:alice".parse::<Owner>().unwrap().kind, OwnerKind::User);
        for bad in ["red", "group:x", "team:", "team:a b", "team:$(id)", ""] {
            assert!(bad.parse::<Owner>().is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn a_spawn_takes_teams_and_users_but_never_smoke_owners() {
        assert_eq!(Owner::for_spawn("team:red").unwrap().kind, OwnerKind::Team);
        assert_eq!(Owner::for_spawn("user:bob").unwrap().kind, OwnerKind::User);
        let err = Owner::for_spawn("smoke:red").unwrap_err();
        assert!(matches!(err, SpawnOwnerError::Reserved { .. }), "{err}");
        assert!(err.to_string().contains("reserved"), "{err}");
        assert!(matches!(
            Owner::for_spawn("team:"),
            Err(SpawnOwnerError::Invalid(_))
        ));
        assert!(Owner::smoke().require_spawnable().is_err());
    }
}
