//! Resource samples read from the kernel's cgroup files instead of asked of the engine. With
//! the engine on this host, a container's CPU time and memory are plain files: reading them
//! costs microseconds and nothing at all in dockerd and containerd, where each stats API call
//! costs both a little — many times over with many rows on screen. A container whose cgroup is
//! not found here (a remote engine, an unusual layout) is sampled through the API as before.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use crate::engine::ContainerStats;

/// Where the cgroup hierarchies are mounted.
const ROOT: &str = "/sys/fs/cgroup";

/// One sample of `container` (the engine's full id) from its cgroup, if this host has it.
pub fn sample(container: &str) -> Option<ContainerStats> {
    sample_under(Path::new(ROOT), container)
}

/// The same, under another root (tests build a fake hierarchy).
pub fn sample_under(root: &Path, container: &str) -> Option<ContainerStats> {
    // An id with a slash or dots could name another file; engine ids are plain hex.
    if container.is_empty() || !container.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    let (cpu_total_ns, memory_bytes, memory_limit) = if root.join("cgroup.controllers").exists() {
        v2(&find(root, container)?)?
    } else {
        v1(root, container)?
    };
    let cpus = online_cpus();
    Some(ContainerStats {
        cpu_percent: 0.0,
        memory_bytes,
        memory_limit,
        cpu_total_ns,
        // Wall time on every CPU: CPU % between two samples is then the container's CPU time
        // over the wall time between them, as `docker stats` gives it.
        system_total_ns: monotonic_ns().saturating_mul(u64::from(cpus)),
        online_cpus: cpus,
    })
}

/// The container's cgroup folder under each driver and engine's naming (cgroupfs, systemd;
/// Docker, Podman); under v1 `root` is one controller's hierarchy.
fn find(root: &Path, id: &str) -> Option<PathBuf> {
    [
        format!("docker/{id}"),
        format!("system.slice/docker-{id}.scope"),
        format!("machine.slice/libpod-{id}.scope"),
        format!("libpod_parent/libpod-{id}"),
    ]
    .into_iter()
    .map(|p| root.join(p))
    .find(|p| p.is_dir())
}

fn v2(dir: &Path) -> Option<(u64, u64, u64)> {
    let usage_usec = field(&read(&dir.join("cpu.stat"))?, "usage_usec")?;
    let current = number(&read(&dir.join("memory.current"))?)?;
    let inactive = read(&dir.join("memory.stat"))
        .and_then(|s| field(&s, "inactive_file"))
        .unwrap_or(0);
    // "max": no limit, as the API says 0 for it.
    let limit = read(&dir.join("memory.max"))
        .and_then(|s| number(&s))
        .unwrap_or(0);
    Some((
        usage_usec.saturating_mul(1000),
        current.saturating_sub(inactive),
        limit,
    ))
}

fn v1(root: &Path, id: &str) -> Option<(u64, u64, u64)> {
    let cpu = ["cpuacct", "cpu,cpuacct"]
        .into_iter()
        .find_map(|c| find(&root.join(c), id))?;
    let mem = find(&root.join("memory"), id)?;
    let usage_ns = number(&read(&cpu.join("cpuacct.usage"))?)?;
    let usage = number(&read(&mem.join("memory.usage_in_bytes"))?)?;
    let inactive = read(&mem.join("memory.stat"))
        .and_then(|s| field(&s, "total_inactive_file"))
        .unwrap_or(0);
    // v1 says "no limit" with a huge number (the page-rounded i64 maximum).
    let limit = read(&mem.join("memory.limit_in_bytes"))
        .and_then(|s| number(&s))
        .filter(|l| *l < 1 << 62)
        .unwrap_or(0);
    Some((usage_ns, usage.saturating_sub(inactive), limit))
}

fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

fn number(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

/// `name value` lines (cpu.stat, memory.stat).
fn field(text: &str, name: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == name).then(|| number(v)).flatten()
    })
}

fn online_cpus() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| u32::try_from(n.get()).unwrap_or(u32::MAX))
}

/// Nanoseconds since the first sample of this process: only differences are used.
fn monotonic_ns() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    let start = START.get_or_init(Instant::now);
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, files: &[(&str, &str)]) {
        std::fs::create_dir_all(dir).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
    }

    #[test]
    fn v2_files_give_cpu_time_memory_less_reclaimable_cache_and_the_limit() {
        let root = tempfile::tempdir().unwrap();
        write(root.path(), &[("cgroup.controllers", "cpu memory\n")]);
        write(
            &root.path().join("system.slice/docker-abc123.scope"),
            &[
                ("cpu.stat", "usage_usec 2500\nuser_usec 2000\n"),
                ("memory.current", "10000\n"),
                ("memory.stat", "anon 8000\ninactive_file 3000\n"),
                ("memory.max", "65536\n"),
            ],
        );
        let s = sample_under(root.path(), "abc123").unwrap();
        assert_eq!(s.cpu_total_ns, 2_500_000);
        assert_eq!(s.memory_bytes, 7000);
        assert_eq!(s.memory_limit, 65536);
        write(
            &root.path().join("system.slice/docker-abc123.scope"),
            &[("memory.max", "max\n")],
        );
        assert_eq!(sample_under(root.path(), "abc123").unwrap().memory_limit, 0);
    }

    #[test]
    fn v1_files_are_read_per_controller() {
        let root = tempfile::tempdir().unwrap();
        write(
            &root.path().join("cpuacct/docker/abc"),
            &[("cpuacct.usage", "123456789\n")],
        );
        write(
            &root.path().join("memory/docker/abc"),
            &[
                ("memory.usage_in_bytes", "5000\n"),
                ("memory.stat", "cache 10\ntotal_inactive_file 1000\n"),
                ("memory.limit_in_bytes", "9223372036854771712\n"),
            ],
        );
        let s = sample_under(root.path(), "abc").unwrap();
        assert_eq!(s.cpu_total_ns, 123_456_789);
        assert_eq!(s.memory_bytes, 4000);
        assert_eq!(s.memory_limit, 0, "v1's huge number means no limit");
    }

    #[test]
    fn a_container_not_on_this_host_or_a_strange_id_is_left_to_the_api() {
        let root = tempfile::tempdir().unwrap();
        write(root.path(), &[("cgroup.controllers", "")]);
        assert!(sample_under(root.path(), "abc").is_none());
        assert!(sample_under(root.path(), "../../etc").is_none());
        assert!(sample_under(root.path(), "").is_none());
    }
}
