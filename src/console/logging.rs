//! Logging while the console owns the terminal: anything written to stderr would land on top
//! of the screen, so log records go to a file (next to the store) and warnings and errors also
//! to the activity pane.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tokio::sync::mpsc;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Warnings waiting for the console; beyond this many a flood is dropped (the file keeps all).
const PENDING: usize = 256;

/// One warning or error, as the activity pane shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub level: Level,
    pub message: String,
}

impl Warning {
    /// `warning` or `error`, as the screen says it.
    pub fn label(&self) -> &'static str {
        if self.level == Level::ERROR {
            "error"
        } else {
            "warning"
        }
    }
}

/// Where the console reads the warnings logged since [`init`].
pub type Warnings = mpsc::Receiver<Warning>;

/// The console's log file beside the store: `ctfdeck.db` → `ctfdeck-console.log`.
pub fn file_beside(store: &Path) -> PathBuf {
    store.with_file_name("ctfdeck-console.log")
}

/// Install the console's logging: records at or above `filter` (else `warn`) appended to
/// `file`, warnings and errors also sent to the returned receiver. Nothing is written to the
/// terminal. A file that cannot be opened is itself reported as a warning.
pub fn init(filter: EnvFilter, file: &Path) -> Warnings {
    let (tx, rx) = mpsc::channel(PENDING);
    let opened = OpenOptions::new().create(true).append(true).open(file);
    let file_layer = opened
        .as_ref()
        .ok()
        .and_then(|f| f.try_clone().ok())
        .map(|f| {
            tracing_subscriber::fmt::layer()
                .with_writer(Mutex::new(f))
                .with_ansi(false)
                .with_target(false)
        });
    let pane = PaneLayer { tx: tx.clone() };
    // Failing to install means a subscriber is already set (tests); that one keeps logging.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(file_layer)
        .with(pane)
        .try_init();
    if let Err(e) = opened {
        let _ = tx.try_send(Warning {
            level: Level::WARN,
            message: format!(
                "cannot open the log file {}: {e}; warnings show here only",
                file.display()
            ),
        });
    }
    rx
}

/// Warnings and errors, sent to the console without ever blocking the code that logs.
struct PaneLayer {
    tx: mpsc::Sender<Warning>,
}

impl<S: Subscriber> Layer<S> for PaneLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let level = *event.metadata().level();
        // In tracing, more verbose levels compare greater.
        if level > Level::WARN {
            return;
        }
        let mut message = Message::default();
        event.record(&mut message);
        let _ = self.tx.try_send(Warning {
            level,
            message: message.0,
        });
    }
}

/// The event's message followed by its other fields, as `key=value`.
#[derive(Default)]
struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        use std::fmt::Write;
        if field.name() == "message" {
            let rest = std::mem::take(&mut self.0);
            let _ = write!(self.0, "{value:?}");
            if !rest.is_empty() {
                self.0.push(' ');
                self.0.push_str(&rest);
            }
        } else {
            if !self.0.is_empty() {
                self.0.push(' ');
            }
            let _ = write!(self.0, "{}={value:?}", field.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_file_sits_beside_the_store() {
        assert_eq!(
            file_beside(Path::new("/srv/ctf/ctfdeck.db")),
            Path::new("/srv/ctf/ctfdeck-console.log")
        );
    }

    #[test]
    fn warnings_and_errors_reach_the_pane_but_not_info() {
        let (tx, mut rx) = mpsc::channel(8);
        let subscriber = tracing_subscriber::registry().with(PaneLayer { tx });
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!("routine");
            tracing::warn!(instance = "a1b2", "reconcile failed");
            tracing::error!("store watcher stopped");
        });
        let first = rx.try_recv().unwrap();
        assert_eq!(first.level, Level::WARN);
        assert_eq!(first.message, "reconcile failed instance=\"a1b2\"");
        assert_eq!(rx.try_recv().unwrap().message, "store watcher stopped");
        assert!(rx.try_recv().is_err(), "info is not a warning");
    }
}
