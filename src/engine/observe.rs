//! What the engine reports about running containers, for live views: lifecycle events, resource
//! usage, and what inspecting a container says.

use std::collections::BTreeMap;

use super::AppliedHardening;

/// One container lifecycle event (start, die, destroy, health change, …) for a managed container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerEvent {
    pub container_id: String,
    /// The instance label, when the container carries one.
    pub instance: Option<String>,
    /// The engine's action name: `start`, `die`, `destroy`, `health_status: unhealthy`, …
    pub action: String,
    /// Unix seconds.
    pub time: i64,
}

impl ContainerEvent {
    /// The container's main process may have ended (`die`), or the kernel killed something in
    /// it for memory (`oom`): whoever keeps the store should look at its state now.
    pub fn may_have_exited(&self) -> bool {
        matches!(self.action.as_str(), "die" | "oom")
    }

    /// Only a reconcile can tell what became of the instance: nothing can answer for its
    /// container any more (a Swarm task whose node went down: lost, or placed again), or the
    /// Swarm moved it to another node by itself (the row follows).
    pub fn calls_for_reconcile(&self) -> bool {
        matches!(self.action.as_str(), "node_down" | "moved")
    }

    /// The container state this event implies, if it changes one.
    pub fn implied_state(&self) -> Option<&'static str> {
        let action = self.action.as_str();
        Some(match action {
            "create" => "created",
            "start" | "unpause" | "restart" | "moved" => "running",
            "pause" => "paused",
            "die" | "kill" | "stop" | "oom" => "exited",
            "destroy" => "removed",
            "node_down" => "lost",
            _ if action.starts_with("health_status") => {
                if action.ends_with("unhealthy") {
                    "unhealthy"
                } else {
                    "running"
                }
            }
            _ => return None,
        })
    }
}

/// A one-shot sample of a container's resource use.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ContainerStats {
    /// Percent of one CPU (100.0 = one full core), as `docker stats` shows it; 0 when the
    /// engine sent no earlier sample to compare with (see [`ContainerStats::with_cpu_since`]).
    pub cpu_percent: f64,
    pub memory_bytes: u64,
    pub memory_limit: u64,
    /// Cumulative CPU time of the container and of the host, for rates between samples.
    pub cpu_total_ns: u64,
    pub system_total_ns: u64,
    pub online_cpus: u32,
}

impl ContainerStats {
    /// This sample with its CPU % computed against an earlier one of the same container — how
    /// cheap one-shot samples a few seconds apart still give a CPU rate.
    pub fn with_cpu_since(mut self, earlier: &ContainerStats) -> ContainerStats {
        let cpu = self.cpu_total_ns.saturating_sub(earlier.cpu_total_ns) as f64;
        let system = self.system_total_ns.saturating_sub(earlier.system_total_ns) as f64;
        if system > 0.0 {
            self.cpu_percent = cpu / system * f64::from(self.online_cpus.max(1)) * 100.0;
        }
        self
    }
}

/// What inspecting a container says, minus secrets: environment values are never carried
/// (a flag may be one of them), only their names.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ContainerDetail {
    pub id: String,
    pub name: String,
    pub image: String,
    pub state: String,
    pub health: Option<String>,
    pub started_at: String,
    pub exit_code: Option<i64>,
    pub oom_killed: bool,
    pub restart_count: i64,
    pub command: Vec<String>,
    pub env_names: Vec<String>,
    pub networks: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub hardening: AppliedHardening,
}

#[cfg(test)]
mod tests {
    use super::ContainerEvent;

    #[test]
    fn only_die_and_oom_ask_whether_a_container_exited() {
        let event = |action: &str| ContainerEvent {
            container_id: "c".into(),
            instance: Some("abc234".into()),
            action: action.into(),
            time: 0,
        };
        assert!(event("die").may_have_exited());
        assert!(event("oom").may_have_exited());
        // `kill` comes before the `die` of a process that may survive the signal; `stop` and
        // `destroy` follow a `die` already seen.
        for other in ["kill", "stop", "destroy", "start", "pause", "exec_die"] {
            assert!(!event(other).may_have_exited(), "{other}");
        }
    }
}
