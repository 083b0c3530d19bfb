//! The help popup: generated from the action table, so it lists exactly the keys that work.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::console::keys::{ACTIONS, Context};
use crate::console::state::App;
use crate::console::theme::Theme;

/// Width of the keys column and of the config-name column (`sort_reverse` is the longest).
const KEYS_WIDTH: usize = 10;
const NAME_WIDTH: usize = 13;

/// Every help line at `width` columns: pane headings, then each action's keys, config name and
/// meaning; a meaning too long for one line continues under itself, not under the keys.
pub fn lines(app: &App, theme: &Theme, width: usize) -> Vec<Line<'static>> {
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
                Context::NodeMenu,
                Context::Whose,
                Context::Smoke,
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
            let role = match (info.mutating || info.admin_only, app.read_only) {
                (false, _) => "",
                (true, true) => "  (refused: read-only)",
                (true, false) => "  (admin)",
            };
            let indent = 2 + KEYS_WIDTH + 1 + NAME_WIDTH;
            let text = format!("{}{role}", info.help);
            let mut rows = wrap(&text, width.saturating_sub(indent).max(20)).into_iter();
            // The config name beside the key: what to write under `[keys]` to rebind it.
            let first = rows.next().unwrap_or_default();
            out.push(Line::from(vec![
                Span::styled(format!("  {keys:<KEYS_WIDTH$} "), theme.key),
                Span::styled(format!("{:<NAME_WIDTH$}", info.name), theme.dim),
                Span::styled(first, theme.popup),
            ]));
            for rest in rows {
                out.push(Line::styled(format!("{:indent$}{rest}", ""), theme.popup));
            }
        }
    }
    out.push(Line::styled(
        "  rebind any of them by the name beside its key, in the config's [keys] table".to_string(),
        theme.dim,
    ));
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

/// `text` in lines of at most `width` characters, broken at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut rows = Vec::new();
    let mut row = String::new();
    for word in text.split(' ') {
        let needed = if row.is_empty() {
            0
        } else {
            row.chars().count() + 1
        };
        if !row.is_empty() && needed + word.chars().count() > width {
            rows.push(std::mem::take(&mut row));
        }
        if !row.is_empty() {
            row.push(' ');
        }
        row.push_str(word);
    }
    rows.push(row);
    rows
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, scroll: usize, theme: &Theme) {
    let rect = super::tall(area, 96);
    let block = super::popup_frame(
        frame,
        rect,
        "Help — keys (from the action table)",
        theme.popup,
        theme,
    );
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let all = lines(app, theme, usize::from(inner.width));
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
    fn every_action_is_listed_with_its_config_name_beside_its_keys() {
        use crate::console::keys::ACTIONS;
        let app = sample_app();
        let theme = crate::console::theme::Theme::built_in("dark").unwrap();
        let text: Vec<String> = super::lines(&app, &theme, 200)
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect();
        for info in ACTIONS {
            let keys = app.keymap.keys_text(info.action);
            let want = format!("  {keys:<10} {:<13}{}", info.name, info.help);

            assert!(
                text.iter().any(|l| l.starts_with(&want)),
                "no help line {want:?} in {text:#?}"
            );
        }
    }

    #[test]
    fn help_popup_snapshots() {
        let mut app = sample_app();
        app.popup = Some(Popup::Help { scroll: 0 });
        snapshot_screen!("help", &app);
    }
}
