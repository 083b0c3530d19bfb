//! Keys → actions → state changes and commands, through the one action table.

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use crate::console::keys::{self, Action, Context};
use crate::domain::describe_selection;
use crate::domain::{Owner, PurgeSelector};

use super::command::{Command, LogTarget, Op, PendingAction};
use super::logs::LogSource;
use super::popup::{DetailView, NodeMenu, Popup, PurgeChoice, PurgeMenu, SpawnForm, WhoseView};
use super::smoke::SmokeView;
use super::{App, catalog::ImageState};

impl App {
    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Command> {
        self.dirty = true;
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            self.quit = true;
            return vec![Command::Quit];
        }
        if self.filter_input.is_some() {
            self.filter_key(key);
            return Vec::new();
        }
        if self.logs.search_input.is_some() {
            self.search_key(key);
            return Vec::new();
        }
        if self.flag_input.is_some() {
            return self.flag_key(key);
        }
        if matches!(self.popup, Some(Popup::Spawn(_))) {
            return self.spawn_key(key);
        }
        let ctx = self.context();
        let Some(action) = self.keymap.action(ctx, &key) else {
            return Vec::new();
        };
        let info = keys::info(action);
        if self.read_only && (info.mutating || info.admin_only) {
            self.complain(format!(
                "{} refused: this console is read-only",
                info.name.replace('_', " ")
            ));
            return Vec::new();
        }
        if self.popup.is_some() {
            return self.popup_action(action);
        }
        self.pane_action(action)
    }

    fn filter_key(&mut self, key: KeyEvent) {
        let Some(input) = self.filter_input.as_mut() else {
            return;
        };
        match key.code {
            KeyCode::Enter => self.filter_input = None,
            KeyCode::Esc => {
                self.filter_input = None;
                self.instances.set_filter("");
            }
            _ => {
                input.handle_event(&TermEvent::Key(key));
                let value = input.value().to_string();
                self.instances.set_filter(&value);
            }
        }
    }

    fn search_key(&mut self, key: KeyEvent) {
        let Some(input) = self.logs.search_input.as_mut() else {
            return;
        };
        match key.code {
            KeyCode::Enter => {
                self.logs.search = input.value().to_string();
                self.logs.search_input = None;
                if !self.logs.next_match() && !self.logs.search.is_empty() {
                    let text = format!("no line matches {:?}", self.logs.search);
                    self.complain(text);
                }
            }
            KeyCode::Esc => {
                self.logs.search_input = None;
                self.logs.search.clear();
            }
            _ => {
                input.handle_event(&TermEvent::Key(key));
            }
        }
    }

    fn flag_key(&mut self, key: KeyEvent) -> Vec<Command> {
        let Some(input) = self.flag_input.as_mut() else {
            return Vec::new();
        };
        match key.code {
            KeyCode::Enter => {
                let flag = input.value().trim().to_string();
                self.flag_input = None;
                if !flag.is_empty() {
                    return vec![self.run(Op::WhoseFlag { flag })];
                }
            }
            KeyCode::Esc => self.flag_input = None,
            _ => {
                input.handle_event(&TermEvent::Key(key));
            }
        }
        Vec::new()
    }

    fn spawn_key(&mut self, key: KeyEvent) -> Vec<Command> {
        let Some(Popup::Spawn(form)) = self.popup.as_mut() else {
            return Vec::new();
        };
        match key.code {
            KeyCode::Esc => self.popup = None,
            KeyCode::Tab => form.complete(),
            KeyCode::Enter => match Owner::for_spawn(form.input.value().trim()) {
                Ok(owner) => {
                    let challenge = form.challenge.clone();
                    self.popup = None;
                    self.say(format!("spawning {challenge} for {owner}…"));
                    return vec![self.run(Op::Spawn { challenge, owner })];
                }
                Err(e) => form.error = Some(e.to_string()),
            },
            _ => {
                form.input.handle_event(&TermEvent::Key(key));
                form.error = None;
            }
        }
        Vec::new()
    }

    fn popup_action(&mut self, action: Action) -> Vec<Command> {
        match (self.popup.as_mut(), action) {
            (Some(Popup::Confirm(_)), Action::Confirm) => {
                let Some(Popup::Confirm(pending)) = self.popup.take() else {
                    return Vec::new();
                };
                self.say(format!("{}…", pending.sentence()));
                // The marks were for the instances that go; a node's drain leaves them.
                if !pending.ids().is_empty() {
                    self.instances.marks.clear();
                }
                vec![self.run(pending.into_op())]
            }
            (Some(Popup::PurgeMenu(menu)), Action::Confirm) => {
                let choice = menu.choices.get(menu.selected).cloned();
                self.popup = None;
                let selector = match choice {
                    Some(PurgeChoice::Expired) => PurgeSelector::Expired,
                    Some(PurgeChoice::Challenge(c)) => PurgeSelector::Challenge(c),
                    Some(PurgeChoice::Marked(_)) => {
                        PurgeSelector::Ids(self.instances.marks.iter().cloned().collect())
                    }
                    Some(PurgeChoice::All) | None => PurgeSelector::All,
                };
                vec![self.run(Op::SelectPurge(selector))]
            }
            (Some(Popup::NodeMenu(menu)), Action::Confirm) => {
                let pending = menu.choices.get(menu.selected).map(|c| c.pending());
                self.popup = pending.map(Popup::Confirm);
                Vec::new()
            }
            (Some(Popup::NodeMenu(menu)), Action::Up) => {
                menu.selected = menu.selected.saturating_sub(1);
                Vec::new()
            }
            (Some(Popup::NodeMenu(menu)), Action::Down) => {
                menu.selected = (menu.selected + 1).min(menu.choices.len().saturating_sub(1));
                Vec::new()
            }
            (Some(Popup::PurgeMenu(menu)), Action::Up) => {
                menu.selected = menu.selected.saturating_sub(1);
                Vec::new()
            }
            (Some(Popup::PurgeMenu(menu)), Action::Down) => {
                menu.selected = (menu.selected + 1).min(menu.choices.len().saturating_sub(1));
                Vec::new()
            }
            (Some(Popup::Detail(d)), Action::Reveal) => {
                d.revealed = !d.revealed;
                Vec::new()
            }
            (
                Some(
                    Popup::Detail(DetailView { scroll, .. })
                    | Popup::Help { scroll }
                    | Popup::Whose(WhoseView { scroll, .. }),
                ),
                a,
            ) => {
                match a {
                    Action::Up => *scroll = scroll.saturating_sub(1),
                    Action::Down => *scroll += 1,
                    Action::PageUp => *scroll = scroll.saturating_sub(10),
                    Action::PageDown => *scroll += 10,
                    Action::Top => *scroll = 0,
                    Action::Cancel | Action::Help => self.popup = None,
                    _ => {}
                }
                Vec::new()
            }
            (Some(Popup::Smoke(view)), a) => {
                match a {
                    // The output follows its end; scrolling goes back from there.
                    Action::Up => view.scroll = (view.scroll + 1).min(view.output.len()),
                    Action::Down => view.scroll = view.scroll.saturating_sub(1),
                    Action::PageUp => view.scroll = (view.scroll + 10).min(view.output.len()),
                    Action::PageDown => view.scroll = view.scroll.saturating_sub(10),
                    Action::Top => view.scroll = view.output.len(),
                    Action::Bottom => view.scroll = 0,
                    // Asked once; the popup stays until teardown is done.
                    Action::Cancel if view.running() && !view.cancelling => {
                        view.cancelling = true;
                        let op = view.op;
                        return vec![Command::CancelSmoke { op }];
                    }
                    Action::Cancel if view.running() => {}
                    Action::Cancel => self.popup = None,
                    _ => {}
                }
                Vec::new()
            }
            (Some(Popup::Confirm(_)), Action::Cancel) => {
                self.popup = None;
                self.say("cancelled; nothing was changed");
                Vec::new()
            }
            (Some(_), Action::Cancel) => {
                self.popup = None;
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn pane_action(&mut self, action: Action) -> Vec<Command> {
        let selected = self.instances.selected_row().map(|r| r.rec.clone());
        match action {
            Action::Quit => {
                self.quit = true;
                return vec![Command::Quit];
            }
            Action::Help => self.popup = Some(Popup::Help { scroll: 0 }),
            Action::NextPane | Action::PrevPane | Action::FocusLogs => {
                let panes = Context::PANES;
                let i = panes.iter().position(|p| *p == self.focus).unwrap_or(0);
                self.focus = match action {
                    Action::FocusLogs => Context::Logs,
                    Action::NextPane => panes[(i + 1) % panes.len()],
                    _ => panes[(i + panes.len() - 1) % panes.len()],
                };
            }
            Action::Spawn => {
                let challenge = match (self.focus, &selected) {
                    (Context::Instances, Some(rec)) => Some(rec.challenge.clone()),
                    _ => self.catalog.selected_row().map(|r| r.id.clone()),
                };
                match challenge {
                    Some(c) => {
                        let owners = self.instances.owners().into_iter().collect();
                        self.popup = Some(Popup::Spawn(SpawnForm::new(&c, owners)));
                    }
                    None => self.complain("the catalog is empty: nothing to spawn"),
                }
            }
            Action::Extend => match selected {
                Some(rec) => return vec![self.run(Op::Extend { id: rec.id })],
                None => self.complain("no instance selected"),
            },
            Action::Stop => {
                let mut records = self.instances.marked_records();
                if records.is_empty() {
                    records.extend(selected);
                }
                if records.is_empty() {
                    self.complain("no instance selected");
                } else {
                    self.popup = Some(Popup::Confirm(PendingAction::Stop {
                        ids: records.iter().map(|r| r.id.clone()).collect(),
                        summary: describe_selection(&records),
                    }));
                }
            }
            Action::Reset => match selected {
                Some(rec) => {
                    self.popup = Some(Popup::Confirm(PendingAction::Reset {
                        id: rec.id.clone(),
                        summary: format!(
                            "{} ({})",
                            describe_selection(std::slice::from_ref(&rec)),
                            rec.id
                        ),
                    }))
                }
                None => self.complain("no instance selected"),
            },
            Action::Purge => {
                let challenge = match (self.focus, &selected) {
                    (Context::Instances, Some(rec)) => Some(rec.challenge.clone()),
                    (Context::Catalog, _) => self.catalog.selected_row().map(|r| r.id.clone()),
                    _ => None,
                };
                let menu = PurgeMenu::new(challenge, self.instances.marks.len());
                self.popup = Some(Popup::PurgeMenu(menu));
            }
            Action::Node => {
                if self.nodes.is_empty() {
                    self.complain("no nodes: this engine runs everything on one host");
                    return Vec::new();
                }
                let preselect = selected
                    .as_ref()
                    .map(|rec| self.instances.node_of(rec).to_string())
                    .unwrap_or_default();
                self.popup = Some(Popup::NodeMenu(NodeMenu::new(&self.nodes, &preselect)));
            }
            Action::Smoke => {
                let challenge = match self.focus {
                    Context::Instances => selected.map(|rec| rec.challenge),
                    _ => self.catalog.selected_row().map(|r| r.id.clone()),
                };
                let Some(challenge) = challenge else {
                    self.complain("nothing selected to smoke-test");
                    return Vec::new();
                };
                let command = self.run(Op::Smoke {
                    challenge: challenge.clone(),
                });
                if let Command::Run { op, .. } = &command {
                    self.popup = Some(Popup::Smoke(SmokeView::new(*op, &challenge)));
                }
                return vec![command];
            }
            Action::Build => match self.catalog.selected_row() {
                Some(row) if row.buildable => {
                    let challenge = row.id.clone();
                    self.catalog.set_image(&challenge, ImageState::Building);
                    return vec![self.run(Op::Build { challenge })];
                }
                Some(row) => {
                    let text = format!("{} has no build context", row.id);
                    self.complain(text);
                }
                None => {}
            },
            Action::Mark => {
                self.instances.toggle_mark();
                self.instances.move_by(1);
                return self.follow_selected();
            }
            Action::Filter => {
                self.filter_input = Some(Input::new(self.instances.filter.clone()));
            }
            Action::WhoseFlag => self.flag_input = Some(Input::default()),
            Action::Search => self.logs.search_input = Some(Input::new(self.logs.search.clone())),
            Action::NextMatch => {
                if !self.logs.next_match() {
                    self.complain("no match");
                }
            }
            Action::Detail => match selected {
                Some(rec) => {
                    self.popup = Some(Popup::Detail(DetailView {
                        instance: rec.id.clone(),
                        inspect: None,
                        revealed: false,
                        scroll: 0,
                    }));
                    match rec.container_id {
                        Some(container) => {
                            return vec![self.run(Op::Inspect {
                                instance: rec.id,
                                container,
                            })];
                        }
                        None => {
                            if let Some(Popup::Detail(d)) = self.popup.as_mut() {
                                d.inspect = Some(Err("no container yet".to_string()));
                            }
                        }
                    }
                }
                None => self.complain("no instance selected"),
            },
            Action::SortNext => self.instances.cycle_sort(),
            Action::SortReverse => self.instances.reverse_sort(),
            Action::LogSource => {
                if self.logs.source == LogSource::Audit {
                    self.logs.source = LogSource::Nothing;
                    return self.follow_selected();
                }
                self.logs.switch(LogSource::Audit);
                return vec![Command::FollowLogs(None)];
            }
            Action::Timestamps => self.logs.timestamps = !self.logs.timestamps,
            Action::Follow => self.logs.scroll = 0,
            Action::Up | Action::Down | Action::PageUp | Action::PageDown => {
                return self.navigate(action);
            }
            Action::Top | Action::Bottom => return self.navigate(action),
            Action::Confirm | Action::Cancel | Action::Reveal => {}
        }
        Vec::new()
    }

    fn navigate(&mut self, action: Action) -> Vec<Command> {
        let page = self.instances.page() as isize;
        let delta: isize = match action {
            Action::Up => -1,
            Action::Down => 1,
            Action::PageUp => -page,
            Action::PageDown => page,
            Action::Top => isize::MIN / 2,
            _ => isize::MAX / 2,
        };
        match self.focus {
            Context::Catalog => self.catalog.move_by(delta),
            Context::Instances => {
                self.instances.move_by(delta);
                return self.follow_selected();
            }
            // Up scrolls back in time, i.e. away from the end.
            _ => self.logs.scroll_by(-delta),
        }
        Vec::new()
    }

    /// Point the logs pane at the selected instance, unless it shows the activity log.
    pub(crate) fn follow_selected(&mut self) -> Vec<Command> {
        if self.logs.source == LogSource::Audit {
            return Vec::new();
        }
        let Some(rec) = self.instances.selected_row().map(|r| r.rec.clone()) else {
            if self.logs.source != LogSource::Nothing {
                self.logs.switch(LogSource::Nothing);
                return vec![Command::FollowLogs(None)];
            }
            return Vec::new();
        };
        let wanted = LogSource::Instance { id: rec.id.clone() };
        // Already following — or still waiting for a spawn to give the instance a container.
        if self.logs.source == wanted
            && (self.logs.container.is_some() || rec.container_id.is_none())
        {
            return Vec::new();
        }
        let generation = self.logs.switch(wanted);
        self.logs.container = rec.container_id.clone();
        vec![Command::FollowLogs(rec.container_id.map(|container| {
            LogTarget {
                instance: rec.id,
                container,
                generation,
            }
        }))]
    }
}
