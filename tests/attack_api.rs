#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The scoreboard API is out of reach from inside instances (a flag-verification service that
//! challenge containers can call is a known hole in other tools): with the default loopback
//! listen address, and listening on every host address with the host firewall applied. Each
//! blocked probe is paired with the same probe answered from the host.

mod api_support;
mod attack_support;
mod common;

use api_support::{CONFIG, Server};
use attack_support::{Lab, host_addresses, host_probe, probe_script};
use common::repo;

fn answered_http(output: &str) -> bool {
    output.contains("HTTP/1.")
}

fn port_of(server: &Server) -> u16 {
    server.base.rsplit(':').next().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_instance_cannot_reach_the_api() {
    let lab = Lab::new("127.0.0.1").await;
    let a = lab.spawn("target-default", "team:api").await;
    let (_, gateway) = lab.address(&a).await;
    let mut addresses = host_addresses();
    addresses.push(gateway);
    let catalog = repo().join("challenges");

    // The default: loopback only. The host reaches it there; the instance nowhere.
    let loopback = Server::launch_on(CONFIG, &catalog, &[], "127.0.0.1:0");
    let port = port_of(&loopback);
    assert!(
        host_probe("127.0.0.1", port, true).is_some_and(|l| answered_http(&l)),
        "the API answers on the host's loopback"
    );
    for addr in addresses.iter().map(String::as_str).chain(["127.0.0.1"]) {
        let probe = lab.sh(&a, &probe_script(addr, port)).await;
        assert!(
            !answered_http(&probe.output),
            "the instance reached the loopback API at {addr}:{port}: {}",
            probe.output
        );
    }
    drop(loopback);

    // On every host address (as behind a proxy on another host): the host firewall keeps
    // instances out while the host itself is answered at each address.
    let everywhere = Server::launch_on(CONFIG, &catalog, &[], "0.0.0.0:0");
    let port = port_of(&everywhere);
    for addr in &addresses {
        assert!(
            host_probe(addr, port, true).is_some_and(|l| answered_http(&l)),
            "the API answers at {addr}:{port} from the host"
        );
        let probe = lab.sh(&a, &probe_script(addr, port)).await;
        assert!(
            !answered_http(&probe.output),
            "the instance reached the API at {addr}:{port}: {}",
            probe.output
        );
    }
    drop(everywhere);
    lab.finish().await;
}
