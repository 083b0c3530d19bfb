#![allow(clippy::unwrap_used, clippy::expect_used)]
//! What keeps one client of `ctfdeck serve` from starving the others, with real TCP clients:
//! a client that never finishes its headers is cut off, connections beyond the limit wait
//! until one closes, and a token over its rate is refused with 429 and `Retry-After`.

mod api_support;
mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use api_support::{CONFIG, Server, auth};

/// A hang guard for reads that must end: far longer than any timeout the server is given.
const HANG_GUARD: Duration = Duration::from_secs(120);

fn addr(server: &Server) -> String {
    server.base.trim_start_matches("http://").to_string()
}

/// A client that sends the start of a request and never the end of its headers.
fn slow_loris(server: &Server) -> TcpStream {
    let mut stream = TcpStream::connect(addr(server)).unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: ctfdeck\r\nX-Slow: ")
        .unwrap();
    stream
}

/// Read until the server closes the connection; what it sent before closing.
fn until_closed(stream: &mut TcpStream) -> String {
    stream.set_read_timeout(Some(HANG_GUARD)).unwrap();
    let mut got = Vec::new();
    match stream.read_to_end(&mut got) {
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        Err(e) => panic!("the server kept the connection open: {e}"),
    }
    String::from_utf8_lossy(&got).into_owned()
}

#[test]
fn a_client_that_never_finishes_its_headers_is_cut_off_and_others_are_served() {
    let config = format!("{CONFIG}[api]\nmax_connections = 2\nheader_timeout = \"1s\"\n");
    let mut server = Server::start(&config);
    // Both connection slots held by clients that never finish.
    let mut slow = [slow_loris(&server), slow_loris(&server)];
    // A well-behaved client is still answered: the slow ones are cut off and free their slots.
    let health = server.call("GET", "/healthz", &[], None);
    assert_eq!(health.status, 200, "{}", health.body);
    for stream in &mut slow {
        let sent = until_closed(stream);
        // Nothing but (at most) hyper's 408 before the close: never a real answer.
        assert!(
            sent.is_empty() || sent.starts_with("HTTP/1.1 408"),
            "{sent:?}"
        );
    }
    assert_eq!(server.terminate().code(), Some(0));
}

#[test]
fn connections_beyond_the_limit_wait_until_one_closes() {
    // A header timeout longer than the test: only closing frees a slot here.
    let config = format!("{CONFIG}[api]\nmax_connections = 2\nheader_timeout = \"1h\"\n");
    let mut server = Server::start(&config);
    let first = slow_loris(&server);
    let second = slow_loris(&server);
    let mut third = TcpStream::connect(addr(&server)).unwrap();
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: ctfdeck\r\nConnection: close\r\n\r\n")
        .unwrap();
    // While both slots are held, the third connection is not served. (No answer within a
    // second; a server without the limit answers /healthz well within it. A slow machine can
    // only make this pass, not fail.)
    third
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    let mut byte = [0u8; 1];
    match third.read(&mut byte) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        other => panic!("served beyond the connection limit: {other:?}"),
    }
    // One slot frees: the waiting connection is served.
    drop(first);
    let answer = until_closed(&mut third);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    // (A connection mid-headers holds a graceful shutdown up to its bound.)
    drop(second);
    assert_eq!(server.terminate().code(), Some(0));
}

#[test]
fn a_token_over_its_rate_is_refused_with_retry_after() {
    let config = format!("{CONFIG}[api]\nrate_per_minute = 3\n");
    let mut server = Server::start(&config);
    let board = server.token("board", "scoreboard");
    let other = server.token("other", "scoreboard");
    let red = auth(&board, "team:red");
    for _ in 0..3 {
        let r = server.call("GET", "/v1/challenges", &red, None);
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let refused = server.call("GET", "/v1/instances", &red, None);
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert_eq!(refused.error_code(), "rate-limit");
    let retry: u64 = refused
        .headers
        .lines()
        .find_map(|l| l.strip_prefix("retry-after: "))
        .expect("a Retry-After header")
        .trim()
        .parse()
        .unwrap();
    // 3 a minute: one comes back every 20 s.
    assert!((1..=20).contains(&retry), "{retry}");
    // /metrics counts against the same token.
    assert_eq!(server.call("GET", "/metrics", &red, None).status, 429);
    // Each token has its own budget.
    let r = server.call("GET", "/v1/instances", &auth(&other, "team:red"), None);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(server.terminate().code(), Some(0));
}
