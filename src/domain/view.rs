//! The instance as scripts and screens see it. `--json` output is a contract: fields are only
//! ever added.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::store::{InstanceRecord, Millis, PublishedPort};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstanceView {
    pub id: String,
    pub challenge: String,
    pub owner: String,
    pub status: String,
    pub container_id: Option<String>,
    pub ports: Vec<PublishedPort>,
    pub created_at: String,
    pub expires_at: String,
    pub stopped_at: Option<String>,
    pub renewals: u32,
    pub max_renewals: u32,
    pub max_total_at: String,
    pub stop_reason: Option<String>,
}

impl From<&InstanceRecord> for InstanceView {
    fn from(r: &InstanceRecord) -> Self {
        InstanceView {
            id: r.id.clone(),
            challenge: r.challenge.clone(),
            owner: r.owner.clone(),
            status: r.status.as_str().to_string(),
            container_id: r.container_id.clone(),
            ports: r.ports.clone(),
            created_at: rfc3339(r.created_at),
            expires_at: rfc3339(r.expires_at),
            stopped_at: r.stopped_at.map(rfc3339),
            renewals: r.renewals,
            max_renewals: r.max_renewals,
            max_total_at: rfc3339(r.max_total_at),
            stop_reason: r.stop_reason.clone(),
        }
    }
}

/// RFC 3339 in UTC, second precision.
pub fn rfc3339(at: Millis) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(at.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

/// `12m 5s`-style remaining time, or `expired`.
pub fn remaining(expires_at: Millis, now: Millis) -> String {
    if expires_at <= now {
        return "expired".to_string();
    }
    let secs = (expires_at - now) / 1000;
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    if h > 0 {
        format!("{h}h{m:02}m")
    } else if m > 0 {
        format!("{m}m{s:02}s")
    } else {
        format!("{s}s")
    }
}

/// `host:port` for each published port; `0.0.0.0` shown as the address users would type.
pub fn addresses(ports: &[PublishedPort], public_host: &str) -> String {
    ports
        .iter()
        .map(|p| {
            let host = if p.host_ip.is_empty() || p.host_ip == "0.0.0.0" || p.host_ip == "::" {
                public_host
            } else {
                p.host_ip.as_str()
            };
            format!("{host}:{}", p.host_port)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// "12 instances of web-robots owned by 12 teams"-style summary.
pub fn describe_selection(records: &[InstanceRecord]) -> String {
    let challenges: BTreeSet<&str> = records.iter().map(|r| r.challenge.as_str()).collect();
    let owners: BTreeSet<&str> = records.iter().map(|r| r.owner.as_str()).collect();
    let n = records.len();
    let of = if challenges.len() == 1 {
        challenges
            .iter()
            .next()
            .copied()
            .unwrap_or_default()
            .to_string()
    } else {
        format!("{} challenges", challenges.len())
    };
    let by = if owners.len() == 1 {
        owners
            .iter()
            .next()
            .copied()
            .unwrap_or_default()
            .to_string()
    } else {
        format!("{} owners", owners.len())
    };
    format!(
        "{n} instance{} of {of} owned by {by}",
        if n == 1 { "" } else { "s" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_format_as_rfc3339_and_countdowns() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000_123), "2023-11-14T22:13:20Z");
        assert_eq!(remaining(10_000, 20_000), "expired");
        assert_eq!(remaining(65_000, 0), "1m05s");
        assert_eq!(remaining(3_725_000, 0), "1h02m");
        assert_eq!(remaining(9_999, 0), "9s");
    }
}
