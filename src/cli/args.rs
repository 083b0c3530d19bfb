//! The command line, as clap sees it. Names here are the product's interface.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "ctfdeck",
    version,
    about = "Run CTF challenge instances on a real container engine; without a command, the console"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Catalog folder [default: ./challenges]
    #[arg(long, global = true, env = "CTFDECK_CATALOG", value_name = "DIR")]
    pub catalog: Option<PathBuf>,
    /// Store file [default: the user data folder's ctfdeck.db]
    #[arg(long, global = true, env = "CTFDECK_STORE", value_name = "FILE")]
    pub store: Option<PathBuf>,
    /// Engine URL or socket (unix://, tcp://) [default: $DOCKER_HOST, else the local socket]
    #[arg(long, global = true, env = "CTFDECK_ENGINE", value_name = "URL")]
    pub engine: Option<String>,
    /// Extra config file, applied over /etc/ctfdeck/config.toml and the user config
    #[arg(long, global = true, env = "CTFDECK_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Console theme
    #[arg(long, global = true, env = "CTFDECK_THEME", value_name = "NAME")]
    pub theme: Option<String>,
    /// Refuse every mutating operation
    #[arg(long, global = true)]
    pub read_only: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate or list the challenge catalog
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// Build challenge images from their build contexts
    Build {
        /// Challenge ids [default: every challenge with a build context]
        challenges: Vec<String>,
    },
    /// Start an instance of a challenge for an owner
    Spawn {
        challenge: String,
        /// team:NAME or user:NAME
        #[arg(long)]
        owner: String,
        #[arg(long)]
        json: bool,
    },
    /// List instances (live ones unless --all)
    List {
        #[arg(long)]
        json: bool,
        #[arg(long)]
        challenge: Option<String>,
        #[arg(long)]
        owner: Option<String>,
        /// Include stopped, failed and lost instances
        #[arg(long)]
        all: bool,
    },
    /// Push an instance's expiry, within the renewal rules
    Extend {
        instance: String,
        /// How much [default: the challenge's extend_by]
        #[arg(long, value_parser = humantime::parse_duration)]
        by: Option<Duration>,
        #[arg(long)]
        json: bool,
    },
    /// Stop and remove instances (container and network)
    Stop {
        #[arg(required = true)]
        instances: Vec<String>,
    },
    /// Replace an instance with a fresh one
    Reset {
        instance: String,
        #[arg(long)]
        json: bool,
    },
    /// Stop many instances at once
    Purge(PurgeArgs),
    /// Show an instance's container logs
    Logs {
        instance: String,
        #[arg(long, short)]
        follow: bool,
        #[arg(long, value_name = "N")]
        tail: Option<usize>,
        /// Pass the output through unchanged, terminal control sequences included (by default
        /// they are removed: a container must not retitle the terminal or write the clipboard)
        #[arg(long)]
        raw: bool,
    },
    /// Stop expired instances (once, or continuously with --watch)
    Reap {
        #[arg(long)]
        watch: bool,
    },
    /// Flags: which instance a submitted flag belongs to
    #[command(subcommand)]
    Flag(FlagCommand),
    /// Who did what, from where
    Audit {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        filter: AuditFilterArgs,
        /// At most this many entries, the most recent
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Check the engine, the store and the catalog
    Doctor {
        /// Check isolation instead: engine confinement, the host firewall, the profiles, and
        /// each running instance against its profile (drift)
        #[arg(long)]
        security: bool,
    },
    /// The author's end-to-end check: validate, build, spawn hardened, wait for an answer, run
    /// the solve script against the instance, tear down
    Smoke(SmokeArgs),
    /// A new challenge folder from a template, ready for `catalog check` and `smoke`
    New {
        /// The challenge id (its folder name): lowercase letters, digits and dashes
        id: String,
        #[arg(long, value_enum)]
        template: TemplateArg,
        /// Catalog folder to create it in [default: the catalog, ./challenges]
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// The host firewall rules that keep instances away from the host and each other's ports
    #[command(subcommand)]
    Firewall(FirewallCommand),
    /// The scoreboard API and the reaper, in one long-running process
    Serve {
        /// Address to listen on [default: `[api] listen`, else 127.0.0.1:8787]
        #[arg(long, value_name = "ADDR")]
        listen: Option<std::net::SocketAddr>,
    },
    /// Tokens for the scoreboard API (`serve`)
    #[command(subcommand)]
    Token(TokenCommand),
    /// The nodes of a Swarm: list them, keep one from taking new instances, let it back
    #[command(subcommand)]
    Node(NodeCommand),
    /// Whether the scoreboard API (`serve`) runs: address, requests and errors per minute,
    /// queue length, from the heartbeat it writes into the store
    Status {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum NodeCommand {
    /// Each node: address, state, availability, role, live instances
    Ls {
        #[arg(long)]
        json: bool,
    },
    /// Take no new instances on NODE; the ones it runs stay until they end (Swarm's `pause`:
    /// Swarm's own drain would move them to addresses the teams were not given). Admin only,
    /// audited
    Drain { node: String },
    /// Let NODE take new instances again. Admin only, audited
    Activate { node: String },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a token; it is printed once on stdout and only its hash is kept
    Add {
        name: String,
        #[arg(long, value_enum, default_value = "scoreboard")]
        role: TokenRoleArg,
    },
    /// The tokens (names, roles, dates; never the tokens)
    List {
        #[arg(long)]
        json: bool,
    },
    /// Make a token unusable at once
    Revoke { name: String },
}

/// `token add --role`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum TokenRoleArg {
    /// Instances and flag checks for the scoreboard's owners, and metrics
    Scoreboard,
    /// Metrics only
    Metrics,
}

impl From<TokenRoleArg> for crate::domain::tokens::TokenRole {
    fn from(r: TokenRoleArg) -> Self {
        match r {
            TokenRoleArg::Scoreboard => Self::Scoreboard,
            TokenRoleArg::Metrics => Self::Metrics,
        }
    }
}

#[derive(Debug, Args)]
pub struct SmokeArgs {
    /// Challenge ids
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub challenges: Vec<String>,
    /// Every challenge of the catalog
    #[arg(long)]
    pub all: bool,
    /// One JSON object per challenge (an array), for CI
    #[arg(long)]
    pub json: bool,
    /// Leave the instances running (stop them with `ctfdeck stop ID`)
    #[arg(long)]
    pub keep: bool,
    /// Do not run the check scripts (the check stage is reported as skipped)
    #[arg(long)]
    pub no_check: bool,
    /// How many challenges run at once
    #[arg(long, short, value_name = "N", default_value_t = crate::domain::smoke::DEFAULT_CONCURRENCY)]
    pub jobs: usize,
    /// How long an instance may take to answer
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, default_value = "30s")]
    pub ready_timeout: Duration,
    /// How long a check script may run [default: the challenge's smoke.timeout, else 60s]
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub check_timeout: Option<Duration>,
}

#[derive(Debug, Subcommand)]
pub enum FirewallCommand {
    /// Show whether the rules are in place (needs root)
    Status,
    /// Install or repair the rules (needs root; idempotent)
    Apply,
    /// Take the rules away (needs root)
    Remove,
}

/// `new --template`: what kind of challenge to start from.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum TemplateArg {
    /// An HTTP service: pages and a CGI script
    Web,
    /// A line-based TCP service (nc)
    Tcp,
    /// Files to download, served over HTTP
    StaticFiles,
}

impl From<TemplateArg> for crate::catalog::scaffold::Template {
    fn from(t: TemplateArg) -> Self {
        match t {
            TemplateArg::Web => Self::Web,
            TemplateArg::Tcp => Self::Tcp,
            TemplateArg::StaticFiles => Self::StaticFiles,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// Report every problem as path:line:col: message; exit 1 on any error
    Check {
        dir: Option<PathBuf>,
        /// Check again on every file change, until Ctrl-C
        #[arg(long)]
        watch: bool,
    },
    /// The challenges
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum FlagCommand {
    /// Which instance, owner and challenge a flag belongs to (live or stopped)
    Whose {
        flag: String,
        /// Who submitted it (team:NAME or user:NAME): exit 0 if it is their own instance's
        /// flag (or a static one), 1 if it is another owner's (recorded in the audit) or unknown
        #[arg(long, value_name = "OWNER")]
        submitted_by: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

/// Which audit entries `ctfdeck audit` shows; the conditions given must all hold.
#[derive(Debug, Args)]
pub struct AuditFilterArgs {
    /// Only entries about this instance (a unique prefix will do)
    #[arg(long)]
    pub instance: Option<String>,
    /// Only what this unix user did
    #[arg(long)]
    pub actor: Option<String>,
    /// Only this action: spawn, extend, stop, reset, reconcile, flag-shared, exit, restart,
    /// restart-limit, show (an API caller refused another owner's instance), token-add or
    /// token-revoke
    #[arg(long)]
    pub action: Option<String>,
    /// Only entries from the last DURATION (e.g. 30m, 2h)
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub since: Option<std::time::Duration>,
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false, id = "selector")]
pub struct PurgeSelectorArgs {
    /// Instances whose expiry has passed
    #[arg(long)]
    pub expired: bool,
    /// Every live instance of this challenge
    #[arg(long, value_name = "CHALLENGE")]
    pub challenge: Option<String>,
    /// Every live instance of this owner
    #[arg(long, value_name = "OWNER")]
    pub owner: Option<String>,
    /// Every live instance
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct PurgeArgs {
    #[command(flatten)]
    pub selector: PurgeSelectorArgs,
    /// Show what would be stopped, stop nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation
    #[arg(long, short)]
    pub yes: bool,
}
