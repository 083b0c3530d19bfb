//! Running totals of requests and 5xx answers, which the heartbeat turns into per-minute
//! figures for the consoles' status bar (the Prometheus families hold the same counts by
//! route, but summing them at each beat would walk every label set).

use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::StatusCode;

#[derive(Debug, Default)]
pub struct Traffic {
    requests: AtomicU64,
    errors: AtomicU64,
}

impl Traffic {
    pub fn record(&self, status: StatusCode) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if status.is_server_error() {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// (requests, errors) since the process started.
    pub fn totals(&self) -> (u64, u64) {
        (
            self.requests.load(Ordering::Relaxed),
            self.errors.load(Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_server_errors_count_as_errors() {
        let t = Traffic::default();
        for code in [200, 404, 429, 500, 503] {
            t.record(StatusCode::from_u16(code).unwrap());
        }
        assert_eq!(t.totals(), (5, 2));
    }
}
