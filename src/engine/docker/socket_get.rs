//! One small GET on the engine's local socket, written by hand: for what bollard does not
//! hand back (an answer's headers, who serves the socket) or does not speak (Podman's own
//! API). HTTP/1.0 so the answer is neither chunked nor kept alive.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

/// Small answers only (a ping, a network's description); anything far larger is cut here.
const MAX_ANSWER: u64 = 1 << 20;

/// An answer as it came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// `(name, value)` as sent; [`Answer::header`] finds one whatever its case.
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The uid of the process that serves the socket (the one that listens on it), as the
    /// kernel reports it; `None` when it cannot say.
    pub server_uid: Option<u32>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// `GET path` on the unix socket `socket`. An error is the reason, naming the socket where
/// it could not be reached.
pub async fn get(socket: &str, path: &str) -> Result<Answer, String> {
    let mut stream = UnixStream::connect(socket)
        .await
        .map_err(|e| format!("{socket}: {e}"))?;
    let server_uid = stream.peer_cred().ok().map(|c| c.uid());
    let request = format!("GET {path} HTTP/1.0\r\nHost: engine\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("{socket}: {e}"))?;
    let mut answer = Vec::new();
    stream
        .take(MAX_ANSWER)
        .read_to_end(&mut answer)
        .await
        .map_err(|e| format!("{socket}: {e}"))?;
    let mut answer = parse(&String::from_utf8_lossy(&answer))?;
    answer.server_uid = server_uid;
    Ok(answer)
}

fn parse(answer: &str) -> Result<Answer, String> {
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .ok_or_else(|| "an answer without headers".to_string())?;
    let mut lines = head.lines();
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("not an HTTP answer: {status_line:?}"))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    Ok(Answer {
        status,
        headers,
        body: body.to_string(),
        server_uid: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_headers_and_body_are_read_whatever_the_headers_case() {
        let a =
            parse("HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nLIBPOD-API-VERSION: 4.3.1\r\n\r\nOK")
                .expect("parses");
        assert_eq!(a.status, 200);
        assert_eq!(a.header("api-version"), Some("1.41"));
        assert_eq!(a.header("Libpod-Api-Version"), Some("4.3.1"));
        assert_eq!(a.header("Server"), None);
        assert_eq!(a.body, "OK");
    }

    #[test]
    fn what_is_not_http_is_an_error() {
        assert!(parse("garbage").is_err());
        assert!(parse("SSH-2.0-OpenSSH\r\n\r\n").is_err());
    }

    proptest::proptest! {
        /// Whatever the socket answers: an answer or an error, never a panic.
        #[test]
        fn any_answer_parses_or_is_an_error(text in ".{0,400}") {
            let _ = parse(&text);
        }

        #[test]
        fn any_header_block_keeps_its_status(
            status in 100u16..600,
            headers in proptest::collection::vec(("[A-Za-z-]{1,12}", "[ -~]{0,20}"), 0..6),
            body in ".{0,50}",
        ) {
            let head: String = headers.iter().map(|(n, v)| format!("{n}: {v}\r\n")).collect();
            let a = parse(&format!("HTTP/1.1 {status} X\r\n{head}\r\n{body}")).expect("parses");
            proptest::prop_assert_eq!(a.status, status);
            proptest::prop_assert_eq!(a.body, body);
        }
    }

    #[tokio::test]
    async fn a_missing_socket_is_named() {
        let err = get("/nonexistent/ctfdeck-get.sock", "/_ping")
            .await
            .expect_err("no socket there");
        assert!(err.contains("/nonexistent/ctfdeck-get.sock"), "{err}");
    }
}
