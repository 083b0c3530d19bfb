//! A unix-socket relay to the engine that a test can cut and restore: the engine "goes away"
//! for one process without restarting the daemon other tests share.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::net::{UnixListener, UnixStream};
use tokio::task::JoinHandle;

/// The engine's socket: `DOCKER_HOST`'s when it names a unix socket (the Podman pass of CI),
/// else Docker's default.
pub fn engine_socket() -> PathBuf {
    std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|host| host.strip_prefix("unix://").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("/var/run/docker.sock"))
}

/// A unix-socket relay to the engine that can be cut and restored.
pub struct Relay {
    pub path: PathBuf,
    engine: PathBuf,
    rt: tokio::runtime::Runtime,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Relay {
    pub fn new(path: &Path) -> Relay {
        Relay::to(path, &engine_socket())
    }

    /// A relay to the engine listening on `engine` (a unix socket).
    pub fn to(path: &Path, engine: &Path) -> Relay {
        let relay = Relay {
            path: path.to_path_buf(),
            engine: engine.to_path_buf(),
            rt: tokio::runtime::Runtime::new().unwrap(),
            tasks: Arc::new(Mutex::new(Vec::new())),
        };
        relay.up();
        relay
    }

    pub fn up(&self) {
        let _ = std::fs::remove_file(&self.path);
        let listener = self
            .rt
            .block_on(async { UnixListener::bind(&self.path) })
            .unwrap();
        let tasks = self.tasks.clone();
        let target = self.engine.clone();
        let accept = self.rt.spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let target = target.clone();
                let conn = tokio::spawn(async move {
                    if let Ok(mut engine) = UnixStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut engine).await;
                    }
                });
                tasks.lock().unwrap().push(conn);
            }
        });
        self.tasks.lock().unwrap().push(accept);
    }

    /// The engine "goes away": no new connections, every open one cut.
    pub fn down(&self) {
        for t in self.tasks.lock().unwrap().drain(..) {
            t.abort();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}
