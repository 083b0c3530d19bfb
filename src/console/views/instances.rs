//! The instances table. Only the visible window of rows is built, whatever the total. Once a
//! second on an idle console only the clock cells change; [`draw_clocks`] draws those alone over
//! the last frame, to the same cells a whole draw would give.

use ratatui::Frame;
use ratatui::buffer::{Buffer, Cell as BufferCell};
use ratatui::layout::{Constraint, Flex, Layout, Position, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Cell, Row, Table, Widget};

use crate::console::keys::Context;
use crate::console::state::App;
use crate::console::state::format::{self, Shown, Urgency};
use crate::console::state::instances::{Column, InstanceRow};
use crate::console::theme::Theme;
use crate::domain::view::remaining;

/// A column of the table and how wide it may be.
#[derive(Clone, Copy)]
enum Col {
    Mark,
    Data(Column),
}

/// The table's columns for `width`, with the NODE column on a Swarm.
fn columns(width: u16, on_swarm: bool) -> Vec<(Col, Constraint)> {
    let mut cols = base_columns(width);
    if on_swarm {
        let after = cols
            .iter()
            .position(|(c, _)| matches!(c, Col::Data(Column::Address)))
            .map_or(cols.len(), |i| i + 1);
        cols.insert(after, (Col::Data(Column::Node), Constraint::Length(14)));
    }
    cols
}

/// The columns whose text moves with the clock alone (see `InstancesState::clock_text`).
fn moves_with_the_clock(col: Col) -> bool {
    matches!(
        col,
        Col::Data(Column::Status | Column::Age | Column::Expires)
    )
}

/// The table's layout of columns: the one `Table` computes from the same widths.
const FLEX: Flex = Flex::Start;
const SPACING: u16 = 1;

fn column_rects(width: u16, cols: &[(Col, Constraint)]) -> std::rc::Rc<[Rect]> {
    Layout::horizontal(cols.iter().map(|(_, w)| *w))
        .flex(FLEX)
        .spacing(SPACING)
        .split(Rect::new(0, 0, width, 1))
}

fn base_columns(width: u16) -> Vec<(Col, Constraint)> {
    use Column as C;
    if width < 100 {
        vec![
            (Col::Mark, Constraint::Length(1)),
            (Col::Data(C::Owner), Constraint::Min(10)),
            (Col::Data(C::Challenge), Constraint::Length(13)),
            (Col::Data(C::Status), Constraint::Length(9)),
            (Col::Data(C::Address), Constraint::Length(21)),
            (Col::Data(C::Expires), Constraint::Length(7)),
            (Col::Data(C::Renewals), Constraint::Length(5)),
        ]
    } else {
        vec![
            (Col::Mark, Constraint::Length(1)),
            (Col::Data(C::Id), Constraint::Length(6)),
            (Col::Data(C::Owner), Constraint::Min(12)),
            (Col::Data(C::Challenge), Constraint::Min(14)),
            (Col::Data(C::Status), Constraint::Length(9)),
            (Col::Data(C::Address), Constraint::Length(21)),
            (Col::Data(C::Age), Constraint::Length(5)),
            (Col::Data(C::Expires), Constraint::Length(7)),
            (Col::Data(C::Renewals), Constraint::Length(5)),
            (Col::Data(C::Cpu), Constraint::Length(6)),
            (Col::Data(C::Mem), Constraint::Length(6)),
        ]
    }
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let state = &app.instances;
    let focused = app.focus == Context::Instances;
    let mut title = vec![Span::raw(format!(
        " Instances {}/{} ",
        state.shown(),
        state.total()
    ))];
    if !state.filter.is_empty() || app.filter_input.is_some() {
        title.push(Span::styled(format!("/{} ", state.filter), theme.matched));
    }
    if !state.marks.is_empty() {
        title.push(Span::styled(
            format!(" {} marked ", state.marks.len()),
            theme.marked,
        ));
    }
    if let Some(col) = state.sort {
        let arrow = if state.descending { "▼" } else { "▲" };
        title.push(Span::raw(format!(
            " sort {}{arrow} ",
            col.title().to_lowercase()
        )));
    }
    let block = super::pane_block(Line::from(title), focused, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);

    let cols = columns(inner.width, !app.nodes.is_empty());
    let body_height = inner.height.saturating_sub(1) as usize;
    let window = state.window(body_height);
    let header = Row::new(cols.iter().map(|(c, _)| match c {
        Col::Mark => Cell::from(" "),
        Col::Data(d) => {
            let mut t = d.title().to_string();
            if state.sort == Some(*d) {
                t.push_str(if state.descending { "▼" } else { "▲" });
            }
            Cell::from(t)
        }
    }))
    .style(theme.header);

    let selected = state.selected_pos();
    let rows: Vec<Row> = window
        .filter_map(|pos| state.row_at(pos).map(|r| (pos, r)))
        .map(|(pos, row)| {
            let cells = cols
                .iter()
                .map(|(c, _)| Cell::from(content(*c, row, app, theme)));
            Row::new(cells).style(row_style(pos == selected, theme))
        })
        .collect();
    if state.total() == 0 {
        let hint = app.keymap.keys_text(crate::console::keys::Action::Spawn);
        let text = Line::styled(
            format!("no live instances — select a challenge and press {hint} to spawn one"),
            theme.dim,
        );
        frame.render_widget(
            text,
            Rect {
                y: inner.y + 1,
                height: 1,
                ..inner
            },
        );
    }
    let table = Table::new(rows, cols.iter().map(|(_, w)| *w))
        .header(header)
        .flex(FLEX)
        .column_spacing(SPACING);
    frame.render_widget(table, inner);
}

fn row_style(selected: bool, theme: &Theme) -> Style {
    if selected {
        theme.selected
    } else {
        Style::default()
    }
}

/// Draw the clock cells of the visible rows again, over a buffer holding the last whole frame
/// drawn with the same state, and add each cell that changed to `changed`, with what it held
/// before. Each cell is first put back to what lies under a row's text (the screen's base
/// style, then the row's), as the whole draw has it before the table's text.
pub fn draw_clocks(
    buf: &mut Buffer,
    area: Rect,
    app: &App,
    theme: &Theme,
    changed: &mut Vec<(Position, BufferCell)>,
) {
    let state = &app.instances;
    let inner = super::pane_block(Line::default(), false, theme).inner(area);
    let cols = columns(inner.width, !app.nodes.is_empty());
    let rects = column_rects(inner.width, &cols);
    let body_height = inner.height.saturating_sub(1);
    let selected = state.selected_pos();
    let mut before = Vec::new();
    for (i, pos) in state.window(body_height as usize).enumerate() {
        let Some(row) = state.row_at(pos) else {
            continue;
        };
        let y = inner.y + 1 + i as u16;
        let under = row_style(pos == selected, theme);
        for ((col, _), rect) in cols.iter().zip(rects.iter()) {
            if !moves_with_the_clock(*col) {
                continue;
            }
            let cell_area = Rect::new(inner.x + rect.x, y, rect.width, 1).intersection(buf.area);
            before.clear();
            for x in cell_area.left()..cell_area.right() {
                let cell = &mut buf[(x, y)];
                before.push(cell.clone());
                cell.reset();
                cell.set_style(theme.base);
                cell.set_style(under);
            }
            content(*col, row, app, theme).render(cell_area, buf);
            for (x, old) in (cell_area.left()..).zip(before.drain(..)) {
                if buf[(x, y)] != old {
                    changed.push((Position::new(x, y), old));
                }
            }
        }
    }
}

/// What a cell of `row` in `col` reads.
fn content<'a>(col: Col, row: &'a InstanceRow, app: &App, theme: &Theme) -> Text<'a> {
    let r = &row.rec;
    let state = &app.instances;
    let now = app.now;
    let Col::Data(col) = col else {
        return if state.marks.contains(&r.id) {
            Text::from(Span::styled("*", theme.marked))
        } else {
            Text::from(" ")
        };
    };
    match col {
        Column::Id => Text::from(r.id.as_str()),
        Column::Owner => Text::from(r.owner.as_str()),
        Column::Challenge => Text::from(r.challenge.as_str()),
        Column::Status => {
            let shown = Shown::of(r, state.engine.get(&r.id).map(String::as_str), now);
            let style = match shown {
                Shown::Running => theme.ok,
                Shown::Expiring | Shown::Starting | Shown::Stopping => theme.warn,
                Shown::Unhealthy | Shown::Exited => theme.bad,
                Shown::Finished => theme.dim,
            };
            Text::from(Span::styled(shown.text(r), style))
        }
        Column::Address => Text::from(row.address.as_str()),
        Column::Node => Text::from(state.node_of(r).to_string()),
        Column::Age => Text::from(format::age(r.created_at, now)),
        Column::Expires => {
            let style: Style = match format::urgency(r.expires_at, now) {
                Urgency::Ok => theme.countdown_ok,
                Urgency::Warn => theme.countdown_warn,
                Urgency::Critical => theme.countdown_critical,
            };
            Text::from(Span::styled(remaining(r.expires_at, now), style))
        }
        Column::Renewals => Text::from(format!("{}/{}", r.renewals, r.max_renewals)),
        Column::Cpu => Text::from(format::cpu(state.stats.get(&r.id))),
        Column::Mem => Text::from(format::mem(state.stats.get(&r.id))),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{sample_app, snapshot_widget};

    #[test]
    fn instances_pane_snapshots() {
        let mut app = sample_app();
        app.instances.marks.insert("b2c3d4".into());
        snapshot_widget!("instances", &app, super::draw);
    }

    #[test]
    fn an_exited_instance_shows_exited_in_the_failure_colour_whatever_the_engine_said() {
        use crate::console::theme::Theme;
        use crate::store::InstanceStatus;
        let mut app = sample_app();
        let mut rows = super::super::testkit::records();
        rows[0].status = InstanceStatus::Exited;
        rows[0].stop_reason = Some("exited with code 3".into());
        app.instances.set_records(rows);
        // The last engine event seen said running (say, the console missed the die).
        app.instances
            .engine
            .insert("a1b2c3".into(), "running".into());
        let theme = Theme::built_in("dark").unwrap();
        let mut terminal =
            ratatui::Terminal::new(ratatui::backend::TestBackend::new(160, 48)).unwrap();
        terminal
            .draw(|f| super::draw(f, f.area(), &app, &theme))
            .unwrap();
        let buffer = terminal.backend().buffer();
        let line = (0..buffer.area.height)
            .find(|&y| {
                (0..buffer.area.width)
                    .map(|x| buffer[(x, y)].symbol())
                    .collect::<String>()
                    .contains("a1b2c3")
            })
            .expect("the exited row is shown");
        // Cells, not bytes: the borders are multi-byte characters.
        let cells: Vec<&str> = (0..buffer.area.width)
            .map(|x| buffer[(x, line)].symbol())
            .collect();
        let at = (0..cells.len().saturating_sub(6))
            .find(|&x| cells[x..x + 6].concat() == "exited")
            .expect("status says exited");
        for x in at..at + 6 {
            assert_eq!(buffer[(x as u16, line)].fg, theme.bad.fg.unwrap());
        }
    }

    #[test]
    fn an_empty_store_says_how_to_spawn() {
        let mut app = sample_app();
        app.instances.set_records(Vec::new());
        snapshot_widget!("instances_empty", &app, super::draw);
    }

    #[test]
    fn a_filter_narrows_the_rows_and_shows_in_the_title() {
        let mut app = sample_app();
        app.instances.set_filter("nc-calc");
        assert!(app.instances.shown() < app.instances.total());
        snapshot_widget!("instances_filtered", &app, super::draw);
    }
}
