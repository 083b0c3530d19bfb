//! Who is acting, from where, and with which role — for the audit log and for refusing
//! monitors. The identity comes from the process's real uid (looked up in /etc/passwd), not
//! from `$USER`, which anyone can set; behind sudo, the human is `SUDO_USER` — which root can
//! set to anything, so the audit marks it, like the SSH origin, as unverified.

use super::Role;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub name: String,
    pub origin: String,
    pub role: Role,
}

/// A unix account as the role rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnixUser {
    pub name: String,
    pub uid: u32,
    /// Names of the groups the user belongs to (primary and supplementary).
    pub groups: Vec<String>,
}

impl Actor {
    /// An admin actor with this name, for tests and embedded use.
    pub fn admin(name: &str) -> Actor {
        Actor {
            name: name.to_string(),
            origin: "local".to_string(),
            role: Role::Admin,
        }
    }
}

/// What the audit's origin says about an origin or actor taken from the environment.
pub const UNVERIFIED: &str = "from environment, unverified";

/// Where this process acts from, for the audit: the SSH client address when `SSH_CONNECTION`
/// names one, else `local`. Both that variable and `SUDO_USER` are ordinary environment
/// variables anyone can set (or unset) for their own commands, so an origin or actor taken
/// from them is marked as such: `ssh:203.0.113.7 (from environment, unverified)`, and
/// `…; actor alice from SUDO_USER (from environment, unverified)` behind sudo.
pub fn origin_from_env() -> String {
    let ssh = std::env::var("SSH_CONNECTION").ok();
    origin_from(ssh.as_deref(), sudo_user(process_uid()).as_deref())
}

fn origin_from(ssh_connection: Option<&str>, sudo_user: Option<&str>) -> String {
    let mut origin = match ssh_connection.and_then(|c| c.split_whitespace().next()) {
        Some(ip) => format!("ssh:{ip} ({UNVERIFIED})"),
        None => "local".to_string(),
    };
    if let Some(user) = sudo_user {
        origin.push_str(&format!("; actor {user} from SUDO_USER ({UNVERIFIED})"));
    }
    origin
}

/// `SUDO_USER`, when it is the one the actor's name comes from: only root can have come
/// through sudo; anyone else setting it is ignored.
fn sudo_user(uid: Option<u32>) -> Option<String> {
    let name = std::env::var("SUDO_USER").ok().filter(|u| !u.is_empty())?;
    (uid == Some(0)).then_some(name)
}

/// The user this process acts for.
pub fn current_user() -> UnixUser {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let group = std::fs::read_to_string("/etc/group").unwrap_or_default();
    let uid = process_uid();
    let by_name = sudo_user(uid).and_then(|name| passwd_entry(&passwd, |n, _| n == name));
    let entry = by_name.or_else(|| uid.and_then(|u| passwd_entry(&passwd, |_, id| id == u)));
    match entry {
        Some((name, uid, gid)) => UnixUser {
            groups: groups_of(&group, &name, gid),
            name,
            uid,
        },
        None => UnixUser {
            name: uid.map_or_else(|| "unknown".to_string(), |u| format!("uid:{u}")),
            uid: uid.unwrap_or(u32::MAX),
            groups: Vec::new(),
        },
    }
}

fn process_uid() -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // /proc/self is owned by the process's effective uid.
        std::fs::metadata("/proc/self").ok().map(|m| m.uid())
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// (name, uid, primary gid) of the first passwd line matching.
fn passwd_entry(passwd: &str, matches: impl Fn(&str, u32) -> bool) -> Option<(String, u32, u32)> {
    passwd.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        let (name, uid, gid) = (f.first()?, f.get(2)?.parse().ok()?, f.get(3)?.parse().ok()?);
        matches(name, uid).then(|| (name.to_string(), uid, gid))
    })
}

/// The name of group `gid`, from /etc/group.
pub fn group_name(gid: u32) -> Option<String> {
    let group = std::fs::read_to_string("/etc/group").ok()?;
    group_named(&group, gid)
}

fn group_named(group: &str, gid: u32) -> Option<String> {
    group.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        (f.get(2)?.parse::<u32>().ok()? == gid).then(|| f[0].to_string())
    })
}

fn groups_of(group: &str, user: &str, primary_gid: u32) -> Vec<String> {
    group
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            let (name, gid, members) = (f.first()?, f.get(2)?.parse::<u32>().ok()?, f.get(3)?);
            let member = gid == primary_gid || members.split(',').any(|m| m.trim() == user);
            member.then(|| name.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\nbob:x:1001:1001::/home/bob:/bin/sh\n";
    const GROUP: &str =
        "root:x:0:\nalice:x:1000:\nbob:x:1001:\nctf-admins:x:2000:alice\nstaff:x:2001:alice,bob\n";

    #[test]
    fn origins_and_actors_from_the_environment_are_marked_unverified() {
        assert_eq!(origin_from(None, None), "local");
        assert_eq!(
            origin_from(Some("203.0.113.7 50022 10.0.0.5 22"), None),
            "ssh:203.0.113.7 (from environment, unverified)"
        );
        assert_eq!(
            origin_from(None, Some("alice")),
            "local; actor alice from SUDO_USER (from environment, unverified)"
        );
        assert_eq!(
            origin_from(Some("::1 1 ::1 22"), Some("bob")),
            "ssh:::1 (from environment, unverified); actor bob from SUDO_USER (from environment, unverified)"
        );
        // An empty SSH_CONNECTION names no client.
        assert_eq!(origin_from(Some(""), None), "local");
    }

    #[test]
    fn passwd_and_group_lookups() {
        assert_eq!(
            passwd_entry(PASSWD, |_, uid| uid == 1001),
            Some(("bob".to_string(), 1001, 1001))
        );
        assert_eq!(passwd_entry(PASSWD, |n, _| n == "nobody"), None);
        assert_eq!(
            groups_of(GROUP, "alice", 1000),
            ["alice", "ctf-admins", "staff"]
        );
        assert_eq!(groups_of(GROUP, "bob", 1001), ["bob", "staff"]);
        assert_eq!(group_named(GROUP, 2001).as_deref(), Some("staff"));
        assert_eq!(group_named(GROUP, 4242), None);
    }
}
