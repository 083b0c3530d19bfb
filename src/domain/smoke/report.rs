//! What a smoke run reports: one result per stage, in order, each timed. The JSON shape
//! (`--json`) is a contract for CI scripts: fields are only ever added.

use std::time::Duration;

use serde::{Serialize, Serializer};

/// The stages, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Validate,
    Build,
    Spawn,
    Ready,
    Check,
    Teardown,
}

impl Stage {
    pub const ALL: [Stage; 6] = [
        Stage::Validate,
        Stage::Build,
        Stage::Spawn,
        Stage::Ready,
        Stage::Check,
        Stage::Teardown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Validate => "validate",
            Stage::Build => "build",
            Stage::Spawn => "spawn",
            Stage::Ready => "ready",
            Stage::Check => "check",
            Stage::Teardown => "teardown",
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StageStatus {
    Passed,
    Failed,
    /// Not run: an earlier stage failed, the run was interrupted, or the user asked
    /// (`--keep` skips teardown, `--no-check` the check).
    Skipped,
}

impl StageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StageStatus::Passed => "passed",
            StageStatus::Failed => "failed",
            StageStatus::Skipped => "skipped",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StageResult {
    pub stage: Stage,
    pub status: StageStatus,
    #[serde(rename = "duration_ms", serialize_with = "millis")]
    pub duration: Duration,
    /// One line saying what happened.
    pub message: String,
    /// Supporting lines: diagnostics, the container's last log lines, the script's stderr.
    pub details: Vec<String>,
}

/// The whole run for one challenge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SmokeReport {
    pub challenge: String,
    /// The throwaway instance, once spawned.
    pub instance: Option<String>,
    /// Where the instance answered (`127.0.0.1:32768` …), once spawned.
    pub address: Option<String>,
    /// `--keep`: the instance was left running.
    pub kept: bool,
    /// The run was cut short by Ctrl-C (teardown still ran).
    pub interrupted: bool,
    pub stages: Vec<StageResult>,
}

impl SmokeReport {
    /// Every stage passed, or was skipped because the user asked.
    pub fn passed(&self) -> bool {
        !self.interrupted
            && self.stages.len() == Stage::ALL.len()
            && self.stages.iter().all(|s| s.status != StageStatus::Failed)
    }

    /// The first stage that failed.
    pub fn failed_stage(&self) -> Option<&StageResult> {
        self.stages.iter().find(|s| s.status == StageStatus::Failed)
    }

    pub fn duration(&self) -> Duration {
        self.stages.iter().map(|s| s.duration).sum()
    }

    pub fn stage(&self, stage: Stage) -> Option<&StageResult> {
        self.stages.iter().find(|s| s.stage == stage)
    }

    /// The report as CI reads it: the stages plus a verdict that names the failing stage.
    pub fn to_json(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let Some(object) = value.as_object_mut() {
            object.insert(
                "status".to_string(),
                if self.passed() { "passed" } else { "failed" }.into(),
            );
            object.insert(
                "failed_stage".to_string(),
                self.failed_stage()
                    .map_or(serde_json::Value::Null, |s| s.stage.as_str().into()),
            );
            object.insert(
                "duration_ms".to_string(),
                u64::try_from(self.duration().as_millis())
                    .unwrap_or(u64::MAX)
                    .into(),
            );
        }
        value
    }
}

/// What a smoke run tells its caller while it runs (the CLI prints it, the console shows it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StageEvent {
    Started {
        challenge: String,
        stage: Stage,
    },
    /// A line of build or pull output.
    Progress {
        challenge: String,
        stage: Stage,
        line: String,
    },
    Finished {
        challenge: String,
        result: StageResult,
    },
}

fn millis<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn result(stage: Stage, status: StageStatus) -> StageResult {
        StageResult {
            stage,
            status,
            duration: Duration::from_millis(1500),
            message: format!("{stage} {}", status.as_str()),
            details: Vec::new(),
        }
    }

    fn report(statuses: &[StageStatus]) -> SmokeReport {
        SmokeReport {
            challenge: "web".into(),
            instance: Some("abc123".into()),
            address: None,
            kept: false,
            interrupted: false,
            stages: Stage::ALL
                .iter()
                .zip(statuses)
                .map(|(s, st)| result(*s, *st))
                .collect(),
        }
    }

    #[test]
    fn a_run_passes_only_when_no_stage_failed_and_all_were_reached() {
        use StageStatus::*;
        assert!(report(&[Passed; 6]).passed());
        assert!(report(&[Passed, Passed, Passed, Passed, Skipped, Skipped]).passed());
        let failed = report(&[Passed, Passed, Passed, Failed, Skipped, Passed]);
        assert!(!failed.passed());
        assert_eq!(failed.failed_stage().unwrap().stage, Stage::Ready);
        assert!(!report(&[Passed; 3]).passed(), "an incomplete run");
        let mut interrupted = report(&[Passed; 6]);
        interrupted.interrupted = true;
        assert!(!interrupted.passed());
    }

    #[test]
    fn json_names_the_failing_stage_and_times_in_milliseconds() {
        use StageStatus::*;
        let json = report(&[Passed, Failed, Skipped, Skipped, Skipped, Skipped]).to_json();
        assert_eq!(json["status"], "failed");
        assert_eq!(json["failed_stage"], "build");
        assert_eq!(json["duration_ms"], 9000);
        assert_eq!(json["stages"][1]["stage"], "build");
        assert_eq!(json["stages"][1]["status"], "failed");
        assert_eq!(json["stages"][1]["duration_ms"], 1500);
        assert_eq!(json["stages"][1]["message"], "build failed");
        assert!(json["stages"][1]["details"].is_array());
        let ok = report(&[Passed; 6]).to_json();
        assert_eq!(ok["status"], "passed");
        assert!(ok["failed_stage"].is_null());
    }
}
