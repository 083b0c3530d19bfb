//! How a smoke run reads on a terminal: a line per finished stage while it runs (stderr), then
//! one block per challenge and a summary table (stdout).

use std::io::Write;
use std::time::Duration;

use crate::cli::output::table;
use crate::domain::smoke::{SmokeReport, Stage, StageEvent, StageStatus};

/// Stage lines as they happen, on stderr. Build output is shown as its `Step n/m` lines
/// and pull status lines; a failed build shows the rest in its details.
pub struct Live;

impl Live {
    pub fn event(&self, event: StageEvent) {
        let mut err = std::io::stderr().lock();
        let _ = match event {
            StageEvent::Started { .. } => Ok(()),
            StageEvent::Progress {
                challenge,
                stage,
                line,
            } => {
                // Build steps only: the check script's output holds the flag it found.
                if stage == Stage::Build && (line.starts_with("Step ") || line.contains("Pull")) {
                    writeln!(err, "  {challenge} | {line}")
                } else {
                    Ok(())
                }
            }
            StageEvent::Finished { challenge, result } => writeln!(
                err,
                "{challenge}: {} {} ({}){}",
                result.stage,
                result.status.as_str(),
                seconds(result.duration),
                if result.status == StageStatus::Failed {
                    format!(": {}", result.message)
                } else {
                    String::new()
                }
            ),
        };
    }
}

/// The full report: each challenge's stages, then a summary.
pub fn reports(reports: &[SmokeReport]) -> String {
    let mut out = String::new();
    for report in reports {
        out.push_str(&block(report));
        out.push('\n');
    }
    let rows: Vec<Vec<String>> = reports
        .iter()
        .map(|r| {
            vec![
                r.challenge.clone(),
                verdict(r).to_string(),
                r.failed_stage()
                    .map_or_else(|| "-".to_string(), |s| s.stage.to_string()),
                seconds(r.duration()),
                r.instance.clone().unwrap_or_else(|| "-".to_string()),
            ]
        })
        .collect();
    out.push_str(&table(
        &["CHALLENGE", "RESULT", "FAILED STAGE", "TIME", "INSTANCE"],
        &rows,
    ));
    out
}

fn verdict(report: &SmokeReport) -> &'static str {
    if report.passed() {
        "passed"
    } else if report.interrupted && report.failed_stage().is_none() {
        "INTERRUPTED"
    } else {
        "FAILED"
    }
}

/// One challenge: a header naming the failing stage first, then every stage.
pub fn block(report: &SmokeReport) -> String {
    let mut out = match report.failed_stage() {
        Some(failed) => format!(
            "{}: FAILED at {}: {}\n",
            report.challenge, failed.stage, failed.message
        ),
        None => format!(
            "{}: {} in {}\n",
            report.challenge,
            verdict(report),
            seconds(report.duration())
        ),
    };
    let rows: Vec<Vec<String>> = report
        .stages
        .iter()
        .map(|s| {
            vec![
                format!("  {}", s.stage),
                match s.status {
                    StageStatus::Failed => "FAILED".to_string(),
                    other => other.as_str().to_string(),
                },
                if s.status == StageStatus::Skipped {
                    String::new()
                } else {
                    seconds(s.duration)
                },
                s.message.clone(),
            ]
        })
        .collect();
    let lines = table(&["", "", "", ""], &rows);
    // The header row of `table` is empty here: drop it.
    for (line, stage) in lines.lines().skip(1).zip(&report.stages) {
        out.push_str(line);
        out.push('\n');
        for detail in &stage.details {
            out.push_str(&format!("      {detail}\n"));
        }
    }
    out
}

fn seconds(d: Duration) -> String {
    format!("{:.2}s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::smoke::{Stage, StageResult};

    fn report(failing: Option<Stage>) -> SmokeReport {
        let mut halted = false;
        let stages = Stage::ALL
            .iter()
            .map(|&stage| {
                let status = if halted && stage != Stage::Teardown {
                    StageStatus::Skipped
                } else if Some(stage) == failing {
                    halted = true;
                    StageStatus::Failed
                } else {
                    StageStatus::Passed
                };
                StageResult {
                    stage,
                    status,
                    duration: Duration::from_millis(250),
                    message: format!("{stage} message"),
                    details: if status == StageStatus::Failed {
                        vec!["| a log line".to_string()]
                    } else {
                        Vec::new()
                    },
                }
            })
            .collect();
        SmokeReport {
            challenge: "web-robots".into(),
            instance: Some("abc123".into()),
            address: Some("127.0.0.1:32768".into()),
            kept: false,
            interrupted: false,
            stages,
        }
    }

    #[test]
    fn a_failed_run_names_its_failing_stage_first() {
        let text = block(&report(Some(Stage::Ready)));
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some("web-robots: FAILED at ready: ready message")
        );
        assert_eq!(
            lines.next(),
            Some("  validate  passed   0.25s  validate message")
        );
        assert!(
            text.contains("  ready     FAILED   0.25s  ready message\n      | a log line\n"),
            "{text}"
        );
        assert!(
            text.contains("  check     skipped         check message"),
            "{text}"
        );
    }

    #[test]
    fn the_summary_lists_every_challenge() {
        let text = reports(&[report(None), report(Some(Stage::Check))]);
        let summary: Vec<&str> = text.lines().rev().take(3).collect();
        assert_eq!(
            summary[2],
            "CHALLENGE   RESULT  FAILED STAGE  TIME   INSTANCE"
        );
        assert_eq!(
            summary[1],
            "web-robots  passed  -             1.50s  abc123"
        );
        assert_eq!(
            summary[0],
            "web-robots  FAILED  check         1.50s  abc123"
        );
    }
}
