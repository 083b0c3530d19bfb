//! Finding the engine: `--engine`, else `DOCKER_HOST`, else the local socket.

use std::time::Duration;

use bollard::Docker;

use super::DockerEngine;
use crate::engine::{EngineError, EngineInfo};

const DEFAULT_SOCKET: &str = "unix:///var/run/docker.sock";
/// An engine that does not answer within this is reported unreachable instead of hanging.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Requests (builds excepted, which stream) give up after this.
const REQUEST_TIMEOUT_SECS: u64 = 120;

impl DockerEngine {
    /// Connect and negotiate the API version. `explicit` comes from `--engine`.
    pub async fn connect(explicit: Option<&str>) -> Result<DockerEngine, EngineError> {
        let target = DockerEngine::target(explicit);
        let url = normalise(&target);
        let unreachable = |reason: String| EngineError::Unreachable {
            target: target.clone(),
            reason,
        };
        let client = if let Some(path) = url.strip_prefix("unix://") {
            Docker::connect_with_unix(path, REQUEST_TIMEOUT_SECS, bollard::API_DEFAULT_VERSION)
        } else {
            Docker::connect_with_host(&url)
        }
        .map_err(|e| unreachable(e.to_string()))?;
        // Older daemons (and Podman) speak older API versions: negotiate down instead of failing.
        let client = tokio::time::timeout(CONNECT_TIMEOUT, client.negotiate_version())
            .await
            .map_err(|_| unreachable(format!("no answer within {CONNECT_TIMEOUT:?}")))?
            .map_err(|e| unreachable(e.to_string()))?;
        let version = client
            .version()
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let info = EngineInfo {
            target,
            version: version.version.unwrap_or_default(),
            api_version: version.api_version.unwrap_or_default(),
            os: format!(
                "{}/{}",
                version.os.unwrap_or_default(),
                version.arch.unwrap_or_default()
            ),
        };
        Ok(DockerEngine { client, info })
    }
}

impl DockerEngine {
    /// Which engine [`DockerEngine::connect`] tries for `explicit`, known before it answers
    /// (the console names it while the engine is down).
    pub fn target(explicit: Option<&str>) -> String {
        explicit
            .map(str::to_string)
            .or_else(|| std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty()))
            .unwrap_or_else(|| DEFAULT_SOCKET.to_string())
    }
}

/// Accept what users type: a bare socket path, `unix://`, `tcp://`, `http://`.
fn normalise(target: &str) -> String {
    if target.starts_with('/') {
        format!("unix://{target}")
    } else {
        target.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_paths_become_unix_urls() {
        assert_eq!(
            normalise("/run/podman/podman.sock"),
            "unix:///run/podman/podman.sock"
        );
        assert_eq!(normalise("tcp://10.0.0.2:2375"), "tcp://10.0.0.2:2375");
    }

    #[tokio::test]
    async fn a_missing_socket_is_reported_with_its_path() {
        let err = DockerEngine::connect(Some("unix:///nonexistent/ctfdeck-test.sock"))
            .await
            .expect_err("no engine there");
        let msg = err.to_string();
        assert!(matches!(err, EngineError::Unreachable { .. }), "{msg}");
        assert!(msg.contains("/nonexistent/ctfdeck-test.sock"), "{msg}");
    }
}
