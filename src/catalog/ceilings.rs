//! The admin's limits on what a challenge may request (set in config).

use super::model::parse_memory;
use super::profile::SecurityProfiles;

/// Admin ceilings. A challenge asking for more than these is reported, never clamped silently.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(default)]
pub struct Ceilings {
    /// Capabilities a challenge may add (names without the `CAP_` prefix, any case).
    pub cap_allowlist: Vec<String>,
    /// Largest memory request, e.g. `2g` (see [`parse_memory`]).
    pub max_memory: String,
    pub max_cpus: f64,
    pub max_pids: i64,
    /// Whether a challenge may run its process as root (uid 0). `[profiles.allow] root` grants
    /// it to named challenges only.
    pub allow_root: bool,
    /// The security profiles and the admin's exceptions, from the config's `[profiles]` section
    /// (not from `[ceilings]`); the shipped profiles by default.
    #[serde(skip)]
    pub security: SecurityProfiles,
}

impl Default for Ceilings {
    fn default() -> Self {
        Ceilings {
            cap_allowlist: [
                "CHOWN",
                "DAC_OVERRIDE",
                "FOWNER",
                "SETGID",
                "SETUID",
                "NET_BIND_SERVICE",
                "KILL",
            ]
            .map(String::from)
            .to_vec(),
            max_memory: "2g".to_string(),
            max_cpus: 2.0,
            max_pids: 1024,
            allow_root: false,
            security: SecurityProfiles::default(),
        }
    }
}

impl Ceilings {
    /// `max_memory` in bytes; `None` when it is not a valid size.
    pub fn max_memory_bytes(&self) -> Option<i64> {
        parse_memory(&self.max_memory)
    }

    /// Whether capability `name` (with or without `CAP_`, any case) is on the allowlist.
    pub fn allows_cap(&self, name: &str) -> bool {
        let wanted = normalize_cap(name);
        self.cap_allowlist
            .iter()
            .any(|c| normalize_cap(c) == wanted)
    }

    /// The allowlist, normalised, for messages: `CHOWN, KILL, …` (or `none`).
    pub fn cap_allowlist_display(&self) -> String {
        if self.cap_allowlist.is_empty() {
            return "none".to_string();
        }
        self.cap_allowlist
            .iter()
            .map(|c| normalize_cap(c))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Check the ceilings themselves (call when loading config). Returns a readable reason.
    pub fn check(&self) -> Result<(), String> {
        if self.max_memory_bytes().is_none() {
            return Err(format!(
                "max_memory {:?} is not a size (use e.g. \"512m\" or \"2g\")",
                self.max_memory
            ));
        }
        if !self.max_cpus.is_finite() || self.max_cpus <= 0.0 {
            return Err(format!(
                "max_cpus must be greater than 0 (got {})",
                self.max_cpus
            ));
        }
        if self.max_pids <= 0 {
            return Err(format!(
                "max_pids must be greater than 0 (got {})",
                self.max_pids
            ));
        }
        Ok(())
    }
}

/// `cap_net_admin` / `CAP_NET_ADMIN` / `net_admin` → `NET_ADMIN`.
pub fn normalize_cap(name: &str) -> String {
    let upper = name.trim().to_ascii_uppercase();
    match upper.strip_prefix("CAP_") {
        Some(rest) => rest.to_string(),
        None => upper,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_documented_ceilings() {
        let c = Ceilings::default();
        assert_eq!(c.max_memory_bytes(), Some(2 << 30));
        assert_eq!(c.max_cpus, 2.0);
        assert_eq!(c.max_pids, 1024);
        assert!(!c.allow_root);
        assert!(c.check().is_ok());
        assert_eq!(
            c.cap_allowlist_display(),
            "CHOWN, DAC_OVERRIDE, FOWNER, SETGID, SETUID, NET_BIND_SERVICE, KILL"
        );
    }

    #[test]
    fn capability_names_are_normalised() {
        let c = Ceilings::default();
        assert!(c.allows_cap("cap_chown"));
        assert!(c.allows_cap("CAP_NET_BIND_SERVICE"));
        assert!(c.allows_cap("kill"));
        assert!(!c.allows_cap("SYS_ADMIN"));
        assert!(!c.allows_cap("ALL"));
        assert_eq!(normalize_cap(" cap_sys_ptrace "), "SYS_PTRACE");
    }

    #[test]
    fn missing_fields_deserialize_to_defaults() {
        let c: Ceilings = match serde_json::from_str(r#"{"max_pids": 64}"#) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(c.max_pids, 64);
        assert_eq!(c.max_memory, "2g");
        assert_eq!(c.cap_allowlist.len(), 7);
    }

    #[test]
    fn broken_ceilings_are_reported() {
        let bad_memory = Ceilings {
            max_memory: "lots".into(),
            ..Ceilings::default()
        };
        assert!(bad_memory.check().is_err());
        let bad_cpus = Ceilings {
            max_cpus: 0.0,
            ..Ceilings::default()
        };
        assert!(bad_cpus.check().is_err());
        let bad_pids = Ceilings {
            max_pids: -1,
            ..Ceilings::default()
        };
        assert!(bad_pids.check().is_err());
    }
}
