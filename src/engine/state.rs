//! A container's process state as the engine reports it: what readiness checks and status
//! views need to say *why* an instance is not answering.

/// State of one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerState {
    /// Engine state: `created`, `running`, `exited`, `dead`, …
    pub status: String,
    pub running: bool,
    /// Exit code of the main process, once it has exited.
    pub exit_code: Option<i64>,
    /// The kernel killed a process of the container for exceeding its memory limit.
    pub oom_killed: bool,
    /// The engine's own error about the container (e.g. an executable that does not exist).
    pub error: Option<String>,
    /// Present only when the container has a healthcheck.
    pub health: Option<Health>,
}

/// The container's healthcheck, as last run by the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// `starting`, `healthy` or `unhealthy`.
    pub status: String,
    /// Output of the most recent check, trimmed.
    pub last_output: Option<String>,
}

impl ContainerState {
    /// The container stopped: it will never answer.
    pub fn has_exited(&self) -> bool {
        !self.running && matches!(self.status.as_str(), "exited" | "dead")
    }

    /// `exited with code 3`, `killed for using too much memory (OOM, code 137)`, …
    pub fn describe_exit(&self) -> String {
        let code = self
            .exit_code
            .map_or_else(|| "unknown code".to_string(), |c| format!("code {c}"));
        let mut text = if self.oom_killed {
            format!("was killed for exceeding its memory limit (OOM-killed, {code})")
        } else if self.exit_code == Some(137) {
            // SIGKILL; the engine does not always learn that the OOM killer sent it.
            format!("exited with {code} (killed by SIGKILL: over its memory limit?)")
        } else if self.exit_code == Some(143) {
            // SIGTERM: what an engine stopping (or restarting without live-restore) sends to
            // every container, and what `docker stop` sends.
            format!(
                "exited with {code} (SIGTERM: the engine stopped or restarted, or `docker stop`)"
            )
        } else {
            format!("exited with {code}")
        };
        if let Some(error) = self.error.as_deref().filter(|e| !e.trim().is_empty()) {
            text.push_str(&format!(": {}", error.trim()));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exited(code: i64, oom: bool) -> ContainerState {
        ContainerState {
            status: "exited".into(),
            running: false,
            exit_code: Some(code),
            oom_killed: oom,
            error: None,
            health: None,
        }
    }

    #[test]
    fn exits_are_described_with_their_code_and_cause() {
        assert!(exited(3, false).has_exited());
        assert_eq!(exited(3, false).describe_exit(), "exited with code 3");
        assert_eq!(
            exited(137, true).describe_exit(),
            "was killed for exceeding its memory limit (OOM-killed, code 137)"
        );
        let mut broken = exited(127, false);
        broken.error = Some("exec: \"/nope\": no such file".into());
        assert_eq!(
            broken.describe_exit(),
            "exited with code 127: exec: \"/nope\": no such file"
        );
        assert_eq!(
            exited(137, false).describe_exit(),
            "exited with code 137 (killed by SIGKILL: over its memory limit?)"
        );
        assert_eq!(
            exited(143, false).describe_exit(),
            "exited with code 143 (SIGTERM: the engine stopped or restarted, or `docker stop`)"
        );
        let mut running = exited(0, false);
        running.running = true;
        running.status = "running".into();
        assert!(!running.has_exited());
    }
}
