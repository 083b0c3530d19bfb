//! Taking over the terminal and giving it back — on quit, on error, on panic and on signals.

use std::io::{self, Stdout};

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub type Term = Terminal<CrosstermBackend<Stdout>>;

/// Raw mode and the alternate screen. Also installs a panic hook that restores the terminal
/// before the panic message is printed, so a crash never leaves a staff member's SSH session
/// unusable.
pub fn enter() -> io::Result<Term> {
    ratatui::try_init()
}

/// Undo [`enter`]. Safe to call more than once.
pub fn leave() {
    if let Err(e) = ratatui::try_restore() {
        eprintln!("warning: could not restore the terminal: {e}");
    }
}

/// Restores the terminal when dropped, whatever path leaves the console.
pub struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {
        leave();
    }
}
