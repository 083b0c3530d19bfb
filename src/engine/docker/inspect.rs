//! Inspecting a container's process state and healthcheck.

use bollard::Docker;
use bollard::models::{ContainerStateStatusEnum, HealthStatusEnum};

use crate::engine::error::is_not_found;
use crate::engine::{ContainerState, EngineError, Health};

pub async fn state(client: &Docker, id: &str) -> Result<ContainerState, EngineError> {
    let inspect = match super::inspect_settled::container(client, id).await {
        Ok(inspect) => inspect,
        Err(e) if is_not_found(&e) => {
            return Err(EngineError::Unexpected(format!(
                "container {id} no longer exists on the engine"
            )));
        }
        Err(e) => return Err(EngineError::api(format!("inspecting container {id}"))(e)),
    };
    let s = inspect.state.unwrap_or_default();
    let health = s.health.and_then(|h| {
        let status = match h.status? {
            HealthStatusEnum::STARTING => "starting",
            HealthStatusEnum::HEALTHY => "healthy",
            HealthStatusEnum::UNHEALTHY => "unhealthy",
            HealthStatusEnum::NONE | HealthStatusEnum::EMPTY => return None,
        };
        let last_output = h
            .log
            .and_then(|log| log.into_iter().last())
            .and_then(|r| r.output)
            .map(|o| o.trim().to_string())
            .filter(|o| !o.is_empty());
        Some(Health {
            status: status.to_string(),
            last_output,
        })
    });
    Ok(ContainerState {
        status: s.status.map_or("unknown", status_name).to_string(),
        running: s.running.unwrap_or(false),
        exit_code: s.exit_code,
        oom_killed: s.oom_killed.unwrap_or(false),
        error: s.error.filter(|e| !e.is_empty()),
        health,
    })
}

fn status_name(status: ContainerStateStatusEnum) -> &'static str {
    match status {
        ContainerStateStatusEnum::CREATED => "created",
        ContainerStateStatusEnum::RUNNING => "running",
        ContainerStateStatusEnum::PAUSED => "paused",
        ContainerStateStatusEnum::RESTARTING => "restarting",
        ContainerStateStatusEnum::REMOVING => "removing",
        ContainerStateStatusEnum::EXITED => "exited",
        ContainerStateStatusEnum::DEAD => "dead",
        ContainerStateStatusEnum::STOPPING => "stopping",
        ContainerStateStatusEnum::EMPTY => "unknown",
    }
}
