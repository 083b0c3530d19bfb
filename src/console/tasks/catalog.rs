//! Follow the catalog folder: after each burst of file changes (and once at start), read it
//! again and send the valid challenges with every problem found, so the catalog pane shows
//! new challenges and new problems while authors edit.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc::Sender;

use crate::catalog::watch::{Watcher, watch};
use crate::catalog::{Catalog, Ceilings};
use crate::console::event::{CatalogReload, Event};

/// Start following `dir`. The watcher lives as long as the returned value; `None` (with a
/// warning logged, which reaches the activity pane) when the folder cannot be watched.
pub fn spawn(dir: PathBuf, ceilings: Ceilings, tx: Sender<Event>) -> Option<Watcher> {
    let reload = {
        let (dir, tx) = (dir.clone(), tx.clone());
        move || {
            let event = Event::Catalog(load(&dir, &ceilings));
            // On the watcher's own thread (or a blocking task at start): blocking is fine.
            let _ = tx.blocking_send(event);
        }
    };
    let first = reload.clone();
    tokio::task::spawn_blocking(first);
    match watch(&dir, move |_| reload()) {
        Ok(watcher) => Some(watcher),
        Err(e) => {
            tracing::warn!("the catalog pane will not follow edits: {e}");
            None
        }
    }
}

fn load(dir: &std::path::Path, ceilings: &Ceilings) -> CatalogReload {
    // Paths inside the catalog read shorter in a pane: `web-x/challenge.json:3:5: …`.
    let prefix = format!("{}/", dir.display());
    match Catalog::load(dir, ceilings) {
        Ok(report) => CatalogReload {
            problems: report
                .diagnostics
                .iter()
                .filter(|d| d.is_error())
                .map(|d| {
                    let text = d.to_string();
                    text.strip_prefix(&prefix)
                        .map(str::to_string)
                        .unwrap_or(text)
                })
                .collect(),
            catalog: Some(Arc::new(report.catalog)),
        },
        Err(e) => CatalogReload {
            catalog: None,
            problems: vec![format!("cannot read {}: {e}", dir.display())],
        },
    }
}
