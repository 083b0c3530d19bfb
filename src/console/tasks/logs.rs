//! Following one container's logs. Switching the selection aborts the old stream; lines from a
//! stale stream carry an old generation and are ignored anyway.

use std::sync::Arc;

use futures_util::StreamExt;
use tokio::sync::mpsc::Sender;
use tokio::task::JoinHandle;

use crate::console::event::Event;
use crate::console::state::LogTarget;
use crate::engine::Engine;

/// Lines of history fetched when starting to follow.
const TAIL: usize = 500;
/// Bytes of output in one event at most: a flood arrives as many small events, so the event
/// channel (bounded in events) is bounded in memory too.
const EVENT_BYTES: usize = 64 * 1024;

#[derive(Default)]
pub struct LogFollower {
    task: Option<JoinHandle<()>>,
}

/// The followed stream ends with the console that followed it.
impl Drop for LogFollower {
    fn drop(&mut self) {
        self.stop();
    }
}

impl LogFollower {
    /// Stop following whatever was followed.
    pub fn stop(&mut self) {
        if let Some(old) = self.task.take() {
            old.abort();
        }
    }

    pub fn follow(
        &mut self,
        engine: &Arc<dyn Engine>,
        target: Option<LogTarget>,
        tx: &Sender<Event>,
    ) {
        self.stop();
        let Some(target) = target else {
            return;
        };
        let engine = engine.clone();
        let tx = tx.clone();
        self.task = Some(tokio::spawn(async move {
            let generation = target.generation;
            // Whatever has arrived together goes as one event: one redraw per burst.
            let mut stream = engine
                .logs_timestamped(&target.container, true, Some(TAIL))
                .ready_chunks(256);
            let mut error = None;
            while let Some(chunk) = stream.next().await {
                let mut lines = Vec::with_capacity(chunk.len());
                let mut bytes = 0;
                for item in chunk {
                    match item {
                        Ok(text) => {
                            bytes += text.len();
                            lines.push(text);
                        }
                        Err(e) => error = Some(e.to_string()),
                    }
                    if bytes >= EVENT_BYTES {
                        let full = std::mem::take(&mut lines);
                        bytes = 0;
                        if tx
                            .send(Event::LogLines {
                                generation,
                                lines: full,
                            })
                            .await
                            .is_err()
                        {
                            return;
                        }
                    }
                }
                if !lines.is_empty()
                    && tx
                        .send(Event::LogLines { generation, lines })
                        .await
                        .is_err()
                {
                    return;
                }
                if error.is_some() {
                    break;
                }
            }
            let _ = tx.send(Event::LogEnded { generation, error }).await;
        }));
    }
}
