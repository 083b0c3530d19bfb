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

/// `512K`, `12.5M`, `1.2G`.
pub fn bytes(n: u64) -> String {
    const K: f64 = 1024.0;
    let n = n as f64;
    if n < K * K {
        format!("{:.0}K", n / K)
    } else if n < K * K * K {
        format!("{:.1}M", n / K / K)
    } else {
        format!("{:.1}G", n / K / K / K)
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

/// "12 instances of web-robots owned by 12 owners"-style summary.
pub fn describe_selection(records: &[InstanceRecord]) -> String {
    let n = records.len();
    format!(
        "{n} instance{} of {} owned by {}",
        if n == 1 { "" } else { "s" },
        the_one_or_how_many(records.iter().map(|r| r.challenge.as_str()), "challenges"),
        the_one_or_how_many(records.iter().map(|r| r.owner.as_str()), "owners"),
    )
}

/// The name when all are the same one, else `N <plural>`.
fn the_one_or_how_many<'a>(names: impl Iterator<Item = &'a str>, plural: &str) -> String {
    let distinct: BTreeSet<&str> = names.collect();
    match distinct.first() {
        Some(only) if distinct.len() == 1 => (*only).to_string(),
        _ => format!("{} {plural}", distinct.len()),
    }
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

    #[test]
    fn a_selection_names_its_one_challenge_or_owner_else_counts_them() {
        let names = |pairs: &[(&str, &str)]| -> Vec<InstanceRecord> {
            pairs
                .iter()
                .map(|(challenge, owner)| InstanceRecord {
                    id: "abc234".into(),
                    challenge: challenge.to_string(),
                    owner: owner.to_string(),
                    status: crate::store::InstanceStatus::Running,
                    container_id: None,
                    network_id: None,
                    ports: Vec::new(),
                    flag: None,
                    created_at: 0,
                    expires_at: 0,
                    stopped_at: None,
                    renewals: 0,
                    max_renewals: 0,
                    max_total_at: 0,
                    stop_reason: None,
                    updated_at: 0,
                })
                .collect()
        };
        assert_eq!(
            describe_selection(&names(&[("web", "team:a")])),
            "1 instance of web owned by team:a"
        );
        assert_eq!(
            describe_selection(&names(&[
                ("web", "team:a"),
                ("nc", "team:a"),
                ("nc", "team:b")
            ])),
            "3 instances of 2 challenges owned by 2 owners"
        );
    }
}
