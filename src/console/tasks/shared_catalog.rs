//! One catalog watcher for many consoles in one process (the SSH sessions of `serve`): each
//! console would otherwise watch the folder itself, and every edit would read the whole
//! catalog once per session. The latest reading is kept as a value: a console that is slow to
//! take it skips to the newest.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::{mpsc, watch};

use crate::catalog::Ceilings;
use crate::catalog::watch::Watcher;
use crate::console::event::{CatalogReload, Event};

/// The shared watcher's latest reading; clone it for each console.
#[derive(Clone)]
pub struct SharedCatalog {
    latest: watch::Receiver<Option<Arc<CatalogReload>>>,
    /// Watching stops when the last console feed and the process's own handle are gone.
    _watcher: Arc<Option<Watcher>>,
}

impl std::fmt::Debug for SharedCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedCatalog").finish_non_exhaustive()
    }
}

impl SharedCatalog {
    /// Start the one watcher on `dir` (it reads the folder once at start, then after each
    /// burst of edits).
    pub fn spawn(dir: PathBuf, ceilings: Ceilings) -> SharedCatalog {
        let (tx, mut rx) = mpsc::channel(4);
        let watcher = super::catalog::spawn(dir, ceilings, tx);
        let (latest_tx, latest) = watch::channel(None);
        tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                if let Event::Catalog(reload) = event {
                    latest_tx.send_replace(Some(Arc::new(reload)));
                }
            }
        });
        SharedCatalog {
            latest,
            _watcher: Arc::new(watcher),
        }
    }

    /// Feed one console: the latest reading at once (if there is one), then each new one,
    /// until the console is gone.
    pub fn follow(&self, tx: mpsc::Sender<Event>) {
        let mut latest = self.latest.clone();
        let watcher = self._watcher.clone();
        tokio::spawn(async move {
            // Held so the folder stays watched while any console follows it.
            let _watcher = watcher;
            let mut reload = latest.borrow_and_update().clone();
            loop {
                if let Some(reload) = reload.take()
                    && tx.send(Event::Catalog((*reload).clone())).await.is_err()
                {
                    return;
                }
                tokio::select! {
                    () = tx.closed() => return,
                    changed = latest.changed() => if changed.is_err() { return },
                }
                reload = latest.borrow_and_update().clone();
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn next_reload(rx: &mut mpsc::Receiver<Event>) -> CatalogReload {
        loop {
            match tokio::time::timeout(std::time::Duration::from_secs(30), rx.recv()).await {
                Ok(Some(Event::Catalog(r))) => return r,
                Ok(Some(_)) => continue,
                other => panic!("no catalog reading: {other:?}"),
            }
        }
    }

    fn names(reload: &CatalogReload) -> Vec<String> {
        let mut names: Vec<String> = reload
            .catalog
            .as_ref()
            .map(|c| c.challenges.iter().map(|c| c.id.clone()).collect())
            .unwrap_or_default();
        names.sort();
        names
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn one_watcher_feeds_every_console_the_first_reading_and_each_edit() {
        let dir = tempfile::tempdir().unwrap();
        let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let copy = |name: &str| {
            let from = repo.join("challenges").join(name);
            let to = dir.path().join(name);
            std::fs::create_dir_all(&to).unwrap();
            for entry in std::fs::read_dir(&from).unwrap() {
                let entry = entry.unwrap();
                if entry.file_type().unwrap().is_file() {
                    std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
                }
            }
        };
        copy("web-robots");
        let shared = SharedCatalog::spawn(dir.path().to_path_buf(), Ceilings::default());
        let (tx_a, mut rx_a) = mpsc::channel(8);
        let (tx_b, mut rx_b) = mpsc::channel(8);
        shared.follow(tx_a);
        shared.follow(tx_b);
        for rx in [&mut rx_a, &mut rx_b] {
            let mut reload = next_reload(rx).await;
            // A console that joined before the first reading gets it when it comes.
            while reload.catalog.is_none() {
                reload = next_reload(rx).await;
            }
            assert_eq!(names(&reload), ["web-robots"]);
        }
        copy("nc-calc");
        for rx in [&mut rx_a, &mut rx_b] {
            let mut reload = next_reload(rx).await;
            while names(&reload).len() < 2 {
                reload = next_reload(rx).await;
            }
            assert_eq!(names(&reload), ["nc-calc", "web-robots"]);
        }
        // A console that joins later starts from the latest reading, not an empty pane.
        let (tx_c, mut rx_c) = mpsc::channel(8);
        shared.follow(tx_c);
        assert_eq!(
            names(&next_reload(&mut rx_c).await),
            ["nc-calc", "web-robots"]
        );
    }
}
