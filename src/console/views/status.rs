//! The status bar: key hints (or a message, or the text being typed) over a line of facts —
//! engine, store, counts, the scoreboard API, operations in flight, role.

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
        (engine, theme.status),
        (format!(" store {} ", app.store_path), theme.status),
        (
            format!(
                " {} live{} ",
                app.instances.total(),
                if app.instances.marks.is_empty() {
                    String::new()
                } else {
                    format!(" · {} marked", app.instances.marks.len())
                }
            ),
            theme.status,
        ),
    ];
    // After the store path, which gives way first: the API's state matters more.
    let api = app.api_fact();
    if let Some(api) = &api {
        let style = if api.alarm { theme.warn } else { theme.status };
        parts.push((format!(" {} ", api.text), style));
    }
    for r in app.running.values() {
        parts.push((
            if r.total > 0 {
                format!(" {} {}/{} ", r.request.label(), r.done, r.total)
            } else {
                format!(" {}… ", r.request.label())
            },
            theme.status,
        ));
    }
    let role = format!(" {} ", app.role());
    // The role always shows; the store path gives way first on narrow screens.
    let mut used: usize = parts
        .iter()
        .map(|(p, _)| p.chars().count() + 1)
        .sum::<usize>()
        + role.len();
    if used > width && parts.len() > 1 {
        used -= parts[1].0.chars().count() + 1;
        parts.remove(1);
        // Then the API's address and long words (it follows the live count, now at 1).
        if let (true, Some(api)) = (used > width, &api) {
            let long = parts[2].0.chars().count();
            parts[2].0 = format!(" {} ", api.short);
            used = used + parts[2].0.chars().count() - long;
        }
    }
    let mut spans: Vec<Span> = Vec::new();
    for (p, style) in parts {
        spans.push(Span::styled(p, style));
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

    fn heartbeat(updated_ago_ms: i64) -> crate::domain::api_status::ApiStatus {
        use super::super::testkit::NOW;
        crate::domain::api_status::ApiStatus {
            listen: "127.0.0.1:8787".into(),
            pid: 4242,
            started_at: NOW - 3_600_000,
            updated_at: NOW - updated_ago_ms,
            interval_ms: 5_000,
            requests_per_min: 42,
            errors_per_min: 0,
            queue_length: 0,
            stopped_at: None,
        }
    }

    #[test]
    fn a_listening_api_shows_its_address_and_traffic() {
        let mut app = sample_app();
        app.api = Some(heartbeat(2_000));
        assert_eq!(
            app.api_fact().unwrap().text,
            "API 127.0.0.1:8787 · 42 req/min · 0 err"
        );
        snapshot_widget!("status_api_up", &app, super::draw);
    }

    #[test]
    fn errors_and_a_queue_show_as_a_warning() {
        let mut app = sample_app();
        app.api = Some(crate::domain::api_status::ApiStatus {
            errors_per_min: 3,
            queue_length: 7,
            ..heartbeat(2_000)
        });
        let fact = app.api_fact().unwrap();
        assert_eq!(
            fact.text,
            "API 127.0.0.1:8787 · 42 req/min · 3 err · queue 7"
        );
        assert!(fact.alarm);
        snapshot_widget!("status_api_errors_queue", &app, super::draw);
    }

    #[test]
    fn a_stale_heartbeat_shows_the_api_down() {
        let mut app = sample_app();
        app.api = Some(heartbeat(120_000));
        assert_eq!(app.api_fact().unwrap().text, "API down (last seen 2m ago)");
        snapshot_widget!("status_api_down", &app, super::draw);
    }

    #[test]
    fn a_clean_stop_shows_at_once() {
        use super::super::testkit::NOW;
        let mut app = sample_app();
        app.api = Some(crate::domain::api_status::ApiStatus {
            stopped_at: Some(NOW - 1_000),
            ..heartbeat(1_000)
        });
        assert_eq!(app.api_fact().unwrap().text, "API stopped 1s ago");
        snapshot_widget!("status_api_stopped", &app, super::draw);
    }

    #[test]
    fn no_serve_ever_says_nothing_about_the_api() {
        let app = sample_app();
        assert_eq!(app.api_fact(), None);
        let text = super::super::testkit::screen_text(&app, 160, 48);
        assert!(!text.contains("API"), "{text}");
    }
}
