//! The status bar: key hints (or a message, or the text being typed) over a line of facts —
//! engine, store, counts, operations in flight, role.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::text::{Line, Span};

use crate::console::state::App;
use crate::console::theme::Theme;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let [top, bottom] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(area);
    draw_top(frame, top, app, theme);
    frame.render_widget(facts(app, theme, bottom.width as usize), bottom);
}

fn draw_top(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let keep = "  enter keep · esc clear";
    let input = app
        .filter_input
        .as_ref()
        .map(|i| ("filter", i, keep))
        .or(app.logs.search_input.as_ref().map(|i| ("search", i, keep)))
        .or(app
            .flag_input
            .as_ref()
            .map(|i| ("whose flag", i, "  enter look up · esc cancel")));
    if let Some((what, input, keys)) = input {
        let prefix = format!("{what}: ");
        let line = Line::from(vec![
            Span::styled(prefix.clone(), theme.key),
            Span::styled(input.value().to_string(), theme.input),
            Span::styled(keys, theme.hint),
        ]);
        frame.render_widget(line, area);
        let x = area.x + (prefix.len() + input.visual_cursor()) as u16;
        frame.set_cursor_position(Position::new(x.min(area.right().saturating_sub(1)), area.y));
        return;
    }
    if let Some(flash) = &app.flash {
        let style = if flash.error {
            theme.flash_error
        } else {
            theme.flash_info
        };
        let text = super::fit(&format!(" {} ", flash.text), area.width as usize);
        frame.render_widget(Line::styled(text, style), area);
        return;
    }
    frame.render_widget(
        Line::from(super::hint_spans(
            app,
            app.context(),
            theme,
            area.width as usize,
        )),
        area,
    );
}

fn facts(app: &App, theme: &Theme, width: usize) -> Line<'static> {
    let engine = if app.engine.connected {
        format!(" ● engine {} {} ", app.engine.version, app.engine.target)
    } else {
        format!(" ○ reconnecting {} ", app.engine.target)
    };
    let mut parts = vec![
        engine,
        format!(" store {} ", app.store_path),
        format!(
            " {} live{} ",
            app.instances.total(),
            if app.instances.marks.is_empty() {
                String::new()
            } else {
                format!(" · {} marked", app.instances.marks.len())
            }
        ),
    ];
    for r in app.running.values() {
        parts.push(if r.total > 0 {
            format!(" {} {}/{} ", r.request.label(), r.done, r.total)
        } else {
            format!(" {}… ", r.request.label())
        });
    }
    let role = format!(" {} ", app.role());
    // The role always shows; the store path gives way first on narrow screens.
    let mut used: usize = parts.iter().map(|p| p.chars().count() + 1).sum::<usize>() + role.len();
    if used > width && parts.len() > 1 {
        used -= parts[1].chars().count() + 1;
        parts.remove(1);
    }
    let mut spans: Vec<Span> = Vec::new();
    for p in parts {
        spans.push(Span::styled(p, theme.status));
        spans.push(Span::styled("│", theme.status));
    }
    let pad = width.saturating_sub(used);
    spans.push(Span::styled(" ".repeat(pad), theme.status));
    spans.push(Span::styled(
        role,
        if app.read_only {
            theme.warn
        } else {
            theme.status
        },
    ));
    Line::from(spans).style(theme.status)
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{sample_app, snapshot_widget};
    use crate::console::state::Op;

    #[test]
    fn status_bar_snapshots() {
        let mut app = sample_app();
        let _ = app.run(Op::Stop {
            ids: vec!["a".into(); 100],
            reason: "purged".into(),
        });
        if let Some(r) = app.running.values_mut().next() {
            r.done = 37;
            r.total = 100;
        }
        snapshot_widget!("status", &app, super::draw);
    }

    #[test]
    fn the_filter_being_typed_shows_with_its_cursor() {
        let mut app = sample_app();
        app.filter_input = Some(tui_input::Input::new("web".into()));
        snapshot_widget!("status_filter", &app, super::draw);
    }

    #[test]
    fn read_only_and_messages_show() {
        let mut app = sample_app();
        app.read_only = true;
        app.complain("spawn refused: this console is read-only");
        snapshot_widget!("status_read_only", &app, super::draw);
    }
}
