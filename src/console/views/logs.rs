//! The logs pane: the selected instance's container output, or ctfdeck's activity log.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::console::keys::Context;
use crate::console::state::App;
use crate::console::state::logs::{LogLine, LogSource};
use crate::console::theme::Theme;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let logs = &app.logs;
    let focused = app.focus == Context::Logs;
    let mut title = vec![Span::raw(match &logs.source {
        LogSource::Instance { id } => format!(" Logs {id} "),
        LogSource::Audit => " Activity (audit log) ".to_string(),
        LogSource::Nothing => " Logs ".to_string(),
    })];
    title.push(Span::styled(
        if logs.scroll == 0 {
            " following ".to_string()
        } else {
            format!(" scrolled back {} ", logs.scroll)
        },
        theme.dim,
    ));
    if !logs.search.is_empty() {
        title.push(Span::styled(format!(" /{} ", logs.search), theme.matched));
    }
    let block = super::pane_block(Line::from(title), focused, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);

    let height = inner.height as usize;
    let end = logs.len().saturating_sub(logs.scroll);
    let start = end.saturating_sub(height);
    let mut lines: Vec<Line> = (start..end)
        .filter_map(|i| logs.line(i))
        .map(|l| {
            render_line(
                &l,
                logs.timestamps || logs.source == LogSource::Audit,
                &logs.search,
                theme,
            )
        })
        .collect();
    if lines.is_empty() {
        let text = match (&logs.source, &logs.ended) {
            (_, Some(reason)) => reason.clone(),
            (LogSource::Nothing, _) => "select an instance to follow its logs".to_string(),
            (LogSource::Audit, _) => "no activity yet".to_string(),
            (LogSource::Instance { .. }, _) => "waiting for output…".to_string(),
        };
        lines.push(Line::styled(text, theme.dim));
    } else if let Some(reason) = &logs.ended
        && logs.scroll == 0
        && lines.len() >= height
    {
        // Keep the end-of-stream note visible at the bottom.
        lines.remove(0);
        lines.push(Line::styled(format!("— {reason}"), theme.dim));
    }
    frame.render_widget(Paragraph::new(lines).style(theme.base), inner);
}

fn render_line(line: &LogLine, timestamps: bool, search: &str, theme: &Theme) -> Line<'static> {
    let mut spans = Vec::new();
    if timestamps && let Some(t) = &line.time {
        spans.push(Span::styled(format!("{t} "), theme.dim));
    }
    spans.extend(highlight(&line.text, search, theme.base, theme.matched));
    Line::from(spans)
}

/// Split `text` into spans, the (case-insensitive) matches of `needle` highlighted.
fn highlight(text: &str, needle: &str, base: Style, hit: Style) -> Vec<Span<'static>> {
    if needle.is_empty() || !text.is_ascii() {
        return vec![Span::styled(text.to_string(), base)];
    }
    let lower = text.to_ascii_lowercase();
    let needle = needle.to_ascii_lowercase();
    let mut spans = Vec::new();
    let mut at = 0;
    while let Some(found) = lower[at..].find(&needle) {
        let start = at + found;
        if start > at {
            spans.push(Span::styled(text[at..start].to_string(), base));
        }
        spans.push(Span::styled(
            text[start..start + needle.len()].to_string(),
            hit,
        ));
        at = start + needle.len();
    }
    if at < text.len() {
        spans.push(Span::styled(text[at..].to_string(), base));
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{sample_app, snapshot_widget};
    use crate::console::state::logs::LogSource;

    #[test]
    fn logs_pane_snapshots() {
        let mut app = sample_app();
        app.logs.timestamps = true;
        app.logs.search = "robots".into();
        snapshot_widget!("logs", &app, super::draw);
    }

    #[test]
    fn activity_log_snapshots() {
        let mut app = sample_app();
        app.logs.switch(LogSource::Audit);
        snapshot_widget!("logs_activity", &app, super::draw);
    }
}
