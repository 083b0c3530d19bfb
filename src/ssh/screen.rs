//! A ratatui backend whose terminal is an SSH channel. Frames go into a bounded outbox that
//! one writer task drains at the client's pace; a client that falls behind by more than the
//! output budget loses the frames waiting (never the server's memory, never another
//! session's time) and gets the whole screen again once it has caught up.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use ratatui::backend::{Backend, ClearType, CrosstermBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};
use tokio::io::AsyncWriteExt;
use tokio::sync::Notify;

/// A client's window is clamped to this, so a forged pty request cannot make the server
/// allocate a screen buffer of 65535×65535 cells.
pub const MAX_COLS: u16 = 1000;
pub const MAX_ROWS: u16 = 500;

/// The client's window in cells; 0 (a client that does not know its size) means 80x24.
pub fn clamp_size(cols: u32, rows: u32) -> Size {
    let clamp = |v: u32, unknown: u32, max: u16| {
        let v = if v == 0 { unknown } else { v };
        v.min(u32::from(max)) as u16
    };
    Size::new(clamp(cols, 80, MAX_COLS), clamp(rows, 24, MAX_ROWS))
}

/// What the console and the writer task share for one session.
#[derive(Debug)]
pub struct Screen {
    outbox: Mutex<Outbox>,
    ready: Notify,
    size: Mutex<Size>,
    budget: usize,
    /// Frames were dropped: the client's screen is not what the console last drew.
    repaint: AtomicBool,
    /// The client stopped reading (connection gone): nothing more is queued.
    gone: AtomicBool,
}

#[derive(Debug, Default)]
struct Outbox {
    pending: Vec<u8>,
    /// Bytes dropped for this client so far (for the session's end line in the log).
    dropped: u64,
}

impl Screen {
    pub fn new(size: Size, budget: usize) -> Arc<Screen> {
        Arc::new(Screen {
            outbox: Mutex::new(Outbox::default()),
            ready: Notify::new(),
            size: Mutex::new(size),
            budget,
            repaint: AtomicBool::new(false),
            gone: AtomicBool::new(false),
        })
    }

    pub fn resize(&self, size: Size) {
        *lock(&self.size) = size;
    }

    pub fn size(&self) -> Size {
        *lock(&self.size)
    }

    /// Queue bytes for the client (whole frames: the backend flushes once per frame).
    pub fn push(&self, bytes: &[u8]) {
        if self.gone.load(Ordering::Relaxed) || bytes.is_empty() {
            return;
        }
        let mut outbox = lock(&self.outbox);
        if outbox.pending.len() + bytes.len() > self.budget {
            // Keep the latest: what waits is stale anyway; the next frame is drawn whole.
            outbox.dropped += (outbox.pending.len() + bytes.len()) as u64;
            outbox.pending = Vec::new();
            self.repaint.store(true, Ordering::Relaxed);
        } else {
            outbox.pending.extend_from_slice(bytes);
        }
        drop(outbox);
        self.ready.notify_one();
    }

    /// True once after frames were dropped and the client has caught up: the console clears
    /// and draws everything.
    pub fn take_repaint(&self) -> bool {
        lock(&self.outbox).pending.is_empty() && self.repaint.swap(false, Ordering::Relaxed)
    }

    pub fn dropped_bytes(&self) -> u64 {
        lock(&self.outbox).dropped
    }

    pub fn is_gone(&self) -> bool {
        self.gone.load(Ordering::Relaxed)
    }

    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut lock(&self.outbox).pending)
    }

    /// Drain the outbox into the channel at the pace the client reads (SSH flow control),
    /// until `done` resolves and everything queued before it is written, or the client is gone.
    pub async fn write_out(
        self: Arc<Self>,
        mut out: impl tokio::io::AsyncWrite + Unpin,
        done: impl std::future::Future<Output = ()>,
    ) {
        tokio::pin!(done);
        let mut finishing = false;
        loop {
            let bytes = self.take();
            if bytes.is_empty() {
                if finishing {
                    break;
                }
                tokio::select! {
                    () = self.ready.notified() => {}
                    () = &mut done, if !finishing => finishing = true,
                }
                continue;
            }
            if out.write_all(&bytes).await.is_err() || out.flush().await.is_err() {
                self.gone.store(true, Ordering::Relaxed);
                break;
            }
        }
        let _ = out.shutdown().await;
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding these locks leaves plain data behind: still usable.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Collects one frame's bytes; `flush` hands them to the outbox.
pub struct FrameWriter {
    frame: Vec<u8>,
    screen: Arc<Screen>,
}

impl Write for FrameWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.frame.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.screen.push(&self.frame);
        self.frame.clear();
        Ok(())
    }
}

/// Crossterm's escape sequences, written to the channel; the size is the client's window
/// (from the pty request and window changes), never this process's terminal.
pub struct SshBackend {
    inner: CrosstermBackend<FrameWriter>,
    screen: Arc<Screen>,
    cursor: Position,
}

impl SshBackend {
    pub fn new(screen: Arc<Screen>) -> SshBackend {
        SshBackend {
            inner: CrosstermBackend::new(FrameWriter {
                frame: Vec::new(),
                screen: screen.clone(),
            }),
            screen,
            cursor: Position::ORIGIN,
        }
    }
}

impl Backend for SshBackend {
    type Error = io::Error;

    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        self.inner.draw(content)
    }

    fn hide_cursor(&mut self) -> io::Result<()> {
        self.inner.hide_cursor()
    }

    fn show_cursor(&mut self) -> io::Result<()> {
        self.inner.show_cursor()
    }

    /// Asking the client where its cursor is would need an answer on the input stream; the
    /// console only needs where it put the cursor last.
    fn get_cursor_position(&mut self) -> io::Result<Position> {
        Ok(self.cursor)
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        let position = position.into();
        self.cursor = position;
        self.inner.set_cursor_position(position)
    }

    fn clear(&mut self) -> io::Result<()> {
        self.inner.clear()
    }

    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        self.inner.clear_region(clear_type)
    }

    fn size(&self) -> io::Result<Size> {
        Ok(self.screen.size())
    }

    fn window_size(&mut self) -> io::Result<WindowSize> {
        Ok(WindowSize {
            columns_rows: self.screen.size(),
            pixels: Size::default(),
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        Backend::flush(&mut self.inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_behind_by_more_than_the_budget_loses_frames_not_memory() {
        let screen = Screen::new(Size::new(80, 24), 100);
        screen.push(&[b'a'; 60]);
        assert!(!screen.take_repaint());
        screen.push(&[b'b'; 60]);
        // Both frames dropped: nothing stale is sent, and once caught up the screen is redrawn.
        assert_eq!(screen.take(), Vec::<u8>::new());
        assert_eq!(screen.dropped_bytes(), 120);
        assert!(screen.take_repaint());
        assert!(!screen.take_repaint());
        screen.push(b"c");
        assert_eq!(screen.take(), b"c");
    }

    #[tokio::test]
    async fn a_stalled_client_holds_at_most_the_budget_and_never_blocks_the_console() {
        let budget = 64 * 1024;
        let screen = Screen::new(Size::new(80, 24), budget);
        // A client that reads nothing: the channel takes 1 KiB, then every write waits.
        let (tx, _never_read) = tokio::io::duplex(1024);
        let writer = tokio::spawn(screen.clone().write_out(tx, std::future::pending()));
        let frame = [b'x'; 10 * 1024];
        for _ in 0..1000 {
            // Pushing never waits for the client: the console draws on.
            screen.push(&frame);
            tokio::task::yield_now().await;
            assert!(lock(&screen.outbox).pending.len() <= budget);
        }
        // What waits is at most the budget, plus the one write the writer is stuck in
        // (itself at most the budget): 10 MB drawn, not 10 MB held.
        assert!(
            screen.dropped_bytes() > 9 * 1024 * 1024,
            "{}",
            screen.dropped_bytes()
        );
        assert!(!writer.is_finished());
        writer.abort();
    }

    #[test]
    fn sizes_from_the_client_are_clamped() {
        assert_eq!(clamp_size(0, 0), Size::new(80, 24));
        assert_eq!(clamp_size(1, 1), Size::new(1, 1));
        assert_eq!(clamp_size(80, 24), Size::new(80, 24));
        assert_eq!(
            clamp_size(u32::MAX, u32::MAX),
            Size::new(MAX_COLS, MAX_ROWS)
        );
    }

    #[tokio::test]
    async fn frames_drawn_reach_the_channel_writer() {
        let screen = Screen::new(Size::new(20, 3), 64 * 1024);
        let mut terminal = ratatui::Terminal::new(SshBackend::new(screen.clone())).unwrap();
        terminal
            .draw(|f| f.render_widget(ratatui::widgets::Paragraph::new("hello there"), f.area()))
            .unwrap();
        let (tx, mut rx) = tokio::io::duplex(64 * 1024);
        let writer = tokio::spawn(screen.clone().write_out(tx, async {}));
        writer.await.unwrap();
        let mut got = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut rx, &mut got)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&got);
        assert!(text.contains("hello"), "{text:?}");
    }
}
