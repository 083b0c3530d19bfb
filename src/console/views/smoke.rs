//! The smoke test popup: the six stages with their times as they run, the build's and the
//! check script's output as it comes, and the verdict. Esc cancels a running test (teardown
//! still runs) and closes a finished one.

use std::time::Duration;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::console::keys::Action;
use crate::console::state::App;
use crate::console::state::smoke::{SmokeView, StageState, Verdict};
use crate::console::theme::Theme;
use crate::domain::smoke::StageStatus;
use crate::terminal_text::clean_line;

/// The stage lines, the verdict and the key line: everything but the output.
pub fn summary(app: &App, v: &SmokeView, theme: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for (stage, state) in &v.stages {
        let (mark, style, time, message) = match state {
            StageState::Waiting => ("·", theme.dim, String::new(), String::new()),
            StageState::Running { since } => (
                "●",
                theme.warn,
                seconds(Duration::from_millis(
                    u64::try_from(app.now - since).unwrap_or(0),
                )),
                if v.cancelling {
                    "cancelling…".to_string()
                } else {
                    "running…".to_string()
                },
            ),
            StageState::Done(result) => {
                let (mark, style) = match result.status {
                    StageStatus::Passed => ("✓", theme.ok),
                    StageStatus::Failed => ("✗", theme.bad),
                    StageStatus::Skipped => ("-", theme.dim),
                };
                let time = if result.status == StageStatus::Skipped {
                    String::new()
                } else {
                    seconds(result.duration)
                };
                (mark, style, time, clean_line(&result.message).into_owned())
            }
        };
        out.push(Line::from(vec![
            Span::styled(format!("  {mark} "), style),
            Span::styled(format!("{:<9}", stage.as_str()), style),
            Span::styled(format!("{time:>7}  "), theme.dim),
            Span::styled(message, theme.popup),
        ]));
    }
    out.push(Line::raw(""));
    let (verdict, style): (String, Style) = match &v.verdict {
        None if v.cancelling => (
            "cancelling: stopping the stage, then tearing down".into(),
            theme.warn,
        ),
        None => ("running".into(), theme.warn),
        Some(Verdict::Passed { took }) => (format!("✓ passed in {}", seconds(*took)), theme.ok),
        Some(Verdict::Failed { stage, message }) => (
            format!("✗ failed at {stage}: {}", clean_line(message)),
            theme.bad,
        ),
        Some(Verdict::Interrupted) => ("✗ interrupted; torn down".into(), theme.bad),
        Some(Verdict::Error(e)) => (format!("✗ could not run: {}", clean_line(e)), theme.bad),
    };
    out.push(Line::styled(format!("  {verdict}"), style));
    out
}

fn keys_line(app: &App, v: &SmokeView, theme: &Theme) -> Line<'static> {
    let what = if v.running() {
        " cancel (tears down)"
    } else {
        " close"
    };
    Line::from(vec![
        Span::styled(app.keymap.keys_text(Action::Cancel), theme.key),
        Span::styled(what, theme.popup),
        Span::styled("  ", theme.popup),
        Span::styled(app.keymap.keys_text(Action::Up), theme.key),
        Span::styled("/", theme.popup),
        Span::styled(app.keymap.keys_text(Action::Down), theme.key),
        Span::styled(" scroll the output", theme.popup),
    ])
}

fn seconds(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, v: &SmokeView, theme: &Theme) {
    let rect = super::tall(area, 100);
    let title = format!("Smoke test — {}", v.challenge);
    let block = super::popup_frame(frame, rect, &title, theme.popup, theme);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let top = summary(app, v, theme);
    let [top_area, heading_area, output_area, keys_area] = Layout::vertical([
        Constraint::Length(top.len() as u16),
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(top).style(theme.popup), top_area);
    frame.render_widget(
        Paragraph::new(Line::styled(
            "Output (build steps, the check script)",
            theme.popup_title,
        )),
        heading_area,
    );
    let height = output_area.height as usize;
    let end = v.output.len().saturating_sub(v.scroll.min(v.output.len()));
    let start = end.saturating_sub(height);
    let lines: Vec<Line> = v
        .output
        .iter()
        .skip(start)
        .take(end - start)
        .map(|l| Line::styled(format!("  {l}"), theme.dim))
        .collect();
    frame.render_widget(Paragraph::new(lines).style(theme.popup), output_area);
    frame.render_widget(
        Paragraph::new(keys_line(app, v, theme)).style(theme.popup),
        keys_area,
    );
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::testkit::{NOW, sample_app, snapshot_screen};
    use crate::console::state::popup::Popup;
    use crate::console::state::smoke::SmokeView;
    use crate::domain::smoke::{Stage, StageEvent, StageResult, StageStatus};

    #[test]
    fn smoke_popup_snapshots() {
        let mut app = sample_app();
        let mut view = SmokeView::new(1, "web-robots");
        let done = |stage, message: &str, ms| StageEvent::Finished {
            challenge: "web-robots".into(),
            result: StageResult {
                stage,
                status: StageStatus::Passed,
                duration: Duration::from_millis(ms),
                message: message.into(),
                details: Vec::new(),
            },
        };
        view.apply(done(Stage::Validate, "challenge.json is valid", 3), NOW);
        view.apply(
            StageEvent::Progress {
                challenge: "web-robots".into(),
                stage: Stage::Build,
                line: "Step 1/7 : FROM busybox:1.36".into(),
            },
            NOW,
        );
        view.apply(
            done(Stage::Build, "image ctfdeck/web-robots:latest", 6_340),
            NOW,
        );
        view.apply(
            done(
                Stage::Spawn,
                "instance k3x9 at 127.0.0.1:32768 (8080/http)",
                1_150,
            ),
            NOW,
        );
        view.apply(done(Stage::Ready, "8080/http answered HTTP 200", 20), NOW);
        view.apply(
            StageEvent::Started {
                challenge: "web-robots".into(),
                stage: Stage::Check,
            },
            NOW - 2_000,
        );
        view.apply(
            StageEvent::Progress {
                challenge: "web-robots".into(),
                stage: Stage::Check,
                line: "robots.txt says /cgi-bin/admin".into(),
            },
            NOW,
        );
        app.popup = Some(Popup::Smoke(view));
        snapshot_screen!("smoke_running", &app);
    }
}
