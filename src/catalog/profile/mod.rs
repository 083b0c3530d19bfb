//! Security profiles as data: the named profiles shipped in `profiles/security.toml`, changed or
//! extended by the admin's `[profiles]` config section, checked once when the config is read.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::de::{DeTable, ValueDeserializer};

use super::ceilings::normalize_cap;
use super::effective::MIN_CPUS;
use super::exceptions::{Exceptions, dangerous_cap};
use super::model::parse_memory;
use crate::textfile::{self, ReadError, tomlfile};

mod values;

use values::{is_valid_name, parse_seccomp, user_problem};
pub use values::{mount_problem, parse_tmpfs_options};

/// The profiles file compiled into the binary.
pub const SHIPPED_PROFILES: &str = include_str!("../../../profiles/security.toml");

/// The profile a challenge gets when it names none.
pub const DEFAULT_PROFILE: &str = "default";

/// Image of the port proxy that publishes the ports of instances without egress. It runs
/// `nc` only; `busybox` is the base every example challenge is built on.
pub const DEFAULT_PROXY_IMAGE: &str = "busybox:1.36";

/// Why the profiles do not resolve. The message names the profile and the field; `key` is where
/// that was written among the profile tables (`["web", "cpus"]`), so that a reader of the file
/// can point at it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ProfileError {
    pub key: Vec<String>,
    pub message: String,
}

impl ProfileError {
    fn new(key: &[&str], message: impl Into<String>) -> ProfileError {
        ProfileError {
            key: key.iter().map(|k| (*k).to_string()).collect(),
            message: message.into(),
        }
    }
}

/// One profile, complete and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub name: String,
    pub description: String,
    /// Capabilities a challenge may add, normalised (`NET_BIND_SERVICE`).
    pub capabilities: Vec<String>,
    pub read_only: bool,
    /// Numeric `uid:gid`, never root; `None`: the admin's `[container] user`.
    pub user: Option<String>,
    /// Mount point (or `*` for any other) → rule.
    pub tmpfs: BTreeMap<String, TmpfsRule>,
    /// As written, for messages (`"512m"`).
    pub memory: String,
    pub memory_bytes: i64,
    pub cpus: f64,
    pub pids: i64,
    /// Size of `/dev/shm`, as written (`"1m"`) and in bytes.
    pub shm: String,
    pub shm_bytes: i64,
    pub egress: bool,
    pub seccomp: Seccomp,
}

/// What a profile allows for one tmpfs mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TmpfsRule {
    /// As written (`"16m"`).
    pub max_size: String,
    pub max_bytes: i64,
    /// Options other than `size`, applied as written (`mode=1777`).
    pub options: Vec<String>,
}

/// Which seccomp filter instances of a profile run under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seccomp {
    /// The engine's default profile (Docker's blocks ~50 dangerous syscalls).
    EngineDefault,
    /// A profile shipped with ctfdeck (`profiles/seccomp-<name>.json`), by its name.
    Builtin { name: String, json: String },
    /// A profile file chosen by the admin; `json` is its content, compacted.
    File { path: PathBuf, json: String },
}

impl Seccomp {
    pub fn describe(&self) -> String {
        match self {
            Seccomp::EngineDefault => "the engine's default".to_string(),
            Seccomp::Builtin { name, .. } => format!("ctfdeck's {name:?}"),
            Seccomp::File { path, .. } => path.display().to_string(),
        }
    }
}

/// A profile as written in the shipped file or in config: every field optional, so that config
/// can change one field of a shipped profile.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileFields {
    /// The profile a new one starts from (default: `default`).
    pub extends: Option<String>,
    pub description: Option<String>,
    pub capabilities: Option<Vec<String>>,
    pub read_only: Option<bool>,
    pub user: Option<String>,
    pub tmpfs: Option<BTreeMap<String, String>>,
    pub memory: Option<String>,
    pub cpus: Option<f64>,
    pub pids: Option<i64>,
    pub shm: Option<String>,
    pub egress: Option<bool>,
    pub seccomp: Option<String>,
}

impl ProfileFields {
    /// `self` with every field `over` sets replaced (whole values: a tmpfs table replaces the
    /// table, it is not merged mount by mount).
    fn overlay(&self, over: &ProfileFields) -> ProfileFields {
        fn pick<T: Clone>(a: &Option<T>, b: &Option<T>) -> Option<T> {
            b.clone().or_else(|| a.clone())
        }
        ProfileFields {
            extends: pick(&self.extends, &over.extends),
            description: pick(&self.description, &over.description),
            capabilities: pick(&self.capabilities, &over.capabilities),
            read_only: pick(&self.read_only, &over.read_only),
            user: pick(&self.user, &over.user),
            tmpfs: pick(&self.tmpfs, &over.tmpfs),
            memory: pick(&self.memory, &over.memory),
            cpus: pick(&self.cpus, &over.cpus),
            pids: pick(&self.pids, &over.pids),
            shm: pick(&self.shm, &over.shm),
            egress: pick(&self.egress, &over.egress),
            seccomp: pick(&self.seccomp, &over.seccomp),
        }
    }
}

/// The `[profiles]` config section: `[profiles.<name>]` tables, the `[profiles.allow]`
/// exceptions, and the proxy image.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ProfilesConfig {
    #[serde(default)]
    pub allow: Exceptions,
    /// Image for the port proxy of instances without egress (default `busybox:1.36`).
    #[serde(default)]
    pub proxy_image: Option<String>,
    /// Every other key is a profile.
    #[serde(flatten)]
    pub profiles: BTreeMap<String, ProfileFields>,
}

/// The resolved profiles and exceptions every check and every spawn uses.
#[derive(Debug, Clone, PartialEq)]
pub struct SecurityProfiles {
    profiles: BTreeMap<String, Profile>,
    pub allow: Exceptions,
    pub proxy_image: String,
}

impl Default for SecurityProfiles {
    /// The shipped profiles. The shipped file is checked by a unit test; should it ever fail to
    /// resolve, the fallback is a single locked-down `default`, never something looser.
    fn default() -> Self {
        ProfilesConfig::default()
            .resolve()
            .unwrap_or_else(|_| SecurityProfiles::locked_down())
    }
}

impl SecurityProfiles {
    pub fn get(&self, name: &str) -> Option<&Profile> {
        self.profiles.get(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Profile> {
        self.profiles.values()
    }

    /// `challenge, default, strict` — for messages.
    pub fn names(&self) -> String {
        self.profiles.keys().cloned().collect::<Vec<_>>().join(", ")
    }

    fn locked_down() -> SecurityProfiles {
        let profile = Profile {
            name: DEFAULT_PROFILE.to_string(),
            description: "fallback: no capabilities, no outbound traffic".to_string(),
            capabilities: Vec::new(),
            read_only: true,
            user: None,
            tmpfs: BTreeMap::from([(
                "/tmp".to_string(),
                TmpfsRule {
                    max_size: "16m".to_string(),
                    max_bytes: 16 << 20,
                    options: Vec::new(),
                },
            )]),
            memory: "128m".to_string(),
            memory_bytes: 128 << 20,
            cpus: 0.5,
            pids: 64,
            shm: "1m".to_string(),
            shm_bytes: 1 << 20,
            egress: false,
            seccomp: Seccomp::EngineDefault,
        };
        SecurityProfiles {
            profiles: BTreeMap::from([(DEFAULT_PROFILE.to_string(), profile)]),
            allow: Exceptions::default(),
            proxy_image: DEFAULT_PROXY_IMAGE.to_string(),
        }
    }
}

impl ProfilesConfig {
    /// The first problem in a table of this shape, found entry by entry, with its position.
    /// Deserializing the table whole goes through serde's `flatten`, which drops the positions
    /// of problems inside a profile.
    pub fn entry_error(table: &DeTable<'_>) -> Option<toml::de::Error> {
        table.iter().find_map(|(key, value)| {
            let de = ValueDeserializer::from(value.clone());
            let result = match key.get_ref().as_ref() {
                "allow" => Exceptions::deserialize(de).map(drop),
                "proxy_image" => Option::<String>::deserialize(de).map(drop),
                _ => ProfileFields::deserialize(de).map(drop),
            };
            result.err().filter(|e| e.span().is_some())
        })
    }

    /// Apply this config over the shipped profiles and check every profile. The error names the
    /// profile and the field.
    pub fn resolve(&self) -> Result<SecurityProfiles, ProfileError> {
        let shipped: BTreeMap<String, ProfileFields> =
            toml::from_str(SHIPPED_PROFILES).map_err(|e| {
                ProfileError::new(
                    &[],
                    format!("the shipped profiles/security.toml is invalid: {e}"),
                )
            })?;
        let mut raw = shipped;
        for (name, fields) in &self.profiles {
            let merged = match raw.get(name) {
                Some(base) => base.overlay(fields),
                None => fields.clone(),
            };
            raw.insert(name.clone(), merged);
        }
        let mut profiles = BTreeMap::new();
        for name in raw.keys() {
            let fields = flatten_extends(name, &raw)?;
            profiles.insert(name.clone(), Profile::from_fields(name, &fields)?);
        }
        let proxy_image = self
            .proxy_image
            .clone()
            .unwrap_or_else(|| DEFAULT_PROXY_IMAGE.to_string());
        if proxy_image.trim().is_empty() {
            return Err(ProfileError::new(
                &["proxy_image"],
                "[profiles] proxy_image must not be empty",
            ));
        }
        Ok(SecurityProfiles {
            profiles,
            allow: self.allow.clone(),
            proxy_image,
        })
    }
}

/// A file in the format of `profiles/security.toml` (one table per profile, plus optionally
/// `allow` and `proxy_image`, as under `[profiles]` in config), applied over the shipped
/// profiles. Any bytes give the profiles or an error at its place in the file.
pub fn read_profiles(path: &Path, bytes: Vec<u8>) -> Result<SecurityProfiles, ReadError> {
    let text = textfile::decode(path, bytes)?;
    textfile::on_reader_stack(path, || {
        let config: ProfilesConfig = toml::from_str(&text).map_err(|err| {
            let inner = DeTable::parse(&text)
                .ok()
                .and_then(|root| ProfilesConfig::entry_error(root.get_ref()));
            tomlfile::error(path, &text, inner.as_ref().unwrap_or(&err))
        })?;
        config.resolve().map_err(|e| {
            let keys: Vec<&str> = e.key.iter().map(String::as_str).collect();
            tomlfile::error_at_key(&[(path.to_path_buf(), text.clone())], &keys, &e.message)
        })
    })?
}

/// The fields of `name` with its `extends` chain applied (ending at `default`).
fn flatten_extends(
    name: &str,
    raw: &BTreeMap<String, ProfileFields>,
) -> Result<ProfileFields, ProfileError> {
    let mut chain = vec![name.to_string()];
    let mut seen = BTreeSet::from([name.to_string()]);
    let mut current = name.to_string();
    while current != DEFAULT_PROFILE {
        let fields = raw.get(&current).ok_or_else(|| {
            // The profile whose `extends` names the missing one.
            let culprit = chain.iter().rev().nth(1).map_or(name, String::as_str);
            ProfileError::new(
                &[culprit, "extends"],
                format!("profile {name:?} extends {current:?}, which is not defined"),
            )
        })?;
        let parent = fields
            .extends
            .clone()
            .unwrap_or_else(|| DEFAULT_PROFILE.to_string());
        if !seen.insert(parent.clone()) {
            return Err(ProfileError::new(
                &[current.as_str(), "extends"],
                format!(
                    "profile {name:?}: `extends` loops ({} → {parent})",
                    chain.join(" → ")
                ),
            ));
        }
        chain.push(parent.clone());
        current = parent;
    }
    if !raw.contains_key(DEFAULT_PROFILE) {
        return Err(ProfileError::new(&[], "there is no \"default\" profile"));
    }
    // Apply from the root down: default first, `name` last.
    Ok(chain
        .iter()
        .rev()
        .filter_map(|n| raw.get(n))
        .fold(ProfileFields::default(), |acc, f| acc.overlay(f)))
}

impl Profile {
    fn from_fields(name: &str, f: &ProfileFields) -> Result<Profile, ProfileError> {
        let bad = |field: &str, why: String| {
            ProfileError::new(&[name, field], format!("profile {name:?}: {field} {why}"))
        };
        let need = |field: &str| bad(field, "is missing".to_string());
        if !is_valid_name(name) {
            return Err(ProfileError::new(
                &[name],
                format!(
                    "profile name {name:?} is not valid: use lowercase letters, digits, - and _"
                ),
            ));
        }
        if name == "unconfined" {
            return Err(ProfileError::new(
                &[name],
                "a profile cannot be called \"unconfined\": that name means no confinement to the engine",
            ));
        }

        let mut capabilities = Vec::new();
        for cap in f
            .capabilities
            .as_ref()
            .ok_or_else(|| need("capabilities"))?
        {
            let norm = normalize_cap(cap);
            if norm.is_empty() || !norm.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') {
                return Err(bad("capabilities", format!("has an invalid name {cap:?}")));
            }
            if let Some(why) = dangerous_cap(&norm) {
                return Err(bad(
                    "capabilities",
                    format!(
                        "lists {norm}, which no profile may grant ({why}); allow it for one challenge with [profiles.allow] capabilities"
                    ),
                ));
            }
            if !capabilities.contains(&norm) {
                capabilities.push(norm);
            }
        }

        if let Some(user) = &f.user
            && let Some(why) = user_problem(user)
        {
            return Err(bad("user", format!("{user:?} {why}")));
        }

        let mut tmpfs = BTreeMap::new();
        for (mount, options) in f.tmpfs.as_ref().ok_or_else(|| need("tmpfs"))? {
            if mount != "*"
                && let Some(why) = mount_problem(mount)
            {
                return Err(bad("tmpfs", format!("mount point {mount:?} {why}")));
            }
            let parsed = parse_tmpfs_options(options)
                .map_err(|why| bad("tmpfs", format!("{mount:?}: {why}")))?;
            let Some((max_size, max_bytes)) = parsed.size else {
                return Err(bad(
                    "tmpfs",
                    format!("{mount:?} needs a size (e.g. \"size=16m\")"),
                ));
            };
            tmpfs.insert(
                mount.clone(),
                TmpfsRule {
                    max_size,
                    max_bytes,
                    options: parsed.others,
                },
            );
        }

        let memory = f.memory.clone().ok_or_else(|| need("memory"))?;
        let memory_bytes = parse_memory(&memory).ok_or_else(|| {
            bad(
                "memory",
                format!(
                    "{memory:?} is not a size (unlimited memory is granted per challenge with [profiles.allow] unlimited)"
                ),
            )
        })?;
        let cpus = f.cpus.ok_or_else(|| need("cpus"))?;
        if !cpus.is_finite() || cpus < MIN_CPUS {
            return Err(bad(
                "cpus",
                format!("must be at least {MIN_CPUS} (got {cpus}; less rounds to no limit)"),
            ));
        }
        let pids = f.pids.ok_or_else(|| need("pids"))?;
        if pids <= 0 {
            return Err(bad(
                "pids",
                format!(
                    "must be greater than 0 (got {pids}; unlimited pids is granted per challenge with [profiles.allow] unlimited)"
                ),
            ));
        }
        let shm = f.shm.clone().ok_or_else(|| need("shm"))?;
        let shm_bytes = parse_memory(&shm).filter(|b| *b > 0).ok_or_else(|| {
            bad(
                "shm",
                format!("{shm:?} is not a size above 0 (e.g. \"1m\")"),
            )
        })?;
        let seccomp = parse_seccomp(f.seccomp.as_deref().ok_or_else(|| need("seccomp"))?)
            .map_err(|why| bad("seccomp", why))?;

        Ok(Profile {
            name: name.to_string(),
            description: f.description.clone().unwrap_or_default(),
            capabilities,
            read_only: f.read_only.ok_or_else(|| need("read_only"))?,
            user: f.user.clone(),
            tmpfs,
            memory,
            memory_bytes,
            cpus,
            pids,
            shm,
            shm_bytes,
            egress: f.egress.ok_or_else(|| need("egress"))?,
            seccomp,
        })
    }

    /// The rule for a mount point: its own, else the `*` rule.
    pub fn tmpfs_rule(&self, mount: &str) -> Option<&TmpfsRule> {
        self.tmpfs.get(mount).or_else(|| self.tmpfs.get("*"))
    }

    /// The tmpfs mounts a challenge that asks for none gets: the named ones, at their size.
    pub fn default_tmpfs(&self) -> BTreeMap<String, String> {
        self.tmpfs
            .iter()
            .filter(|(mount, _)| mount.as_str() != "*")
            .map(|(mount, rule)| (mount.clone(), rule.options_with_size(&rule.max_size)))
            .collect()
    }

    /// `CHOWN, KILL` or `none`, for messages.
    pub fn capabilities_display(&self) -> String {
        if self.capabilities.is_empty() {
            "none".to_string()
        } else {
            self.capabilities.join(", ")
        }
    }
}

impl TmpfsRule {
    /// `size=<size>` followed by the rule's other options.
    pub fn options_with_size(&self, size: &str) -> String {
        std::iter::once(format!("size={size}"))
            .chain(self.options.iter().cloned())
            .collect::<Vec<_>>()
            .join(",")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
