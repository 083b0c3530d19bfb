#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Drift detection against real instances: a fresh instance matches its profile; loosening it
//! behind ctfdeck's back (`docker update`, `docker network connect`, a stopped egress proxy)
//! shows up field by field, in the library call the console uses and in `doctor --security`.

mod attack_support;
mod common;

use attack_support::{Lab, container, root_command};
use bollard::models::{ContainerUpdateBody, NetworkConnectRequest, NetworkDisconnectRequest};
use ctfdeck::domain::instance_drift;

fn fields(drift: &[ctfdeck::domain::Drift]) -> Vec<&str> {
    drift.iter().map(|d| d.field.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn fresh_instances_match_their_profile_and_tampering_shows_as_drift() {
    let lab = Lab::new("127.0.0.1").await;
    let open = lab.spawn("target-default", "team:drift").await;
    let closed = lab.spawn("target-strict", "team:drift").await;
    for rec in [&open, &closed] {
        let drift = instance_drift(&lab.lifecycle, rec).await.unwrap();
        assert!(drift.is_empty(), "{}: {drift:?}", rec.challenge);
    }

    let client = lab.engine.client();
    let podman = common::on_podman(&lab.engine);
    // Podman 4.3's compatible API has no container update (404), and its own one changes the
    // cgroup but not what inspect reports: loosened limits are Docker's part of this test.
    if !podman {
        client
            .update_container(
                container(&open),
                ContainerUpdateBody {
                    pids_limit: Some(4096),
                    memory: Some(256 << 20),
                    memory_swap: Some(512 << 20),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
    }
    client
        .connect_network(
            default_network(podman),
            NetworkConnectRequest {
                container: container(&open).to_string(),
                endpoint_config: None,
            },
        )
        .await
        .unwrap();
    let drift = instance_drift(&lab.lifecycle, &open).await.unwrap();
    if podman {
        // Podman reports the mode of a container on several networks as `bridge`, which is
        // then not the one network planned: the second network shows twice.
        assert_eq!(fields(&drift), ["network mode", "networks"], "{drift:?}");
    } else {
        assert_eq!(
            fields(&drift),
            [
                "memory limit",
                "memory+swap limit",
                "pids limit",
                "networks"
            ]
        );
        let pids = drift.iter().find(|d| d.field == "pids limit").unwrap();
        assert_eq!(pids.to_string(), "pids limit: expected 64, found 4096");
    }

    // Without its proxy running, the instance without egress is flagged.
    client
        .stop_container(
            &format!("ctfdeck-target-strict-{}-proxy", closed.id),
            None::<bollard::query_parameters::StopContainerOptions>,
        )
        .await
        .unwrap();
    let drift = instance_drift(&lab.lifecycle, &closed).await.unwrap();
    assert_eq!(fields(&drift), ["egress proxy"], "{drift:?}");
    assert_eq!(drift[0].actual, "not running");

    // A container removed behind ctfdeck's back.
    client
        .remove_container(
            container(&open),
            Some(
                bollard::query_parameters::RemoveContainerOptionsBuilder::new()
                    .force(true)
                    .build(),
            ),
        )
        .await
        .unwrap();
    let drift = instance_drift(&lab.lifecycle, &open).await.unwrap();
    assert_eq!(drift[0].actual, "gone from the engine");
    lab.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_security_passes_then_names_the_drift_and_fails() {
    // The lab installs the host firewall, which doctor --security also checks.
    let _lab = Lab::new("127.0.0.1").await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[container]\nbind_address = \"127.0.0.1\"\n").unwrap();
    let ctfdeck = |args: &[&str]| {
        // doctor reads the host firewall, which takes root.
        let mut cmd = root_command(common::bin().to_str().unwrap());
        cmd.arg("--store")
            .arg(dir.path().join("s.db"))
            .arg("--config")
            .arg(&config)
            .arg("--catalog")
            .arg(common::repo().join("challenges"))
            .args(args);
        cmd.output().unwrap()
    };
    let spawned = ctfdeck(&["spawn", "web-robots", "--owner", "team:doc", "--json"]);
    assert!(
        spawned.status.success(),
        "{}",
        String::from_utf8_lossy(&spawned.stderr)
    );
    let rec: serde_json::Value = serde_json::from_slice(&spawned.stdout).unwrap();
    let id = rec["id"].as_str().unwrap().to_string();
    let container_id = rec["container_id"].as_str().unwrap().to_string();

    let clean = ctfdeck(&["doctor", "--security"]);
    let engine = common::engine().await;
    let podman = common::on_podman(&engine);
    if podman {
        // No container update on Podman's compatible API: another network is the tampering.
        engine
            .client()
            .connect_network(
                default_network(podman),
                NetworkConnectRequest {
                    container: container_id.clone(),
                    endpoint_config: None,
                },
            )
            .await
            .unwrap();
    } else {
        engine
            .client()
            .update_container(
                &container_id,
                ContainerUpdateBody {
                    pids_limit: Some(4096),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
    }
    let drifted = ctfdeck(&["doctor", "--security"]);
    if podman {
        // Podman 4.3 cannot inspect a paused container on a network connected after its
        // creation (500, "network inspection mismatch"), and stop freezes the instance first:
        // the tampering is undone before the stop.
        engine
            .client()
            .disconnect_network(
                default_network(podman),
                NetworkDisconnectRequest {
                    container: container_id.clone(),
                    force: Some(true),
                },
            )
            .await
            .unwrap();
    }
    // Stop first, so that a failed assertion leaves nothing running.
    let stopped = ctfdeck(&["stop", &id]);
    assert!(
        stopped.status.success(),
        "{}",
        String::from_utf8_lossy(&stopped.stderr)
    );

    let text = String::from_utf8_lossy(&clean.stdout);
    assert!(
        clean.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&clean.stderr)
    );
    assert!(text.contains("ok    firewall"), "{text}");
    assert!(
        text.contains(&format!("ok    instance   {id} (web-robots")),
        "{text}"
    );

    let text = String::from_utf8_lossy(&drifted.stdout);
    assert_eq!(drifted.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!("FAIL  instance   {id} (web-robots")),
        "{text}"
    );
    let named = if podman {
        "networks: expected ctfdeck-"
    } else {
        "pids limit: expected 64, found 4096"
    };
    assert!(text.contains(named), "{text}");
}

/// The engine's own default network, which no instance is on.
fn default_network(podman: bool) -> &'static str {
    if podman { "podman" } else { "bridge" }
}
