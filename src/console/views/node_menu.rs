//! The node menu: choose the Swarm node to drain (or let take instances again); the
//! confirmation then says what it does.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::console::keys::Action;
use crate::console::state::App;
use crate::console::state::popup::NodeMenu;
use crate::console::theme::Theme;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, menu: &NodeMenu, theme: &Theme) {
    let rect = super::centered(area, 64, menu.choices.len() as u16 + 7);
    let block = super::popup_frame(frame, rect, "Node: drain or activate?", theme.popup, theme);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let mut lines: Vec<Line> = menu
        .choices
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mark = if i == menu.selected { "›" } else { " " };
            let text =
                crate::terminal_text::clean_line(&format!(" {mark} {}", c.label())).into_owned();
            let style = if i == menu.selected {
                theme.selected
            } else {
                theme.popup
            };
            Line::styled(
                format!("{text:<width$}", width = inner.width as usize),
                style,
            )
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        " drained: takes no new instances; running ones stay",
        theme.dim,
    ));
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![
        Span::styled(app.keymap.keys_text(Action::Confirm), theme.key),
        Span::styled(" choose (you confirm next)   ", theme.popup),
        Span::styled(app.keymap.keys_text(Action::Cancel), theme.key),
        Span::styled(" cancel", theme.popup),
    ]));
    frame.render_widget(Paragraph::new(lines).style(theme.popup), inner);
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{sample_app, snapshot_screen};
    use crate::console::state::popup::{NodeMenu, Popup};
    use crate::domain::nodes::NodeView;
    use crate::engine::SwarmNode;

    fn node(host: &str, address: &str, availability: &str, k: usize) -> NodeView {
        NodeView {
            node: SwarmNode {
                availability: availability.into(),
                ..SwarmNode::ready_for_tests(host, address)
            },
            instances: k,
        }
    }

    #[test]
    fn node_menu_snapshots() {
        let mut app = sample_app();
        let nodes = vec![
            node("node-1", "10.99.0.2", "active", 3),
            node("node-2", "10.99.0.3", "pause", 0),
        ];
        let _ = app.on_event(crate::console::event::Event::Nodes(nodes.clone()));
        app.popup = Some(Popup::NodeMenu(NodeMenu::new(&nodes, "node-1")));
        snapshot_screen!("node_menu", &app);
    }
}
