#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Network attacks from inside real instances: reaching another instance (by address and by its
//! published port), services on the host, the engine socket, cloud metadata, and — without
//! egress — anything outside at all. Each blocked probe is paired with the same probe succeeding
//! from where it should (the host, or an instance that is allowed out), so a probe that cannot
//! work at all never passes for isolation.

mod attack_support;
mod common;

use attack_support::{
    HostService, Lab, METADATA_ADDR, OUTSIDE_ADDR, Outside, host_addresses, host_probe,
    outside_lock, probe_script,
};
use ctfdeck::store::InstanceRecord;

fn http_port(rec: &InstanceRecord) -> u16 {
    rec.ports.first().expect("a published port").host_port
}

fn answered_http(output: &str) -> bool {
    output.contains("HTTP/1.")
}

#[tokio::test(flavor = "multi_thread")]
async fn an_instance_cannot_reach_another_by_address_or_published_port() {
    // Published on every host address, as on an event host.
    let lab = Lab::new("0.0.0.0").await;
    let a = lab.spawn("target-default", "team:a").await;
    let b = lab.spawn("target-default", "team:b").await;
    let (b_ip, _) = lab.address(&b).await;
    let (_, a_gateway) = lab.address(&a).await;

    let own = lab.sh(&a, &probe_script("127.0.0.1", 8080)).await;
    assert!(
        answered_http(&own.output),
        "A reaches itself: {}",
        own.output
    );
    let direct = lab.sh(&a, &probe_script(&b_ip, 8080)).await;
    assert!(
        !answered_http(&direct.output),
        "A reached B's address {b_ip}: {}",
        direct.output
    );

    let port = http_port(&b);
    let mut addresses = host_addresses();
    addresses.push(a_gateway);
    for addr in &addresses {
        assert!(
            host_probe(addr, port, true).is_some_and(|l| answered_http(&l)),
            "B's published port answers at {addr}:{port} from the host"
        );
        let via_host = lab.sh(&a, &probe_script(addr, port)).await;
        assert!(
            !answered_http(&via_host.output),
            "A reached B's published port at {addr}:{port}: {}",
            via_host.output
        );
    }
    lab.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_instance_cannot_reach_host_services_or_the_engine_socket() {
    let lab = Lab::new("127.0.0.1").await;
    let a = lab.spawn("target-default", "team:c").await;
    let (_, gateway) = lab.address(&a).await;

    // No engine socket is mounted anywhere in the instance.
    let sockets = lab
        .sh(
            &a,
            "for s in /var/run/docker.sock /run/docker.sock /run/containerd/containerd.sock /run/podman/podman.sock; do test -e $s && echo found $s; done; grep -c '\\.sock' /proc/mounts; true",
        )
        .await;
    assert_eq!(sockets.output.trim(), "0", "{}", sockets.output);

    // A TCP service on the host (an engine API on tcp://0.0.0.0:2375 would be one).
    let service = HostService::start("host-service");
    let mut addresses = host_addresses();
    addresses.push(gateway);
    for addr in &addresses {
        assert_eq!(
            host_probe(addr, service.port, false).as_deref(),
            Some("host-service"),
            "the host service answers at {addr} from the host"
        );
        let probe = lab.sh(&a, &probe_script(addr, service.port)).await;
        assert!(
            !probe.output.contains("host-service"),
            "the instance reached the host at {addr}: {}",
            probe.output
        );
    }
    lab.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_instance_cannot_reach_the_metadata_address() {
    let _one_at_a_time = outside_lock().await;
    let _outside = Outside::new();
    let lab = Lab::new("127.0.0.1").await;
    let a = lab.spawn("target-default", "team:d").await;

    // The instance may go out (its profile allows egress)…
    let out = lab.sh(&a, &probe_script(OUTSIDE_ADDR, 80)).await;
    assert!(
        out.output.contains("outside"),
        "egress works: {}",
        out.output
    );
    // …but not to the metadata address, routed exactly the same way.
    let meta = lab.sh(&a, &probe_script(METADATA_ADDR, 80)).await;
    assert!(
        !meta.output.contains("outside"),
        "reached {METADATA_ADDR}: {}",
        meta.output
    );
    lab.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn without_egress_nothing_outside_answers_but_the_published_port_does() {
    let _one_at_a_time = outside_lock().await;
    let _outside = Outside::new();
    let lab = Lab::new("127.0.0.1").await;
    let open = lab.spawn("target-default", "team:e").await;
    let closed = lab.spawn("target-strict", "team:e").await;

    // Players still reach the instance: its port is published (through its proxy)…
    assert!(
        host_probe("127.0.0.1", http_port(&closed), true).is_some_and(|l| answered_http(&l)),
        "the published port of the instance without egress answers from the host"
    );
    // …and reconcile, which every command runs first, takes the proxy for what it is.
    let report = lab.lifecycle.reconcile().await.unwrap();
    assert!(report.is_empty(), "{report:?}");
    assert!(
        host_probe("127.0.0.1", http_port(&closed), true).is_some_and(|l| answered_http(&l)),
        "still published after reconcile"
    );
    // The same outbound probe: the instance with egress gets out, the one without does not.
    let allowed = lab.sh(&open, &probe_script(OUTSIDE_ADDR, 80)).await;
    assert!(allowed.output.contains("outside"), "{}", allowed.output);
    let denied = lab.sh(&closed, &probe_script(OUTSIDE_ADDR, 80)).await;
    assert!(
        !denied.output.contains("outside"),
        "the instance without egress got out: {}",
        denied.output
    );

    // Nor does it reach a listener on the host, at any host address or its configured gateway.
    let service = HostService::start("host-service");
    let (_, gateway) = lab.address(&closed).await;
    let mut addresses = host_addresses();
    addresses.push(gateway);
    for addr in &addresses {
        let probe = lab.sh(&closed, &probe_script(addr, service.port)).await;
        assert!(
            !probe.output.contains("host-service"),
            "reached the host at {addr}: {}",
            probe.output
        );
    }
    assert_eq!(
        host_probe(&addresses[0], service.port, false).as_deref(),
        Some("host-service")
    );

    // Its network is internal, and the service inside still works on loopback.
    let own = lab.sh(&closed, &probe_script("127.0.0.1", 8080)).await;
    assert!(answered_http(&own.output), "{}", own.output);
    let network = lab
        .engine
        .client()
        .inspect_network(
            &format!("ctfdeck-{}", closed.id),
            None::<bollard::query_parameters::InspectNetworkOptions>,
        )
        .await
        .unwrap();
    assert_eq!(network.internal, Some(true));
    lab.finish().await;
}
