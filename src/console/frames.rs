//! Putting frames on a screen: the whole screen when something changed, or — when only the
//! instances' clocks moved, which on an idle console is every second — just the clock cells
//! that changed, written straight to the screen. Twenty staff watching over SSH then cost
//! twenty small writes a second instead of twenty whole frames drawn and compared.

use std::collections::HashMap;

use color_eyre::eyre::{Result, WrapErr};
use ratatui::Terminal;
use ratatui::backend::Backend;
use ratatui::buffer::{Buffer, Cell};
use ratatui::layout::Position;

use super::state::{App, Redraw};
use super::theme::Theme;
use super::views;

/// What the screen shows, and what ratatui's terminal believes it shows.
#[derive(Default)]
pub struct Frames {
    /// The screen: the last whole frame with the clock cells written since.
    last: Option<Buffer>,
    /// The cells written straight to the screen since the last whole frame, with what they
    /// held in it. ratatui's terminal diffs the next whole frame against that frame, so these
    /// cells are put back first, or a cell that reads again as it did then would stay stale.
    undo: HashMap<Position, Cell>,
}

impl Frames {
    /// Draw what changed since the last frame, if anything. Returns true when the whole
    /// screen was drawn (the visible rows may have changed).
    pub fn draw<B>(
        &mut self,
        terminal: &mut Terminal<B>,
        app: &mut App,
        theme: &Theme,
    ) -> Result<bool>
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

    /// The screen was cleared (output to it was lost): the next frame is drawn whole, and
    /// ratatui's terminal knows the screen is blank.
    pub fn forget(&mut self) {
        self.last = None;
        self.undo.clear();
    }

    fn whole<B>(&mut self, terminal: &mut Terminal<B>, app: &App, theme: &Theme) -> Result<()>
    where
        B: Backend,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        let same_size = self.last.as_ref().map(|last| last.area.as_size())
            == Some(terminal.size().wrap_err("reading the screen's size")?);
        if same_size && !self.undo.is_empty() {
            // Queued, not flushed: it reaches the screen in one write with the frame.
            terminal
                .backend_mut()
                .draw(self.undo.iter().map(|(p, cell)| (p.x, p.y, cell)))
                .wrap_err("putting the clock cells back")?;
        }
        // At another size the terminal clears the screen before drawing.
        self.undo.clear();
        let done = terminal
            .draw(|f| views::draw(f, app, theme))
            .wrap_err("drawing the screen")?;
        let last = self.last.get_or_insert_with(Buffer::default);
        last.area = done.buffer.area;
        last.content.clone_from(&done.buffer.content);
        Ok(())
    }

    /// The clock cells that changed, written over the last frame; false when that cannot stand
    /// for the whole frame (no frame yet, the screen's size changed, something lies over the
    /// instances pane).
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
        let mut changed = Vec::new();
        views::draw_clocks(last, app, theme, &mut changed);
        if changed.is_empty() {
            return Ok(true);
        }
        let backend = terminal.backend_mut();
        backend
            .draw(changed.iter().map(|(p, _)| (p.x, p.y, &last[*p])))
            .wrap_err("drawing the screen's clocks")?;
        backend.flush().wrap_err("drawing the screen's clocks")?;
        for (p, before) in changed {
            self.undo.entry(p).or_insert(before);
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests;
