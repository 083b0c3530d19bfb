//! The nodes strip over the panes, on a Swarm only: each node's name, state, availability, live
//! instances, and the CPU and memory ctfdeck's instances have reserved there out of what the
//! node offers (what the scheduler places by), coloured by whether it takes new instances.
//! Drawn from the last sample the nodes task took: nothing here asks the engine.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::console::keys::Action;
use crate::console::state::App;
use crate::console::theme::Theme;
use crate::domain::nodes::NodeView;

/// The strip takes at most a sixth of the screen's rows, and never fewer than this; nodes
/// beyond are counted on its last row.
const MIN_ROWS: usize = 2;

fn max_rows(screen_height: u16) -> usize {
    (usize::from(screen_height) / 6).max(MIN_ROWS)
}

/// Rows on a `width` x `screen_height` screen: none off a Swarm.
pub fn height(app: &App, width: u16, screen_height: u16) -> u16 {
    flow(pieces(app), usize::from(width), max_rows(screen_height)).len() as u16
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    if area.height == 0 {
        return;
    }
    let rows = flow(
        pieces(app),
        usize::from(area.width),
        usize::from(area.height),
    );
    for (i, row) in rows.into_iter().take(usize::from(area.height)).enumerate() {
        let line = Line::from(
            row.into_iter()
                .map(|(text, tone)| Span::styled(text, tone.style(theme)))
                .collect::<Vec<_>>(),
        );
        let row = Rect {
            y: area.y + i as u16,
            height: 1,
            ..area
        };
        frame.render_widget(line, row);
    }
}

/// What a piece of text is, for its colour: the strip is laid out without a theme (its height
/// is needed before drawing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tone {
    Title,
    Dim,
    Plain,
    Ok,
    Warn,
    Bad,
    Key,
    Hint,
}

impl Tone {
    fn style(self, theme: &Theme) -> Style {
        match self {
            Tone::Title => theme.title,
            Tone::Dim => theme.dim,
            Tone::Plain => Style::default(),
            Tone::Ok => theme.ok,
            Tone::Warn => theme.warn,
            Tone::Bad => theme.bad,
            Tone::Key => theme.key,
            Tone::Hint => theme.hint,
        }
    }
}

/// One piece of the strip, kept whole on a row.
struct Piece {
    spans: Vec<(String, Tone)>,
}

impl Piece {
    fn width(&self) -> usize {
        self.spans.iter().map(|(t, _)| t.chars().count()).sum()
    }
}

/// The legend, the drain key, then each node; none off a Swarm.
fn pieces(app: &App) -> Vec<Piece> {
    if app.nodes.is_empty() {
        return Vec::new();
    }
    let mut pieces = vec![Piece {
        spans: vec![
            (" nodes".to_string(), Tone::Title),
            (" (cpu, mem: reserved/reservable)".to_string(), Tone::Dim),
        ],
    }];
    // The drain key only means something here, so it is said here rather than in the hints;
    // before the nodes, so that what a full strip leaves out is only nodes.
    let key = app.keymap.keys_text(Action::Node);
    if !key.is_empty() && !app.read_only {
        pieces.push(Piece {
            spans: vec![
                (key, Tone::Key),
                (" drain/activate".to_string(), Tone::Hint),
            ],
        });
    }
    pieces.extend(app.nodes.iter().map(node_piece));
    pieces
}

fn node_piece(view: &NodeView) -> Piece {
    let n = &view.node;
    let tone = if n.state != "ready" {
        Tone::Bad
    } else if n.availability != "active" {
        Tone::Warn
    } else {
        Tone::Ok
    };
    let name = crate::terminal_text::clean_line(&n.hostname).into_owned();
    let instances = match view.instances {
        1 => "1 instance".to_string(),
        k => format!("{k} instances"),
    };
    Piece {
        spans: vec![
            (name, tone),
            (
                format!(
                    " {} {} {instances} cpu {} mem {}",
                    n.state,
                    n.availability,
                    view.cpus(),
                    view.memory()
                ),
                Tone::Plain,
            ),
        ],
    }
}

/// Pieces into rows of `width`, two spaces apart, never split; past `max_rows` the last row
/// ends with how many were left out (nodes: they come last).
fn flow(pieces: Vec<Piece>, width: usize, max_rows: usize) -> Vec<Vec<(String, Tone)>> {
    if pieces.is_empty() {
        return Vec::new();
    }
    const GAP: &str = "  ";
    let total = pieces.len();
    let mut rows: Vec<Vec<Piece>> = vec![Vec::new()];
    // Columns taken on the current row; rows after the first are indented by one.
    let mut used = 0;
    for piece in pieces {
        let w = piece.width();
        let starts_row = rows.last().is_none_or(Vec::is_empty);
        if !starts_row && used + GAP.len() + w > width {
            rows.push(Vec::new());
            used = 1;
        }
        let starts_row = rows.last().is_none_or(Vec::is_empty);
        used += if starts_row { 0 } else { GAP.len() } + w;
        if let Some(row) = rows.last_mut() {
            row.push(piece);
        }
    }
    let mut left_out = 0;
    if rows.len() > max_rows {
        rows.truncate(max_rows);
        let shown: usize = rows.iter().map(Vec::len).sum();
        left_out = total - shown;
    }
    let last = rows.len() - 1;
    rows.into_iter()
        .enumerate()
        .map(|(i, row)| {
            let mut spans = Vec::new();
            for (j, piece) in row.into_iter().enumerate() {
                let lead = match (i, j) {
                    (0, 0) => "",
                    (_, 0) => " ",
                    _ => GAP,
                };
                spans.push((lead.to_string(), Tone::Plain));
                spans.extend(piece.spans);
            }
            if i == last && left_out > 0 {
                spans.push((format!("  +{left_out} more"), Tone::Dim));
            }
            spans
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{sample_app, screen_text, snapshot_screen};
    use super::max_rows;
    use crate::domain::nodes::NodeView;
    use crate::engine::NodeResources;
    use crate::engine::SwarmNode;

    const GIB: i64 = 1 << 30;

    fn node(host: &str, address: &str, state: &str, availability: &str, k: usize) -> NodeView {
        NodeView {
            node: SwarmNode {
                state: state.into(),
                availability: availability.into(),
                ..SwarmNode::ready_for_tests(host, address)
            },
            instances: k,
        }
    }

    fn with(mut view: NodeView, reserved: (i64, i64), reservable: (i64, i64)) -> NodeView {
        view.node.reserved = NodeResources {
            nano_cpus: reserved.0,
            memory_bytes: reserved.1,
        };
        view.node.reservable = NodeResources {
            nano_cpus: reservable.0,
            memory_bytes: reservable.1,
        };
        view
    }

    #[test]
    fn a_swarm_shows_its_nodes_and_each_instances_node() {
        let mut app = sample_app();
        // The sample rows are published on 0.0.0.0: put two on node-2's address.
        let mut rows = super::super::testkit::records();
        for r in rows.iter_mut().take(2) {
            for p in &mut r.ports {
                p.host_ip = "10.99.0.3".into();
            }
        }
        app.instances.set_records(rows);
        let _ = app.on_event(crate::console::event::Event::Nodes(vec![
            with(
                node("node-1", "10.99.0.2", "ready", "active", 0),
                (0, 0),
                (2_000_000_000, 2 * GIB),
            ),
            with(
                node("node-2", "10.99.0.3", "ready", "pause", 2),
                (500_000_000, 128 << 20),
                (4_000_000_000, 8 * GIB),
            ),
            // A node that is down says nothing of its resources.
            with(
                node("node-3", "10.99.0.4", "down", "active", 1),
                (250_000_000, 64 << 20),
                (0, 0),
            ),
        ]));
        snapshot_screen!("swarm_nodes", &app);
    }

    #[test]
    fn many_nodes_keep_to_their_rows_and_say_how_many_more() {
        let mut app = sample_app();
        let nodes: Vec<NodeView> = (1..=40)
            .map(|i| {
                node(
                    &format!("node-{i}"),
                    &format!("10.99.1.{i}"),
                    "ready",
                    "active",
                    0,
                )
            })
            .collect();
        let _ = app.on_event(crate::console::event::Event::Nodes(nodes));
        let rows = max_rows(24);
        assert_eq!(usize::from(super::height(&app, 80, 24)), rows);
        let text = screen_text(&app, 80, 24);
        let strip: Vec<&str> = text.lines().take(rows).collect();
        assert!(
            strip[0].starts_with(" nodes (cpu, mem: reserved/reservable)"),
            "{strip:?}"
        );
        assert!(
            strip[rows - 1].trim_end().ends_with("more"),
            "the last row counts what is left out: {strip:?}"
        );
        let shown = strip
            .iter()
            .map(|l| l.matches("node-").count())
            .sum::<usize>();
        let more: usize = strip[rows - 1]
            .trim_end()
            .rsplit('+')
            .next()
            .and_then(|t| t.trim_end_matches(" more").parse().ok())
            .unwrap_or(0);
        assert_eq!(shown + more, 40, "{strip:?}");
    }
}
