//! Events from the producers → state changes (and the commands they lead to).

use std::collections::HashMap;

use crate::console::event::{Event, OpOutcome};
use crate::domain::PurgeSelector;
use crate::domain::view::{addresses, remaining};
use crate::domain::{FLAG_SHARED, describe_selection};
use crate::engine::labels;
use crate::store::AuditEntry;

use super::catalog::ImageState;
use super::command::{Command, Op, PendingAction};
use super::instances::Column;
use super::logs::LogSource;
use super::popup::{Popup, WhoseView};
use super::smoke::LastSmoke;
use super::{App, FLASH_MS};

impl App {
    pub fn on_event(&mut self, event: Event) -> Vec<Command> {
        match event {
            Event::Key(key) => return self.on_key(key),
            Event::Redraw => self.dirty = true,
            Event::Tick(now) => self.tick(now),
            Event::Store(snapshot) => {
                self.instances.set_records(snapshot.instances);
                self.catalog.live = self.instances.live_by_challenge();
                self.alert_flag_sharing(&snapshot.audit);
                self.logs.audit = snapshot.audit;
                self.api = snapshot.api;
                self.dirty = true;
                return self.follow_selected();
            }
            Event::Api(api) => {
                self.api = api;
                // The heartbeat moves every few seconds; the screen only when its text does.
                if self.api_text() != self.last_api {
                    self.dirty = true;
                }
            }
            Event::EngineSynced(containers) => {
                self.instances.engine = containers
                    .into_iter()
                    .filter_map(|c| Some((c.labels.get(labels::INSTANCE)?.clone(), c.state)))
                    .collect::<HashMap<_, _>>();
                self.instances.rebuild(None);
                self.dirty = true;
            }
            Event::Engine(ev) => {
                if let (Some(instance), Some(state)) = (ev.instance.clone(), ev.implied_state()) {
                    if state == "removed" {
                        self.instances.engine.remove(&instance);
                    } else {
                        self.instances.engine.insert(instance, state.to_string());
                    }
                    self.dirty = true;
                }
            }
            Event::Nodes(nodes) => {
                self.instances.nodes = nodes
                    .iter()
                    .map(|n| (n.node.address.clone(), n.node.hostname.clone()))
                    .collect();
                if matches!(self.instances.sort, Some(Column::Node)) {
                    self.instances.rebuild(None);
                }
                if self.nodes != nodes {
                    self.nodes = nodes;
                    self.dirty = true;
                }
            }
            Event::EngineLost {
                reason,
                retry_in_secs,
            } => {
                self.engine.connected = false;
                self.engine.lost_reason = Some(reason);
                self.engine.retry_in_secs = retry_in_secs;
                self.dirty = true;
            }
            Event::EngineBack { version } => {
                let was_lost = !self.engine.connected;
                self.engine.connected = true;
                if !version.is_empty() {
                    self.engine.version = version;
                }
                self.engine.lost_reason = None;
                self.dirty = true;
                if was_lost {
                    self.say("engine is back; state re-synced");
                    // The log stream died with the engine: follow again.
                    if let LogSource::Instance { .. } = self.logs.source {
                        self.logs.source = LogSource::Nothing;
                        return self.follow_selected();
                    }
                }
            }
            Event::StoreWatchStopped(reason) => {
                self.store_watch_stopped = Some(reason);
                self.dirty = true;
            }
            Event::Warning(warning) => {
                let text = self.logs.note(self.now, &warning);
                self.complain(text);
                self.dirty = true;
            }
            Event::Stats(samples) => {
                if self.instances.set_stats(samples) {
                    self.dirty = true;
                }
            }
            Event::Images(images) => {
                for (challenge, present) in images {
                    let state = if present {
                        ImageState::Built
                    } else {
                        ImageState::Missing
                    };
                    self.catalog.set_image(&challenge, state);
                }
                self.dirty = true;
            }
            Event::LogLines { generation, lines } => {
                if generation == self.logs.generation {
                    self.logs.push_chunks(lines);
                    self.dirty = true;
                }
            }
            Event::LogEnded { generation, error } => {
                if generation == self.logs.generation {
                    self.logs.ended = Some(error.unwrap_or_else(|| "log stream ended".into()));
                    self.dirty = true;
                }
            }
            Event::OpProgress { op, done, total } => {
                if let Some(r) = self.running.get_mut(&op) {
                    r.done = done;
                    r.total = total;
                    self.dirty = true;
                }
            }
            Event::OpDone { op, outcome } => return self.op_done(op, outcome),
            Event::Catalog(reload) => {
                let before = self.catalog.problems.len();
                let (rows_before, problems) = (self.catalog.rows.len(), reload.problems.len());
                self.catalog
                    .reload(reload.catalog.as_deref(), reload.problems);
                if problems > before {
                    self.complain(format!(
                        "catalog: {problems} problem(s) (see the catalog pane)"
                    ));
                } else if self.catalog.rows.len() != rows_before {
                    let n = self.catalog.rows.len();
                    self.say(format!("catalog read again: {n} challenge(s)"));
                }
                self.dirty = true;
            }
            Event::Smoke { op, event } => {
                if let Some(Popup::Smoke(view)) = self.popup.as_mut()
                    && view.op == op
                {
                    view.apply(event, self.now);
                    self.dirty = true;
                }
            }
            Event::Terminate => {
                self.quit = true;
                return vec![Command::Quit];
            }
        }
        Vec::new()
    }

    fn tick(&mut self, now: crate::store::Millis) {
        self.now = now;
        let clock = self.instances.clock_text(now);
        if clock != self.last_clock {
            self.clocks_moved = true;
        }
        self.clock_at_tick = Some(clock);
        if self.catalog.clock_text(now) != self.last_catalog_clock {
            self.dirty = true;
        }
        // The API's heartbeat goes stale without any store change.
        if self.api_text() != self.last_api {
            self.dirty = true;
        }
        // A running stage's clock moves.
        if matches!(&self.popup, Some(Popup::Smoke(v)) if v.running()) {
            self.dirty = true;
        }
        if self.flash.as_ref().is_some_and(|f| f.until <= now) {
            self.flash = None;
            self.dirty = true;
        }
    }

    fn op_done(&mut self, op: u64, outcome: OpOutcome) -> Vec<Command> {
        let request = self.running.remove(&op).map(|r| r.request);
        self.dirty = true;
        match outcome {
            OpOutcome::Spawned { instance, existing } => {
                let at = addresses(&instance.ports, &self.instances.public_host);
                let what = if existing {
                    "already running"
                } else {
                    "spawned"
                };
                self.say(format!(
                    "{what}: {} {} for {} at {at}",
                    instance.id, instance.challenge, instance.owner
                ));
            }
            OpOutcome::Extended(rec) => self.say(format!(
                "extended {}: expires in {}, renewals {}/{}",
                rec.id,
                remaining(rec.expires_at, self.now),
                rec.renewals,
                rec.max_renewals
            )),
            OpOutcome::Stopped {
                stopped,
                already,
                failed,
            } => {
                let mut text = format!("stopped {stopped} instance(s)");
                if already > 0 {
                    text.push_str(&format!(", {already} already gone"));
                }
                match failed.first() {
                    None => self.say(text),
                    Some((id, e)) => {
                        self.complain(format!("{text}; {} failed ({id}: {e})", failed.len()))
                    }
                }
            }
            OpOutcome::Reset { old, fresh } => {
                self.say(format!("reset {old}: fresh instance {}", fresh.id))
            }
            OpOutcome::Selected { selector, records } => {
                if records.is_empty() {
                    self.say("nothing to purge");
                } else {
                    self.popup = Some(Popup::Confirm(PendingAction::Purge {
                        ids: records.iter().map(|r| r.id.clone()).collect(),
                        summary: describe_selection(&records),
                        selector: selector_text(&selector),
                    }));
                }
            }
            OpOutcome::Inspected { instance, detail } => {
                if let Some(Popup::Detail(d)) = self.popup.as_mut()
                    && d.instance == instance
                {
                    d.inspect = Some(Ok(detail));
                }
            }
            OpOutcome::FlagOwners { flag, owners } => {
                if owners.is_empty() {
                    self.complain(format!(
                        "no instance, live or stopped, holds {flag:?}; no challenge has it as its static flag"
                    ));
                } else {
                    self.popup = Some(Popup::Whose(WhoseView {
                        flag,
                        owners,
                        scroll: 0,
                    }));
                }
            }
            OpOutcome::Smoked(report) => {
                let last = LastSmoke::of(&report, self.now);
                let text = match &last.failed {
                    None => format!("smoke {}: passed", report.challenge),
                    Some(Some(stage)) => format!("smoke {}: failed at {stage}", report.challenge),
                    Some(None) => format!("smoke {}: interrupted, torn down", report.challenge),
                };
                self.catalog
                    .last_smoke
                    .insert(report.challenge.clone(), last.clone());
                if let Some(Popup::Smoke(view)) = self.popup.as_mut()
                    && view.op == op
                {
                    view.finish(&report);
                }
                if last.failed.is_none() {
                    self.say(text);
                } else {
                    self.complain(text);
                }
            }
            OpOutcome::NodeTaking(node) => {
                // Shown at once; the next sample of the nodes says the same.
                if let Some(view) = self.nodes.iter_mut().find(|v| v.node.id == node.id) {
                    view.node.availability = node.availability.clone();
                }
                if node.availability == "active" {
                    self.say(format!("node {}: takes new instances", node.hostname));
                } else {
                    self.say(format!(
                        "node {}: takes no new instances ({}); the ones it runs stay until they end",
                        node.hostname, node.availability
                    ));
                }
            }
            OpOutcome::Built { challenge } => {
                self.catalog.set_image(&challenge, ImageState::Built);
                self.say(format!("built {challenge}"));
            }
            OpOutcome::Failed { what, error } => {
                match request {
                    Some(Op::Build { challenge }) => {
                        self.catalog.set_image(&challenge, ImageState::Failed)
                    }
                    Some(Op::Smoke { .. }) => {
                        if let Some(Popup::Smoke(view)) = self.popup.as_mut()
                            && view.op == op
                        {
                            view.fail(error.clone());
                        }
                    }
                    Some(Op::Inspect { instance, .. }) => {
                        if let Some(Popup::Detail(d)) = self.popup.as_mut()
                            && d.instance == instance
                        {
                            d.inspect = Some(Err(error.clone()));
                        }
                    }
                    _ => {}
                }
                self.flash = Some(super::Flash {
                    text: format!("{what} failed: {error}"),
                    error: true,
                    // Failures stay longer: they need reading.
                    until: self.now + 2 * FLASH_MS,
                });
            }
        }
        Vec::new()
    }

    /// A flag handed in by an owner it does not belong to (`flag whose --submitted-by`, from
    /// a scoreboard's hook or a colleague) is news staff must not miss in the activity log:
    /// it is said in the status bar, as long as a failure is, when it arrives.
    fn alert_flag_sharing(&mut self, audit: &[AuditEntry]) {
        let newest = audit.iter().map(|e| e.seq).max().unwrap_or(0);
        let seen = self.logs.audit_seen;
        self.logs.audit_seen = Some(newest.max(seen.unwrap_or(0)));
        let Some(seen) = seen else {
            return;
        };
        let shared: Vec<&AuditEntry> = audit
            .iter()
            .filter(|e| e.seq > seen && e.action == FLAG_SHARED)
            .collect();
        let Some(last) = shared.last() else {
            return;
        };
        let more = match shared.len() {
            1 => String::new(),
            n => format!(" (+{} more, see the activity log)", n - 1),
        };
        self.flash = Some(super::Flash {
            text: format!(
                "flag sharing: {} on {}{more}",
                last.detail,
                last.instance.as_deref().unwrap_or("-")
            ),
            error: true,
            until: self.now + 2 * FLASH_MS,
        });
    }
}

fn selector_text(selector: &PurgeSelector) -> String {
    match selector {
        PurgeSelector::Expired => "expired".to_string(),
        PurgeSelector::Challenge(c) => format!("challenge {c}"),
        PurgeSelector::Owner(o) => format!("owner {o}"),
        PurgeSelector::Ids(_) => "marked".to_string(),
        PurgeSelector::All => "all".to_string(),
    }
}
