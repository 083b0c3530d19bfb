#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Resource attacks from inside a real instance: a fork bomb and a memory hog. Each must be
//! stopped by the instance's own limits while the host and a neighbouring instance carry on.

mod attack_support;
mod common;

use std::time::Duration;

use attack_support::{Lab, container, host_probe};
use bollard::query_parameters::StatsOptionsBuilder;
use ctfdeck::engine::Engine;
use ctfdeck::store::InstanceRecord;
use futures_util::StreamExt;

/// (current, limit) of the container's pids cgroup, as the engine reports them.
async fn pids(lab: &Lab, rec: &InstanceRecord) -> (u64, u64) {
    let options = StatsOptionsBuilder::new()
        .stream(false)
        .one_shot(true)
        .build();
    let stats = lab
        .engine
        .client()
        .stats(container(rec), Some(options))
        .next()
        .await
        .expect("a stats sample")
        .expect("stats");
    let p = stats.pids_stats.expect("pids stats");
    (p.current.unwrap_or(0), p.limit.unwrap_or(0))
}

fn http_port(rec: &InstanceRecord) -> u16 {
    rec.ports.first().expect("a published port").host_port
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fork_bomb_hits_the_pids_limit_while_the_host_and_neighbours_carry_on() {
    let lab = Lab::new("127.0.0.1").await;
    let victim = lab.spawn("target-default", "team:bomber").await;
    let neighbour = lab.spawn("target-default", "team:neighbour").await;
    assert!(
        host_probe("127.0.0.1", http_port(&neighbour), true)
            .is_some_and(|l| l.starts_with("HTTP/1.")),
        "the neighbour answers before the attack"
    );

    let started = lab
        .sh(
            &victim,
            // Every copy forks forever, so the bomb keeps pressing on the limit instead of
            // dying out when forks start to fail.
            "(b(){ while :; do b & done; }; b) >/dev/null 2>&1 </dev/null & echo started",
        )
        .await;
    assert_eq!(started.output.trim(), "started");

    // Watch the bomb fill the instance's process table, and never past its limit.
    let mut highest = 0;
    let mut limit = 0;
    for _ in 0..40 {
        let (current, max) = pids(&lab, &victim).await;
        highest = highest.max(current);
        limit = max;
        if current >= 60 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(limit, 64, "the pids limit from the definition");
    assert!(highest >= 60, "the bomb ran into the limit (saw {highest})");
    assert!(
        highest <= limit,
        "{highest} processes, above the limit {limit}"
    );

    // The bomb is still going, and the rest of the host is unaffected.
    let (current, _) = pids(&lab, &victim).await;
    assert!(current > 32 && current <= 64, "still contained: {current}");
    assert!(
        host_probe("127.0.0.1", http_port(&neighbour), true)
            .is_some_and(|l| l.starts_with("HTTP/1.")),
        "the neighbour still answers during the attack"
    );
    let neighbour_exec = lab.sh(&neighbour, "echo alive").await;
    assert_eq!(neighbour_exec.output.trim(), "alive");
    let host = std::process::Command::new("sh")
        .args(["-c", "echo host-alive"])
        .output()
        .expect("the host can still start processes");
    assert_eq!(String::from_utf8_lossy(&host.stdout).trim(), "host-alive");

    lab.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn allocating_past_the_memory_limit_kills_the_process_not_the_instance_or_host() {
    let lab = Lab::new("127.0.0.1").await;
    let rec = lab.spawn("target-default", "team:hog").await;

    // dd holds one block of `bs` bytes in memory: 8 MiB fits in the 64 MiB limit…
    let small = lab
        .engine
        .exec(
            container(&rec),
            &["dd", "if=/dev/zero", "of=/dev/null", "bs=8M", "count=1"],
        )
        .await
        .unwrap();
    assert_eq!(small.exit_code, 0, "{}", small.output);
    assert!(small.output.contains("1+0 records out"), "{}", small.output);

    // …256 MiB does not: the kernel's OOM killer ends dd (SIGKILL, exit 137).
    let big = lab
        .engine
        .exec(
            container(&rec),
            &["dd", "if=/dev/zero", "of=/dev/null", "bs=256M", "count=1"],
        )
        .await
        .unwrap();
    assert_eq!(big.exit_code, 137, "killed by SIGKILL: {}", big.output);
    assert!(!big.output.contains("records out"), "{}", big.output);

    // The kill was the instance's memory cgroup's doing (cgroup v2 or v1 counter).
    let events = lab
        .sh(
            &rec,
            "cat /sys/fs/cgroup/memory.events /sys/fs/cgroup/memory/memory.oom_control 2>/dev/null | grep '^oom_kill '",
        )
        .await;
    let kills: u64 = events
        .output
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no oom_kill counter: {}", events.output));
    assert!(kills >= 1, "{}", events.output);

    // The instance itself lives on and still serves; the host was never involved.
    let state = lab.inspect(&rec).await.state.expect("state");
    assert_eq!(state.running, Some(true));
    assert_eq!(
        state.oom_killed,
        Some(false),
        "the service was not the one killed"
    );
    assert!(
        host_probe("127.0.0.1", http_port(&rec), true).is_some_and(|l| l.starts_with("HTTP/1.")),
        "the instance still answers"
    );
    lab.finish().await;
}
