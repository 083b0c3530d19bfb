//! The banner over the panes: the engine is lost (the screen keeps the last known state, and
//! says so), or the store watcher stopped (the screen no longer follows the store).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;

use crate::console::state::App;
use crate::console::theme::Theme;

/// Lines the banner needs: one per problem the screen must own up to.
pub fn height(app: &App) -> u16 {
    u16::from(!app.engine.connected) + u16::from(app.store_watch_stopped.is_some())
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let mut lines = Vec::new();
    if !app.engine.connected {
        let reason = app.engine.lost_reason.as_deref().unwrap_or("no answer");
        lines.push(format!(
            " ENGINE LOST ({}): {reason} — reconnecting (next try in {}s); showing the last known state ",
            app.engine.target, app.engine.retry_in_secs
        ));
    }
    if let Some(reason) = &app.store_watch_stopped {
        lines.push(format!(
            " STORE NOT WATCHED: {reason} — changes by others no longer show; restart the console "
        ));
    }
    for (i, text) in lines.iter().enumerate().take(area.height as usize) {
        let row = Rect {
            y: area.y + i as u16,
            height: 1,
            ..area
        };
        let text = crate::terminal_text::clean_line(text);
        frame.render_widget(
            Line::styled(super::fit(&text, area.width as usize), theme.banner).style(theme.banner),
            row,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{sample_app, snapshot_screen};

    #[test]
    fn banner_snapshots() {
        let mut app = sample_app();
        app.engine.connected = false;
        app.engine.lost_reason = Some("connection refused".into());
        app.engine.retry_in_secs = 4;
        snapshot_screen!("engine_lost", &app);
    }
}
