//! The catalog pane: every challenge, its image state and how many instances run.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, Table};

use crate::console::keys::Context;
use crate::console::state::App;
use crate::console::state::catalog::ImageState;
use crate::console::theme::Theme;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let state = &app.catalog;
    let focused = app.focus == Context::Catalog;
    let problems = match state.problems.len() {
        0 => String::new(),
        n => format!("· {n} problem(s) "),
    };
    let title = Line::from(format!(
        " Catalog {} challenges · {} live {problems}",
        state.rows.len(),
        state.live_total()
    ));
    let block = super::pane_block(title, focused, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    // The catalog's problems under the rows, at most half the pane, newest read.
    let shown = state.problems.len().min((inner.height / 2) as usize);
    let [inner, problems_area] =
        ratatui::layout::Layout::vertical([Constraint::Min(0), Constraint::Length(shown as u16)])
            .areas(inner);
    if shown > 0 {
        let lines: Vec<Line> = state
            .problems
            .iter()
            .take(shown)
            .map(|p| Line::styled(format!("✗ {p}"), theme.bad))
            .collect();
        frame.render_widget(ratatui::widgets::Paragraph::new(lines), problems_area);
    }
    // Column widths, and whether DIFF fits: in a narrow pane it gives way to the others.
    let all: [(&str, Constraint); 7] = [
        ("CHALLENGE", Constraint::Min(13)),
        ("CATEGORY", Constraint::Length(8)),
        ("DIFF", Constraint::Length(6)),
        ("PTS", Constraint::Length(4)),
        ("IMAGE", Constraint::Length(8)),
        ("LIVE", Constraint::Length(4)),
        ("SMOKE", Constraint::Length(10)),
    ];
    const DIFF: usize = 2;
    let needed: u16 = 13 + 8 + 6 + 4 + 8 + 4 + 10 + 6;
    let keep = |i: usize| i != DIFF || inner.width >= needed;
    let header = Row::new(
        all.iter()
            .enumerate()
            .filter(|(i, _)| keep(*i))
            .map(|(_, (name, _))| *name),
    )
    .style(theme.header);
    // Keep the selection visible in a short pane.
    let height = inner.height.saturating_sub(1) as usize;
    let offset = state.selected.saturating_sub(height.saturating_sub(1));
    let rows: Vec<Row> = state
        .rows
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(i, r)| {
            let image_style = match r.image {
                ImageState::Built => theme.ok,
                ImageState::Building | ImageState::Unknown => theme.warn,
                ImageState::Missing | ImageState::Failed => theme.bad,
            };
            let live = state.live.get(&r.id).copied().unwrap_or(0);
            let smoke_style = match state.last_smoke.get(&r.id).map(|l| l.failed.is_none()) {
                Some(true) => theme.ok,
                Some(false) => theme.bad,
                None => theme.dim,
            };
            let cells = [
                Cell::from(r.id.as_str()),
                Cell::from(r.category.as_str()),
                Cell::from(r.difficulty),
                Cell::from(r.points.to_string()),
                Cell::from(Span::styled(r.image.text(), image_style)),
                Cell::from(if live > 0 {
                    live.to_string()
                } else {
                    "-".into()
                }),
                Cell::from(Span::styled(state.smoke_text(&r.id, app.now), smoke_style)),
            ];
            let row = Row::new(
                cells
                    .into_iter()
                    .enumerate()
                    .filter(|(i, _)| keep(*i))
                    .map(|(_, c)| c),
            );
            if i == state.selected {
                row.style(theme.selected)
            } else {
                row
            }
        })
        .collect();
    let widths: Vec<Constraint> = all
        .iter()
        .enumerate()
        .filter(|(i, _)| keep(*i))
        .map(|(_, (_, c))| *c)
        .collect();
    frame.render_widget(
        Table::new(rows, widths).header(header).column_spacing(1),
        inner,
    );
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{sample_app, snapshot_widget};
    use crate::console::keys::Context;

    #[test]
    fn catalog_pane_snapshots() {
        let mut app = sample_app();
        app.focus = Context::Catalog;
        app.catalog.selected = 1;
        snapshot_widget!("catalog", &app, super::draw);
    }
}
