//! Watching a catalog folder for changes (`catalog check --watch`, the console's reload).
//! Editors save in bursts (a temporary file, a rename, a chmod): changes are debounced into
//! one notification per burst.

use std::path::{Path, PathBuf};
use std::time::Duration;

use notify_debouncer_mini::notify::{self, RecursiveMode};
use notify_debouncer_mini::{DebounceEventResult, Debouncer, new_debouncer};
use thiserror::Error;

/// Changes closer together than this are one burst.
pub const DEBOUNCE: Duration = Duration::from_millis(300);

#[derive(Debug, Error)]
#[error("cannot watch {}: {source}", path.display())]
pub struct WatchError {
    path: PathBuf,
    #[source]
    source: notify::Error,
}

/// What one burst of changes touched (or why watching failed).
pub type Changes = Result<Vec<PathBuf>, String>;

/// Keeps watching while alive.
pub struct Watcher {
    _debouncer: Debouncer<notify::RecommendedWatcher>,
}

/// Watch `dir` and everything under it; `on_change` gets each burst of changed paths, on the
/// watcher's own thread.
pub fn watch(
    dir: &Path,
    mut on_change: impl FnMut(Changes) + Send + 'static,
) -> Result<Watcher, WatchError> {
    let error = |source| WatchError {
        path: dir.to_path_buf(),
        source,
    };
    let mut debouncer = new_debouncer(DEBOUNCE, move |result: DebounceEventResult| {
        on_change(
            result
                .map(|events| events.into_iter().map(|e| e.path).collect())
                .map_err(|e| e.to_string()),
        );
    })
    .map_err(error)?;
    debouncer
        .watcher()
        .watch(dir, RecursiveMode::Recursive)
        .map_err(error)?;
    Ok(Watcher {
        _debouncer: debouncer,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn an_edit_under_the_folder_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("chal")).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let _w = watch(dir.path(), move |c| {
            let _ = tx.send(c);
        })
        .unwrap();
        std::fs::write(dir.path().join("chal/challenge.json"), "{}").unwrap();
        // A batch may first report the folder itself (its change as the watch settles on it);
        // the file's own event follows in the same batch or a later one.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let mut seen = Vec::new();
        while !seen
            .iter()
            .any(|p: &std::path::PathBuf| p.ends_with("chal/challenge.json"))
        {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let batch = rx.recv_timeout(left);
            assert!(
                batch.is_ok(),
                "the file's edit was never reported: {seen:?}"
            );
            seen.extend(batch.unwrap().unwrap());
        }
    }

    #[test]
    fn a_missing_folder_is_an_error_naming_it() {
        let err = watch(Path::new("/nonexistent/catalog"), |_| {})
            .err()
            .unwrap();
        assert!(
            err.to_string()
                .starts_with("cannot watch /nonexistent/catalog: "),
            "{err}"
        );
    }
}
