//! The console served over SSH by `ctfdeck serve`: staff connect with their key and get the
//! console — their own, sized to their window — and nothing else: no shell, no commands, no
//! forwarding, no engine socket. The key decides who they are (the audit's actor) and their
//! role (a monitor's console is read-only). Every session runs the same console code as the
//! local one; only its screen and keyboard are the SSH channel.

pub mod config;
mod connection;
pub mod host_key;
mod input;
mod refusals;
mod screen;
mod session;
pub mod staff;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use russh::server::Server as _;
use tokio::sync::Semaphore;

pub use config::{SshConfig, StaffEntry};
pub use staff::{StaffMember, StaffTable};

use crate::console::Launch;
use crate::domain::Actor;

/// Builds the console one session runs, for the staff member who connected.
pub type Launcher = Arc<dyn Fn(Actor) -> Launch + Send + Sync>;
/// Reads the config again (on SIGHUP): the new `[ssh]` section, or why it cannot be used.
pub type Reload = Arc<dyn Fn() -> Result<SshConfig, String> + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum SshError {
    #[error(transparent)]
    HostKey(#[from] host_key::HostKeyError),
    #[error("[ssh] {0}")]
    Config(String),
    #[error("cannot listen for SSH on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the SSH server stopped: {0}")]
    Stopped(std::io::Error),
}

pub struct SshServe {
    pub listen: SocketAddr,
    pub config: SshConfig,
    /// Where the host key is (or will be created).
    pub host_key: PathBuf,
    pub launcher: Launcher,
    pub reload: Reload,
}

/// The host key's path: as configured, else beside the store.
pub fn host_key_path(config: &SshConfig, store: &std::path::Path) -> PathBuf {
    config.host_key.clone().unwrap_or_else(|| {
        store
            .parent()
            .unwrap_or(std::path::Path::new("."))
            .join("ssh_host_ed25519_key")
    })
}

/// What every connection shares: who may come in (replaced on SIGHUP), the session slots,
/// the refusal log and how to start a console.
pub(crate) struct Shared {
    pub staff: RwLock<Arc<StaffTable>>,
    pub sessions: Arc<Semaphore>,
    pub max_sessions: usize,
    pub output_budget: usize,
    /// A console nobody types in for this long is closed.
    pub idle_timeout: std::time::Duration,
    pub refusals: refusals::RefusalLog,
    pub launcher: Launcher,
}

impl Shared {
    pub fn staff(&self) -> Arc<StaffTable> {
        self.staff
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// Bind, say where and with which host key, and serve until the process ends. SIGHUP reads
/// the staff again; sessions already open go on as they are.
pub async fn serve(serve: SshServe) -> Result<(), SshError> {
    let SshServe {
        listen,
        config,
        host_key,
        launcher,
        reload,
    } = serve;
    config.check().map_err(SshError::Config)?;
    let key = host_key::load_or_create(&host_key)?;
    let staff = StaffTable::from_config(&config.staff).map_err(SshError::Config)?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| SshError::Listen {
            addr: listen,
            source,
        })?;
    println!(
        "{} serving the console over SSH on {} (host key {}, {} staff keys)",
        crate::domain::view::rfc3339(crate::store::now_millis()),
        listener.local_addr().unwrap_or(listen),
        host_key::fingerprint(&key),
        staff.len()
    );
    let shared = Arc::new(Shared {
        staff: RwLock::new(Arc::new(staff)),
        sessions: Arc::new(Semaphore::new(config.max_sessions)),
        max_sessions: config.max_sessions,
        output_budget: config.output_budget,
        idle_timeout: config.idle_timeout,
        refusals: refusals::RefusalLog::default(),
        launcher,
    });
    spawn_reloader(shared.clone(), reload)?;
    let russh_config = Arc::new(russh::server::Config {
        server_id: russh::SshId::Standard(std::borrow::Cow::Owned(format!(
            "SSH-2.0-ctfdeck_{}",
            env!("CARGO_PKG_VERSION")
        ))),
        methods: russh::MethodSet::from(&[russh::MethodKind::PublicKey][..]),
        keys: vec![key],
        // A connection silent both ways for this long (a console is closed sooner, when nobody
        // types: see `session`) — one that never asked for a console, or a vanished client.
        inactivity_timeout: Some(config.idle_timeout),
        auth_rejection_time: std::time::Duration::from_millis(300),
        auth_rejection_time_initial: Some(std::time::Duration::ZERO),
        max_auth_attempts: 6,
        nodelay: true,
        ..Default::default()
    });
    let mut server = connection::Acceptor { shared };
    server
        .run_on_socket(russh_config, &listener)
        .await
        .map_err(SshError::Stopped)
}

/// SIGHUP: read the config again and swap the staff table; a config that does not read
/// keeps the old table (and says why).
fn spawn_reloader(shared: Arc<Shared>, reload: Reload) -> Result<(), SshError> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hup = signal(SignalKind::hangup())
        .map_err(|e| SshError::Config(format!("cannot install the SIGHUP handler: {e}")))?;
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            let now = crate::domain::view::rfc3339(crate::store::now_millis());
            match reload().and_then(|c| StaffTable::from_config(&c.staff)) {
                Ok(table) => {
                    println!("{now} SSH staff reloaded: {} keys", table.len());
                    *shared
                        .staff
                        .write()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(table);
                }
                Err(e) => {
                    eprintln!("{now} SSH staff NOT reloaded, the previous list stays: {e}")
                }
            }
        }
    });
    Ok(())
}
