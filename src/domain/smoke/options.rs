//! How a smoke run is asked for, and how it is interrupted.

use std::time::Duration;

use tokio::sync::watch;

/// How long an instance may take to answer after it started.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the check script may run when the challenge does not say (`smoke.timeout`).
pub const DEFAULT_CHECK_TIMEOUT: Duration = Duration::from_secs(60);
/// How many of the container's last log lines a failure shows.
pub const DEFAULT_LOG_LINES: usize = 20;

#[derive(Debug, Clone)]
pub struct SmokeOptions {
    /// Leave the instance running after the run (teardown is skipped).
    pub keep: bool,
    /// Skip the check script (the check stage is reported as skipped, not passed).
    pub skip_check: bool,
    pub ready_timeout: Duration,
    /// Overrides the challenge's `smoke.timeout`.
    pub check_timeout: Option<Duration>,
    pub log_lines: usize,
    pub cancel: Cancel,
}

impl Default for SmokeOptions {
    fn default() -> Self {
        SmokeOptions {
            keep: false,
            skip_check: false,
            ready_timeout: DEFAULT_READY_TIMEOUT,
            check_timeout: None,
            log_lines: DEFAULT_LOG_LINES,
            cancel: Cancel::never(),
        }
    }
}

/// The interrupting side: trip it (on Ctrl-C, or a key in the console) and every run holding
/// the matching [`Cancel`] stops its current stage and tears down.
#[derive(Debug)]
pub struct CancelHandle {
    tx: watch::Sender<bool>,
}

impl CancelHandle {
    pub fn cancel(&self) {
        self.tx.send_replace(true);
    }

    /// The run it could cancel is over (every [`Cancel`] is gone).
    pub fn is_finished(&self) -> bool {
        self.tx.is_closed()
    }
}

/// The interrupted side, cheap to clone.
#[derive(Debug, Clone)]
pub struct Cancel {
    rx: watch::Receiver<bool>,
}

impl Cancel {
    pub fn new() -> (CancelHandle, Cancel) {
        let (tx, rx) = watch::channel(false);
        (CancelHandle { tx }, Cancel { rx })
    }

    /// A token nothing will ever trip.
    pub fn never() -> Cancel {
        Cancel::new().1
    }

    pub fn is_cancelled(&self) -> bool {
        *self.rx.borrow()
    }

    /// Resolves once cancelled; never, if the handle is dropped without cancelling.
    pub async fn cancelled(&self) {
        let mut rx = self.rx.clone();
        if rx.wait_for(|cancelled| *cancelled).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn cancelling_wakes_every_clone_and_never_wakes_nobody() {
        let (handle, cancel) = Cancel::new();
        let other = cancel.clone();
        assert!(!cancel.is_cancelled());
        let waiter = tokio::spawn(async move { other.cancelled().await });
        handle.cancel();
        assert!(cancel.is_cancelled());
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("woken")
            .expect("joined");

        let never = Cancel::never();
        let waited = tokio::time::timeout(Duration::from_millis(50), never.cancelled()).await;
        assert!(waited.is_err(), "a dropped handle must not cancel");
    }
}
