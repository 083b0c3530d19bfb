//! The engine-lost banner: the screen keeps the last known state, and says so.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;

use crate::console::state::App;
use crate::console::theme::Theme;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    if app.engine.connected || area.height == 0 {
        return;
    }
    let reason = app.engine.lost_reason.as_deref().unwrap_or("no answer");
    let text = format!(
        " ENGINE LOST ({}): {reason} — reconnecting (next try in {}s); showing the last known state ",
        app.engine.target, app.engine.retry_in_secs
    );
    frame.render_widget(
        Line::styled(super::fit(&text, area.width as usize), theme.banner).style(theme.banner),
        area,
    );
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
