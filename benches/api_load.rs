//! A fixed-rate load client for `ctfdeck serve`: `GET /v1/instances` (or another path) from C
//! keep-alive connections at R requests per second in all, for S seconds, then the latency
//! percentiles. Open loop: each request has its own send time on a fixed schedule and its
//! latency counts from that time, so a slow answer that delays the next request shows in the
//! figures instead of hiding (no coordinated omission).
//!
//! ```text
//! cargo bench --bench api_load -- --addr 127.0.0.1:8787 --token ctfd_… \
//!     --owners owners.txt [--path /v1/instances] [--rate 500] [--clients 50] [--seconds 30]
//! ```
//!
//! `owners.txt`: one `team:NAME` per line; the requests go round them. Plain HTTP/1.1 on
//! tokio's TCP stream, so the load tool adds no dependency to the tree. Prints one JSON line.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Args {
    addr: String,
    token: String,
    owners: Vec<String>,
    path: String,
    rate: f64,
    clients: usize,
    seconds: f64,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        addr: String::new(),
        token: String::new(),
        owners: Vec::new(),
        path: "/v1/instances".into(),
        rate: 500.0,
        clients: 50,
        seconds: 30.0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        // `cargo bench` passes `--bench` to every bench binary.
        if flag == "--bench" {
            continue;
        }
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let number = |v: &str| v.parse::<f64>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--addr" => args.addr = value,
            "--token" => args.token = value,
            "--path" => args.path = value,
            "--rate" => args.rate = number(&value)?,
            "--clients" => args.clients = number(&value)? as usize,
            "--seconds" => args.seconds = number(&value)?,
            "--owners" => {
                let text = std::fs::read_to_string(&value).map_err(|e| format!("{value}: {e}"))?;
                args.owners = text
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(String::from)
                    .collect();
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    if args.addr.is_empty() || args.token.is_empty() || args.owners.is_empty() {
        return Err("--addr, --token and --owners are needed".into());
    }
    if args.clients == 0 || args.rate <= 0.0 {
        return Err("--clients and --rate must be positive".into());
    }
    Ok(args)
}

/// One response read off a keep-alive connection: its status code.
async fn read_response(conn: &mut TcpStream, buf: &mut Vec<u8>) -> Result<u16, String> {
    buf.clear();
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = conn.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed mid-response".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no status line")?;
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .ok_or("no Content-Length")?;
    while buf.len() < head_end + length {
        let n = conn.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed mid-body".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(status)
}

#[derive(Default)]
struct Outcome {
    latencies: Vec<Duration>,
    errors: Vec<String>,
    not_ok: usize,
}

async fn client(args: Arc<Args>, k: usize, start: Instant) -> Outcome {
    let mut out = Outcome::default();
    let mut conn = match TcpStream::connect(&args.addr).await {
        Ok(c) => c,
        Err(e) => {
            out.errors.push(format!("connect: {e}"));
            return out;
        }
    };
    let _ = conn.set_nodelay(true);
    // Each connection sends every `period`; the connections are spread evenly over it.
    let period = Duration::from_secs_f64(args.clients as f64 / args.rate);
    let offset = period.mul_f64(k as f64 / args.clients as f64);
    let end = start + Duration::from_secs_f64(args.seconds);
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut n = 0u32;
    loop {
        let due = start + offset + period * n;
        if due >= end {
            break;
        }
        tokio::time::sleep_until(due.into()).await;
        let owner = &args.owners[(k + n as usize * args.clients) % args.owners.len()];
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nX-Ctfdeck-Owner: {owner}\r\n\r\n",
            args.path, args.addr, args.token
        );
        let answered = match conn.write_all(request.as_bytes()).await {
            Ok(()) => read_response(&mut conn, &mut buf).await,
            Err(e) => Err(e.to_string()),
        };
        match answered {
            Ok(status) => {
                out.latencies.push(due.elapsed());
                if status != 200 {
                    out.not_ok += 1;
                }
            }
            Err(e) => {
                out.errors.push(e);
                // The connection is in an unknown state: open a new one for the next request.
                match TcpStream::connect(&args.addr).await {
                    Ok(c) => conn = c,
                    Err(e) => {
                        out.errors.push(format!("reconnect: {e}"));
                        return out;
                    }
                }
            }
        }
        n += 1;
    }
    out
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = match parse_args() {
        Ok(a) => Arc::new(a),
        Err(e) => {
            eprintln!("api_load: {e}");
            std::process::exit(2);
        }
    };
    // Every connection is open before the clock starts.
    let start = Instant::now() + Duration::from_millis(200);
    let tasks: Vec<_> = (0..args.clients)
        .map(|k| tokio::spawn(client(args.clone(), k, start)))
        .collect();
    let mut all = Outcome::default();
    for t in tasks {
        match t.await {
            Ok(o) => {
                all.latencies.extend(o.latencies);
                all.errors.extend(o.errors);
                all.not_ok += o.not_ok;
            }
            Err(e) => all.errors.push(format!("client task: {e}")),
        }
    }
    let wall = start.elapsed();
    all.latencies.sort_unstable();
    let pct = |p: f64| {
        let l = &all.latencies;
        l.get(((l.len() as f64 * p / 100.0) as usize).min(l.len().saturating_sub(1)))
            .map_or(f64::NAN, |d| ms(*d))
    };
    for e in all.errors.iter().take(5) {
        eprintln!("api_load: {e}");
    }
    println!(
        "{{\"requests\": {}, \"errors\": {}, \"not_200\": {}, \"seconds\": {:.2}, \"rate\": {:.1}, \
         \"clients\": {}, \"p50_ms\": {:.3}, \"p90_ms\": {:.3}, \"p99_ms\": {:.3}, \"p999_ms\": {:.3}, \
         \"max_ms\": {:.3}}}",
        all.latencies.len(),
        all.errors.len(),
        all.not_ok,
        wall.as_secs_f64(),
        all.latencies.len() as f64 / wall.as_secs_f64(),
        args.clients,
        pct(50.0),
        pct(90.0),
        pct(99.0),
        pct(99.9),
        all.latencies.last().map_or(f64::NAN, |d| ms(*d)),
    );
}
