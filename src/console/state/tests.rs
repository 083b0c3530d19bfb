//! Key handling driven by constructed key events: what each key does to the state and which
//! commands it asks for.

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::config::KeySetting;
use crate::console::event::{Event, OpOutcome};
use crate::console::keys::{Context, Keymap};
use crate::console::views::testkit::{NOW, records, sample_app};
use crate::domain::PurgeSelector;

use super::command::{Command, Op, PendingAction};
use super::popup::Popup;
use super::{App, Redraw, format};

fn press(app: &mut App, code: KeyCode) -> Vec<Command> {
    app.on_key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        press(app, KeyCode::Char(c));
    }
}

fn selected_id(app: &App) -> String {
    app.instances.selected_row().unwrap().rec.id.clone()
}

#[test]
fn slash_filters_as_you_type_and_esc_clears() {
    let mut app = sample_app();
    assert!(press(&mut app, KeyCode::Char('/')).is_empty());
    typed(&mut app, "nc-calc");
    assert_eq!(app.instances.shown(), 2);
    assert!(app.instances.row_at(0).unwrap().rec.challenge == "nc-calc");
    press(&mut app, KeyCode::Enter);
    assert!(app.filter_input.is_none());
    assert_eq!(app.instances.filter, "nc-calc", "enter keeps the filter");
    // Several words must all match: owner and challenge.
    press(&mut app, KeyCode::Char('/'));
    typed(&mut app, " team:red");
    assert_eq!(app.instances.shown(), 1);
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.instances.filter, "");
    assert_eq!(app.instances.shown(), records().len());
}

#[test]
fn space_marks_and_moves_down_and_stop_confirms_exactly_the_marked() {
    let mut app = sample_app();
    let first = selected_id(&app);
    press(&mut app, KeyCode::Char(' '));
    let second = selected_id(&app);
    assert_ne!(first, second, "mark moves to the next row");
    press(&mut app, KeyCode::Char(' '));
    assert_eq!(app.instances.marks.len(), 2);
    assert!(
        press(&mut app, KeyCode::Char('x')).is_empty(),
        "nothing runs before yes"
    );
    let Some(Popup::Confirm(PendingAction::Stop { ids, summary })) = &app.popup else {
        panic!("expected a stop confirmation, got {:?}", app.popup)
    };
    let mut want = vec![first.clone(), second.clone()];
    want.sort();
    let mut got = ids.clone();
    got.sort();
    assert_eq!(got, want);
    assert_eq!(summary, "2 instances of web-robots owned by 2 owners");
    let commands = press(&mut app, KeyCode::Char('y'));
    let [
        Command::Run {
            request: Op::Stop { ids, .. },
            ..
        },
    ] = commands.as_slice()
    else {
        panic!("expected one stop, got {commands:?}")
    };
    let mut got = ids.clone();
    got.sort();
    assert_eq!(
        got, want,
        "the confirmation ran exactly the action it carried"
    );
    assert!(app.popup.is_none());
    assert!(app.instances.marks.is_empty());
}

#[test]
fn no_cancels_and_nothing_runs() {
    let mut app = sample_app();
    press(&mut app, KeyCode::Char('x'));
    assert!(matches!(app.popup, Some(Popup::Confirm(_))));
    assert!(press(&mut app, KeyCode::Char('n')).is_empty());
    assert!(app.popup.is_none());
    assert!(
        app.flash
            .as_ref()
            .unwrap()
            .text
            .contains("nothing was changed")
    );
    assert!(app.running.is_empty());
}

#[test]
fn reset_confirms_the_selected_instance() {
    let mut app = sample_app();
    let id = selected_id(&app);
    press(&mut app, KeyCode::Char('r'));
    let Some(Popup::Confirm(pending)) = &app.popup else {
        panic!("no confirmation")
    };
    assert_eq!(pending.ids(), vec![id.clone()]);
    assert!(pending.sentence().contains(&id), "{}", pending.sentence());
    let commands = press(&mut app, KeyCode::Enter);
    assert!(
        matches!(commands.as_slice(), [Command::Run { request: Op::Reset { id: got }, .. }] if *got == id)
    );
}

#[test]
fn extend_runs_in_the_background_for_the_selected_row() {
    let mut app = sample_app();
    let id = selected_id(&app);
    let commands = press(&mut app, KeyCode::Char('e'));
    assert!(
        matches!(commands.as_slice(), [Command::Run { request: Op::Extend { id: got }, .. }] if *got == id)
    );
    assert_eq!(
        app.running.len(),
        1,
        "shown as in flight until it reports back"
    );
}

#[test]
fn read_only_refuses_every_mutating_key_with_a_message() {
    let mut app = sample_app();
    app.read_only = true;
    for key in ['s', 'e', 'x', 'r', 'P'] {
        let commands = press(&mut app, KeyCode::Char(key));
        assert!(commands.is_empty(), "{key} ran {commands:?}");
        assert!(app.popup.is_none(), "{key} opened {:?}", app.popup);
        let flash = app.flash.take().expect("a message");
        assert!(
            flash.error && flash.text.contains("read-only"),
            "{}",
            flash.text
        );
    }
    app.focus = Context::Catalog;
    assert!(press(&mut app, KeyCode::Char('b')).is_empty());
    assert!(app.flash.take().unwrap().text.contains("refused"));
    // Not mutating: still works.
    app.focus = Context::Instances;
    press(&mut app, KeyCode::Char('/'));
    assert!(app.filter_input.is_some());
    press(&mut app, KeyCode::Esc);
    // Revealing a flag needs the admin role.
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('v'));
    let Some(Popup::Detail(d)) = &app.popup else {
        panic!("detail popup")
    };
    assert!(!d.revealed);
}

#[test]
fn purge_menu_selects_through_the_domain_then_confirms_what_goes() {
    let mut app = sample_app();
    let challenge = app.instances.selected_row().unwrap().rec.challenge.clone();
    press(&mut app, KeyCode::Char('P'));
    assert!(matches!(app.popup, Some(Popup::PurgeMenu(_))));
    press(&mut app, KeyCode::Down);
    let commands = press(&mut app, KeyCode::Enter);
    let [
        Command::Run {
            op,
            request: Op::SelectPurge(PurgeSelector::Challenge(c)),
        },
    ] = commands.as_slice()
    else {
        panic!("expected a selection, got {commands:?}")
    };
    assert_eq!(*c, challenge);
    let selected: Vec<_> = records()
        .into_iter()
        .filter(|r| r.challenge == challenge)
        .collect();
    let ids: Vec<String> = selected.iter().map(|r| r.id.clone()).collect();
    app.on_event(Event::OpDone {
        op: *op,
        outcome: OpOutcome::Selected {
            selector: PurgeSelector::Challenge(challenge.clone()),
            records: selected,
        },
    });
    let Some(Popup::Confirm(PendingAction::Purge {
        ids: got, summary, ..
    })) = &app.popup
    else {
        panic!("expected a purge confirmation, got {:?}", app.popup)
    };
    assert_eq!(*got, ids);
    assert_eq!(
        summary,
        &format!("2 instances of {challenge} owned by 2 owners")
    );
    let commands = press(&mut app, KeyCode::Char('y'));
    assert!(
        matches!(commands.as_slice(), [Command::Run { request: Op::Stop { ids: got, reason }, .. }] if *got == ids && reason == "purged")
    );
}

#[test]
fn spawn_preselects_the_challenge_and_completes_owners() {
    let mut app = sample_app();
    let challenge = app.instances.selected_row().unwrap().rec.challenge.clone();
    press(&mut app, KeyCode::Char('s'));
    let Some(Popup::Spawn(form)) = &app.popup else {
        panic!("spawn popup")
    };
    assert_eq!(form.challenge, challenge);
    typed(&mut app, "team:g");
    press(&mut app, KeyCode::Tab);
    let Some(Popup::Spawn(form)) = &app.popup else {
        panic!("spawn popup")
    };
    assert_eq!(form.input.value(), "team:green");
    let commands = press(&mut app, KeyCode::Enter);
    let [
        Command::Run {
            request: Op::Spawn {
                challenge: c,
                owner,
            },
            ..
        },
    ] = commands.as_slice()
    else {
        panic!("expected a spawn, got {commands:?}")
    };
    assert_eq!(
        (c.as_str(), owner.to_string().as_str()),
        (challenge.as_str(), "team:green")
    );
}

#[test]
fn an_invalid_owner_is_explained_and_nothing_spawns() {
    let mut app = sample_app();
    press(&mut app, KeyCode::Char('s'));
    typed(&mut app, "red team");
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    let Some(Popup::Spawn(form)) = &app.popup else {
        panic!("popup stays open")
    };
    assert!(form.error.as_deref().unwrap().contains("team:NAME"));
}

#[test]
fn a_smoke_owner_is_refused_in_the_form_and_nothing_spawns() {
    let mut app = sample_app();
    press(&mut app, KeyCode::Char('s'));
    typed(&mut app, "smoke:red");
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    let Some(Popup::Spawn(form)) = &app.popup else {
        panic!("popup stays open")
    };
    let error = form.error.as_deref().unwrap();
    assert!(
        error.contains("smoke:red") && error.contains("reserved"),
        "{error}"
    );
    assert!(app.running.is_empty());
}

#[test]
fn smoke_owners_in_the_store_are_never_offered_for_completion() {
    let form =
        super::popup::SpawnForm::new("nc-calc", vec!["smoke:k3j9".into(), "team:red".into()]);
    assert_eq!(form.suggestions(), vec!["team:red".to_string()]);
    let mut form = form;
    form.input = tui_input::Input::new("s".into());
    assert!(form.suggestions().is_empty(), "{:?}", form.suggestions());
    form.input = tui_input::Input::new("t".into());
    assert_eq!(form.suggestions(), vec!["team:red".to_string()]);
}

#[test]
fn rebound_keys_dispatch_and_old_ones_do_nothing() {
    let mut app = sample_app();
    let overrides = BTreeMap::from([("spawn".to_string(), KeySetting::One("S".into()))]);
    app.keymap = Keymap::new(&overrides).unwrap();
    press(&mut app, KeyCode::Char('s'));
    assert!(app.popup.is_none());
    app.on_key(KeyEvent::new(KeyCode::Char('S'), KeyModifiers::SHIFT));
    assert!(matches!(app.popup, Some(Popup::Spawn(_))));
}

#[test]
fn tab_cycles_panes_and_l_focuses_logs() {
    let mut app = sample_app();
    assert_eq!(app.focus, Context::Instances);
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, Context::Logs);
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, Context::Catalog);
    press(&mut app, KeyCode::BackTab);
    assert_eq!(app.focus, Context::Logs);
    app.focus = Context::Catalog;
    press(&mut app, KeyCode::Char('l'));
    assert_eq!(app.focus, Context::Logs);
    assert!(matches!(
        press(&mut app, KeyCode::Char('q')).as_slice(),
        [Command::Quit]
    ));
}

#[test]
fn moving_the_selection_follows_that_instances_logs() {
    let mut app = sample_app();
    let commands = press(&mut app, KeyCode::Down);
    let [Command::FollowLogs(Some(target))] = commands.as_slice() else {
        panic!("expected to follow, got {commands:?}")
    };
    assert_eq!(target.instance, selected_id(&app));
    assert_eq!(target.generation, app.logs.generation);
    // Lines of the old stream are ignored.
    app.on_event(Event::LogLines {
        generation: target.generation - 1,
        lines: vec!["stale\n".into()],
    });
    assert!(app.logs.is_empty());
}

#[test]
fn the_tick_redraws_only_when_a_visible_countdown_changes() {
    let mut app = sample_app();
    // Only a row whose countdown reads in hours and minutes is on screen.
    app.instances.set_filter("d4e5f6");
    app.instances.window(10);
    app.drawn();
    app.on_event(Event::Tick(NOW + 20_000));
    assert_eq!(
        app.redraw(),
        Redraw::Nothing,
        "2h01m still reads 2h01m: nothing to draw"
    );
    app.on_event(Event::Tick(NOW + 61_000));
    assert_eq!(
        app.redraw(),
        Redraw::Clocks,
        "the countdown moved to 2h00m: its cells, not the whole screen"
    );
    app.clocks_drawn();
    assert_eq!(app.redraw(), Redraw::Nothing);
    // Anything else that changes makes it the whole screen again.
    app.on_event(Event::Tick(NOW + 121_000));
    app.on_event(Event::Redraw);
    assert_eq!(app.redraw(), Redraw::Whole);
    app.drawn();
    assert_eq!(app.redraw(), Redraw::Nothing);
}

#[test]
fn a_last_smoke_age_that_moves_redraws_the_screen() {
    let mut app = sample_app();
    // Only a row whose countdown reads in hours and minutes is on screen.
    app.instances.set_filter("d4e5f6");
    app.instances.window(10);
    app.catalog.last_smoke.insert(
        "web-robots".into(),
        crate::console::state::smoke::LastSmoke {
            at: NOW - 120_000,
            failed: None,
        },
    );
    app.dirty = true;
    app.drawn();
    app.on_event(Event::Tick(NOW + 5_000));
    assert!(!app.dirty, "the pane still reads 2m ago");
    app.on_event(Event::Tick(NOW + 60_000));
    assert!(
        app.dirty,
        "3m ago is outside the instances pane: the whole screen"
    );
}

#[test]
fn engine_loss_shows_and_return_resumes_following() {
    let mut app = sample_app();
    app.on_event(Event::EngineLost {
        reason: "connection refused".into(),
        retry_in_secs: 2,
    });
    assert!(!app.engine.connected);
    let commands = app.on_event(Event::EngineBack {
        version: "20.10".into(),
    });
    assert!(app.engine.connected);
    assert!(matches!(
        commands.as_slice(),
        [Command::FollowLogs(Some(_))]
    ));
    assert!(
        app.instances.total() == records().len(),
        "nothing forgotten"
    );
}

#[test]
fn a_running_instance_near_expiry_shows_as_expiring() {
    let app = sample_app();
    let rec = &app.instances.by_id("b2c3d4").unwrap().rec;
    assert_eq!(format::Shown::of(rec, None, NOW).text(rec), "expiring");
    assert_eq!(
        format::Shown::of(rec, Some("exited"), NOW).text(rec),
        "exited"
    );
}

#[test]
fn logs_start_once_a_starting_instance_gets_its_container() {
    let mut app = sample_app();
    let mut rows = records();
    rows.retain(|r| r.id == "f6g7h8");
    app.instances.set_records(rows.clone());
    let commands = app.follow_selected();
    assert!(matches!(commands.as_slice(), [Command::FollowLogs(None)]));
    assert!(
        app.follow_selected().is_empty(),
        "no container yet: nothing new"
    );
    rows[0].container_id = Some("c0ffee".into());
    rows[0].status = crate::store::InstanceStatus::Running;
    let commands = app.on_event(Event::Store(crate::console::event::StoreSnapshot {
        instances: rows,
        audit: Vec::new(),
        api: None,
    }));
    assert!(
        matches!(commands.as_slice(), [Command::FollowLogs(Some(t))] if t.container == "c0ffee"),
        "{commands:?}"
    );
}

#[test]
fn whose_flag_looks_up_what_is_pasted_even_when_read_only() {
    let mut app = sample_app();
    app.read_only = true;
    assert!(press(&mut app, KeyCode::Char('F')).is_empty());
    assert!(app.flag_input.is_some(), "F opens the flag prompt");
    typed(&mut app, " flag{0123456789abcdef} ");
    let commands = press(&mut app, KeyCode::Enter);
    let [
        Command::Run {
            op,
            request: Op::WhoseFlag { flag },
        },
    ] = commands.as_slice()
    else {
        panic!("expected a lookup, got {commands:?}")
    };
    assert_eq!(flag, "flag{0123456789abcdef}", "trimmed");
    assert!(app.flag_input.is_none());

    // Nothing found: said plainly, no popup.
    app.on_event(Event::OpDone {
        op: *op,
        outcome: OpOutcome::FlagOwners {
            flag: flag.clone(),
            owners: Vec::new(),
        },
    });
    assert!(app.popup.is_none());
    let said = app.flash.as_ref().unwrap();
    assert!(said.error && said.text.contains("no instance"), "{said:?}");

    // Found: the popup lists the owner, and esc closes it.
    let rec = records()[1].clone();
    app.on_event(Event::OpDone {
        op: *op,
        outcome: OpOutcome::FlagOwners {
            flag: flag.clone(),
            owners: vec![crate::domain::FlagOwner::Instance(Box::new(
                crate::domain::InstanceView::from(&rec),
            ))],
        },
    });
    assert!(matches!(&app.popup, Some(Popup::Whose(w)) if w.owners.len() == 1));
    assert_eq!(app.context(), Context::Whose);
    press(&mut app, KeyCode::Esc);
    assert!(app.popup.is_none());
}

#[test]
fn an_empty_flag_prompt_looks_nothing_up() {
    let mut app = sample_app();
    press(&mut app, KeyCode::Char('F'));
    typed(&mut app, "   ");
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    press(&mut app, KeyCode::Char('F'));
    typed(&mut app, "flag{x}");
    assert!(press(&mut app, KeyCode::Esc).is_empty());
    assert!(app.flag_input.is_none());
}

#[test]
fn a_shared_flag_arriving_in_the_audit_is_said_in_the_status_bar_once() {
    let entry = |seq: i64, action: &str| crate::store::AuditEntry {
        seq,
        at: NOW,
        actor: "scoreboard".into(),
        origin: "local".into(),
        action: action.into(),
        instance: Some("a1b2c3".into()),
        detail: "web-robots flag of team:red submitted by team:blue".into(),
        outcome: "detected".into(),
    };
    let snapshot = |audit| {
        Event::Store(crate::console::event::StoreSnapshot {
            instances: records(),
            audit,
            api: None,
        })
    };
    let mut app = sample_app();
    // What is already in the log when the console opens is history, not news.
    app.on_event(snapshot(vec![entry(1, "flag-shared")]));
    assert!(
        app.flash.is_none(),
        "{:?}",
        app.flash.as_ref().map(|f| &f.text)
    );
    // Other new activity says nothing.
    app.on_event(snapshot(vec![entry(1, "flag-shared"), entry(2, "extend")]));
    assert!(app.flash.is_none());
    // A new shared flag does, naming both owners and the instance.
    app.on_event(snapshot(vec![
        entry(1, "flag-shared"),
        entry(2, "extend"),
        entry(3, "flag-shared"),
    ]));
    let flash = app.flash.take().expect("an alert");
    assert!(flash.error);
    assert_eq!(
        flash.text,
        "flag sharing: web-robots flag of team:red submitted by team:blue on a1b2c3"
    );
    // The same snapshot again (another commit elsewhere) does not repeat it.
    app.on_event(snapshot(vec![entry(3, "flag-shared"), entry(4, "stop")]));
    assert!(app.flash.is_none());
    // Several at once: the newest, and how many more.
    app.on_event(snapshot(vec![
        entry(5, "flag-shared"),
        entry(6, "flag-shared"),
    ]));
    assert!(
        app.flash
            .take()
            .unwrap()
            .text
            .ends_with("(+1 more, see the activity log)")
    );
}

#[test]
fn a_stopped_store_watcher_is_said_on_screen() {
    let mut app = sample_app();
    let before = crate::console::views::testkit::screen_text(&app, 120, 32);
    assert!(!before.contains("STORE NOT WATCHED"), "{before}");
    app.drawn();
    app.on_event(Event::StoreWatchStopped(
        "unable to open database file".into(),
    ));
    assert!(app.dirty);
    let screen = crate::console::views::testkit::screen_text(&app, 120, 32);
    assert!(
        screen.contains("STORE NOT WATCHED: unable to open database file"),
        "{screen}"
    );
    assert!(screen.contains("team:red"), "the rows stay: {screen}");
}

#[test]
fn a_logged_warning_shows_in_the_activity_pane_at_its_time_and_in_the_status_bar() {
    use crate::console::logging::Warning;
    let mut app = sample_app();
    press(&mut app, KeyCode::Char('l'));
    press(&mut app, KeyCode::Char('a'));
    let audit = app.logs.len();
    app.on_event(Event::Warning(Warning {
        level: tracing::Level::WARN,
        message: "reconciling store and engine: \u{1b}]0;title\u{7}timeout".into(),
    }));
    assert_eq!(app.logs.len(), audit + 1);
    let last = app.logs.line(audit).unwrap();
    assert_eq!(last.text, "warning: reconciling store and engine: timeout");
    assert_eq!(app.flash.as_ref().map(|f| f.error), Some(true));
    let screen = crate::console::views::testkit::screen_text(&app, 160, 48);
    assert!(
        screen.contains("warning: reconciling store and engine"),
        "{screen}"
    );
}

#[test]
fn starting_without_the_engine_then_connecting_says_so_and_takes_its_version() {
    let mut app = sample_app();
    app.on_event(Event::EngineLost {
        reason: "engine unreachable at unix:///nonexistent.sock".into(),
        retry_in_secs: 1,
    });
    let screen = crate::console::views::testkit::screen_text(&app, 120, 32);
    assert!(screen.contains("ENGINE LOST"), "{screen}");
    assert!(
        screen.contains("team:red"),
        "the store's rows show: {screen}"
    );
    app.on_event(Event::EngineBack {
        version: "27.1".into(),
    });
    assert!(app.engine.connected);
    assert_eq!(app.engine.version, "27.1");
    assert!(app.flash.as_ref().unwrap().text.contains("engine is back"));
}

#[test]
fn the_api_heartbeat_arrives_with_the_store_and_going_stale_redraws() {
    let mut app = sample_app();
    let beat = crate::domain::api_status::ApiStatus {
        listen: "127.0.0.1:8787".into(),
        pid: 4242,
        started_at: NOW - 60_000,
        updated_at: NOW,
        interval_ms: 5_000,
        requests_per_min: 9,
        errors_per_min: 0,
        queue_length: 0,
        stopped_at: None,
    };
    app.on_event(Event::Store(crate::console::event::StoreSnapshot {
        // No instances: no countdown moves, so only the API can ask for a redraw.
        instances: Vec::new(),
        audit: Vec::new(),
        api: Some(beat),
    }));
    assert!(app.dirty);
    app.tick_to(NOW + 1_000);
    assert!(!app.api_fact().unwrap().alarm);
    app.drawn();
    // Still fresh at 15 s: nothing to redraw.
    app.tick_to(NOW + 15_000);
    assert!(!app.dirty);
    assert!(
        app.api_fact()
            .unwrap()
            .text
            .starts_with("API 127.0.0.1:8787")
    );
    app.drawn();
    // No store change, yet three beats missed: the bar must say so.
    app.tick_to(NOW + 16_000);
    assert!(app.dirty, "a stale heartbeat redraws");
    assert_eq!(app.api_fact().unwrap().text, "API down (last seen 16s ago)");
}

impl App {
    fn tick_to(&mut self, now: crate::store::Millis) {
        self.on_event(Event::Tick(now));
    }
}
