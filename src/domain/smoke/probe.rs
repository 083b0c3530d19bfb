//! Does a published port answer? One attempt per call; the ready stage repeats them.
//!
//! A successful TCP connect proves little on its own: Docker's userland proxy accepts on the
//! published port even while nothing listens in the container, and then closes at once. So
//! a TCP port counts as answering when the connection stays open (or sends a banner) for a
//! moment, and an HTTP port when it answers a request with an HTTP status below 500.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// How long a connection must stay open, silent, to count as a listening service.
const HOLD: Duration = Duration::from_millis(100);
/// Generous for a port on this host or its neighbours: a loaded host can take more than a
/// second to complete a connect as the probe sees it, and the readiness loop asks again anyway.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const ANSWER_TIMEOUT: Duration = Duration::from_secs(2);
const CLOSED_AT_ONCE: &str =
    "the connection was closed at once (is anything listening in the container?)";
/// Enough for any status line; more is not read.
const MAX_STATUS_LINE: usize = 512;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// It answers: how.
    Answered(String),
    /// Not (yet): why.
    NoAnswer(String),
}

/// TCP: connect, then wait briefly for either a banner, silence (a service waiting for the
/// client to speak) or an immediate close (nothing behind the proxy).
pub async fn tcp(host: &str, port: u16) -> Probe {
    let mut stream = match connect(host, port).await {
        Ok(stream) => stream,
        Err(why) => return Probe::NoAnswer(why),
    };
    let mut buf = [0u8; 64];
    match timeout(HOLD, stream.read(&mut buf)).await {
        Err(_) => Probe::Answered("accepts connections".to_string()),
        Ok(Ok(0)) => Probe::NoAnswer(CLOSED_AT_ONCE.to_string()),
        Ok(Ok(_)) => Probe::Answered("sends a banner".to_string()),
        Ok(Err(e)) if is_closed(&e) => Probe::NoAnswer(CLOSED_AT_ONCE.to_string()),
        Ok(Err(e)) => Probe::NoAnswer(format!("the connection failed: {e}")),
    }
}

/// HTTP: `GET /` and read the status line.
pub async fn http(host: &str, port: u16) -> Probe {
    let mut stream = match connect(host, port).await {
        Ok(stream) => stream,
        Err(why) => return Probe::NoAnswer(why),
    };
    let request = format!(
        "GET / HTTP/1.0\r\nHost: {host}:{port}\r\nUser-Agent: ctfdeck-smoke\r\nConnection: close\r\n\r\n"
    );
    const CLOSED: &str =
        "the connection was closed without an answer (is anything listening in the container?)";
    if let Err(e) = stream.write_all(request.as_bytes()).await {
        return Probe::NoAnswer(if is_closed(&e) {
            CLOSED.to_string()
        } else {
            format!("sending the request failed: {e}")
        });
    }
    let line = match timeout(ANSWER_TIMEOUT, first_line(&mut stream)).await {
        Err(_) => {
            return Probe::NoAnswer(format!(
                "no answer to GET / within {}s",
                ANSWER_TIMEOUT.as_secs()
            ));
        }
        Ok(Err(e)) if is_closed(&e) => return Probe::NoAnswer(CLOSED.to_string()),
        Ok(Err(e)) => return Probe::NoAnswer(format!("reading the answer failed: {e}")),
        Ok(Ok(line)) => line,
    };
    if line.is_empty() {
        return Probe::NoAnswer(CLOSED.to_string());
    }
    match status_code(&line) {
        Some(code) if code < 500 => Probe::Answered(format!("HTTP {code}")),
        Some(code) => Probe::NoAnswer(format!("GET / answered HTTP {code}")),
        None => Probe::NoAnswer(format!(
            "answered, but not with HTTP: {:?}",
            line.chars().take(60).collect::<String>()
        )),
    }
}

/// A peer that closed (or reset) the connection: what a proxy with nothing behind it does.
fn is_closed(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::BrokenPipe
            | std::io::ErrorKind::ConnectionAborted
    )
}

async fn connect(host: &str, port: u16) -> Result<TcpStream, String> {
    match timeout(CONNECT_TIMEOUT, TcpStream::connect((host, port))).await {
        Err(_) => Err(format!("connecting to {host}:{port} timed out")),
        Ok(Err(e)) => Err(format!("connecting to {host}:{port} failed: {e}")),
        Ok(Ok(stream)) => Ok(stream),
    }
}

/// Bytes up to the first line break (or the end), as text.
async fn first_line(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut line = Vec::new();
    let mut buf = [0u8; 256];
    while line.len() < MAX_STATUS_LINE {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        line.extend_from_slice(&buf[..n]);
        if line.contains(&b'\n') {
            break;
        }
    }
    let text = String::from_utf8_lossy(&line);
    Ok(text
        .lines()
        .next()
        .unwrap_or_default()
        .trim_end()
        .to_string())
}

/// `HTTP/1.1 200 OK` → 200.
fn status_code(line: &str) -> Option<u16> {
    let mut parts = line.split_whitespace();
    let version = parts.next()?;
    if !version.starts_with("HTTP/") {
        return None;
    }
    parts
        .next()?
        .parse::<u16>()
        .ok()
        .filter(|c| (100..600).contains(c))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    #[test]
    fn status_lines_parse() {
        assert_eq!(status_code("HTTP/1.1 200 OK"), Some(200));
        assert_eq!(status_code("HTTP/1.0 404 Not Found"), Some(404));
        assert_eq!(status_code("SSH-2.0-OpenSSH"), None);
        assert_eq!(status_code("HTTP/1.1 abc"), None);
        assert_eq!(status_code("HTTP/1.1 999 Nope"), None);
    }

    /// A local server that answers each connection with `reply` (or closes at once when empty,
    /// like Docker's proxy with nothing behind it).
    async fn server(reply: &'static [u8], hold_open: bool) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 512];
                    if !reply.is_empty() {
                        if reply.starts_with(b"HTTP") {
                            let _ = s.read(&mut buf).await;
                        }
                        let _ = s.write_all(reply).await;
                    }
                    if hold_open {
                        tokio::time::sleep(Duration::from_secs(2)).await;
                    }
                });
            }
        });
        port
    }

    #[tokio::test]
    async fn tcp_tells_a_listening_service_from_a_proxy_that_closes() {
        let silent = server(b"", true).await;
        assert_eq!(
            tcp("127.0.0.1", silent).await,
            Probe::Answered("accepts connections".into())
        );
        let banner = server(b"Q1: 1 + 1 = ?\n", true).await;
        assert_eq!(
            tcp("127.0.0.1", banner).await,
            Probe::Answered("sends a banner".into())
        );
        let closing = server(b"", false).await;
        assert_eq!(
            tcp("127.0.0.1", closing).await,
            Probe::NoAnswer(CLOSED_AT_ONCE.into())
        );
    }

    #[tokio::test]
    async fn http_needs_a_status_below_500() {
        let ok = server(b"HTTP/1.0 404 Not Found\r\n\r\n", false).await;
        assert_eq!(
            http("127.0.0.1", ok).await,
            Probe::Answered("HTTP 404".into())
        );
        let broken = server(b"HTTP/1.1 502 Bad Gateway\r\n\r\n", false).await;
        assert_eq!(
            http("127.0.0.1", broken).await,
            Probe::NoAnswer("GET / answered HTTP 502".into())
        );
        let not_http = server(b"220 smtp ready\r\n", true).await;
        assert!(
            matches!(http("127.0.0.1", not_http).await, Probe::NoAnswer(m) if m.contains("not with HTTP"))
        );
        let closing = server(b"", false).await;
        assert!(
            matches!(http("127.0.0.1", closing).await, Probe::NoAnswer(m) if m.starts_with("the connection was closed without an answer"))
        );
    }

    #[tokio::test]
    async fn nothing_listening_is_no_answer() {
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            l.local_addr().unwrap().port()
        };
        assert!(matches!(tcp("127.0.0.1", port).await, Probe::NoAnswer(m) if m.contains("failed")));
    }
}
