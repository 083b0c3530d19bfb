#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Resource attacks from inside a real instance: a fork bomb and a memory hog. Each must be
//! stopped by the instance's own limits while the host and a neighbouring instance carry on.

mod attack_support;
mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use attack_support::{Lab, container, host_probe};
use ctfdeck::engine::Engine;
use ctfdeck::store::InstanceRecord;

/// The host folder of the container's pids cgroup (cgroup v1 or v2), found from its init's
/// `/proc/<pid>/cgroup`: the kernel's own account, not a report about it.
async fn pids_cgroup(lab: &Lab, rec: &InstanceRecord) -> PathBuf {
    let pid = lab
        .inspect(rec)
        .await
        .state
        .and_then(|s| s.pid)
        .expect("a running init");
    let table = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let v1 = table
        .lines()
        .find_map(|l| l.split_once(":pids:").map(|(_, p)| p.to_string()));
    let dir = match v1 {
        Some(path) => PathBuf::from(format!("/sys/fs/cgroup/pids{path}")),
        None => {
            let path = table
                .lines()
                .find_map(|l| l.strip_prefix("0::"))
                .expect("a pids or unified cgroup");
            PathBuf::from(format!("/sys/fs/cgroup{path}"))
        }
    };
    assert!(dir.join("pids.current").is_file(), "{}", dir.display());
    dir
}

fn read_number(path: &Path, key: Option<&str>) -> u64 {
    let text = std::fs::read_to_string(path).unwrap();
    let value = match key {
        None => text.trim().to_string(),
        Some(key) => text
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .unwrap_or_default()
            .trim()
            .to_string(),
    };
    value
        .parse()
        .unwrap_or_else(|_| panic!("{}: {text}", path.display()))
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

    let cgroup = pids_cgroup(&lab, &victim).await;
    assert_eq!(read_number(&cgroup.join("pids.max"), None), 64);
    let started = lab
        .sh(
            &victim,
            // Every copy forks in a loop: the process count climbs to the limit at once.
            "(b(){ while :; do b & done; }; b) >/dev/null 2>&1 </dev/null & echo started",
        )
        .await;
    assert_eq!(started.output.trim(), "started");

    // Watch the kernel refuse the bomb's forks at the limit, and never let it past.
    let mut highest = 0;
    let mut refused = 0;
    for _ in 0..100 {
        highest = highest.max(read_number(&cgroup.join("pids.current"), None));
        refused = read_number(&cgroup.join("pids.events"), Some("max "));
        if refused > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(refused > 0, "the pids limit refused the bomb's forks");
    for _ in 0..10 {
        highest = highest.max(read_number(&cgroup.join("pids.current"), None));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(highest <= 64, "{highest} processes, above the limit 64");

    // Meanwhile the rest of the host is unaffected.
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

#[tokio::test(flavor = "multi_thread")]
async fn filling_dev_shm_stops_at_the_profiles_size_and_exec_still_works() {
    let lab = Lab::new("127.0.0.1").await;
    // strict: 1m; default: 16m (the engine's own default was 64m, as large as the memory
    // limit of these instances, so filling it left nothing for a later `docker exec`).
    for (challenge, limit) in [("target-strict", 1u64 << 20), ("target-default", 16 << 20)] {
        let rec = lab.spawn(challenge, "team:shm").await;
        let fill = lab
            .sh(
                &rec,
                "dd if=/dev/zero of=/dev/shm/fill bs=64k count=512 2>&1; echo size=$(wc -c < /dev/shm/fill)",
            )
            .await
            .output;
        assert!(
            fill.contains("No space left on device"),
            "{challenge}: {fill}"
        );
        let size: u64 = fill
            .rsplit("size=")
            .next()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or_else(|| panic!("{challenge}: no size in {fill}"));
        assert!(
            size > 0 && size <= limit,
            "{challenge}: {size} bytes: {fill}"
        );
        let mount = lab.sh(&rec, "grep ' /dev/shm ' /proc/mounts").await.output;
        assert!(mount.contains("noexec"), "{challenge}: {mount}");
        // The instance is still usable: a new process starts and answers.
        let alive = lab.sh(&rec, "echo alive").await;
        assert_eq!(alive.output.trim(), "alive", "{challenge}");
    }
    lab.finish().await;
}
