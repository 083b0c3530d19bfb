//! Putting frames on a screen: the whole screen when something changed, or — when only the
//! instances' clocks moved, which on an idle console is every second — the last frame with just
//! its clock cells drawn again. Twenty staff watching over SSH then cost twenty small patches a
//! second instead of twenty whole frames.

use color_eyre::eyre::{Result, WrapErr};
use ratatui::Terminal;
use ratatui::backend::Backend;
use ratatui::buffer::Buffer;

use super::state::{App, Redraw};
use super::theme::Theme;
use super::views;

/// What the screen shows: a copy of the last frame put on it.
#[derive(Default)]
pub struct Frames {
    last: Option<Buffer>,
}

impl Frames {
    /// Draw what changed since the last frame, if anything. Returns true when the whole
    /// screen was drawn (the visible rows may have changed).
    pub fn draw<B>(&mut self, terminal: &mut Terminal<B>, app: &mut App, theme: &Theme) -> Result<bool>
    where
        B: Backend,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        match app.redraw() {
            Redraw::Nothing => Ok(false),
            Redraw::Clocks if self.clocks(terminal, app, theme)? => {
                app.clocks_drawn();
                Ok(false)
            }
            Redraw::Clocks | Redraw::Whole => {
                self.whole(terminal, app, theme)?;
                app.drawn();
                Ok(true)
            }
        }
    }

    /// The screen was cleared (output to it was lost): the next frame is drawn whole.
    pub fn forget(&mut self) {
        self.last = None;
    }

    fn whole<B>(&mut self, terminal: &mut Terminal<B>, app: &App, theme: &Theme) -> Result<()>
    where
        B: Backend,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        let done = terminal
            .draw(|f| views::draw(f, app, theme))
            .wrap_err("drawing the screen")?;
        let last = self.last.get_or_insert_with(Buffer::default);
        last.area = done.buffer.area;
        last.content.clone_from(&done.buffer.content);
        Ok(())
    }

    /// The clock cells over the last frame; false when that cannot stand for the whole frame
    /// (no frame yet, the screen's size changed, something lies over the instances pane).
    fn clocks<B>(&mut self, terminal: &mut Terminal<B>, app: &App, theme: &Theme) -> Result<bool>
    where
        B: Backend,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        let Some(last) = self.last.as_mut() else {
            return Ok(false);
        };
        let size = terminal.size().wrap_err("reading the screen's size")?;
        if last.area.as_size() != size || !views::clocks_drawable(app) {
            return Ok(false);
        }
        views::draw_clocks(last, app, theme);
        let next = terminal.current_buffer_mut();
        next.area = last.area;
        next.content.clone_from(&last.content);
        // Only the cells that differ from the previous frame are sent.
        terminal
            .apply_buffer()
            .wrap_err("drawing the screen's clocks")?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests;
