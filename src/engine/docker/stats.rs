//! One-shot resource samples and inspection of a container.

use bollard::Docker;
use bollard::models::ContainerStatsResponse;
use bollard::query_parameters::StatsOptionsBuilder;
use futures_util::StreamExt;

use crate::engine::{ContainerDetail, ContainerStats, EngineError, EngineKind};

pub async fn sample(client: &Docker, id: &str) -> Result<ContainerStats, EngineError> {
    // One-shot: the engine answers at once instead of waiting to take a second sample; the
    // caller gets CPU % from two samples of its own (`ContainerStats::with_cpu_since`).
    let options = StatsOptionsBuilder::new()
        .stream(false)
        .one_shot(true)
        .build();
    let mut stream = client.stats(id, Some(options));
    match stream.next().await {
        Some(Ok(s)) => Ok(from_response(&s)),
        Some(Err(e)) => Err(EngineError::api(format!("reading stats of {id}"))(e)),
        None => Err(EngineError::Unexpected(format!("no stats for {id}"))),
    }
}

/// CPU % the way `docker stats` computes it: container CPU time over system CPU time between
/// the two samples, scaled by the number of CPUs.
pub fn from_response(s: &ContainerStatsResponse) -> ContainerStats {
    let total = |c: &Option<bollard::models::ContainerCpuStats>| {
        c.as_ref()
            .and_then(|c| c.cpu_usage.as_ref())
            .and_then(|u| u.total_usage)
            .unwrap_or(0)
    };
    let system = |c: &Option<bollard::models::ContainerCpuStats>| {
        c.as_ref().and_then(|c| c.system_cpu_usage).unwrap_or(0)
    };
    let cpu_delta = total(&s.cpu_stats).saturating_sub(total(&s.precpu_stats)) as f64;
    let system_delta = system(&s.cpu_stats).saturating_sub(system(&s.precpu_stats)) as f64;
    let cpus = s
        .cpu_stats
        .as_ref()
        .and_then(|c| c.online_cpus)
        .filter(|n| *n > 0)
        .unwrap_or(1) as f64;
    let cpu_percent = if system_delta > 0.0 {
        cpu_delta / system_delta * cpus * 100.0
    } else {
        0.0
    };
    let memory = s.memory_stats.as_ref();
    let usage = memory.and_then(|m| m.usage).unwrap_or(0);
    // Page cache is reclaimable; `docker stats` leaves it out, and so do we.
    let cache = memory
        .and_then(|m| m.stats.as_ref())
        .and_then(|st| {
            st.get("inactive_file")
                .or_else(|| st.get("total_inactive_file"))
        })
        .copied()
        .unwrap_or(0);
    ContainerStats {
        cpu_percent,
        memory_bytes: usage.saturating_sub(cache),
        memory_limit: memory.and_then(|m| m.limit).unwrap_or(0),
        cpu_total_ns: total(&s.cpu_stats),
        system_total_ns: system(&s.cpu_stats),
        online_cpus: cpus as u32,
    }
}

pub async fn inspect(
    client: &Docker,
    kind: EngineKind,
    id: &str,
) -> Result<ContainerDetail, EngineError> {
    let i = super::inspect_settled::container(client, id)
        .await
        .map_err(EngineError::api(format!("inspecting container {id}")))?;
    let mut hardening = super::inspect_security::applied(&i);
    if kind == EngineKind::Podman {
        super::podman::applied_in_docker_words(&mut hardening);
    }
    let state = i.state.unwrap_or_default();
    let config = i.config.unwrap_or_default();
    let mut env_names: Vec<String> = config
        .env
        .unwrap_or_default()
        .into_iter()
        .map(|kv| kv.split('=').next().unwrap_or_default().to_string())
        .collect();
    env_names.sort();
    let mut networks: Vec<String> = i
        .network_settings
        .and_then(|n| n.networks)
        .map(|n| n.into_keys().collect())
        .unwrap_or_default();
    networks.sort();
    Ok(ContainerDetail {
        id: i.id.unwrap_or_default(),
        name: i
            .name
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_string(),
        image: config.image.unwrap_or_default(),
        state: state
            .status
            .map(|s| s.to_string())
            .unwrap_or_else(|| "unknown".into()),
        health: state
            .health
            .and_then(|h| h.status)
            .map(|s| s.to_string())
            .filter(|s| !s.is_empty() && s != "none"),
        started_at: state.started_at.unwrap_or_default(),
        exit_code: state.exit_code,
        oom_killed: state.oom_killed.unwrap_or(false),
        restart_count: i.restart_count.unwrap_or(0),
        command: config.cmd.unwrap_or_default(),
        env_names,
        networks,
        // An empty ctfdeck label is one ctfdeck set only so that an image could not.
        labels: config
            .labels
            .unwrap_or_default()
            .into_iter()
            .filter(|(k, v)| !(v.is_empty() && k.starts_with(crate::engine::labels::PREFIX)))
            .collect(),
        hardening,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{ContainerCpuStats, ContainerCpuUsage, ContainerMemoryStats};

    fn cpu(total: u64, system: u64) -> Option<ContainerCpuStats> {
        Some(ContainerCpuStats {
            cpu_usage: Some(ContainerCpuUsage {
                total_usage: Some(total),
                ..Default::default()
            }),
            system_cpu_usage: Some(system),
            online_cpus: Some(2),
            ..Default::default()
        })
    }

    #[test]
    fn cpu_percent_and_memory_follow_docker_stats() {
        let s = ContainerStatsResponse {
            cpu_stats: cpu(300, 2_000),
            precpu_stats: cpu(100, 1_000),
            memory_stats: Some(ContainerMemoryStats {
                usage: Some(10_000),
                limit: Some(64_000),
                stats: Some([("inactive_file".to_string(), 2_000)].into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let st = from_response(&s);
        assert!((st.cpu_percent - 40.0).abs() < 1e-9, "{}", st.cpu_percent);
        assert_eq!(st.memory_bytes, 8_000);
        assert_eq!(st.memory_limit, 64_000);
        assert_eq!(
            from_response(&ContainerStatsResponse::default()).cpu_percent,
            0.0
        );
    }
}
