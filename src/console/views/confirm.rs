//! The confirmation popup: states exactly what will go, from the action it carries.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::console::keys::Action;
use crate::console::state::{App, PendingAction};
use crate::console::theme::Theme;

/// Ids listed by name before the list is summarised.
const LISTED: usize = 8;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, pending: &PendingAction, theme: &Theme) {
    let ids = pending.ids();
    let listed = ids.len().min(LISTED);
    let height = 8 + listed as u16 + u16::from(ids.len() > LISTED);
    let rect = super::centered(area, 70, height);
    let title = format!("Confirm {}", pending.verb().to_lowercase());
    let block = super::popup_frame(frame, rect, &title, theme.popup, theme);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let mut lines = vec![
        Line::styled(pending.sentence(), theme.danger),
        Line::raw(""),
    ];
    for id in ids.iter().take(LISTED) {
        let row = app.instances.by_id(id);
        let text = match row {
            Some(r) => format!(
                "  {}  {}  {}  {}",
                r.rec.id, r.rec.challenge, r.rec.owner, r.address
            ),
            None => format!("  {id}"),
        };
        lines.push(Line::styled(text, theme.popup));
    }
    if ids.len() > LISTED {
        lines.push(Line::styled(
            format!("  … and {} more", ids.len() - LISTED),
            theme.popup,
        ));
    }
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![
        Span::styled(app.keymap.keys_text(Action::Confirm), theme.key),
        Span::styled(
            format!(" {} {}   ", pending.verb().to_lowercase(), pending.object()),
            theme.popup,
        ),
        Span::styled(app.keymap.keys_text(Action::Cancel), theme.key),
        Span::styled(format!(" keep {}", pending.object()), theme.popup),
    ]));
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .style(theme.popup),
        inner,
    );
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{sample_app, snapshot_screen};
    use crate::console::state::PendingAction;
    use crate::console::state::popup::Popup;

    #[test]
    fn confirm_purge_snapshots() {
        let mut app = sample_app();
        app.popup = Some(Popup::Confirm(PendingAction::Purge {
            ids: vec!["a1b2c3".into(), "b2c3d4".into()],
            summary: "2 instances of web-robots owned by 2 owners".into(),
            selector: "challenge web-robots".into(),
        }));
        snapshot_screen!("confirm_purge", &app);
    }

    #[test]
    fn confirm_stop_lists_what_goes() {
        let mut app = sample_app();
        let ids: Vec<String> = (0..12).map(|i| format!("id{i:04}")).collect();
        app.popup = Some(Popup::Confirm(PendingAction::Stop {
            ids,
            summary: "12 instances of web-robots owned by 12 owners".into(),
        }));
        snapshot_screen!("confirm_stop", &app);
    }

    #[test]
    fn confirm_drain_names_the_node_and_what_stays() {
        let mut app = sample_app();
        app.popup = Some(Popup::Confirm(PendingAction::NodeTaking {
            node: "node-2".into(),
            take: false,
            summary: "node-2 (10.99.0.3, 2 instances running)".into(),
        }));
        snapshot_screen!("confirm_drain", &app);
    }
}
