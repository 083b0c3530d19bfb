//! Terminal input, the 1 Hz tick and termination signals.

use std::time::Duration;

use crossterm::event::{Event as TermEvent, KeyEventKind};
use tokio::sync::mpsc::Sender;

use crate::console::event::Event;
use crate::console::logging::Warnings;
use crate::store::now_millis;

/// Read the terminal on a plain thread: crossterm's reader blocks, and blocking costs no CPU
/// while nobody types.
pub fn spawn_reader(tx: Sender<Event>) {
    std::thread::spawn(move || {
        loop {
            let event = match crossterm::event::read() {
                Ok(TermEvent::Key(k)) if k.kind != KeyEventKind::Release => Event::Key(k),
                Ok(TermEvent::Resize(..)) => Event::Redraw,
                Ok(_) => continue,
                // The terminal is gone (hang-up): leave cleanly.
                Err(_) => Event::Terminate,
            };
            let last = matches!(event, Event::Terminate);
            if tx.blocking_send(event).is_err() || last {
                break;
            }
        }
    });
}

/// Once a second. The state decides whether anything visible changed.
pub fn spawn_tick(tx: Sender<Event>) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_secs(1));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            interval.tick().await;
            if tx.send(Event::Tick(now_millis())).await.is_err() {
                break;
            }
        }
    });
}

/// SIGHUP (the SSH session dropped), SIGTERM and SIGINT end the console through the same path
/// as `q`, so the terminal is restored.
pub fn spawn_signals(tx: Sender<Event>) {
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut hup), Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::hangup()),
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            tracing::warn!("cannot install signal handlers");
            return;
        };
        tokio::select! {
            _ = hup.recv() => {}
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        let _ = tx.send(Event::Terminate).await;
    });
}

/// Warnings logged while the console runs, into the event channel (for the activity pane).
pub fn spawn_warnings(mut warnings: Warnings, tx: Sender<Event>) {
    tokio::spawn(async move {
        while let Some(w) = warnings.recv().await {
            if tx.send(Event::Warning(w)).await.is_err() {
                break;
            }
        }
    });
}
