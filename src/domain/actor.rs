//! Who is acting, and from where, for the audit log.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub name: String,
    pub origin: String,
}

impl Actor {
    /// From the environment: `SUDO_USER` (the human behind sudo), else `USER`; the SSH client
    /// address when the session came over SSH, else `local`.
    pub fn from_env() -> Actor {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let name = var("SUDO_USER")
            .or_else(|| var("USER"))
            .or_else(|| var("LOGNAME"))
            .unwrap_or_else(current_uid_name);
        let origin = var("SSH_CONNECTION")
            .and_then(|c| c.split_whitespace().next().map(|ip| format!("ssh:{ip}")))
            .unwrap_or_else(|| "local".to_string());
        Actor { name, origin }
    }
}

/// `uid:N` of this process, when no user name is in the environment (cron, systemd).
fn current_uid_name() -> String {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let Ok(meta) = std::fs::metadata("/proc/self") {
            return format!("uid:{}", meta.uid());
        }
    }
    "unknown".to_string()
}
