//! Whether an instance's uid/gid is also someone on the host. Without a user namespace, a
//! container's processes run under the host's uid: a host account with the same uid reads
//! their environment (`/proc/<pid>/environ`, where an injected flag lives), their files, and
//! signals them. The same holds for an account whose subordinate ids (`/etc/subuid`, used by
//! rootless containers) cover that uid. So instances run as ids nobody on the host has.
//!
//! Reads the files directly (as `getent` would for local accounts); accounts that only a
//! directory service (LDAP, SSSD) knows are not seen.

/// The account files of a host, as text.
#[derive(Debug, Clone, Default)]
pub struct HostAccounts {
    passwd: String,
    group: String,
    subuid: String,
    subgid: String,
}

impl HostAccounts {
    /// This host's files; a missing file has no entries.
    pub fn read() -> HostAccounts {
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        HostAccounts {
            passwd: read("/etc/passwd"),
            group: read("/etc/group"),
            subuid: read("/etc/subuid"),
            subgid: read("/etc/subgid"),
        }
    }

    pub fn from_texts(passwd: &str, group: &str, subuid: &str, subgid: &str) -> HostAccounts {
        HostAccounts {
            passwd: passwd.to_string(),
            group: group.to_string(),
            subuid: subuid.to_string(),
            subgid: subgid.to_string(),
        }
    }

    /// Each way the container user `uid[:gid]` coincides with a host account, as a phrase
    /// ("uid 1000 is the host account alice"). Empty when it is nobody's. A user that is not
    /// numeric is left to the checks that refuse it.
    pub fn clashes(&self, user: &str) -> Vec<String> {
        let (uid, gid) = match user.split_once(':') {
            Some((uid, gid)) => (uid, Some(gid)),
            None => (user, None),
        };
        let mut out = Vec::new();
        if let Ok(uid) = uid.parse::<u32>() {
            if let Some(name) = name_with_id(&self.passwd, uid) {
                out.push(format!("uid {uid} is the host account {name}"));
            }
            if let Some(range) = subordinate_owner(&self.subuid, uid) {
                out.push(format!(
                    "uid {uid} is among the subordinate uids of {range} (/etc/subuid)"
                ));
            }
        }
        if let Some(gid) = gid.and_then(|g| g.parse::<u32>().ok()) {
            if let Some(name) = name_with_id(&self.group, gid) {
                out.push(format!("gid {gid} is the host group {name}"));
            }
            if let Some(range) = subordinate_owner(&self.subgid, gid) {
                out.push(format!(
                    "gid {gid} is among the subordinate gids of {range} (/etc/subgid)"
                ));
            }
        }
        out
    }
}

/// The clashes of `user` with this host's accounts (see [`HostAccounts::clashes`]).
pub fn host_account_clashes(user: &str) -> Vec<String> {
    HostAccounts::read().clashes(user)
}

/// Log a warning for each clash of `user` (`what` names where it comes from).
pub(super) fn warn_clashes(what: &str, user: &str) {
    for clash in host_account_clashes(user) {
        tracing::warn!(
            "{what} runs as {user}, and {clash}: that account can read the instance's flag and signal its processes (`ctfdeck doctor` lists every clash)"
        );
    }
}

/// The name of the passwd or group entry with id `id` (third field).
fn name_with_id(file: &str, id: u32) -> Option<String> {
    file.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        (f.get(2)?.trim().parse::<u32>().ok()? == id).then(|| f[0].to_string())
    })
}

/// `owner start-end` of the subuid/subgid line (`owner:start:count`) whose range holds `id`.
fn subordinate_owner(file: &str, id: u32) -> Option<String> {
    file.lines().find_map(|line| {
        let f: Vec<&str> = line.trim().split(':').collect();
        let (owner, start, count) = (
            f.first()?,
            f.get(1)?.parse::<u64>().ok()?,
            f.get(2)?.parse::<u64>().ok()?,
        );
        let end = start + count;
        (count > 0 && (start..end).contains(&u64::from(id)))
            .then(|| format!("{owner} {start}-{}", end - 1))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\nnobody:x:65534:65534::/:/usr/sbin/nologin\n";
    const GROUP: &str = "root:x:0:\nalice:x:1000:\nstaff:x:2001:alice\n";
    const SUBUID: &str = "alice:100000:65536\n";
    const SUBGID: &str = "alice:100000:65536\n";

    fn host() -> HostAccounts {
        HostAccounts::from_texts(PASSWD, GROUP, SUBUID, SUBGID)
    }

    #[test]
    fn an_id_of_a_host_account_or_group_clashes() {
        assert_eq!(
            host().clashes("1000:1000"),
            [
                "uid 1000 is the host account alice",
                "gid 1000 is the host group alice"
            ]
        );
        assert_eq!(
            host().clashes("65534"),
            ["uid 65534 is the host account nobody"]
        );
        assert_eq!(
            host().clashes("4242:2001"),
            ["gid 2001 is the host group staff"]
        );
    }

    #[test]
    fn an_id_inside_a_subordinate_range_clashes() {
        assert_eq!(
            host().clashes("100000:165535"),
            [
                "uid 100000 is among the subordinate uids of alice 100000-165535 (/etc/subuid)",
                "gid 165535 is among the subordinate gids of alice 100000-165535 (/etc/subgid)"
            ]
        );
        assert!(host().clashes("165536:165536").is_empty());
    }

    #[test]
    fn the_default_user_is_nobody_on_a_usual_host() {
        let default = crate::domain::ContainerDefaults::default().user;
        assert!(host().clashes(&default).is_empty(), "{default}");
        // Nor on this machine, where the tests run.
        assert!(
            host_account_clashes(&default).is_empty(),
            "{:?}",
            host_account_clashes(&default)
        );
    }

    #[test]
    fn malformed_users_and_files_are_no_clash() {
        assert!(host().clashes("root").is_empty());
        let odd = HostAccounts::from_texts("x\n::\nbob:x:notanumber:1\n", "", "a:b:c\n", "");
        assert!(odd.clashes("1:1").is_empty());
    }
}
