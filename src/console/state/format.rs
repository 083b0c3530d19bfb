//! How instance facts read on screen: status words, countdown urgency, ages, sizes.

use crate::engine::ContainerStats;
use crate::store::{InstanceRecord, InstanceStatus, Millis};

/// Below this a running instance shows as `expiring`.
pub const EXPIRING_MS: Millis = 5 * 60_000;
/// Countdown colours: warn below this …
pub const WARN_MS: Millis = 10 * 60_000;
/// … critical below this.
pub const CRITICAL_MS: Millis = 2 * 60_000;

/// The status column: the store's status refined by what the engine last said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Shown {
    Unhealthy,
    Exited,
    Expiring,
    Starting,
    Stopping,
    Running,
    Finished,
}

impl Shown {
    pub fn of(rec: &InstanceRecord, engine_state: Option<&str>, now: Millis) -> Shown {
        match rec.status {
            InstanceStatus::Starting => Shown::Starting,
            InstanceStatus::Stopping => Shown::Stopping,
            // The store knows it stopped, whatever the engine said last.
            InstanceStatus::Exited => Shown::Exited,
            InstanceStatus::Running => match engine_state {
                Some("unhealthy") => Shown::Unhealthy,
                Some("exited" | "dead" | "removed") => Shown::Exited,
                _ if rec.expires_at - now < EXPIRING_MS => Shown::Expiring,
                _ => Shown::Running,
            },
            _ => Shown::Finished,
        }
    }

    pub fn text(self, rec: &InstanceRecord) -> &'static str {
        match self {
            Shown::Unhealthy => "unhealthy",
            Shown::Exited => "exited",
            Shown::Expiring => "expiring",
            Shown::Starting => "starting",
            Shown::Stopping => "stopping",
            Shown::Running => "running",
            Shown::Finished => rec.status.as_str(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    Ok,
    Warn,
    Critical,
}

pub fn urgency(expires_at: Millis, now: Millis) -> Urgency {
    let left = expires_at - now;
    if left < CRITICAL_MS {
        Urgency::Critical
    } else if left < WARN_MS {
        Urgency::Warn
    } else {
        Urgency::Ok
    }
}

/// `42s`, `12m`, `3h05m`, `2d04h`.
pub fn age(since: Millis, now: Millis) -> String {
    let secs = ((now - since) / 1000).max(0);
    let (d, h, m) = (secs / 86_400, (secs % 86_400) / 3600, (secs % 3600) / 60);
    if d > 0 {
        format!("{d}d{h:02}h")
    } else if h > 0 {
        format!("{h}h{m:02}m")
    } else if m > 0 {
        format!("{m}m")
    } else {
        format!("{secs}s")
    }
}

pub use crate::domain::view::bytes;

pub fn cpu(stats: Option<&ContainerStats>) -> String {
    stats.map_or_else(|| "-".to_string(), |s| format!("{:.1}%", s.cpu_percent))
}

pub fn mem(stats: Option<&ContainerStats>) -> String {
    stats.map_or_else(|| "-".to_string(), |s| bytes(s.memory_bytes))
}

/// Local wall-clock-free time of day (UTC) for log lines: `12:04:05`.
pub fn clock(at: Millis) -> String {
    let secs = (at / 1000).rem_euclid(86_400);
    format!(
        "{:02}:{:02}:{:02}",
        secs / 3600,
        (secs % 3600) / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_sizes_and_urgency_read_naturally() {
        assert_eq!(age(0, 42_000), "42s");
        assert_eq!(age(0, 12 * 60_000 + 5_000), "12m");
        assert_eq!(age(0, 3 * 3_600_000 + 5 * 60_000), "3h05m");
        assert_eq!(age(0, 2 * 86_400_000 + 4 * 3_600_000), "2d04h");
        assert_eq!(bytes(512 * 1024), "512K");
        assert_eq!(bytes(12 * 1024 * 1024 + 512 * 1024), "12.5M");
        assert_eq!(urgency(100_000, 0), Urgency::Critical);
        assert_eq!(urgency(300_000, 0), Urgency::Warn);
        assert_eq!(urgency(3_600_000, 0), Urgency::Ok);
        assert_eq!(clock(3_723_000), "01:02:03");
    }
}
