//! Finding the engine: `--engine`, else `DOCKER_HOST`, else the local socket.

use std::time::Duration;

use bollard::{ClientVersion, Docker};

use super::{DockerEngine, socket_get};
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
        if let Some(path) = url.strip_prefix("unix://") {
            // Podman names itself in its ping's headers: asked so, it needs neither its version
            // nor its info answer, each of which gathers the host's whole description (seconds
            // on a busy host, on every command). Anything else, or no answer to read, goes the
            // usual way below, which reports failures in bollard's words.
            let ping = tokio::time::timeout(CONNECT_TIMEOUT, socket_get::get(path, "/_ping"))
                .await
                .map_err(|_| unreachable(format!("no answer within {CONNECT_TIMEOUT:?}")))?;
            if let Some(podman) = ping.ok().as_ref().and_then(PodmanPing::read) {
                return connect_podman(target.clone(), path, podman).await;
            }
        }
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
        // Only Podman runs rootless behind this API (here: Podman not on a local socket).
        let (rootless, cgroup_version) = if kind == EngineKind::Podman {
            podman_host(&client).await.map_err(unreachable)?
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

/// What Podman's answer to `/_ping` says of it.
#[derive(Debug, Clone, PartialEq)]
struct PodmanPing {
    /// Podman's own version (`Libpod-Api-Version`, which is its release: `4.3.1`).
    version: String,
    /// The compatible API it speaks (`Api-Version`).
    api_version: String,
    client_version: ClientVersion,
    /// From `Server: Libpod/4.3.1 (linux)`.
    os: String,
    /// The socket is served by root: rootful Podman, which limits containers on any cgroup
    /// version. A process of another user is a user's own, rootless Podman.
    served_by_root: bool,
}

impl PodmanPing {
    /// `None`: not Podman, or not an answer this can read.
    fn read(answer: &socket_get::Answer) -> Option<PodmanPing> {
        if answer.status != 200 {
            return None;
        }
        let version = answer.header("Libpod-Api-Version")?.to_string();
        let api_version = answer.header("Api-Version")?.to_string();
        let (major, minor) = api_version.split_once('.')?;
        let server = ClientVersion {
            major_version: major.parse().ok()?,
            minor_version: minor.parse().ok()?,
        };
        // What bollard's negotiation does: the server's version when it is the older.
        let client_version = if server < *bollard::API_DEFAULT_VERSION {
            server
        } else {
            *bollard::API_DEFAULT_VERSION
        };
        let os = answer
            .header("Server")
            .and_then(|s| s.split_once('(')?.1.split_once(')'))
            .map(|(os, _)| os.trim().to_string())
            .unwrap_or_default();
        Some(PodmanPing {
            version,
            api_version,
            client_version,
            os,
            served_by_root: answer.server_uid == Some(0),
        })
    }
}

async fn connect_podman(
    target: String,
    socket: &str,
    ping: PodmanPing,
) -> Result<DockerEngine, EngineError> {
    let unreachable = |reason: String| EngineError::Unreachable {
        target: target.clone(),
        reason,
    };
    let client = Docker::connect_with_unix(socket, REQUEST_TIMEOUT_SECS, &ping.client_version)
        .map_err(|e| unreachable(e.to_string()))?;
    // Rootful Podman limits containers on either cgroup version: its info answer is only
    // needed for a rootless one.
    let (rootless, cgroup_version) = if ping.served_by_root {
        (false, String::new())
    } else {
        tokio::time::timeout(CONNECT_TIMEOUT, podman_host_on_socket(socket))
            .await
            .map_err(|_| unreachable(format!("no answer within {CONNECT_TIMEOUT:?}")))?
            .map_err(unreachable)?
    };
    let info = EngineInfo {
        target: target.clone(),
        kind: EngineKind::Podman,
        rootless,
        cgroup_version,
        version: ping.version,
        api_version: ping.api_version,
        os: ping.os,
    };
    Ok(DockerEngine { client, info })
}

/// Whether Podman runs rootless, and the host's cgroup version, from its info answer read
/// whole: Podman 4.3 says rootless only in a field of its own (`Rootless`), which bollard's
/// reading of the answer drops, and not among its security options.
async fn podman_host_on_socket(socket: &str) -> Result<(bool, String), String> {
    let answer = socket_get::get(socket, "/info").await?;
    if answer.status != 200 {
        return Err(format!("info: {}: {}", answer.status, answer.body.trim()));
    }
    let info: serde_json::Value =
        serde_json::from_str(&answer.body).map_err(|e| format!("info: {e}"))?;
    Ok(podman_host_in(&info))
}

/// `Rootless` (Podman's own field) or `name=rootless` among the security options (what
/// Docker's API documents), and `CgroupVersion`.
fn podman_host_in(info: &serde_json::Value) -> (bool, String) {
    let named = info
        .get("SecurityOptions")
        .and_then(|o| o.as_array())
        .into_iter()
        .flatten()
        .filter_map(|o| o.as_str())
        .any(|o| o.split(',').any(|part| part == "name=rootless"));
    let rootless = info.get("Rootless").and_then(|r| r.as_bool()) == Some(true) || named;
    let cgroup_version = info
        .get("CgroupVersion")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string();
    (rootless, cgroup_version)
}

/// Whether Podman runs rootless, and the host's cgroup version (on cgroup v1 a rootless
/// Podman cannot limit containers), from its info answer as bollard reads it (an engine not
/// on a local socket: only the security options can say rootless there).
async fn podman_host(client: &Docker) -> Result<(bool, String), String> {
    let system = client.info().await.map_err(|e| e.to_string())?;
    let rootless = system
        .security_options
        .iter()
        .flatten()
        .any(|o| o.split(',').any(|part| part == "name=rootless"));
    let cgroup_version = system
        .cgroup_version
        .map(|v| v.to_string())
        .unwrap_or_default();
    Ok((rootless, cgroup_version))
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

    fn ping(headers: &[(&str, &str)], server_uid: Option<u32>) -> socket_get::Answer {
        socket_get::Answer {
            status: 200,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: "OK".into(),
            server_uid,
        }
    }

    /// Headers recorded from Debian's podman 4.3.1 service and Docker 20.10.
    const PODMAN_PING: [(&str, &str); 4] = [
        ("Api-Version", "1.41"),
        ("Libpod-Api-Version", "4.3.1"),
        ("Libpod-Buildah-Version", "1.28.2"),
        ("Server", "Libpod/4.3.1 (linux)"),
    ];
    const DOCKER_PING: [(&str, &str); 3] = [
        ("Api-Version", "1.41"),
        ("Ostype", "linux"),
        ("Server", "Docker/20.10.24+dfsg1 (linux)"),
    ];

    #[test]
    fn podman_is_known_from_its_ping_and_who_serves_its_socket() {
        let rootful = PodmanPing::read(&ping(&PODMAN_PING, Some(0))).expect("Podman");
        assert_eq!(rootful.version, "4.3.1");
        assert_eq!(rootful.api_version, "1.41");
        assert_eq!(
            rootful.client_version,
            ClientVersion {
                major_version: 1,
                minor_version: 41
            }
        );
        assert_eq!(rootful.os, "linux");
        assert!(rootful.served_by_root);
        // Served by a user, or by someone the kernel does not name: rootless is asked.
        assert!(
            !PodmanPing::read(&ping(&PODMAN_PING, Some(1000)))
                .expect("Podman")
                .served_by_root
        );
        assert!(
            !PodmanPing::read(&ping(&PODMAN_PING, None))
                .expect("Podman")
                .served_by_root
        );
    }

    #[test]
    fn rootless_podman_is_known_from_its_own_info_field() {
        // Parts of the info answer of Debian's podman 4.3.1, run by a user on cgroup v1.
        let rootless = serde_json::json!({
            "CgroupVersion": "1",
            "Rootless": true,
            "SecurityOptions": ["name=seccomp,profile=default"],
        });
        assert_eq!(podman_host_in(&rootless), (true, "1".to_string()));
        let rootful = serde_json::json!({
            "CgroupVersion": "2",
            "Rootless": false,
            "SecurityOptions": ["name=seccomp,profile=default"],
        });
        assert_eq!(podman_host_in(&rootful), (false, "2".to_string()));
        let named = serde_json::json!({
            "SecurityOptions": ["name=seccomp,profile=default", "name=rootless"],
        });
        assert_eq!(podman_host_in(&named), (true, String::new()));
    }

    #[test]
    fn docker_or_an_unreadable_ping_goes_the_usual_way() {
        assert_eq!(PodmanPing::read(&ping(&DOCKER_PING, Some(0))), None);
        let mut odd = PODMAN_PING.to_vec();
        odd[0] = ("Api-Version", "one");
        assert_eq!(PodmanPing::read(&ping(&odd, Some(0))), None);
        let mut failed = ping(&PODMAN_PING, Some(0));
        failed.status = 500;
        assert_eq!(PodmanPing::read(&failed), None);
    }

    #[test]
    fn a_newer_podman_api_is_spoken_at_the_clients_own_version() {
        let mut newer = PODMAN_PING.to_vec();
        newer[0] = ("Api-Version", "1.99");
        let read = PodmanPing::read(&ping(&newer, Some(0))).expect("Podman");
        assert_eq!(read.client_version, *bollard::API_DEFAULT_VERSION);
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
