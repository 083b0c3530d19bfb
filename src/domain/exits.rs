//! Instances whose container stopped by itself: the process exited or was OOM-killed, the
//! engine restarted without live-restore, someone killed it by hand. The store learns it
//! (`exited`, with the reason), and `[lifetime] on_exit` says what follows: `restart` starts
//! the same container again, a bounded number of times with backoff, each attempt audited;
//! `keep` leaves it exited until it expires or staff stop or reset it.

use std::collections::BTreeMap;

use futures_util::{StreamExt, stream};

use crate::store::{AuditFilter, InstanceRecord, InstanceStatus, Millis, now_millis};

use super::plan::container_name;
use super::{BULK_CONCURRENCY, DomainError, Lifecycle, OnExit, Owner, OwnerKind};

/// Restarts one instance gets over its whole life. A challenge that keeps crashing stays
/// exited after that, for staff to look at, instead of looping for ever.
pub const MAX_RESTARTS: u32 = 3;
/// The wait before the first restart; it doubles for each further one.
const FIRST_BACKOFF_MS: Millis = 1_000;
/// No wait is longer than this.
const MAX_BACKOFF_MS: Millis = 60_000;

/// Audit action of one restart attempt (its outcome says how it went).
pub const RESTART_ACTION: &str = "restart";
/// Audit action written once when the attempts are used up.
pub const RESTART_LIMIT_ACTION: &str = "restart-limit";
/// Audit action of an exit the store learnt of.
pub const EXIT_ACTION: &str = "exit";

/// What to do next about one exited instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStep {
    /// `on_exit = "keep"`: nothing.
    Keep,
    /// The next attempt is due at this moment.
    WaitUntil(Millis),
    /// Start it again now; this is attempt `attempt` (from 1).
    Restart { attempt: u32 },
    /// Every attempt was made: it stays exited.
    GiveUp,
}

/// The wait before attempt `attempt` (from 1): 1 s, 2 s, 4 s, … at most a minute.
pub fn backoff(attempt: u32) -> Millis {
    let doublings = attempt.saturating_sub(1).min(16);
    (FIRST_BACKOFF_MS << doublings).min(MAX_BACKOFF_MS)
}

/// The rule: an instance that exited at `exited_at`, restarted `attempts` times already (the
/// last at `last_attempt_at`), under `on_exit`, at `now`.
pub fn next_step(
    on_exit: OnExit,
    exited_at: Millis,
    attempts: u32,
    last_attempt_at: Option<Millis>,
    now: Millis,
) -> ExitStep {
    if on_exit == OnExit::Keep {
        return ExitStep::Keep;
    }
    if attempts >= MAX_RESTARTS {
        return ExitStep::GiveUp;
    }
    let attempt = attempts + 1;
    // Counted from the later of the exit and the last attempt: an attempt the engine refused
    // leaves the exit time as it was, and must still wait before the next.
    let due = exited_at.max(last_attempt_at.unwrap_or(Millis::MIN)) + backoff(attempt);
    if now >= due {
        ExitStep::Restart { attempt }
    } else {
        ExitStep::WaitUntil(due)
    }
}

/// What [`Lifecycle::handle_exits`] did about one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExitHandled {
    Restarted {
        id: String,
        attempt: u32,
    },
    RestartFailed {
        id: String,
        attempt: u32,
        error: String,
    },
    GaveUp {
        id: String,
        attempts: u32,
    },
}

impl std::fmt::Display for ExitHandled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExitHandled::Restarted { id, attempt } => {
                write!(f, "restarted {id} (attempt {attempt} of {MAX_RESTARTS})")
            }
            ExitHandled::RestartFailed { id, attempt, error } => write!(
                f,
                "restarting {id} failed (attempt {attempt} of {MAX_RESTARTS}): {error}"
            ),
            ExitHandled::GaveUp { id, attempts } => write!(
                f,
                "{id} stays exited: {attempts} restart(s) made, none kept it running"
            ),
        }
    }
}

/// An engine container state that means its process is no longer running, for good.
fn has_stopped(state: &str) -> bool {
    matches!(state, "exited" | "dead")
}

/// The engine name of an instance's container: its recorded id, else the name it was given.
fn container_of(record: &InstanceRecord) -> String {
    record
        .container_id
        .clone()
        .unwrap_or_else(|| container_name(&record.challenge, &record.id))
}

impl Lifecycle {
    /// Why the container stopped (`exited with code 3`, `was killed for exceeding its memory
    /// limit …`), or `None` while it runs or when the engine no longer has it (reconcile then
    /// marks the row lost).
    async fn exit_reason(&self, container: &str) -> Result<Option<String>, DomainError> {
        match self.engine.container_state(container).await {
            Ok(state) if state.has_exited() => Ok(Some(state.describe_exit())),
            Ok(_) => Ok(None),
            Err(e) if e.is_unreachable() => Err(e.into()),
            Err(e) => {
                tracing::debug!("state of {container}: {e}");
                Ok(None)
            }
        }
    }

    /// The engine said an instance's container died (a `die`/`oom` event): if it really has
    /// stopped, the row becomes `exited` with the reason, audited. Returns the reason when this
    /// call recorded it.
    pub async fn note_exit(&self, instance: &str) -> Result<Option<String>, DomainError> {
        let Some(row) = self.store.instance(instance)? else {
            return Ok(None);
        };
        if row.status != InstanceStatus::Running {
            return Ok(None);
        }
        let Some(reason) = self.exit_reason(&container_of(&row)).await? else {
            return Ok(None);
        };
        Ok(self.record_exit(&row, &reason)?.then_some(reason))
    }

    /// Every instance that is down while it should run, with why: the rows already `exited`,
    /// and running rows whose container the engine lists as stopped (an exit nobody has
    /// recorded yet). Changes nothing: for `doctor`.
    pub async fn exited_instances(&self) -> Result<Vec<(InstanceRecord, String)>, DomainError> {
        let mut out: Vec<(InstanceRecord, String)> = self
            .store
            .exited()?
            .into_iter()
            .map(|r| {
                let reason = r.stop_reason.clone().unwrap_or_default();
                (r, reason)
            })
            .collect();
        let containers = self.engine.managed_containers(&self.store_id).await?;
        let running = self.store.list_instances(&Default::default())?;
        for row in running
            .into_iter()
            .filter(|r| r.status == InstanceStatus::Running)
        {
            let stopped = containers.iter().any(|c| {
                c.labels.get(crate::engine::labels::INSTANCE) == Some(&row.id)
                    && has_stopped(&c.state)
            });
            if stopped {
                let reason = self
                    .exit_reason(&container_of(&row))
                    .await?
                    .unwrap_or_else(|| "the container stopped".to_string());
                out.push((
                    row,
                    format!("{reason} (not yet recorded: is the reaper running?)"),
                ));
            }
        }
        Ok(out)
    }

    /// Mark `row` exited for `reason`, once.
    fn record_exit(&self, row: &InstanceRecord, reason: &str) -> Result<bool, DomainError> {
        let marked = self.store.mark_exited(&row.id, reason)?;
        if marked {
            self.audit(EXIT_ACTION, Some(&row.id), reason, "exited");
        }
        Ok(marked)
    }

    /// Reconcile's part: running rows whose container the engine lists as stopped (an exit
    /// nobody saw happen: the engine restarted, no watcher was running). Returns their ids.
    /// A read-only caller (a monitor) only reports them; the rows stay as they are.
    pub(super) async fn record_exits(
        &self,
        rows: &[InstanceRecord],
        engine_state: &BTreeMap<&str, &str>,
    ) -> Result<Vec<String>, DomainError> {
        let mut exited = Vec::new();
        let apply = self.require_admin("reconcile").is_ok();
        for row in rows.iter().filter(|r| r.status == InstanceStatus::Running) {
            let stopped = engine_state
                .get(row.id.as_str())
                .is_some_and(|s| has_stopped(s));
            if !stopped {
                continue;
            }
            let reason = self
                .exit_reason(&container_of(row))
                .await?
                .unwrap_or_else(|| "the container stopped".to_string());
            if !apply || self.record_exit(row, &reason)? {
                exited.push(row.id.clone());
            }
        }
        Ok(exited)
    }

    /// Apply `[lifetime] on_exit` to every exited instance whose next step is due. The reaper
    /// calls this; the rule itself is [`next_step`].
    pub async fn handle_exits(&self) -> Result<Vec<ExitHandled>, DomainError> {
        if self.policy.lifetime.on_exit == OnExit::Keep {
            return Ok(Vec::new());
        }
        self.require_admin("restart")?;
        let mut done = Vec::new();
        let mut due = Vec::new();
        for row in self.store.exited()? {
            // A smoke run is diagnosing its own instance's exit: restarting it under the run
            // would hide what it looks for.
            if row
                .owner
                .parse::<Owner>()
                .is_ok_and(|o| o.kind == OwnerKind::Smoke)
            {
                continue;
            }
            let attempts = self.audit_of(&row.id, RESTART_ACTION)?;
            let exited_at = row.stopped_at.unwrap_or(row.updated_at);
            let step = next_step(
                self.policy.lifetime.on_exit,
                exited_at,
                attempts.len() as u32,
                attempts.last().copied(),
                now_millis(),
            );
            match step {
                ExitStep::Keep | ExitStep::WaitUntil(_) => {}
                ExitStep::GiveUp => {
                    if self.audit_of(&row.id, RESTART_LIMIT_ACTION)?.is_empty() {
                        let handled = ExitHandled::GaveUp {
                            id: row.id.clone(),
                            attempts: attempts.len() as u32,
                        };
                        self.audit(
                            RESTART_LIMIT_ACTION,
                            Some(&row.id),
                            &handled.to_string(),
                            "exited",
                        );
                        done.push(handled);
                    }
                }
                ExitStep::Restart { attempt } => {
                    // Several reapers may run: one of them makes this attempt.
                    if self.store.claim_restart(&row.id, row.updated_at)? {
                        due.push((row, attempt));
                    }
                }
            }
        }
        // After an engine restart every instance is due at once: start them side by side.
        let restarted: Vec<Result<ExitHandled, DomainError>> = stream::iter(due)
            .map(|(row, attempt)| async move { self.restart(&row, attempt).await })
            .buffer_unordered(BULK_CONCURRENCY)
            .collect()
            .await;
        for handled in restarted {
            done.push(handled?);
        }
        Ok(done)
    }

    /// When the audit says `action` happened to `instance`, oldest first.
    fn audit_of(&self, instance: &str, action: &str) -> Result<Vec<Millis>, DomainError> {
        let filter = AuditFilter {
            instance: Some(instance.to_string()),
            action: Some(action.to_string()),
            ..Default::default()
        };
        Ok(self
            .store
            .audit_matching(&filter, MAX_RESTARTS as usize + 1)?
            .into_iter()
            .map(|e| e.at)
            .collect())
    }

    /// One restart attempt: start the same container, put its flag file back (its tmpfs is
    /// new), record where the engine published its ports this time. Audited either way.
    async fn restart(
        &self,
        row: &InstanceRecord,
        attempt: u32,
    ) -> Result<ExitHandled, DomainError> {
        let container = container_of(row);
        let detail = format!(
            "attempt {attempt} of {MAX_RESTARTS} after: {}",
            row.stop_reason.as_deref().unwrap_or("an exit")
        );
        match self.start_again(row, &container).await {
            Ok(()) => {
                self.audit(RESTART_ACTION, Some(&row.id), &detail, "ok");
                // It may have died again before the row said running: no event would then
                // change the row, so look once more.
                if let Some(reason) = self.exit_reason(&container).await?
                    && let Some(now) = self.store.instance(&row.id)?
                {
                    self.record_exit(&now, &reason)?;
                }
                Ok(ExitHandled::Restarted {
                    id: row.id.clone(),
                    attempt,
                })
            }
            Err(e) if e.is_unreachable() => Err(e),
            Err(e) => {
                self.audit(
                    RESTART_ACTION,
                    Some(&row.id),
                    &detail,
                    &format!("failed: {e}"),
                );
                Ok(ExitHandled::RestartFailed {
                    id: row.id.clone(),
                    attempt,
                    error: e.to_string(),
                })
            }
        }
    }

    async fn start_again(&self, row: &InstanceRecord, container: &str) -> Result<(), DomainError> {
        self.engine.start_again(container).await?;
        let flag_file = self
            .catalog
            .get(&row.challenge)
            .and_then(|c| c.flag.inject.strip_prefix("file:"));
        if let (Some(path), Some(flag)) = (flag_file, &row.flag) {
            self.write_flag_file(container, path, flag).await?;
        }
        let protocols: BTreeMap<u16, String> = row
            .ports
            .iter()
            .map(|p| (p.container, p.protocol.clone()))
            .collect();
        let ports = self.engine.published_ports(container, &protocols).await?;
        self.store.mark_restarted(&row.id, &ports)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_a_second_up_to_a_minute() {
        assert_eq!(backoff(1), 1_000);
        assert_eq!(backoff(2), 2_000);
        assert_eq!(backoff(3), 4_000);
        assert_eq!(backoff(7), 60_000);
        assert_eq!(backoff(u32::MAX), 60_000);
    }

    #[test]
    fn keep_never_restarts() {
        assert_eq!(
            next_step(OnExit::Keep, 0, 0, None, 1_000_000),
            ExitStep::Keep
        );
    }

    #[test]
    fn each_attempt_waits_its_backoff_after_the_exit_or_the_last_attempt() {
        let exited = 10_000;
        assert_eq!(
            next_step(OnExit::Restart, exited, 0, None, exited + 999),
            ExitStep::WaitUntil(exited + 1_000)
        );
        assert_eq!(
            next_step(OnExit::Restart, exited, 0, None, exited + 1_000),
            ExitStep::Restart { attempt: 1 }
        );
        // Restarted, died again later: the wait counts from the new exit.
        assert_eq!(
            next_step(OnExit::Restart, 20_000, 1, Some(11_000), 21_000),
            ExitStep::WaitUntil(22_000)
        );
        // The engine refused the last attempt: the exit is old, the wait counts from it.
        assert_eq!(
            next_step(OnExit::Restart, exited, 2, Some(30_000), 33_999),
            ExitStep::WaitUntil(34_000)
        );
        assert_eq!(
            next_step(OnExit::Restart, exited, 2, Some(30_000), 34_000),
            ExitStep::Restart { attempt: 3 }
        );
    }

    #[test]
    fn attempts_are_bounded() {
        assert_eq!(
            next_step(OnExit::Restart, 0, MAX_RESTARTS, Some(0), Millis::MAX / 2),
            ExitStep::GiveUp
        );
        assert_eq!(
            next_step(OnExit::Restart, 0, MAX_RESTARTS + 5, None, 0),
            ExitStep::GiveUp
        );
    }
}
