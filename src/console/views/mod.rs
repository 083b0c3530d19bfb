//! Drawing: one file per widget or popup, each a function of the state and the theme. Views
//! only read the state; nothing here talks to the engine or the store.

mod banner;
mod catalog;
mod confirm;
mod detail;
mod help;
mod instances;
mod logs;
mod node_menu;
mod nodes;
mod purge;
mod smoke;
mod spawn;
mod status;
#[cfg(test)]
pub(crate) mod testkit;
mod whose;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear};

use super::keys::Context;
use super::state::App;
use super::state::popup::Popup;
use super::theme::Theme;

/// Where each pane goes for a given body area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Panes {
    pub catalog: Rect,
    pub instances: Rect,
    pub logs: Rect,
}

/// Narrow screens stack the panes; wide ones put catalog and logs side by side under the
/// instances, which always get the most room.
pub fn panes(body: Rect, challenges: usize) -> Panes {
    if body.width >= 120 {
        let bottom = (body.height / 3).max(8).min(body.height.saturating_sub(6));
        let [instances, rest] =
            Layout::vertical([Constraint::Min(6), Constraint::Length(bottom)]).areas(body);
        let [catalog, logs] =
            Layout::horizontal([Constraint::Length(56), Constraint::Min(20)]).areas(rest);
        Panes {
            catalog,
            instances,
            logs,
        }
    } else {
        let catalog_h = (challenges as u16 + 3).min(body.height / 3).max(4);
        let logs_h = (body.height / 4).max(4);
        let [catalog, instances, logs] = Layout::vertical([
            Constraint::Length(catalog_h),
            Constraint::Min(5),
            Constraint::Length(logs_h),
        ])
        .areas(body);
        Panes {
            catalog,
            instances,
            logs,
        }
    }
}

/// Where each part of the screen goes.
struct Areas {
    banner: Rect,
    nodes: Rect,
    panes: Panes,
    status: Rect,
}

/// The status bar: hints or a message over a line of facts.
const STATUS_HEIGHT: u16 = 2;

fn areas(area: Rect, app: &App) -> Areas {
    let [banner, nodes, body, status] = Layout::vertical([
        Constraint::Length(banner::height(app)),
        Constraint::Length(nodes::height(app, area.width, area.height)),
        Constraint::Min(0),
        Constraint::Length(STATUS_HEIGHT),
    ])
    .areas(area);
    Areas {
        banner,
        nodes,
        panes: panes(body, app.catalog.rows.len()),
        status,
    }
}

/// The whole screen.
pub fn draw(frame: &mut Frame, app: &App, theme: &Theme) {
    let area = frame.area();
    frame.render_widget(Block::default().style(theme.base), area);
    let a = areas(area, app);
    banner::draw(frame, a.banner, app, theme);
    nodes::draw(frame, a.nodes, app, theme);
    catalog::draw(frame, a.panes.catalog, app, theme);
    instances::draw(frame, a.panes.instances, app, theme);
    logs::draw(frame, a.panes.logs, app, theme);
    status::draw(frame, a.status, app, theme);
    match &app.popup {
        None => {}
        Some(Popup::Help { scroll }) => help::draw(frame, area, app, *scroll, theme),
        Some(Popup::Confirm(pending)) => confirm::draw(frame, area, app, pending, theme),
        Some(Popup::Spawn(form)) => spawn::draw(frame, area, form, theme),
        Some(Popup::Detail(d)) => detail::draw(frame, area, app, d, theme),
        Some(Popup::PurgeMenu(menu)) => purge::draw(frame, area, app, menu, theme),
        Some(Popup::NodeMenu(menu)) => node_menu::draw(frame, area, app, menu, theme),
        Some(Popup::Whose(w)) => whose::draw(frame, area, app, w, theme),
        Some(Popup::Smoke(v)) => smoke::draw(frame, area, app, v, theme),
    }
}

/// Whether [`draw_clocks`] may stand in for a whole draw: nothing lies over the instances
/// pane (no popup) and no cursor is shown (no input line), so the last frame with its clock
/// cells drawn again is the whole frame.
pub fn clocks_drawable(app: &App) -> bool {
    app.popup.is_none()
        && app.filter_input.is_none()
        && app.logs.search_input.is_none()
        && app.flag_input.is_none()
}

/// Draw only the instances' clock cells again, over `buf` holding the last whole frame drawn
/// from the same state (only the clock moved since: see `App::redraw`); each cell that
/// changed goes into `changed` with what it held before.
pub fn draw_clocks(
    buf: &mut ratatui::buffer::Buffer,
    app: &App,
    theme: &Theme,
    changed: &mut Vec<(ratatui::layout::Position, ratatui::buffer::Cell)>,
) {
    let a = areas(buf.area, app);
    instances::draw_clocks(buf, a.panes.instances, app, theme, changed);
}

/// A pane's frame: highlighted when it has the focus.
pub(crate) fn pane_block<'a>(title: Line<'a>, focused: bool, theme: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Plain
        })
        .border_style(if focused {
            theme.border_focus
        } else {
            theme.border
        })
        .title(title)
        .title_style(theme.title)
}

/// A popup's frame over a cleared area.
pub(crate) fn popup_frame<'a>(
    frame: &mut Frame,
    area: Rect,
    title: &'a str,
    style: Style,
    theme: &Theme,
) -> Block<'a> {
    frame.render_widget(Clear, area);
    Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Double)
        .border_style(theme.popup_border)
        .title(Span::styled(format!(" {title} "), theme.popup_title))
        .style(style)
}

/// A popup as tall as the screen above the status bar, `width` wide and centred: the status
/// bar stays in sight, so a message (a refused key, say) is seen while the popup is open.
pub(crate) fn tall(area: Rect, width: u16) -> Rect {
    let above = Rect {
        height: area.height.saturating_sub(STATUS_HEIGHT),
        ..area
    };
    centered(above, width, above.height)
}

/// A `width` x `height` rectangle centred in `area`, shrunk to fit.
pub(crate) fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// `key label  key label …` for a context, from the action table, fitted to `width`: when
/// not all fit, the last ones (help and quit) stay and the middle gives way.
pub(crate) fn hint_spans(
    app: &App,
    ctx: Context,
    theme: &Theme,
    width: usize,
) -> Vec<Span<'static>> {
    let hints = app.keymap.hints(ctx);
    let cost = |(k, l): &(String, &str)| k.chars().count() + l.chars().count() + 3;
    // Help and quit come last in the table: keep them, drop from just before them.
    let pinned = hints.len().min(2);
    let (rest, tail) = hints.split_at(hints.len() - pinned);
    let mut room = width.saturating_sub(tail.iter().map(cost).sum());
    let mut shown: Vec<&(String, &str)> = Vec::new();
    for h in rest {
        if cost(h) > room {
            break;
        }
        room -= cost(h);
        shown.push(h);
    }
    shown.extend(tail.iter());
    let mut spans = Vec::new();
    for (key, label) in shown {
        spans.push(Span::styled(key.clone(), theme.key));
        spans.push(Span::styled(format!(" {label}  "), theme.hint));
    }
    spans
}

/// Cut `text` to `width` characters, marking the cut with `…`.
pub(crate) fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::testkit::{render_screen, sample_app};
    use crate::console::theme::Theme;

    /// The two themes the widget snapshots do not cover, on the whole screen.
    #[test]
    fn high_contrast_and_monochrome_screens() {
        let app = sample_app();
        for name in ["high-contrast", "monochrome"] {
            let theme = Theme::built_in(name).unwrap();
            for (w, h) in super::testkit::SIZES {
                let buffer = render_screen(&app, &theme, w, h);
                insta::assert_debug_snapshot!(format!("screen_{name}_{w}x{h}"), buffer);
            }
        }
    }

    /// Monochrome must not lean on colour: urgency and selection still show by attributes.
    #[test]
    fn monochrome_uses_no_colour_at_all() {
        let theme = Theme::built_in("monochrome").unwrap();
        let buffer = render_screen(&sample_app(), &theme, 160, 48);
        for cell in buffer.content() {
            assert_eq!(cell.fg, ratatui::style::Color::Reset);
            assert_eq!(cell.bg, ratatui::style::Color::Reset);
        }
    }
}
