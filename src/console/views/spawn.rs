//! The spawn popup: the challenge is chosen already; the owner is typed, with completion.

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::console::state::popup::SpawnForm;
use crate::console::theme::Theme;

pub fn draw(frame: &mut Frame, area: Rect, form: &SpawnForm, theme: &Theme) {
    let rect = super::centered(area, 60, 11);
    let title = format!("Spawn {}", form.challenge);
    let block = super::popup_frame(frame, rect, &title, theme.popup, theme);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let label = "owner: ";
    let field_width = inner.width.saturating_sub(label.len() as u16 + 1) as usize;
    let scroll = form.input.visual_scroll(field_width);
    let shown: String = form
        .input
        .value()
        .chars()
        .skip(scroll)
        .take(field_width)
        .collect();
    let mut lines = vec![
        Line::styled(format!("challenge: {}", form.challenge), theme.popup),
        Line::from(vec![
            Span::styled(label, theme.popup),
            Span::styled(format!("{shown:<field_width$}"), theme.input),
        ]),
    ];
    let suggestions = form.suggestions();
    if !suggestions.is_empty() {
        lines.push(Line::styled(
            format!("  tab → {}", suggestions.join("  ")),
            theme.dim,
        ));
    } else {
        lines.push(Line::raw(""));
    }
    match &form.error {
        Some(e) => lines.push(Line::styled(
            super::fit(e, inner.width as usize),
            theme.danger,
        )),
        None => lines.push(Line::raw("")),
    }
    lines.push(Line::styled(
        "team:NAME or user:NAME — an owner's live instance is returned, not doubled",
        theme.dim,
    ));
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![
        Span::styled("enter", theme.key),
        Span::styled(" spawn   ", theme.popup),
        Span::styled("tab", theme.key),
        Span::styled(" complete   ", theme.popup),
        Span::styled("esc", theme.key),
        Span::styled(" cancel", theme.popup),
    ]));
    frame.render_widget(Paragraph::new(lines).style(theme.popup), inner);
    let cursor = (form.input.visual_cursor().saturating_sub(scroll) + label.len()) as u16;
    frame.set_cursor_position(Position::new(inner.x + cursor, inner.y + 1));
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{sample_app, snapshot_screen};
    use crate::console::state::popup::{Popup, SpawnForm};

    #[test]
    fn spawn_popup_snapshots() {
        let mut app = sample_app();
        let owners = app.instances.owners().into_iter().collect();
        let mut form = SpawnForm::new("web-robots", owners);
        form.input = tui_input::Input::new("team:".into());
        app.popup = Some(Popup::Spawn(form));
        snapshot_screen!("spawn", &app);
    }

    #[test]
    fn spawn_popup_shows_owner_errors() {
        let mut app = sample_app();
        let mut form = SpawnForm::new("nc-calc", Vec::new());
        form.input = tui_input::Input::new("red team".into());
        form.error = Some("invalid owner \"red team\": expected team:NAME or user:NAME".into());
        app.popup = Some(Popup::Spawn(form));
        snapshot_screen!("spawn_error", &app);
    }
}
