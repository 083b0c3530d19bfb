//! One staff member's console over one SSH channel: keys in, frames out, until they quit,
//! the client goes away or nobody types for the idle timeout. Nothing of the session
//! outlives it: its producers stop with its event channel, its slot is given back.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ratatui::layout::Size;
use russh::server::Msg;
use russh::{Channel, ChannelMsg};
use tokio::sync::{OwnedSemaphorePermit, mpsc, oneshot};

use super::Shared;
use super::input::KeyDecoder;
use super::screen::{Screen, SshBackend, clamp_size};
use super::staff::StaffMember;
use crate::console::event::Event;
use crate::domain::Actor;

/// The alternate screen and a hidden cursor, as the local console takes the terminal.
const ENTER: &[u8] = b"\x1b[?1049h\x1b[?25l";
const LEAVE: &[u8] = b"\x1b[?25h\x1b[?1049l";
/// How long the goodbye (leaving the alternate screen) may take to reach a slow client.
const DRAIN: Duration = Duration::from_secs(2);

pub(crate) struct SessionStart {
    pub channel: Channel<Msg>,
    pub size: Size,
    pub member: StaffMember,
    pub peer: Option<SocketAddr>,
    pub shared: Arc<Shared>,
    /// The session's slot under `max_sessions`, given back when this ends.
    pub permit: OwnedSemaphorePermit,
}

pub(crate) async fn run(start: SessionStart) {
    let SessionStart {
        channel,
        size,
        member,
        peer,
        shared,
        permit,
    } = start;
    let origin = peer.map_or_else(|| "ssh".to_string(), |p| format!("ssh:{}", p.ip()));
    let actor = Actor {
        name: member.name.clone(),
        origin,
        role: member.role,
    };
    let launch = (shared.launcher)(actor);
    let (mut reader, writer) = channel.split();
    let screen = Screen::new(size, shared.output_budget);
    let (done_tx, done_rx) = oneshot::channel::<()>();
    let (idled_tx, idled_rx) = oneshot::channel::<bool>();
    let out = tokio::spawn(screen.clone().write_out(writer.make_writer(), async {
        let _ = done_rx.await;
    }));
    screen.push(ENTER);
    let result = match ratatui::Terminal::new(SshBackend::new(screen.clone())) {
        Ok(mut terminal) => {
            let input_screen = screen.clone();
            let idle = shared.idle_timeout;
            let idled = idled_tx;
            let feed = move |tx: mpsc::Sender<Event>| {
                tokio::spawn(async move {
                    tokio::select! {
                        () = tx.closed() => {}
                        ended = forward_input(&mut reader, &input_screen, &tx, idle) => {
                            let _ = idled.send(ended == InputEnd::Idle);
                            let _ = tx.send(Event::Terminate).await;
                        }
                    }
                });
            };
            let repaint_screen = screen.clone();
            let repaint = move || repaint_screen.take_repaint();
            crate::console::run_remote(launch, &mut terminal, feed, &repaint).await
        }
        Err(e) => Err(e.into()),
    };
    let idled = idled_rx.await.unwrap_or(false);
    screen.push(LEAVE);
    if let Err(e) = &result {
        let text = format!("\r\nctfdeck: the console stopped: {e:#}\r\n");
        screen.push(text.as_bytes());
    } else if idled {
        let text = format!(
            "ctfdeck: closed after {} without a key\r\n",
            humantime::format_duration(shared.idle_timeout)
        );
        screen.push(text.as_bytes());
    }
    let _ = done_tx.send(());
    let drained = tokio::time::timeout(DRAIN, out).await.is_ok();
    if !screen.is_gone() && drained {
        let _ = writer.exit_status(u32::from(result.is_err())).await;
        let _ = writer.eof().await;
    }
    let _ = writer.close().await;
    drop(permit);
    let dropped = screen.dropped_bytes();
    println!(
        "{} SSH: {} left{}{}",
        crate::domain::view::rfc3339(crate::store::now_millis()),
        member.name,
        if dropped > 0 {
            format!(" ({dropped} bytes of frames dropped for a slow link)")
        } else {
            String::new()
        },
        match &result {
            Err(e) => format!("; the console stopped: {e:#}"),
            Ok(()) => String::new(),
        }
    );
}

#[derive(Debug, PartialEq, Eq)]
enum InputEnd {
    /// The client closed the channel or went away (or the console ended first).
    Gone,
    /// Nothing typed for the idle timeout.
    Idle,
}

/// Keys and window changes from the client, until it closes the channel, goes away, or sends
/// nothing for `idle`. Idle means no key: the console's own output (countdowns move every
/// second) and the client's keepalives keep a connection busy, not a person at it.
async fn forward_input(
    reader: &mut russh::ChannelReadHalf,
    screen: &Screen,
    tx: &mpsc::Sender<Event>,
    idle: Duration,
) -> InputEnd {
    let mut decoder = KeyDecoder::default();
    loop {
        let msg = match tokio::time::timeout(idle, reader.wait()).await {
            Ok(Some(msg)) => msg,
            Ok(None) => return InputEnd::Gone,
            Err(_) => return InputEnd::Idle,
        };
        match msg {
            ChannelMsg::Data { data } => {
                for key in decoder.feed(&data) {
                    if tx.send(Event::Key(key)).await.is_err() {
                        return InputEnd::Gone;
                    }
                }
            }
            ChannelMsg::WindowChange {
                col_width,
                row_height,
                ..
            } => {
                screen.resize(clamp_size(col_width, row_height));
                if tx.send(Event::Redraw).await.is_err() {
                    return InputEnd::Gone;
                }
            }
            ChannelMsg::Eof | ChannelMsg::Close => return InputEnd::Gone,
            _ => {}
        }
    }
}
