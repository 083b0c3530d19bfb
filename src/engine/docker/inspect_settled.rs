//! The engine's inspect answer for one container, read through Podman's extra state.
//!
//! Between a container's exit and the clean-up of its monitor, Podman reports its state as
//! `stopped`, a word Docker's API does not have: bollard cannot read that answer at all. The
//! clean-up follows within moments, and the state then reads `exited`, so the answer is asked
//! again until it can be read.

use std::time::Duration;

use bollard::Docker;
use bollard::models::ContainerInspectResponse;

/// How long Podman may take to clean up after an exit before the error is the caller's.
const CLEAN_UP_WITHIN: Duration = Duration::from_secs(10);
const ASK_AGAIN_AFTER: Duration = Duration::from_millis(100);

pub async fn container(
    client: &Docker,
    id: &str,
) -> Result<ContainerInspectResponse, bollard::errors::Error> {
    let deadline = tokio::time::Instant::now() + CLEAN_UP_WITHIN;
    loop {
        match client
            .inspect_container(
                id,
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
            .await
        {
            Err(e) if is_podman_stopped(&e) && tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(ASK_AGAIN_AFTER).await;
            }
            answer => return answer,
        }
    }
}

/// Podman's `stopped` state, which bollard's state enum rejects.
fn is_podman_stopped(e: &bollard::errors::Error) -> bool {
    matches!(e, bollard::errors::Error::JsonDataError { message, .. }
        if message.contains("unknown variant `stopped`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_unknown_stopped_state_is_asked_again() {
        let stopped = bollard::errors::Error::JsonDataError {
            message: "unknown variant `stopped`, expected one of ``, `created`, `running`".into(),
            column: 274,
        };
        assert!(is_podman_stopped(&stopped));
        let other = bollard::errors::Error::JsonDataError {
            message: "missing field `Id`".into(),
            column: 3,
        };
        assert!(!is_podman_stopped(&other));
    }
}
