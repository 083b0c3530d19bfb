//! The admin's explicit exceptions (`[profiles.allow]` in config): requests that are refused
//! outright for every challenge not named here. Each list holds challenge ids, or `"*"` for all.

use serde::Deserialize;

use super::ceilings::normalize_cap;

/// Per-request allowlists of challenge ids. Empty (the default) refuses every dangerous request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Exceptions {
    pub privileged: Vec<String>,
    /// `network_mode`/`pid_mode`/`ipc_mode`/`uts_mode` = "host".
    pub host_namespaces: Vec<String>,
    /// Bind mounts of host paths (other than the engine socket).
    pub host_mounts: Vec<String>,
    /// Mounting the container engine's socket (or the folder holding it).
    pub engine_socket: Vec<String>,
    pub devices: Vec<String>,
    /// The capabilities in [`DANGEROUS_CAPS`].
    pub capabilities: Vec<String>,
    /// Running the challenge as uid 0.
    pub root: Vec<String>,
    /// Unlimited pids or memory.
    pub unlimited: Vec<String>,
}

/// One kind of exception, named as its config key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exception {
    Privileged,
    HostNamespaces,
    HostMounts,
    EngineSocket,
    Devices,
    Capabilities,
    Root,
    Unlimited,
}

impl Exception {
    pub fn key(self) -> &'static str {
        match self {
            Exception::Privileged => "privileged",
            Exception::HostNamespaces => "host_namespaces",
            Exception::HostMounts => "host_mounts",
            Exception::EngineSocket => "engine_socket",
            Exception::Devices => "devices",
            Exception::Capabilities => "capabilities",
            Exception::Root => "root",
            Exception::Unlimited => "unlimited",
        }
    }
}

impl Exceptions {
    fn list(&self, which: Exception) -> &[String] {
        match which {
            Exception::Privileged => &self.privileged,
            Exception::HostNamespaces => &self.host_namespaces,
            Exception::HostMounts => &self.host_mounts,
            Exception::EngineSocket => &self.engine_socket,
            Exception::Devices => &self.devices,
            Exception::Capabilities => &self.capabilities,
            Exception::Root => &self.root,
            Exception::Unlimited => &self.unlimited,
        }
    }

    /// Whether the admin lets `challenge` make this request.
    pub fn allows(&self, which: Exception, challenge: &str) -> bool {
        self.list(which)
            .iter()
            .any(|id| id == "*" || id == challenge)
    }

    /// Every (key, challenge) granted, for `doctor --security`.
    pub fn granted(&self) -> Vec<(&'static str, &str)> {
        [
            Exception::Privileged,
            Exception::HostNamespaces,
            Exception::HostMounts,
            Exception::EngineSocket,
            Exception::Devices,
            Exception::Capabilities,
            Exception::Root,
            Exception::Unlimited,
        ]
        .into_iter()
        .flat_map(|e| self.list(e).iter().map(move |id| (e.key(), id.as_str())))
        .collect()
    }
}

/// The sentence appended to a refusal: how an admin would allow it, and only for this challenge.
pub fn hint(which: Exception, challenge: &str) -> String {
    format!(
        "an admin may allow it for this challenge only with [profiles.allow] {} = [{challenge:?}]",
        which.key()
    )
}

/// Capabilities that hand over the host or defeat the isolation, with the reason each is refused.
/// Granted only through [`Exceptions::capabilities`], never by a profile.
pub const DANGEROUS_CAPS: &[(&str, &str)] = &[
    ("ALL", "it grants every capability"),
    (
        "SYS_ADMIN",
        "it is nearly root on the host (mounts, namespaces, BPF, …)",
    ),
    (
        "NET_ADMIN",
        "it lets the instance rewrite its own network and escape the egress and isolation rules",
    ),
    (
        "SYS_PTRACE",
        "it lets processes trace and inject code into each other, and defeats seccomp",
    ),
    ("SYS_MODULE", "it loads kernel modules"),
    ("SYS_RAWIO", "it gives raw access to I/O ports and devices"),
    ("SYS_BOOT", "it can reboot the host"),
    ("SYS_TIME", "it sets the host's clock"),
    (
        "MAC_ADMIN",
        "it reconfigures the host's mandatory access control",
    ),
    (
        "MAC_OVERRIDE",
        "it bypasses the host's mandatory access control",
    ),
    (
        "DAC_READ_SEARCH",
        "it opens files by handle, the classic container escape",
    ),
    ("BPF", "it loads BPF programs into the host kernel"),
    (
        "PERFMON",
        "it observes the host's kernel and other processes",
    ),
    ("SYSLOG", "it reads and clears the host's kernel log"),
];

/// Why `cap` is dangerous, when it is.
pub fn dangerous_cap(cap: &str) -> Option<&'static str> {
    let cap = normalize_cap(cap);
    DANGEROUS_CAPS
        .iter()
        .find(|(name, _)| *name == cap)
        .map(|(_, why)| *why)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exceptions_name_challenges_or_everyone() {
        let e = Exceptions {
            privileged: vec!["kernel-pwn".into()],
            root: vec!["*".into()],
            ..Exceptions::default()
        };
        assert!(e.allows(Exception::Privileged, "kernel-pwn"));
        assert!(!e.allows(Exception::Privileged, "web"));
        assert!(e.allows(Exception::Root, "web"));
        assert!(!e.allows(Exception::Devices, "kernel-pwn"));
        assert_eq!(
            e.granted(),
            vec![("privileged", "kernel-pwn"), ("root", "*")]
        );
        assert!(Exceptions::default().granted().is_empty());
    }

    #[test]
    fn dangerous_capabilities_are_recognised_in_any_spelling() {
        assert!(dangerous_cap("cap_sys_admin").is_some());
        assert!(dangerous_cap("NET_ADMIN").is_some());
        assert!(dangerous_cap(" sys_ptrace ").is_some());
        assert!(dangerous_cap("all").is_some());
        assert!(dangerous_cap("CHOWN").is_none());
        assert!(dangerous_cap("NET_BIND_SERVICE").is_none());
    }

    #[test]
    fn hints_name_the_key_and_the_challenge() {
        assert_eq!(
            hint(Exception::Devices, "usb"),
            "an admin may allow it for this challenge only with [profiles.allow] devices = [\"usb\"]"
        );
    }
}
