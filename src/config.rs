//! Configuration: `/etc/ctfdeck/config.toml` (shared by all staff on an event host), then the
//! user's `~/.config/ctfdeck/config.toml`, then `--config FILE`; later files override earlier
//! ones key by key. Command-line options and `CTFDECK_*` variables override all files.

use std::path::{Path, PathBuf};

use color_eyre::eyre::Result;
use serde::Deserialize;
use toml::de::{DeTable, DeValue};

use crate::catalog::{Ceilings, ProfilesConfig};
use crate::domain::{
    BuildDefaults, ContainerDefaults, LifetimeDefaults, Policy, Quotas, RolesConfig, SubnetPool,
};
use crate::textfile::{self, ReadError, tomlfile};

pub const SYSTEM_CONFIG: &str = "/etc/ctfdeck/config.toml";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Catalog folder.
    pub catalog: Option<PathBuf>,
    /// Store file.
    pub store: Option<PathBuf>,
    /// Engine URL or socket path (`engine = "unix:///…"`), or `[engine]` with `url` and `kind`.
    pub engine: Option<EngineSetting>,
    /// `[swarm]`: placement, registry and nodes when `[engine] kind = "swarm"`.
    pub swarm: crate::engine::SwarmSettings,
    pub theme: Option<String>,
    /// The host name teams use to reach instances, shown instead of 0.0.0.0 in the console.
    pub public_host: Option<String>,
    /// Console key bindings: action name → key or list of keys (`spawn = "S"`).
    pub keys: std::collections::BTreeMap<String, KeySetting>,
    pub lifetime: LifetimeDefaults,
    pub container: ContainerDefaults,
    pub ceilings: Ceilings,
    pub quotas: Quotas,
    pub roles: RolesConfig,
    pub network: SubnetPool,
    /// `[build]`: the network builds get when their challenge does not ask for one.
    pub build: BuildDefaults,
    /// `[profiles.<name>]` overrides of the shipped security profiles, and `[profiles.allow]`;
    /// resolved into `ceilings.security` by [`Config::load`].
    #[serde(default)]
    pub profiles: ProfilesConfig,
    /// `[api]`: `ctfdeck serve`.
    pub api: ApiConfig,
    /// `[ssh]`: the console served over SSH by `ctfdeck serve`.
    pub ssh: crate::ssh::SshConfig,
}

/// Which engine, and where: a URL alone (the older form), or an `[engine]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum EngineSetting {
    Url(String),
    Table(EngineTable),
}

/// `[engine]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineTable {
    /// Engine URL or socket path (for a Swarm: a manager's).
    pub url: Option<String>,
    pub kind: EngineChoice,
}

/// `[engine] kind`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineChoice {
    /// One Docker (or Podman) engine: containers.
    #[default]
    Docker,
    /// A Docker Swarm manager: services spread over its nodes.
    Swarm,
}

impl Config {
    /// The engine URL the config names, if any.
    pub fn engine_url(&self) -> Option<String> {
        match &self.engine {
            Some(EngineSetting::Url(url)) => Some(url.clone()),
            Some(EngineSetting::Table(t)) => t.url.clone(),
            None => None,
        }
    }

    /// `[engine] kind`, Docker when not set.
    pub fn engine_choice(&self) -> EngineChoice {
        match &self.engine {
            Some(EngineSetting::Table(t)) => t.kind,
            _ => EngineChoice::Docker,
        }
    }
}

/// `[api]`: where `ctfdeck serve` listens, and how much one client may hold of it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// Loopback by default: put a TLS reverse proxy in front to expose it.
    pub listen: std::net::SocketAddr,
    /// Connections served at once; further ones wait in the listen queue until one closes,
    /// so clients that hold connections open cannot take more than this.
    pub max_connections: usize,
    /// How long a client may take to send a request's headers (also how long an idle
    /// keep-alive connection stays open): a slow-loris client is cut off after it.
    #[serde(with = "humantime_serde")]
    pub header_timeout: std::time::Duration,
    /// Requests per minute one token may make (a burst of up to a minute's worth, refilled
    /// evenly); over it → 429 `rate-limit` with `Retry-After`. 0: no limit.
    pub rate_per_minute: u32,
    /// Whether a spawn refused by the global capacity takes a place in the spawn queue (202)
    /// when the request does not say (`"queue": true|false`).
    pub queue: bool,
    /// Engine actions (spawns, extends, resets, stops) the API runs at once; more wait their
    /// turn. Sized for the engine: creating networks and containers is serialised inside it.
    pub engine_concurrency: usize,
    /// How long a spawn request waits for its instance; then it answers 202 `starting` and the
    /// spawn goes on (the client polls `GET /v1/instances`).
    #[serde(with = "humantime_serde")]
    pub spawn_wait: std::time::Duration,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 8787)),
            max_connections: 512,
            header_timeout: std::time::Duration::from_secs(10),
            rate_per_minute: 30_000,
            queue: false,
            engine_concurrency: 16,
            spawn_wait: std::time::Duration::from_secs(60),
        }
    }
}

impl Config {
    /// Load and merge the config files that exist. `explicit` (from `--config`) must exist.
    pub fn load(explicit: Option<&Path>) -> Result<Config> {
        let mut paths: Vec<PathBuf> = vec![PathBuf::from(SYSTEM_CONFIG)];
        if let Some(dirs) = project_dirs() {
            paths.push(dirs.config_dir().join("config.toml"));
        }
        paths.retain(|p| p.is_file());
        paths.extend(explicit.map(Path::to_path_buf));
        let mut files = Vec::new();
        for path in paths {
            let text = textfile::read(&path)?;
            files.push((path, text));
        }
        Ok(Config::from_files(&files)?)
    }

    /// One config file given as bytes, read as `--config FILE` alone would be.
    pub fn parse_file(path: &Path, bytes: Vec<u8>) -> Result<Config, ReadError> {
        let text = textfile::decode(path, bytes)?;
        Config::from_files(&[(path.to_path_buf(), text)])
    }

    /// Merge config texts (later files override earlier ones key by key) and check the result.
    /// Every error is placed in the file and at the key it comes from.
    pub fn from_files(files: &[(PathBuf, String)]) -> Result<Config, ReadError> {
        let last = files.last().map_or(Path::new(SYSTEM_CONFIG), |(p, _)| p);
        textfile::on_reader_stack(last, || Config::check_files(files))?
    }

    fn check_files(files: &[(PathBuf, String)]) -> Result<Config, ReadError> {
        let mut merged = toml::Table::new();
        for (path, text) in files {
            merge(&mut merged, tomlfile::parse::<toml::Table>(path, text)?);
        }
        let mut config = match Config::deserialize(toml::Value::Table(merged)) {
            Ok(config) => config,
            // The merged table has no positions; the file that is wrong on its own has them.
            Err(err) => {
                return Err(files
                    .iter()
                    .rev()
                    .find_map(|(path, text)| file_error(path, text))
                    .unwrap_or_else(|| tomlfile::error_at_key(files, &[], err.message())));
            }
        };
        if let Err(why) = config.ceilings.check() {
            // Each message starts with the field it is about.
            let field = why.split_whitespace().next().unwrap_or_default();
            return Err(tomlfile::error_at_key(
                files,
                &["ceilings", field],
                &format!("[ceilings] {why}"),
            ));
        }
        if let Err(why) = config.network.parsed() {
            let field = if why.starts_with("subnet prefix") {
                "prefix"
            } else {
                "pool"
            };
            return Err(tomlfile::error_at_key(
                files,
                &["network", field],
                &format!("[network] {why}"),
            ));
        }
        if let Err(why) = config.ssh.check() {
            // Each message starts with the field it is about.
            let field = why.split_whitespace().next().unwrap_or_default();
            return Err(tomlfile::error_at_key(
                files,
                &["ssh", field],
                &format!("[ssh] {why}"),
            ));
        }
        if let Err(why) = config.swarm.check() {
            let field = why.split_whitespace().next().unwrap_or_default();
            return Err(tomlfile::error_at_key(
                files,
                &["swarm", field],
                &format!("[swarm] {why}"),
            ));
        }
        config.ceilings.security = config.profiles.resolve().map_err(|e| {
            let keys: Vec<&str> = std::iter::once("profiles")
                .chain(e.key.iter().map(String::as_str))
                .collect();
            tomlfile::error_at_key(files, &keys, &e.message)
        })?;
        Ok(config)
    }

    pub fn policy(&self) -> Policy {
        Policy {
            lifetime: self.lifetime.clone(),
            container: self.container.clone(),
            ceilings: self.ceilings.clone(),
            quotas: self.quotas.clone(),
            network: self.network.clone(),
            build: self.build.clone(),
            on_node_down: self.swarm.on_node_down,
        }
    }
}

/// One action's keys in `[keys]`: a single key or several.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum KeySetting {
    One(String),
    Many(Vec<String>),
}

impl KeySetting {
    pub fn keys(&self) -> Vec<&str> {
        match self {
            KeySetting::One(k) => vec![k.as_str()],
            KeySetting::Many(ks) => ks.iter().map(String::as_str).collect(),
        }
    }
}

pub fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("org", "ctfdeck", "ctfdeck")
}

/// The default store location: the per-user data folder.
pub fn default_store_path() -> PathBuf {
    project_dirs()
        .map(|d| d.data_dir().join("ctfdeck.db"))
        .unwrap_or_else(|| PathBuf::from("ctfdeck.db"))
}

/// The first problem of one config file on its own, at its place in the file.
fn file_error(path: &Path, text: &str) -> Option<ReadError> {
    let err = toml::from_str::<Config>(text).err()?;
    // Problems inside a profile lose their position in `[profiles]`; look there entry by entry.
    let in_profiles = DeTable::parse(text).ok().and_then(|root| {
        match root
            .get_ref()
            .iter()
            .find(|(k, _)| k.get_ref() == "profiles")
        {
            Some((_, value)) => match value.get_ref() {
                DeValue::Table(profiles) => ProfilesConfig::entry_error(profiles),
                _ => None,
            },
            None => None,
        }
    });
    Some(tomlfile::error(
        path,
        text,
        in_profiles.as_ref().unwrap_or(&err),
    ))
}

fn merge(into: &mut toml::Table, from: toml::Table) {
    for (key, value) in from {
        match (into.get_mut(&key), value) {
            (Some(toml::Value::Table(a)), toml::Value::Table(b)) => merge(a, b),
            (_, v) => {
                into.insert(key, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_layers_override_key_by_key() {
        let mut a: toml::Table = "[lifetime]\ndefault = \"45m\"\nmax_renewals = 3"
            .parse()
            .unwrap();
        let b: toml::Table = "[lifetime]\nmax_renewals = 1".parse().unwrap();
        merge(&mut a, b);
        let cfg = Config::deserialize(toml::Value::Table(a)).unwrap();
        assert_eq!(cfg.lifetime.max_renewals, 1);
        assert_eq!(
            cfg.lifetime.default,
            std::time::Duration::from_secs(45 * 60)
        );
    }

    #[test]
    fn roles_and_key_bindings_are_read() {
        let t: toml::Table =
            "[roles]\ndefault = \"monitor\"\n[keys]\nspawn = \"S\"\nquit = [\"q\", \"ctrl-c\"]"
                .parse()
                .unwrap();
        let cfg = Config::deserialize(toml::Value::Table(t)).unwrap();
        assert_eq!(cfg.roles.default, crate::domain::Role::Monitor);
        assert_eq!(cfg.keys["spawn"], KeySetting::One("S".into()));
        assert_eq!(cfg.keys["quit"].keys(), vec!["q", "ctrl-c"]);
    }

    fn layered(texts: &[(&str, &str)]) -> Result<Config, String> {
        let files: Vec<(PathBuf, String)> = texts
            .iter()
            .map(|(p, t)| (PathBuf::from(p), t.to_string()))
            .collect();
        Config::from_files(&files).map_err(|e| e.to_string())
    }

    #[test]
    fn every_config_error_names_the_file_line_and_column() {
        let sys = ("sys.toml", "[lifetime]\nmax_renewals = 2\n");
        assert!(layered(&[sys]).is_ok());
        // A wrong type in the second file is placed in that file, not in the merged table.
        assert_eq!(
            layered(&[sys, ("me.toml", "\n[lifetime]\ndefault = 45\n")]).unwrap_err(),
            "me.toml:3:11: invalid type: integer `45`, expected a duration"
        );
        assert_eq!(
            layered(&[("c.toml", "[ceilings]\nmax_cpus = 0.0\n")]).unwrap_err(),
            "c.toml:2:1: [ceilings] max_cpus must be greater than 0 (got 0)"
        );
        assert_eq!(
            layered(&[("c.toml", "[network]\npool = \"10.0.0.0\"\n")]).unwrap_err(),
            "c.toml:2:1: [network] network pool \"10.0.0.0\" is not CIDR (a.b.c.d/len)"
        );
        assert_eq!(
            layered(&[("c.toml", "[network]\nprefix = 31\n")]).unwrap_err(),
            "c.toml:2:1: [network] subnet prefix /31 must be between the pool's /16 and /30"
        );
        // A profile problem goes to the file and field that set it.
        assert_eq!(
            layered(&[
                ("sys.toml", "[profiles.web]\ncpus = 0.0\n"),
                ("me.toml", "[profiles.web]\npids = 10\n"),
            ])
            .unwrap_err(),
            "sys.toml:2:1: profile \"web\": cpus must be at least 0.01 (got 0; less rounds to no limit)"
        );
        // Inside a profile, a wrong type keeps its position despite serde's flatten.
        assert_eq!(
            layered(&[("c.toml", "[profiles.web]\npids = \"many\"\n")]).unwrap_err(),
            "c.toml:2:8: invalid type: string \"many\", expected i64"
        );
    }

    #[test]
    fn ssh_errors_are_placed_in_the_ssh_section() {
        assert_eq!(
            layered(&[("c.toml", "[ssh]\nmax_sessions = 0\n")]).unwrap_err(),
            "c.toml:2:1: [ssh] max_sessions must be at least 1"
        );
        let bad_key = "[ssh]\nlisten = \"127.0.0.1:2222\"\n[[ssh.staff]]\nname = \"bob\"\nrole = \"admin\"\nkeys = [\"ssh-ed25519 nope\"]\n";
        let err = layered(&[("c.toml", bad_key)]).unwrap_err();
        assert!(
            err.starts_with("c.toml:") && err.contains("[ssh] staff \"bob\": key 1 is not"),
            "{err}"
        );
        let bad_role = "[[ssh.staff]]\nname = \"bob\"\nrole = \"root\"\nkeys = []\n";
        let err = layered(&[("c.toml", bad_role)]).unwrap_err();
        assert!(
            err.starts_with("c.toml:3:") && err.contains("root"),
            "{err}"
        );
        let cfg = layered(&[(
            "c.toml",
            "[ssh]\nlisten = \"0.0.0.0:2222\"\nidle_timeout = \"10m\"\n",
        )])
        .unwrap();
        assert_eq!(cfg.ssh.listen, Some("0.0.0.0:2222".parse().unwrap()));
        assert_eq!(cfg.ssh.idle_timeout, std::time::Duration::from_secs(600));
        assert_eq!(cfg.ssh.max_sessions, 32);
    }

    #[test]
    fn on_exit_defaults_to_restart_and_reads_keep() {
        use crate::domain::OnExit;
        assert_eq!(Config::default().lifetime.on_exit, OnExit::Restart);
        let t: toml::Table = "[lifetime]\non_exit = \"keep\"".parse().unwrap();
        let cfg = Config::deserialize(toml::Value::Table(t)).unwrap();
        assert_eq!(cfg.policy().lifetime.on_exit, OnExit::Keep);
        let t: toml::Table = "[lifetime]\non_exit = \"sometimes\"".parse().unwrap();
        let err = Config::deserialize(toml::Value::Table(t)).unwrap_err();
        assert!(err.to_string().contains("restart"), "{err}");
    }

    #[test]
    fn builds_have_no_network_unless_configured() {
        use crate::catalog::BuildNetworkMode;
        let cfg = Config::default();
        assert_eq!(cfg.policy().build.network, BuildNetworkMode::None);
        let t: toml::Table = "[build]\nnetwork = \"default\"".parse().unwrap();
        let cfg = Config::deserialize(toml::Value::Table(t)).unwrap();
        assert_eq!(cfg.policy().build.network, BuildNetworkMode::Default);
        let t: toml::Table = "[build]\nnetwork = \"host\"".parse().unwrap();
        assert!(Config::deserialize(toml::Value::Table(t)).is_err());
    }

    #[test]
    fn unknown_keys_and_bad_durations_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(&p, "[lifetime]\ndefault = \"soon\"\n").unwrap();
        let err = format!("{:#}", Config::load(Some(&p)).unwrap_err());
        assert!(err.contains("c.toml"), "{err}");
        std::fs::write(&p, "colour = 1\n").unwrap();
        assert!(Config::load(Some(&p)).is_err());
    }
}

#[cfg(test)]
mod engine_tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, String> {
        Config::from_files(&[(PathBuf::from("c.toml"), text.to_string())])
            .map_err(|e| e.to_string())
    }

    #[test]
    fn the_engine_is_a_url_or_a_table_with_its_kind() {
        let old = parse("engine = \"unix:///run/docker.sock\"\n").unwrap();
        assert_eq!(old.engine_url().as_deref(), Some("unix:///run/docker.sock"));
        assert_eq!(old.engine_choice(), EngineChoice::Docker);
        let swarm = parse(
            "[engine]\nkind = \"swarm\"\nurl = \"tcp://10.0.0.2:2375\"\n\
             [swarm]\nconstraints = [\"node.labels.ctfdeck==true\"]\nregistry = \"10.0.0.1:5000\"\n\
             [swarm.nodes.node-2]\npublic_host = \"n2.ctf.example\"\n",
        )
        .unwrap();
        assert_eq!(swarm.engine_choice(), EngineChoice::Swarm);
        assert_eq!(swarm.engine_url().as_deref(), Some("tcp://10.0.0.2:2375"));
        assert_eq!(swarm.swarm.registry, "10.0.0.1:5000");
        assert_eq!(parse("").unwrap().engine_choice(), EngineChoice::Docker);
        assert!(parse("[engine]\nkind = \"kubernetes\"\n").is_err());
        let bad = parse("[swarm]\nconstraints = [\"nonsense\"]\n").unwrap_err();
        assert!(bad.contains("[swarm] constraints"), "{bad}");
    }

    #[test]
    fn a_node_going_down_loses_its_instances_unless_told_to_reschedule() {
        use crate::engine::swarm::OnNodeDown;
        assert_eq!(parse("").unwrap().policy().on_node_down, OnNodeDown::Lost);
        let lost = parse("[swarm]\non_node_down = \"lost\"\n").unwrap();
        assert_eq!(lost.policy().on_node_down, OnNodeDown::Lost);
        let moved = parse("[swarm]\non_node_down = \"reschedule\"\n").unwrap();
        assert_eq!(moved.swarm.on_node_down, OnNodeDown::Reschedule);
        assert_eq!(moved.policy().on_node_down, OnNodeDown::Reschedule);
        let bad = parse("[swarm]\non_node_down = \"migrate\"\n").unwrap_err();
        assert!(
            bad.starts_with("c.toml:2:") && bad.contains("`lost` or `reschedule`"),
            "{bad}"
        );
    }
}
