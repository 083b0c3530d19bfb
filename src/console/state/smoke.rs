//! A smoke test run from the console, as data: each stage as it starts and ends, the lines it
//! prints (build steps, the check script's output), and the verdict. The run itself is a
//! background task; its progress arrives as events.

use std::collections::VecDeque;
use std::time::Duration;

use crate::domain::smoke::{SmokeReport, Stage, StageEvent, StageResult, StageStatus};
use crate::store::Millis;
use crate::terminal_text::clean_line;

/// Output lines kept in the popup (the newest).
pub const MAX_OUTPUT_LINES: usize = 200;
/// Longest output line kept.
const MAX_LINE_CHARS: usize = 300;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StageState {
    Waiting,
    Running { since: Millis },
    Done(StageResult),
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Passed {
        took: Duration,
    },
    /// Failed at this stage, with its message.
    Failed {
        stage: Stage,
        message: String,
    },
    Interrupted,
    /// The run could not start (no engine, …).
    Error(String),
}

#[derive(Debug)]
pub struct SmokeView {
    /// The background operation carrying the run.
    pub op: u64,
    pub challenge: String,
    pub stages: Vec<(Stage, StageState)>,
    pub output: VecDeque<String>,
    pub verdict: Option<Verdict>,
    /// Esc was pressed while running: cancelling, teardown still to come.
    pub cancelling: bool,
    pub scroll: usize,
}

impl SmokeView {
    pub fn new(op: u64, challenge: &str) -> SmokeView {
        SmokeView {
            op,
            challenge: challenge.to_string(),
            stages: Stage::ALL
                .iter()
                .map(|s| (*s, StageState::Waiting))
                .collect(),
            output: VecDeque::new(),
            verdict: None,
            cancelling: false,
            scroll: 0,
        }
    }

    pub fn running(&self) -> bool {
        self.verdict.is_none()
    }

    pub fn apply(&mut self, event: StageEvent, now: Millis) {
        match event {
            StageEvent::Started { stage, .. } => {
                self.set(stage, StageState::Running { since: now });
            }
            StageEvent::Progress { line, .. } => self.push_line(&line),
            StageEvent::Finished { result, .. } => {
                // A failure's supporting lines (container logs, the script's stderr) belong
                // under the output, where the author looks for them.
                if result.status == StageStatus::Failed {
                    for detail in &result.details {
                        self.push_line(detail);
                    }
                }
                self.set(result.stage, StageState::Done(result));
            }
        }
    }

    pub fn finish(&mut self, report: &SmokeReport) {
        for result in &report.stages {
            self.set(result.stage, StageState::Done(result.clone()));
        }
        self.verdict = Some(verdict(report));
    }

    pub fn fail(&mut self, error: String) {
        self.verdict = Some(Verdict::Error(error));
    }

    fn set(&mut self, stage: Stage, state: StageState) {
        if let Some(slot) = self.stages.iter_mut().find(|(s, _)| *s == stage) {
            slot.1 = state;
        }
    }

    fn push_line(&mut self, line: &str) {
        // The script and the build are the author's: no escape sequence reaches the screen.
        let clean: String = clean_line(line).chars().take(MAX_LINE_CHARS).collect();
        if self.output.len() == MAX_OUTPUT_LINES {
            self.output.pop_front();
        }
        self.output.push_back(clean);
    }
}

pub fn verdict(report: &SmokeReport) -> Verdict {
    if report.passed() {
        return Verdict::Passed {
            took: report.duration(),
        };
    }
    // Cancelled: the stage it cut short reads as failed, but nothing failed.
    if report.interrupted {
        return Verdict::Interrupted;
    }
    match report.failed_stage() {
        Some(failed) => Verdict::Failed {
            stage: failed.stage,
            message: failed.message.clone(),
        },
        None => Verdict::Interrupted,
    }
}

/// A challenge's last smoke test in this console, for the catalog pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastSmoke {
    pub at: Millis,
    /// `None`: passed. Otherwise the stage it failed at (`None` inside: interrupted).
    pub failed: Option<Option<Stage>>,
}

impl LastSmoke {
    pub fn of(report: &SmokeReport, at: Millis) -> LastSmoke {
        LastSmoke {
            at,
            failed: match verdict(report) {
                Verdict::Passed { .. } => None,
                Verdict::Failed { stage, .. } => Some(Some(stage)),
                Verdict::Interrupted | Verdict::Error(_) => Some(None),
            },
        }
    }

    /// `✓ 12s ago`, `✗ at ready`, `✗ stopped`.
    pub fn text(&self, now: Millis) -> String {
        match self.failed {
            None => format!("✓ {} ago", super::format::age(self.at, now)),
            Some(Some(stage)) => format!("✗ at {stage}"),
            Some(None) => "✗ stopped".to_string(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    use super::*;
    use crate::console::event::{Event, OpOutcome};
    use crate::console::keys::Context;
    use crate::console::state::App;
    use crate::console::state::command::{Command, Op};
    use crate::console::state::popup::Popup;
    use crate::console::views::testkit::{NOW, sample_app};

    fn press(app: &mut App, c: KeyCode) -> Vec<Command> {
        app.on_key(KeyEvent::new(c, KeyModifiers::NONE))
    }

    fn result(stage: Stage, status: StageStatus, message: &str) -> StageResult {
        StageResult {
            stage,
            status,
            duration: Duration::from_millis(1500),
            message: message.to_string(),
            details: Vec::new(),
        }
    }

    fn report(challenge: &str, failed_at: Option<Stage>) -> SmokeReport {
        let mut halted = false;
        let stages = Stage::ALL
            .iter()
            .map(|&stage| {
                let status = if stage == Stage::Teardown {
                    StageStatus::Passed
                } else if halted {
                    StageStatus::Skipped
                } else if Some(stage) == failed_at {
                    halted = true;
                    StageStatus::Failed
                } else {
                    StageStatus::Passed
                };
                result(stage, status, "m")
            })
            .collect();
        SmokeReport {
            challenge: challenge.to_string(),
            instance: Some("abc123".into()),
            address: None,
            kept: false,
            interrupted: false,
            stages,
        }
    }

    fn smoke_op(commands: &[Command]) -> (u64, String) {
        match commands {
            [
                Command::Run {
                    op,
                    request: Op::Smoke { challenge },
                },
            ] => (*op, challenge.clone()),
            other => panic!("expected one smoke run, got {other:?}"),
        }
    }

    #[test]
    fn t_on_a_catalog_row_starts_a_smoke_test_with_its_popup() {
        let mut app = sample_app();
        app.focus = Context::Catalog;
        app.catalog.selected = 1;
        let want = app.catalog.rows[1].id.clone();
        let (op, challenge) = smoke_op(&press(&mut app, KeyCode::Char('t')));
        assert_eq!(challenge, want);
        let Some(Popup::Smoke(view)) = &app.popup else {
            panic!("no smoke popup: {:?}", app.popup)
        };
        assert_eq!((view.op, view.challenge.as_str()), (op, want.as_str()));
        assert!(view.stages.iter().all(|(_, s)| *s == StageState::Waiting));
        assert_eq!(app.context(), Context::Smoke);
    }

    #[test]
    fn t_on_an_instance_tests_its_challenge() {
        let mut app = sample_app();
        app.focus = Context::Instances;
        let want = app.instances.selected_row().unwrap().rec.challenge.clone();
        let (_, challenge) = smoke_op(&press(&mut app, KeyCode::Char('t')));
        assert_eq!(challenge, want);
    }

    #[test]
    fn read_only_refuses_a_smoke_test() {
        let mut app = sample_app();
        app.read_only = true;
        app.focus = Context::Catalog;
        assert!(press(&mut app, KeyCode::Char('t')).is_empty());
        assert!(app.popup.is_none());
        assert!(app.flash.as_ref().unwrap().text.contains("smoke refused"));
    }

    #[test]
    fn stages_show_live_then_the_verdict_and_the_catalog_remembers_it() {
        let mut app = sample_app();
        app.focus = Context::Catalog;
        let (op, challenge) = smoke_op(&press(&mut app, KeyCode::Char('t')));
        let started = |stage| Event::Smoke {
            op,
            event: StageEvent::Started {
                challenge: challenge.clone(),
                stage,
            },
        };
        app.on_event(started(Stage::Validate));
        app.on_event(Event::Smoke {
            op,
            event: StageEvent::Finished {
                challenge: challenge.clone(),
                result: result(Stage::Validate, StageStatus::Passed, "valid"),
            },
        });
        app.on_event(started(Stage::Check));
        app.on_event(Event::Smoke {
            op,
            event: StageEvent::Progress {
                challenge: challenge.clone(),
                stage: Stage::Check,
                line: "trying \u{1b}]0;title\u{7}the door".into(),
            },
        });
        // Another run's events do not land here.
        app.on_event(Event::Smoke {
            op: op + 100,
            event: StageEvent::Progress {
                challenge: challenge.clone(),
                stage: Stage::Check,
                line: "not mine".into(),
            },
        });
        {
            let Some(Popup::Smoke(view)) = &app.popup else {
                panic!()
            };
            assert!(matches!(view.stages[0].1, StageState::Done(_)));
            assert_eq!(view.stages[4].1, StageState::Running { since: NOW });
            assert_eq!(view.output, ["trying the door"]);
            assert!(view.running());
        }
        app.on_event(Event::OpDone {
            op,
            outcome: OpOutcome::Smoked(Box::new(report(&challenge, Some(Stage::Ready)))),
        });
        let Some(Popup::Smoke(view)) = &app.popup else {
            panic!()
        };
        assert_eq!(
            view.verdict,
            Some(Verdict::Failed {
                stage: Stage::Ready,
                message: "m".into()
            })
        );
        assert_eq!(app.catalog.smoke_text(&challenge, NOW), "✗ at ready");
        // Finished: esc closes.
        assert!(press(&mut app, KeyCode::Esc).is_empty());
        assert!(app.popup.is_none());
    }

    #[test]
    fn esc_while_running_cancels_once_and_keeps_the_popup_until_teardown() {
        let mut app = sample_app();
        app.focus = Context::Catalog;
        let (op, challenge) = smoke_op(&press(&mut app, KeyCode::Char('t')));
        assert_eq!(press(&mut app, KeyCode::Esc), [Command::CancelSmoke { op }]);
        assert!(press(&mut app, KeyCode::Esc).is_empty(), "asked once");
        assert!(matches!(&app.popup, Some(Popup::Smoke(v)) if v.cancelling));
        // As the domain reports it: the stage cut short is failed, the run interrupted.
        let mut interrupted = report(&challenge, Some(Stage::Ready));
        interrupted.interrupted = true;
        app.on_event(Event::OpDone {
            op,
            outcome: OpOutcome::Smoked(Box::new(interrupted)),
        });
        assert!(matches!(
            &app.popup,
            Some(Popup::Smoke(v)) if v.verdict == Some(Verdict::Interrupted)
        ));
        assert_eq!(app.catalog.smoke_text(&challenge, NOW), "✗ stopped");
    }

    #[test]
    fn a_pass_reads_as_a_tick_with_its_age() {
        let last = LastSmoke::of(&report("x", None), NOW - 12_000);
        assert_eq!(last.text(NOW), "✓ 12s ago");
    }

    #[test]
    fn output_keeps_the_newest_lines() {
        let mut view = SmokeView::new(1, "x");
        for i in 0..(MAX_OUTPUT_LINES + 5) {
            view.apply(
                StageEvent::Progress {
                    challenge: "x".into(),
                    stage: Stage::Build,
                    line: format!("line {i}"),
                },
                NOW,
            );
        }
        assert_eq!(view.output.len(), MAX_OUTPUT_LINES);
        assert_eq!(view.output[0], "line 5");
    }
}
