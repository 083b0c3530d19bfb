#![allow(clippy::unwrap_used, clippy::expect_used)]
//! What the console watches, on the real engine: the label-filtered event stream, one-shot
//! stats, inspection without secrets, timestamped logs.

mod common;

use std::time::Duration;

use common::Fixture;
use ctfdeck::domain::Owner;
use futures_util::StreamExt;

#[tokio::test]
async fn events_stats_inspect_and_logs_of_a_real_instance() {
    let f = Fixture::new().await;
    let result = run(&f).await;
    f.cleanup().await;
    result.unwrap();
}

async fn run(f: &Fixture) -> Result<(), String> {
    let engine = f.lifecycle.engine().clone();
    let mut events = engine.container_events(f.lifecycle.store_id());
    let owner: Owner = "team:observe".parse().unwrap();
    let spawned = f
        .lifecycle
        .spawn("web-robots", &owner)
        .await
        .map_err(|e| e.to_string())?;
    let rec = spawned.instance;
    let container = rec.container_id.clone().ok_or("no container id")?;

    // The start event arrives, labelled with the instance.
    let start = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(ev) = events.next().await {
            let ev = ev.map_err(|e| e.to_string())?;
            if ev.action == "start" {
                return Ok::<_, String>(ev);
            }
        }
        Err("event stream ended".to_string())
    })
    .await
    .map_err(|_| "no start event within 20 s")??;
    assert_eq!(start.instance.as_deref(), Some(rec.id.as_str()));
    assert_eq!(start.container_id, container);
    assert_eq!(start.implied_state(), Some("running"));

    let stats = engine
        .container_stats(&container)
        .await
        .map_err(|e| e.to_string())?;
    assert!(stats.memory_bytes > 0, "{stats:?}");
    assert_eq!(stats.memory_limit, 64 << 20, "the challenge's memory limit");
    assert!(stats.cpu_percent >= 0.0);

    let detail = engine
        .inspect_container(&container)
        .await
        .map_err(|e| e.to_string())?;
    assert_eq!(detail.state, "running");
    assert_eq!(detail.hardening.cap_drop, vec!["ALL".to_string()]);
    assert!(detail.hardening.read_only);
    assert!(detail.hardening.init);
    assert!(!detail.hardening.privileged);
    assert_eq!(detail.hardening.pids_limit, 64);
    assert!(detail.env_names.contains(&"FLAG".to_string()));
    let flag = rec.flag.clone().ok_or("no flag")?;
    assert!(
        !format!("{detail:?}").contains(&flag),
        "inspection carries no secret"
    );

    // Timestamped logs: the engine's RFC 3339 time, a space, the line.
    let _ = common::http_status_line(rec.ports[0].host_port);
    let mut logs = engine.logs_timestamped(&container, false, Some(50));
    let mut text = String::new();
    while let Some(chunk) = logs.next().await {
        text.push_str(&chunk.map_err(|e| e.to_string())?);
    }
    if let Some(first) = text.lines().next() {
        let stamp = first.split(' ').next().unwrap_or_default();
        assert!(stamp.len() >= 20 && stamp.contains('T'), "{first:?}");
    }

    // Stopping shows up as the container's destruction.
    f.lifecycle
        .stop(&rec.id, "test")
        .await
        .map_err(|e| e.to_string())?;
    tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(ev) = events.next().await {
            if ev.map_err(|e| e.to_string())?.action == "destroy" {
                return Ok::<_, String>(());
            }
        }
        Err("event stream ended".to_string())
    })
    .await
    .map_err(|_| "no destroy event within 20 s")??;
    engine.ping().await.map_err(|e| e.to_string())?;
    Ok(())
}
