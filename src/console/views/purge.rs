//! The purge menu: choose what a purge takes; the confirmation then says exactly what goes.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::console::keys::Action;
use crate::console::state::App;
use crate::console::state::popup::PurgeMenu;
use crate::console::theme::Theme;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, menu: &PurgeMenu, theme: &Theme) {
    let rect = super::centered(area, 56, menu.choices.len() as u16 + 6);
    let block = super::popup_frame(frame, rect, "Purge: what goes?", theme.popup, theme);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let mut lines: Vec<Line> = menu
        .choices
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let text = format!(
                " {} {}",
                if i == menu.selected { "›" } else { " " },
                c.label()
            );
            let style = if i == menu.selected {
                theme.selected
            } else {
                theme.popup
            };
            Line::styled(
                format!("{text:<width$}", width = inner.width as usize),
                style,
            )
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![
        Span::styled(app.keymap.keys_text(Action::Confirm), theme.key),
        Span::styled(" choose (you confirm next)   ", theme.popup),
        Span::styled(app.keymap.keys_text(Action::Cancel), theme.key),
        Span::styled(" cancel", theme.popup),
    ]));
    frame.render_widget(Paragraph::new(lines).style(theme.popup), inner);
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{sample_app, snapshot_screen};
    use crate::console::state::popup::{Popup, PurgeMenu};

    #[test]
    fn purge_menu_snapshots() {
        let mut app = sample_app();
        let mut menu = PurgeMenu::new(Some("web-robots".into()), 2);
        menu.selected = 1;
        app.popup = Some(Popup::PurgeMenu(menu));
        snapshot_screen!("purge_menu", &app);
    }
}
