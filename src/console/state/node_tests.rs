//! The drain key on a Swarm: which node it offers, what the confirmation carries, what runs,
//! and who may.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::console::event::{Event, OpOutcome};
use crate::console::views::testkit::{records, sample_app};
use crate::domain::nodes::NodeView;
use crate::engine::SwarmNode;

use super::App;
use super::command::{Command, Op, PendingAction};
use super::popup::Popup;

fn press(app: &mut App, code: KeyCode) -> Vec<Command> {
    app.on_key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn node(host: &str, address: &str, availability: &str, k: usize) -> NodeView {
    NodeView {
        node: SwarmNode {
            availability: availability.into(),
            ..SwarmNode::ready_for_tests(host, address)
        },
        instances: k,
    }
}

/// The sample app on a two-node Swarm: every instance on node-2 but the first listed, which is
/// on node-1; node-1 takes instances, node-2 is paused.
fn swarm_app() -> App {
    let mut app = sample_app();
    let mut rows = records();
    for (i, r) in rows.iter_mut().enumerate() {
        for p in &mut r.ports {
            p.host_ip = if i == 0 { "10.99.0.2" } else { "10.99.0.3" }.into();
        }
    }
    app.instances.set_records(rows);
    let _ = app.on_event(Event::Nodes(vec![
        node("node-1", "10.99.0.2", "active", 1),
        node("node-2", "10.99.0.3", "pause", 4),
    ]));
    app
}

fn select_instance(app: &mut App, id: &str) {
    while app.instances.selected_row().unwrap().rec.id != id {
        press(app, KeyCode::Down);
    }
}

#[test]
fn the_drain_key_offers_the_selected_instances_node_and_runs_only_after_yes() {
    let mut app = swarm_app();
    select_instance(&mut app, "a1b2c3");
    assert_eq!(
        app.instances
            .node_of(&app.instances.selected_row().unwrap().rec),
        "node-1"
    );
    app.instances.toggle_mark();
    assert!(press(&mut app, KeyCode::Char('N')).is_empty());
    let Some(Popup::NodeMenu(menu)) = &app.popup else {
        panic!("expected the node menu, got {:?}", app.popup)
    };
    assert_eq!(menu.choices[menu.selected].hostname, "node-1");
    assert!(
        press(&mut app, KeyCode::Enter).is_empty(),
        "nothing runs before yes"
    );
    let Some(Popup::Confirm(pending)) = &app.popup else {
        panic!("expected a confirmation, got {:?}", app.popup)
    };
    assert!(matches!(
        pending,
        PendingAction::NodeTaking { node, take: false, .. } if node == "node-1"
    ));
    assert!(
        pending
            .sentence()
            .starts_with("drain node node-1 (10.99.0.2, 1 instance running)"),
        "{}",
        pending.sentence()
    );
    let commands = press(&mut app, KeyCode::Char('y'));
    assert!(
        matches!(
            commands.as_slice(),
            [Command::Run { request: Op::SetNodeTaking { node, take: false }, .. }] if node == "node-1"
        ),
        "{commands:?}"
    );
    assert!(app.popup.is_none());
    assert_eq!(
        app.instances.marks.len(),
        1,
        "a drain leaves the marks alone"
    );
}

#[test]
fn a_paused_node_chosen_in_the_menu_is_activated() {
    let mut app = swarm_app();
    select_instance(&mut app, "a1b2c3");
    press(&mut app, KeyCode::Char('N'));
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Enter);
    let Some(Popup::Confirm(pending)) = &app.popup else {
        panic!("expected a confirmation, got {:?}", app.popup)
    };
    assert_eq!(pending.verb(), "Activate");
    let commands = press(&mut app, KeyCode::Enter);
    assert!(
        matches!(
            commands.as_slice(),
            [Command::Run { request: Op::SetNodeTaking { node, take: true }, .. }] if node == "node-2"
        ),
        "{commands:?}"
    );
}

#[test]
fn no_at_the_confirmation_changes_nothing() {
    let mut app = swarm_app();
    press(&mut app, KeyCode::Char('N'));
    press(&mut app, KeyCode::Enter);
    assert!(matches!(app.popup, Some(Popup::Confirm(_))));
    assert!(press(&mut app, KeyCode::Esc).is_empty());
    assert!(app.popup.is_none());
    assert!(app.running.is_empty());
    // Escaping the menu itself runs nothing either.
    press(&mut app, KeyCode::Char('N'));
    assert!(press(&mut app, KeyCode::Esc).is_empty());
    assert!(app.popup.is_none() && app.running.is_empty());
}

#[test]
fn a_monitor_is_refused_the_drain_key() {
    let mut app = swarm_app();
    app.read_only = true;
    assert!(press(&mut app, KeyCode::Char('N')).is_empty());
    assert!(app.popup.is_none(), "{:?}", app.popup);
    let flash = app.flash.take().expect("a message");
    assert!(
        flash.error && flash.text.contains("node refused"),
        "{}",
        flash.text
    );
}

#[test]
fn a_single_host_has_no_node_to_drain() {
    let mut app = sample_app();
    assert!(press(&mut app, KeyCode::Char('N')).is_empty());
    assert!(app.popup.is_none());
    assert!(app.flash.take().unwrap().text.contains("no nodes"));
}

#[test]
fn a_drained_node_shows_at_once_and_is_said() {
    let mut app = swarm_app();
    let mut drained = app.nodes[0].node.clone();
    drained.availability = "pause".into();
    let op = match app.run(Op::SetNodeTaking {
        node: "node-1".into(),
        take: false,
    }) {
        Command::Run { op, .. } => op,
        other => panic!("{other:?}"),
    };
    app.on_event(Event::OpDone {
        op,
        outcome: OpOutcome::NodeTaking(Box::new(drained)),
    });
    assert_eq!(app.nodes[0].node.availability, "pause");
    let flash = app.flash.take().unwrap();
    assert!(
        !flash.error && flash.text.contains("node-1: takes no new instances"),
        "{}",
        flash.text
    );
    assert!(app.running.is_empty());
}
