//! The native challenge definition (`challenge.json`), as authors write it.
//!
//! Unknown fields are rejected so that a typo (`"memroy"`) is an error with a position instead
//! of a silently ignored setting. Durations are humantime strings (`"45m"`, `"1h30m"`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The schema version this build of ctfdeck reads.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Challenge {
    /// Where editors find the JSON Schema (`"../schema.json"`); ctfdeck does not read it.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub json_schema: Option<String>,
    pub schema_version: u32,
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub difficulty: Difficulty,
    #[serde(default)]
    pub points: u32,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub author: Option<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub hints: Vec<Hint>,
    #[serde(default)]
    pub learning_objectives: Vec<String>,
    #[serde(default)]
    pub estimated_minutes: Option<u32>,
    pub container: ContainerSpec,
    pub flag: FlagSpec,
    #[serde(default)]
    pub lifetime: LifetimeSpec,
    #[serde(default)]
    pub smoke: Option<SmokeSpec>,
    /// The challenge's folder (its build context is resolved against it). Set by the loader.
    #[serde(skip)]
    pub dir: PathBuf,
    /// The definition file this challenge was read from. Set by the loader.
    #[serde(skip)]
    pub source: PathBuf,
    /// What an imported definition (ctfcli's `challenge.yml`) holds beyond what ctfdeck uses —
    /// `files`, `requirements`, `state`, every flag, unknown keys — kept as read so that nothing
    /// an author wrote is lost. Empty for `challenge.json`. Set by the loader.
    #[serde(skip)]
    pub imported_fields: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Difficulty {
    #[default]
    Easy,
    Medium,
    Hard,
    Insane,
}

impl Difficulty {
    pub fn as_str(self) -> &'static str {
        match self {
            Difficulty::Easy => "easy",
            Difficulty::Medium => "medium",
            Difficulty::Hard => "hard",
            Difficulty::Insane => "insane",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hint {
    pub text: String,
    #[serde(default)]
    pub cost: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerSpec {
    /// Image reference; built from `build` when that is set.
    pub image: String,
    /// Build context relative to the challenge folder (usually `"."`); `None` = use the image as is.
    #[serde(default)]
    pub build: Option<String>,
    /// Network access for the build's `RUN` steps. Absent: the admin's `[build] network`
    /// (no network unless configured otherwise).
    #[serde(default)]
    pub build_network: Option<BuildNetworkRequest>,
    #[serde(default)]
    pub ports: Vec<PortSpec>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub command: Option<Vec<String>>,
    /// `uid:gid` (numeric); defaults to the admin default (non-root).
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub resources: Resources,
    #[serde(default)]
    pub security: SecuritySpec,
    #[serde(default)]
    pub healthcheck: Option<Healthcheck>,
}

/// A challenge's request for network access while its image builds, with the reason an admin
/// reads in `catalog check`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildNetworkRequest {
    pub mode: BuildNetworkMode,
    /// Why the build needs the network (e.g. "installs packages with apk").
    pub reason: String,
}

/// The network a build's `RUN` steps get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BuildNetworkMode {
    /// No network: only loopback inside the build.
    #[default]
    None,
    /// The engine's default build network, which reaches the host and beyond.
    Default,
}

impl BuildNetworkMode {
    pub fn as_str(self) -> &'static str {
        match self {
            BuildNetworkMode::None => "none",
            BuildNetworkMode::Default => "default",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortSpec {
    /// Kept wider than `u16` so that `70000` is reported as "out of range", with its position.
    pub container: u32,
    #[serde(default)]
    pub protocol: Protocol,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Http,
    #[default]
    Tcp,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Http => "http",
            Protocol::Tcp => "tcp",
        }
    }
}

/// Requested resources; `None` means "the admin default". Ceilings are checked by the catalog
/// validator and enforced again at spawn.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// Memory as `512m`, `1g`, `65536k` or bytes.
    #[serde(default)]
    pub memory: Option<String>,
    #[serde(default)]
    pub cpus: Option<f64>,
    #[serde(default)]
    pub pids: Option<i64>,
}

/// Security requests, measured against the named profile (see `profile.rs`). Everything here
/// defaults to the hardened choice; the dangerous fields exist so that a definition asking for
/// them is *reported* (with a position and the reason) rather than rejected as an unknown field,
/// and honoured only when the admin's `[profiles.allow]` names the challenge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecuritySpec {
    #[serde(default = "default_profile")]
    pub profile: String,
    #[serde(default)]
    pub cap_add: Vec<String>,
    /// Mount point → options (`size=16m`); `noexec,nosuid,nodev` are always added.
    #[serde(default = "default_tmpfs")]
    pub tmpfs: BTreeMap<String, String>,
    #[serde(default = "default_true")]
    pub read_only: bool,
    #[serde(default)]
    pub privileged: bool,
    #[serde(default)]
    pub network_mode: Option<String>,
    #[serde(default)]
    pub pid_mode: Option<String>,
    #[serde(default)]
    pub ipc_mode: Option<String>,
    #[serde(default)]
    pub uts_mode: Option<String>,
    /// Outbound traffic: `false` narrows a profile that allows it; `None` = the profile's choice.
    #[serde(default)]
    pub egress: Option<bool>,
    /// Bind mounts (`/host:/container[:ro]`). Refused unless the admin grants them.
    #[serde(default)]
    pub volumes: Vec<String>,
    #[serde(default)]
    pub devices: Vec<String>,
}

impl Default for SecuritySpec {
    fn default() -> Self {
        SecuritySpec {
            profile: default_profile(),
            cap_add: Vec::new(),
            tmpfs: default_tmpfs(),
            read_only: true,
            privileged: false,
            network_mode: None,
            pid_mode: None,
            ipc_mode: None,
            uts_mode: None,
            egress: None,
            volumes: Vec::new(),
            devices: Vec::new(),
        }
    }
}

fn default_profile() -> String {
    "default".to_string()
}

fn default_tmpfs() -> BTreeMap<String, String> {
    BTreeMap::from([("/tmp".to_string(), "size=16m".to_string())])
}

fn default_true() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Healthcheck {
    /// Command run inside the container (exec form).
    pub test: Vec<String>,
    #[serde(default, with = "humantime_serde")]
    pub interval: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub timeout: Option<Duration>,
    #[serde(default)]
    pub retries: Option<u32>,
}

/// How the flag is made and handed to the instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlagSpec {
    /// Dynamic flag template, e.g. `flag{<hex:16>}`; each `<hex:N>` becomes N hex digits
    /// derived from the instance.
    #[serde(default)]
    pub template: Option<String>,
    /// A static flag, the same for every instance. Exactly one of `template` / `static` is set.
    #[serde(default, rename = "static")]
    pub static_value: Option<String>,
    /// `env:NAME` or `file:/path/inside/a/tmpfs`.
    #[serde(default = "default_inject")]
    pub inject: String,
}

fn default_inject() -> String {
    "env:FLAG".to_string()
}

/// Lifetime overrides; unset fields come from the global defaults in config.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LifetimeSpec {
    #[serde(default, with = "humantime_serde")]
    pub default: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub extend_by: Option<Duration>,
    #[serde(default)]
    pub max_renewals: Option<u32>,
    #[serde(default, with = "humantime_serde")]
    pub max_total: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmokeSpec {
    /// Check script, relative to the challenge folder.
    pub check: String,
    #[serde(default, with = "humantime_serde")]
    pub timeout: Option<Duration>,
}

impl Challenge {
    /// The build context folder, when the challenge is built locally.
    pub fn build_context(&self) -> Option<PathBuf> {
        self.container.build.as_ref().map(|b| self.dir.join(b))
    }
}

/// Parse a memory size such as `512m`, `1g`, `64k`, `1048576` into bytes.
pub fn parse_memory(text: &str) -> Option<i64> {
    let t = text.trim().to_ascii_lowercase();
    let t = t.strip_suffix('b').unwrap_or(&t);
    let (digits, mult) = match t.chars().last()? {
        'k' => (&t[..t.len() - 1], 1i64 << 10),
        'm' => (&t[..t.len() - 1], 1i64 << 20),
        'g' => (&t[..t.len() - 1], 1i64 << 30),
        c if c.is_ascii_digit() => (t, 1),
        _ => return None,
    };
    let n: i64 = digits.trim().parse().ok()?;
    if n <= 0 {
        return None;
    }
    n.checked_mul(mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_sizes_parse_with_binary_suffixes() {
        assert_eq!(parse_memory("512m"), Some(512 << 20));
        assert_eq!(parse_memory("1G"), Some(1 << 30));
        assert_eq!(parse_memory("64kb"), Some(64 << 10));
        assert_eq!(parse_memory("4096"), Some(4096));
        assert_eq!(parse_memory("lots"), None);
        assert_eq!(parse_memory("-5m"), None);
        assert_eq!(parse_memory(""), None);
    }
}
