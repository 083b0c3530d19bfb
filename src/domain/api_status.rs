//! Whether the scoreboard API runs, as the consoles see it: `serve` writes a heartbeat row
//! every few seconds (where it listens, requests and 5xx errors in the last minute, queue
//! length); any console reads it. A heartbeat older than a few beats means the API is down
//! (its process died without saying so); a clean stop says so at once.

use std::collections::VecDeque;
use std::time::Duration;

use crate::store::{Millis, Store, millis};

use super::DomainError;

pub use crate::store::ApiStatusRecord as ApiStatus;

/// How often `serve` writes its heartbeat.
pub const HEARTBEAT: Duration = Duration::from_secs(5);

/// A heartbeat this many intervals old means the API is down.
pub const MISSED_BEATS: i64 = 3;

/// The window requests and errors are counted over.
const WINDOW_MS: Millis = 60_000;

/// The API as a console shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiHealth {
    /// No `serve` ever ran on this store.
    Never,
    /// Its heartbeat is fresh.
    Up(ApiStatus),
    /// It stopped cleanly (`stopped`), or its heartbeat is stale; `last_seen` is its last beat.
    Down {
        listen: String,
        last_seen: Millis,
        stopped: bool,
    },
}

/// Classify the last heartbeat at `now`.
pub fn api_health(status: Option<&ApiStatus>, now: Millis) -> ApiHealth {
    let Some(s) = status else {
        return ApiHealth::Never;
    };
    let stale = now - s.updated_at > MISSED_BEATS * s.interval_ms.max(1);
    if s.stopped_at.is_some() || stale {
        return ApiHealth::Down {
            listen: s.listen.clone(),
            last_seen: s.updated_at,
            stopped: s.stopped_at.is_some(),
        };
    }
    ApiHealth::Up(s.clone())
}

/// The last heartbeat, if a `serve` ever ran on this store.
pub fn api_status(store: &Store) -> Result<Option<ApiStatus>, DomainError> {
    Ok(store.api_status()?)
}

/// `serve`'s heartbeat.
pub fn report_api_status(store: &Store, status: &ApiStatus) -> Result<(), DomainError> {
    Ok(store.put_api_status(status)?)
}

/// `serve` stopped cleanly: say so unless another `serve` has taken the row over since.
pub fn report_api_stopped(
    store: &Store,
    status: &ApiStatus,
    at: Millis,
) -> Result<(), DomainError> {
    store.stop_api_status(status.pid, status.started_at, at)?;
    Ok(())
}

/// The interval `serve` beats at, in store units.
pub fn heartbeat_ms() -> Millis {
    millis(HEARTBEAT)
}

/// Requests and errors over the last minute, from running totals sampled at each heartbeat.
#[derive(Debug)]
pub struct MinuteWindow {
    /// (when, requests so far, errors so far); the first is the newest sample a minute old
    /// or older (the baseline), or the start.
    samples: VecDeque<(Millis, u64, u64)>,
}

impl MinuteWindow {
    pub fn new(started_at: Millis) -> MinuteWindow {
        MinuteWindow {
            samples: VecDeque::from([(started_at, 0, 0)]),
        }
    }

    /// Add the totals seen at `now`; returns (requests, errors) in the minute before it.
    pub fn observe(&mut self, now: Millis, requests: u64, errors: u64) -> (u64, u64) {
        self.samples.push_back((now, requests, errors));
        while self
            .samples
            .get(1)
            .is_some_and(|&(at, _, _)| at <= now - WINDOW_MS)
        {
            self.samples.pop_front();
        }
        let (_, r0, e0) = self.samples.front().copied().unwrap_or((now, 0, 0));
        (requests.saturating_sub(r0), errors.saturating_sub(e0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        (dir, store)
    }

    fn beat(pid: u32, started_at: Millis, at: Millis, requests: u64) -> ApiStatus {
        ApiStatus {
            listen: "127.0.0.1:8787".into(),
            pid,
            started_at,
            updated_at: at,
            interval_ms: 5_000,
            requests_per_min: requests,
            errors_per_min: 1,
            queue_length: 2,
            stopped_at: None,
        }
    }

    #[test]
    fn no_serve_ever_is_never_and_a_heartbeat_is_read_back() {
        let (_dir, store) = store();
        assert_eq!(api_status(&store).unwrap(), None);
        assert_eq!(api_health(None, 0), ApiHealth::Never);
        report_api_status(&store, &beat(7, 1_000, 1_000, 0)).unwrap();
        let later = beat(7, 1_000, 6_000, 42);
        report_api_status(&store, &later).unwrap();
        assert_eq!(api_status(&store).unwrap(), Some(later.clone()));
        assert_eq!(api_health(Some(&later), 6_000), ApiHealth::Up(later));
    }

    #[test]
    fn a_heartbeat_older_than_three_beats_is_down() {
        let s = beat(7, 0, 100_000, 3);
        assert!(matches!(api_health(Some(&s), 115_000), ApiHealth::Up(_)));
        assert_eq!(
            api_health(Some(&s), 115_001),
            ApiHealth::Down {
                listen: "127.0.0.1:8787".into(),
                last_seen: 100_000,
                stopped: false
            }
        );
    }

    #[test]
    fn a_clean_stop_is_down_at_once_but_not_over_a_newer_serve() {
        let (_dir, store) = store();
        let old = beat(7, 1_000, 2_000, 0);
        report_api_status(&store, &old).unwrap();
        let newer = beat(8, 3_000, 3_000, 0);
        report_api_status(&store, &newer).unwrap();
        // The old process stops after the new one took over: the row stays the new one's.
        report_api_stopped(&store, &old, 4_000).unwrap();
        assert_eq!(api_status(&store).unwrap(), Some(newer.clone()));
        report_api_stopped(&store, &newer, 5_000).unwrap();
        let stopped = api_status(&store).unwrap().unwrap();
        assert_eq!(stopped.stopped_at, Some(5_000));
        assert_eq!(
            api_health(Some(&stopped), 5_001),
            ApiHealth::Down {
                listen: "127.0.0.1:8787".into(),
                last_seen: 5_000,
                stopped: true
            }
        );
    }

    #[test]
    fn the_window_counts_only_the_last_minute() {
        let mut w = MinuteWindow::new(0);
        assert_eq!(w.observe(5_000, 10, 1), (10, 1));
        assert_eq!(w.observe(30_000, 25, 1), (25, 1));
        // At 65 s the baseline is the 5 s sample: requests after it only.
        assert_eq!(w.observe(65_000, 30, 2), (20, 1));
        assert_eq!(w.observe(125_000, 30, 2), (0, 0));
        assert_eq!(w.observe(130_000, 31, 2), (1, 0));
    }
}
