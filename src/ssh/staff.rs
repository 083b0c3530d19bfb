//! Who may connect: each configured public key maps to one staff member and role. Compared by
//! key material only; the comment after the key is the owner's note, not part of the key.

use std::collections::HashMap;

use russh::keys::PublicKey;
use russh::keys::ssh_key::public::KeyData;

use super::config::StaffEntry;
use crate::domain::Role;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffMember {
    pub name: String,
    pub role: Role,
}

#[derive(Debug, Default)]
pub struct StaffTable {
    by_key: HashMap<KeyData, StaffMember>,
}

impl StaffTable {
    /// Every key must parse, and no key may belong to two staff members (the audit would not
    /// know who acted). Errors start with `staff`.
    pub fn from_config(entries: &[StaffEntry]) -> Result<StaffTable, String> {
        let mut by_key: HashMap<KeyData, StaffMember> = HashMap::new();
        let mut names = std::collections::HashSet::new();
        for entry in entries {
            let name = entry.name.trim();
            if name.is_empty() || name.chars().any(char::is_control) {
                return Err(format!(
                    "staff name {:?} must be a plain, non-empty name",
                    entry.name
                ));
            }
            if !names.insert(name.to_string()) {
                return Err(format!("staff {name:?} is listed twice"));
            }
            for (i, line) in entry.keys.iter().enumerate() {
                let key = PublicKey::from_openssh(line.trim()).map_err(|e| {
                    format!(
                        "staff {name:?}: key {} is not an OpenSSH public key line ({e})",
                        i + 1
                    )
                })?;
                // This server verifies ed25519 and ECDSA signatures only: an RSA key would be
                // accepted here and then fail every login, with nothing said why.
                if matches!(key.algorithm(), russh::keys::Algorithm::Rsa { .. }) {
                    return Err(format!(
                        "staff {name:?}: key {} is an RSA key; use an ed25519 or ECDSA key (ssh-keygen -t ed25519)",
                        i + 1
                    ));
                }
                let member = StaffMember {
                    name: name.to_string(),
                    role: entry.role,
                };
                if let Some(other) = by_key.insert(key.key_data().clone(), member)
                    && other.name != name
                {
                    return Err(format!(
                        "staff {name:?}: key {} is also {:?}'s key; one key is one person",
                        i + 1,
                        other.name
                    ));
                }
            }
        }
        Ok(StaffTable { by_key })
    }

    pub fn find(&self, key: &PublicKey) -> Option<&StaffMember> {
        self.by_key.get(key.key_data())
    }

    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA7F1Raj03MkjVy2dN8mr9Y+g5OnVmVbUg2g3R5E8h83 alice@laptop";

    const RSA: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC3lAkv8dE5qT7cp2uoidqRnXIb71C/iMOKo9NDlGFOHsLGNv536XsaCM5Hk6QvCX5XeHaryDPyt8COYM2i6AgJfgnfftlpvZ/Y0iFAUCX7EYitVw+V5jJsZivt+oq9mWmYk0BusrHV5ktheHRsNDj3U6NhOlS3UlSp4yK0TwfEDQ== rsa@old";

    fn entry(name: &str, role: Role, keys: &[&str]) -> StaffEntry {
        StaffEntry {
            name: name.to_string(),
            role,
            keys: keys.iter().map(|k| k.to_string()).collect(),
        }
    }

    #[test]
    fn keys_map_to_their_staff_member_whatever_the_comment() {
        let table = StaffTable::from_config(&[entry("alice", Role::Monitor, &[ALICE])]).unwrap();
        let other_comment = ALICE.replace("alice@laptop", "renamed");
        let key = PublicKey::from_openssh(&other_comment).unwrap();
        assert_eq!(
            table.find(&key),
            Some(&StaffMember {
                name: "alice".into(),
                role: Role::Monitor
            })
        );
    }

    #[test]
    fn bad_keys_shared_keys_and_twice_listed_names_are_refused() {
        let err = StaffTable::from_config(&[entry("bob", Role::Admin, &["ssh-ed25519 nope"])])
            .unwrap_err();
        assert!(err.starts_with("staff \"bob\": key 1 is not"), "{err}");
        let err = StaffTable::from_config(&[
            entry("alice", Role::Admin, &[ALICE]),
            entry("bob", Role::Admin, &[ALICE]),
        ])
        .unwrap_err();
        assert!(err.contains("also \"alice\"'s key"), "{err}");
        let err = StaffTable::from_config(&[
            entry("alice", Role::Admin, &[]),
            entry("alice", Role::Monitor, &[]),
        ])
        .unwrap_err();
        assert_eq!(err, "staff \"alice\" is listed twice");
        assert!(StaffTable::from_config(&[entry(" ", Role::Admin, &[])]).is_err());
        let err = StaffTable::from_config(&[entry("carol", Role::Admin, &[RSA])]).unwrap_err();
        assert!(err.contains("is an RSA key"), "{err}");
    }
}
