//! The nodes strip over the panes, on a Swarm only: each node's name, state, availability and
//! live instances, coloured by whether it takes new instances.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use crate::console::keys::Action;
use crate::console::state::App;
use crate::console::theme::Theme;

/// One line on a Swarm, none otherwise.
pub fn height(app: &App) -> u16 {
    u16::from(!app.nodes.is_empty())
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    if area.height == 0 || app.nodes.is_empty() {
        return;
    }
    let mut spans = vec![Span::styled(" nodes ", theme.dim)];
    for view in &app.nodes {
        let n = &view.node;
        let style = if n.state != "ready" {
            theme.bad
        } else if n.availability != "active" {
            theme.warn
        } else {
            theme.ok
        };
        let name = crate::terminal_text::clean_line(&n.hostname).into_owned();
        spans.push(Span::styled(name, style));
        spans.push(Span::raw(format!(
            " {} {} {} · ",
            n.state,
            n.availability,
            match view.instances {
                1 => "1 instance".to_string(),
                k => format!("{k} instances"),
            }
        )));
    }
    // The drain key only means something here, so it is said here rather than in the hints.
    let key = app.keymap.keys_text(Action::Node);
    if !key.is_empty() && !app.read_only {
        spans.push(Span::styled(key, theme.key));
        spans.push(Span::styled(" drain/activate", theme.hint));
    }
    frame.render_widget(Line::from(spans), area);
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{sample_app, snapshot_screen};
    use crate::domain::nodes::NodeView;
    use crate::engine::SwarmNode;

    fn node(host: &str, address: &str, state: &str, availability: &str, k: usize) -> NodeView {
        NodeView {
            node: SwarmNode {
                id: format!("id-{host}"),
                hostname: host.into(),
                address: address.into(),
                state: state.into(),
                availability: availability.into(),
                manager: false,
                engine_version: "20.10.24".into(),
            },
            instances: k,
        }
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
            node("node-1", "10.99.0.2", "ready", "active", 0),
            node("node-2", "10.99.0.3", "ready", "pause", 2),
            node("node-3", "10.99.0.4", "down", "active", 1),
        ]));
        snapshot_screen!("swarm_nodes", &app);
    }
}
