//! Finding the engine: `--engine`, else `DOCKER_HOST`, else the local socket.

use std::time::Duration;

use bollard::Docker;

use super::DockerEngine;
use crate::engine::{EngineError, EngineInfo, EngineKind};

const DEFAULT_SOCKET: &str = "unix:///var/run/docker.sock";
/// An engine that does not answer within this is reported unreachable instead of hanging.
/// Podman gathers its host's whole description to answer the version request, which takes
/// seconds on a busy host (over 5 s was seen while instances were created in parallel).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
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
        let kind = kind_of(&version);
        // Only Podman runs rootless behind this API; whether it can limit containers there
        // depends on the cgroup version.
        let (rootless, cgroup_version) = if kind == EngineKind::Podman {
            let system = client
                .info()
                .await
                .map_err(|e| unreachable(e.to_string()))?;
            (
                system
                    .security_options
                    .iter()
                    .flatten()
                    .any(|o| o.split(',').any(|part| part == "name=rootless")),
                system
                    .cgroup_version
                    .map(|v| v.to_string())
                    .unwrap_or_default(),
            )
        } else {
            (false, String::new())
        };
        let info = EngineInfo {
            target,
            kind,
            rootless,
            cgroup_version,
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

/// Podman's version answer names "Podman Engine" among its components; Docker's names
/// "Engine". Anything that is not Podman is treated as Docker, whose API it speaks.
fn kind_of(version: &bollard::models::SystemVersion) -> EngineKind {
    let podman = version
        .components
        .iter()
        .flatten()
        .any(|c| c.name.to_ascii_lowercase().contains("podman"));
    if podman {
        EngineKind::Podman
    } else {
        EngineKind::Docker
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

    /// Answers recorded from Debian's podman 4.3.1 service and Docker 20.10.
    const PODMAN_VERSION: &str = r#"{"Platform":{"Name":"linux/amd64/debian-12"},"Components":[{"Name":"Podman Engine","Version":"4.3.1","Details":{"APIVersion":"4.3.1","Arch":"amd64","BuildTime":"1970-01-01T00:00:00Z","Experimental":"false","GitCommit":"","GoVersion":"go1.19.8","KernelVersion":"6.18.44-fc-v1045","MinAPIVersion":"4.0.0","Os":"linux"}},{"Name":"Conmon","Version":"conmon version 2.1.6, commit: unknown","Details":{"Package":"conmon_2.1.6+ds1-1_amd64"}},{"Name":"OCI Runtime (runc)","Version":"runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1+deb12u1\nspec: 1.0.2-dev\ngo: go1.19.8\nlibseccomp: 2.5.4","Details":{"Package":"runc_1.1.5+ds1-1+deb12u1_amd64"}}],"Version":"4.3.1","ApiVersion":"1.41","MinAPIVersion":"1.24","GitCommit":"","GoVersion":"go1.19.8","Os":"linux","Arch":"amd64","KernelVersion":"6.18.44-fc-v1045","BuildTime":"1970-01-01T00:00:00Z"}"#;
    const DOCKER_VERSION: &str = r#"{"Platform":{"Name":""},"Components":[{"Name":"Engine","Version":"20.10.24+dfsg1","Details":{"ApiVersion":"1.41","Arch":"amd64","BuildTime":"2026-05-07T21:09:36.000000000+00:00","Experimental":"false","GitCommit":"5d6db84","GoVersion":"go1.19.8","KernelVersion":"6.18.44-fc-v1045","MinAPIVersion":"1.12","Os":"linux"}},{"Name":"containerd","Version":"1.6.20~ds1","Details":{"GitCommit":"1.6.20~ds1-1+deb12u3"}},{"Name":"runc","Version":"1.1.5+ds1","Details":{"GitCommit":"1.1.5+ds1-1+deb12u1"}},{"Name":"docker-init","Version":"0.19.0","Details":{"GitCommit":""}}],"Version":"20.10.24+dfsg1","ApiVersion":"1.41","MinAPIVersion":"1.12","GitCommit":"5d6db84","GoVersion":"go1.19.8","Os":"linux","Arch":"amd64","KernelVersion":"6.18.44-fc-v1045","BuildTime":"2026-05-07T21:09:36.000000000+00:00"}"#;

    #[test]
    fn podman_and_docker_are_told_apart_by_their_version_answer() {
        let parse = |json: &str| -> bollard::models::SystemVersion {
            serde_json::from_str(json).expect("recorded answer parses")
        };
        assert_eq!(kind_of(&parse(PODMAN_VERSION)), EngineKind::Podman);
        assert_eq!(kind_of(&parse(DOCKER_VERSION)), EngineKind::Docker);
        // No components at all (a minimal compatible server): Docker's API, Docker's rules.
        assert_eq!(kind_of(&parse("{}")), EngineKind::Docker);
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
