//! The help popup: generated from the action table, so it lists exactly the keys that work.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::console::keys::{ACTIONS, Context};
use crate::console::state::App;
use crate::console::theme::Theme;

/// Every help line: pane headings, then each action's keys and meaning.
pub fn lines(app: &App, theme: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let groups: [(&str, &[Context]); 4] = [
        ("Instances", &[Context::Instances]),
        ("Catalog", &[Context::Catalog]),
        ("Logs", &[Context::Logs]),
        (
            "Popups",
            &[
                Context::Confirm,
                Context::Detail,
                Context::PurgeMenu,
                Context::Whose,
            ],
        ),
    ];
    let mut shown = std::collections::HashSet::new();
    for (title, contexts) in groups {
        out.push(Line::styled(title.to_string(), theme.popup_title));
        for info in ACTIONS {
            if !info.contexts.iter().any(|c| contexts.contains(c)) {
                continue;
            }
            // An action available everywhere is listed once, under the first pane.
            let everywhere = Context::PANES.iter().all(|c| info.contexts.contains(c));
            if everywhere && !shown.insert(info.action) {
                continue;
            }
            let keys = app.keymap.keys_text(info.action);
            let mut spans = vec![
                Span::styled(format!("  {keys:<10} "), theme.key),
                Span::styled(info.help.to_string(), theme.popup),
            ];
            if info.mutating || info.admin_only {
                spans.push(Span::styled(
                    if app.read_only {
                        "  (refused: read-only)"
                    } else {
                        "  (admin)"
                    },
                    theme.dim,
                ));
            }
            out.push(Line::from(spans));
        }
    }
    out.push(Line::styled("Text fields", theme.popup_title));
    out.push(Line::styled(
        "  enter accept · esc cancel · tab complete the owner (spawn)".to_string(),
        theme.popup,
    ));
    out.push(Line::styled(
        "  ctrl-c quits from anywhere".to_string(),
        theme.popup,
    ));
    out
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, scroll: usize, theme: &Theme) {
    let rect = super::centered(area, 96, area.height.saturating_sub(2));
    let block = super::popup_frame(
        frame,
        rect,
        "Help — keys (from the action table)",
        theme.popup,
        theme,
    );
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let all = lines(app, theme);
    let scroll = scroll.min(all.len().saturating_sub(1)) as u16;
    frame.render_widget(
        Paragraph::new(all)
            .style(theme.popup)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        inner,
    );
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{sample_app, snapshot_screen};
    use crate::console::state::popup::Popup;

    #[test]
    fn help_popup_snapshots() {
        let mut app = sample_app();
        app.popup = Some(Popup::Help { scroll: 0 });
        snapshot_screen!("help", &app);
    }
}
