//! Watching a catalog folder for changes (`catalog check --watch`, the console's reload).
//! Editors save in bursts (a temporary file, a rename, a chmod): changes are debounced into
//! one notification per burst.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use notify::{self, Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher as _};
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

/// Keeps watching while alive; dropping it ends the burst thread too (its channel closes).
pub struct Watcher {
    _watcher: RecommendedWatcher,
}

/// Watch `dir` and everything under it; `on_change` gets each burst of changed paths, on the
/// watcher's own thread.
pub fn watch(
    dir: &Path,
    on_change: impl FnMut(Changes) + Send + 'static,
) -> Result<Watcher, WatchError> {
    let error = |source| WatchError {
        path: dir.to_path_buf(),
        source,
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let mut watcher = notify::recommended_watcher(tx).map_err(error)?;
    watcher
        .watch(dir, RecursiveMode::Recursive)
        .map_err(error)?;
    std::thread::Builder::new()
        .name("catalog watch".into())
        .spawn(move || bursts(&rx, on_change))
        .map_err(|e| error(notify::Error::io(e)))?;
    Ok(Watcher { _watcher: watcher })
}

/// Whether an event changes the folder. Opening and reading a file is no change: whoever
/// follows the folder reads it again after each change, and on Linux those reads come back as
/// events of their own — taken as changes, they would make a reload that never stops.
fn is_change(event: &Event) -> bool {
    !matches!(event.kind, EventKind::Access(_))
}

/// Gather events into bursts: a burst starts at a change and ends [`DEBOUNCE`] after its last
/// change; then `on_change` gets its paths (or the watcher's error).
fn bursts(rx: &Receiver<notify::Result<Event>>, mut on_change: impl FnMut(Changes)) {
    let mut paths: Vec<PathBuf> = Vec::new();
    let mut failed: Option<String> = None;
    let mut ends: Option<Instant> = None;
    loop {
        let next = match ends {
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(at) => rx.recv_timeout(at.saturating_duration_since(Instant::now())),
        };
        match next {
            Ok(Ok(event)) if is_change(&event) => {
                for path in event.paths {
                    if !paths.contains(&path) {
                        paths.push(path);
                    }
                }
                ends = Some(Instant::now() + DEBOUNCE);
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                failed = Some(e.to_string());
                ends = Some(Instant::now() + DEBOUNCE);
            }
            Err(RecvTimeoutError::Timeout) => {
                ends = None;
                match failed.take() {
                    Some(e) => on_change(Err(e)),
                    None => on_change(Ok(std::mem::take(&mut paths))),
                }
                paths.clear();
            }
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
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
    fn reading_the_folder_is_not_a_change() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("chal")).unwrap();
        let file = dir.path().join("chal/challenge.json");
        std::fs::write(&file, "{}").unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let _w = watch(dir.path(), move |c| {
            let _ = tx.send(c);
        })
        .unwrap();
        for _ in 0..5 {
            std::fs::read_to_string(&file).unwrap();
        }
        // Reads only: nothing is reported (the watcher would have spoken within its debounce).
        assert!(rx.recv_timeout(DEBOUNCE * 5).is_err());
        // A write after them still is.
        std::fs::write(&file, "{ }").unwrap();
        let changes = rx.recv_timeout(Duration::from_secs(30)).unwrap().unwrap();
        assert!(changes.iter().any(|p| p.ends_with("chal/challenge.json")));
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
