//! Whether the process that claimed an in-flight row (a spawn or a stop) still lives. Each
//! claim records its process's lease — pid, start time, host — so that the next command on
//! the host repairs what a killed process left at once, instead of waiting out a grace period
//! in case the process were merely slow.

use crate::store::Lease;

/// What a lease says of its process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// It runs: its row is work in progress (for a while; see reconcile's grace).
    Alive,
    /// It is gone (or its pid now belongs to a later process): its row is to be repaired.
    Dead,
    /// Another host's process, or this host cannot tell: only time says.
    Unknown,
}

/// This process's lease; `None` where the host does not say who runs (no `/proc`).
pub fn this_process() -> Option<Lease> {
    let pid = std::process::id();
    Some(Lease {
        pid,
        started: process_started(pid)?,
        host: host_name()?,
    })
}

/// What `lease` says of its process on this host.
pub fn liveness(lease: &Lease) -> Liveness {
    match host_name() {
        Some(here) => judge(lease, &here, process_started),
        None => Liveness::Unknown,
    }
}

/// The rule: a lease of another host is unknown; on this host, a pid that runs nothing, or
/// runs a process started at another time, is dead. `started_of` tells when a pid's current
/// process started (`None`: no such process).
fn judge(lease: &Lease, here: &str, started_of: impl Fn(u32) -> Option<String>) -> Liveness {
    if lease.host != here {
        return Liveness::Unknown;
    }
    match started_of(lease.pid) {
        Some(started) if started == lease.started => Liveness::Alive,
        _ => Liveness::Dead,
    }
}

/// When process `pid` started: the boot it runs in and its start time in clock ticks since
/// that boot, so a pid reused after a reboot is not mistaken for the old process. `None` for
/// no such process, and for a zombie (dead, not yet reaped by its parent).
fn process_started(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name, in parentheses, may itself hold spaces and parentheses.
    let (_, after_name) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields after the name start at the state (field 3); the start time is field 22.
    let state = fields.first()?;
    if matches!(*state, "Z" | "X" | "x") {
        return None;
    }
    let ticks = fields.get(22 - 3)?;
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
    Some(format!("{}:{ticks}", boot.trim()))
}

/// Where a pid means something: the host's name and this process's pid namespace. A ctfdeck
/// in a container that shares the host's name (`--network host`) but not its pids is another
/// "host" to the lease, never judged by pids it cannot see.
fn host_name() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    let pids = std::fs::read_link("/proc/self/ns/pid").ok()?;
    Some(format!("{name} {}", pids.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(pid: u32, started: &str, host: &str) -> Lease {
        Lease {
            pid,
            started: started.into(),
            host: host.into(),
        }
    }

    #[test]
    fn a_lease_is_dead_when_its_pid_runs_nothing_or_a_later_process() {
        let running = |pid: u32| (pid == 100).then(|| "b:5000".to_string());
        assert_eq!(
            judge(&lease(100, "b:5000", "deck"), "deck", running),
            Liveness::Alive
        );
        assert_eq!(
            judge(&lease(101, "b:5000", "deck"), "deck", running),
            Liveness::Dead,
            "no such process"
        );
        assert_eq!(
            judge(&lease(100, "b:4000", "deck"), "deck", running),
            Liveness::Dead,
            "the pid was reused"
        );
        assert_eq!(
            judge(&lease(101, "b:4000", "other"), "deck", running),
            Liveness::Unknown,
            "another host's process is not ours to judge"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_is_alive_and_a_finished_child_is_dead() {
        let me = this_process().expect("a lease on linux");
        assert_eq!(liveness(&me), Liveness::Alive);
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let child_lease = Lease {
            pid: child.id(),
            started: process_started(child.id()).unwrap_or_default(),
            host: me.host.clone(),
        };
        child.wait().unwrap();
        assert_eq!(liveness(&child_lease), Liveness::Dead);
        let reused = Lease {
            started: "another boot:1".into(),
            ..me
        };
        assert_eq!(liveness(&reused), Liveness::Dead);
    }
}
