//! Roles: `admin` acts, `monitor` watches. Config maps unix users (`alice`) and groups
//! (`@ctf-admins`) to roles; anyone not listed gets the default role.

use serde::Deserialize;

use super::actor::UnixUser;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    #[default]
    Admin,
    Monitor,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Monitor => "monitor",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RolesConfig {
    /// Users (`alice`) and groups (`@ctf-admins`) with the admin role.
    pub admins: Vec<String>,
    /// Users and groups with the monitor role.
    pub monitors: Vec<String>,
    /// Role of everyone not listed. Admin by default, so a single-user setup needs no config.
    pub default: Role,
}

impl RolesConfig {
    /// A user named explicitly wins over a group; admin wins over monitor at the same level.
    pub fn role_of(&self, user: &UnixUser) -> Role {
        let names = |list: &[String]| list.iter().any(|e| e == &user.name);
        let groups = |list: &[String]| {
            list.iter()
                .filter_map(|e| e.strip_prefix('@'))
                .any(|g| user.groups.iter().any(|ug| ug == g))
        };
        if names(&self.admins) {
            Role::Admin
        } else if names(&self.monitors) {
            Role::Monitor
        } else if groups(&self.admins) {
            Role::Admin
        } else if groups(&self.monitors) {
            Role::Monitor
        } else {
            self.default
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str, groups: &[&str]) -> UnixUser {
        UnixUser {
            name: name.into(),
            uid: 1000,
            groups: groups.iter().map(|g| g.to_string()).collect(),
        }
    }

    #[test]
    fn names_beat_groups_and_the_default_applies_last() {
        let cfg = RolesConfig {
            admins: vec!["@ctf-admins".into(), "carol".into()],
            monitors: vec!["@staff".into(), "alice".into()],
            default: Role::Monitor,
        };
        assert_eq!(cfg.role_of(&user("alice", &["ctf-admins"])), Role::Monitor);
        assert_eq!(
            cfg.role_of(&user("bob", &["ctf-admins", "staff"])),
            Role::Admin
        );
        assert_eq!(cfg.role_of(&user("dave", &["staff"])), Role::Monitor);
        assert_eq!(cfg.role_of(&user("carol", &["staff"])), Role::Admin);
        assert_eq!(cfg.role_of(&user("erin", &[])), Role::Monitor);
        assert_eq!(
            RolesConfig::default().role_of(&user("erin", &[])),
            Role::Admin
        );
    }
}
