//! The challenge author's end-to-end check: validate → build → spawn → ready → check →
//! teardown, each stage timed and reported. The instance is spawned exactly as at the event
//! (same hardening, own network, published ports) under a throwaway `smoke:` owner, and torn
//! down whatever happens — success, failure, timeout or interruption — unless asked to keep it.
//!
//! Both the CLI (`ctfdeck smoke`) and the console call [`smoke`] / [`smoke_many`]; progress
//! arrives as [`StageEvent`]s while the run goes on.

mod all;
mod build;
mod check;
mod options;
mod outcome;
mod probe;
mod ready;
mod report;
mod teardown;
mod validate;

use std::future::Future;
use std::time::Instant;

use futures_util::{StreamExt, stream};

use super::Lifecycle;
use super::view::addresses;
use crate::store::InstanceRecord;

pub use all::every_challenge;
pub use check::{Connection, connection};
pub use options::{
    Cancel, CancelHandle, DEFAULT_CHECK_TIMEOUT, DEFAULT_LOG_LINES, DEFAULT_READY_TIMEOUT,
    SmokeOptions,
};
pub use report::{SmokeReport, Stage, StageEvent, StageResult, StageStatus};
pub use teardown::REASON as TEARDOWN_REASON;

use outcome::{Failed, StageOutcome};

/// Several challenges at a time, at most this many unless told otherwise: builds and probes
/// overlap, and a small event host is not swamped.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// Smoke-test one challenge of the lifecycle's catalog.
pub async fn smoke(
    lifecycle: &Lifecycle,
    challenge_id: &str,
    opts: &SmokeOptions,
    progress: &(dyn Fn(StageEvent) + Send + Sync),
) -> SmokeReport {
    let mut run = Run::new(challenge_id, opts, progress);

    let challenge = run
        .step(Stage::Validate, false, async {
            validate::run(lifecycle, challenge_id)
        })
        .await;

    let forward = |line: &str| {
        progress(StageEvent::Progress {
            challenge: challenge_id.to_string(),
            stage: Stage::Build,
            line: line.to_string(),
        });
    };
    if let Some(challenge) = &challenge {
        run.step(Stage::Build, true, async {
            build::run(lifecycle, challenge, &forward).await
        })
        .await;
    } else {
        run.step(Stage::Build, true, never::<()>()).await;
    }

    // Not interruptible: a spawn cut in half would leave a `starting` row behind. It takes a
    // moment; teardown follows at once.
    let instance: Option<InstanceRecord> = run
        .step(Stage::Spawn, false, async {
            let spawned = lifecycle
                .spawn_smoke(challenge_id)
                .await
                .map_err(|e| Failed::new(e.to_string()))?;
            let record = spawned.instance;
            let message = if record.ports.is_empty() {
                format!("instance {} (no published ports)", record.id)
            } else {
                format!(
                    "instance {} at {} ({})",
                    record.id,
                    addresses(&record.ports, "127.0.0.1"),
                    record
                        .ports
                        .iter()
                        .map(|p| format!("{}/{}", p.container, p.protocol))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            Ok(outcome::Passed::new(record, message))
        })
        .await;
    if let Some(record) = &instance {
        run.report.instance = Some(record.id.clone());
        run.report.address = Some(addresses(&record.ports, "127.0.0.1")).filter(|a| !a.is_empty());
    }

    match (&challenge, &instance) {
        (Some(challenge), Some(record)) => {
            run.step(Stage::Ready, true, async {
                ready::run(
                    lifecycle.engine().as_ref(),
                    challenge,
                    record,
                    opts.ready_timeout,
                    opts.log_lines,
                )
                .await
            })
            .await;
            if opts.skip_check {
                run.skip(Stage::Check, "skipped (--no-check)".to_string());
            } else {
                let timeout = opts
                    .check_timeout
                    .or(challenge.smoke.as_ref().and_then(|s| s.timeout))
                    .unwrap_or(DEFAULT_CHECK_TIMEOUT);
                // The check handles interruption itself, to kill the script's processes.
                let script_line = |line: &str| {
                    progress(StageEvent::Progress {
                        challenge: challenge_id.to_string(),
                        stage: Stage::Check,
                        line: line.to_string(),
                    });
                };
                run.step(Stage::Check, false, async {
                    check::run(challenge, record, timeout, &opts.cancel, &script_line).await
                })
                .await;
            }
        }
        _ => {
            run.step(Stage::Ready, true, never::<()>()).await;
            run.step(Stage::Check, true, never::<()>()).await;
        }
    }

    match &instance {
        Some(record) if opts.keep => {
            run.report.kept = true;
            run.skip(
                Stage::Teardown,
                format!(
                    "kept (--keep): instance {} at {}; stop it with `ctfdeck stop {}`",
                    record.id,
                    addresses(&record.ports, "127.0.0.1"),
                    record.id
                ),
            );
        }
        Some(record) => {
            run.always(Stage::Teardown, teardown::run(lifecycle, &record.id))
                .await;
        }
        None => run.skip(Stage::Teardown, "nothing was started".to_string()),
    }
    run.report
}

/// Smoke-test several challenges, at most `concurrency` at a time. Reports come back in the
/// order of `challenge_ids`.
pub async fn smoke_many(
    lifecycle: &Lifecycle,
    challenge_ids: &[String],
    opts: &SmokeOptions,
    concurrency: usize,
    progress: &(dyn Fn(StageEvent) + Send + Sync),
) -> Vec<SmokeReport> {
    // Owned ids: a closure over borrowed ones makes the future non-`Send` (a known
    // limitation of higher-ranked lifetimes in closures), and the console spawns this.
    stream::iter(challenge_ids.to_vec())
        .map(|id| async move { smoke(lifecycle, &id, opts, progress).await })
        .buffered(concurrency.max(1))
        .collect()
        .await
}

/// A stage that cannot run: only ever skipped.
async fn never<T>() -> StageOutcome<T> {
    Err(Failed::new("cannot run"))
}

/// One run's report as it is filled in, and why later stages are skipped.
struct Run<'a> {
    report: SmokeReport,
    opts: &'a SmokeOptions,
    progress: &'a (dyn Fn(StageEvent) + Send + Sync),
    /// Set by the first failure or interruption: the reason every later stage is skipped.
    halted: Option<String>,
}

impl<'a> Run<'a> {
    fn new(
        challenge_id: &str,
        opts: &'a SmokeOptions,
        progress: &'a (dyn Fn(StageEvent) + Send + Sync),
    ) -> Self {
        Run {
            report: SmokeReport {
                challenge: challenge_id.to_string(),
                instance: None,
                address: None,
                kept: false,
                interrupted: false,
                stages: Vec::new(),
            },
            opts,
            progress,
            halted: None,
        }
    }

    /// Run a stage unless an earlier one failed or the run was interrupted. With
    /// `interruptible`, Ctrl-C abandons the stage at once (it holds nothing to clean up).
    async fn step<T>(
        &mut self,
        stage: Stage,
        interruptible: bool,
        work: impl Future<Output = StageOutcome<T>>,
    ) -> Option<T> {
        if self.halted.is_none() && self.opts.cancel.is_cancelled() {
            self.interrupt();
        }
        if let Some(reason) = self.halted.clone() {
            self.skip(stage, format!("skipped: {reason}"));
            return None;
        }
        let outcome = if interruptible {
            let cancel = self.opts.cancel.clone();
            self.timed(stage, async {
                tokio::select! {
                    outcome = work => outcome,
                    () = cancel.cancelled() => Err(Failed::new("interrupted")),
                }
            })
            .await
        } else {
            self.timed(stage, work).await
        };
        if self.opts.cancel.is_cancelled() {
            self.interrupt();
        }
        match outcome {
            Some(value) => Some(value),
            None => {
                if self.halted.is_none() {
                    self.halted = Some(format!("{stage} failed"));
                }
                None
            }
        }
    }

    /// Run a stage whatever happened before (teardown).
    async fn always<T>(&mut self, stage: Stage, work: impl Future<Output = StageOutcome<T>>) {
        self.timed(stage, work).await;
    }

    async fn timed<T>(
        &mut self,
        stage: Stage,
        work: impl Future<Output = StageOutcome<T>>,
    ) -> Option<T> {
        (self.progress)(StageEvent::Started {
            challenge: self.report.challenge.clone(),
            stage,
        });
        let started = Instant::now();
        let outcome = work.await;
        let duration = started.elapsed();
        let (value, result) = match outcome {
            Ok(passed) => (
                Some(passed.value),
                StageResult {
                    stage,
                    status: StageStatus::Passed,
                    duration,
                    message: passed.message,
                    details: passed.details,
                },
            ),
            Err(failed) => (
                None,
                StageResult {
                    stage,
                    status: StageStatus::Failed,
                    duration,
                    message: failed.message,
                    details: failed.details,
                },
            ),
        };
        self.record(result);
        value
    }

    fn skip(&mut self, stage: Stage, message: String) {
        self.record(StageResult {
            stage,
            status: StageStatus::Skipped,
            duration: std::time::Duration::ZERO,
            message,
            details: Vec::new(),
        });
    }

    fn interrupt(&mut self) {
        self.report.interrupted = true;
        if self.halted.is_none() {
            self.halted = Some("interrupted".to_string());
        }
    }

    fn record(&mut self, result: StageResult) {
        (self.progress)(StageEvent::Finished {
            challenge: self.report.challenge.clone(),
            result: result.clone(),
        });
        self.report.stages.push(result);
    }
}

/// The console runs smoke tests in background tasks: the future must be `Send`. This does not
/// run; it fails to compile if that ever stops being true.
#[cfg(test)]
#[allow(dead_code)]
fn smoke_futures_are_send(
    lifecycle: &Lifecycle,
    opts: &SmokeOptions,
    progress: &(dyn Fn(StageEvent) + Send + Sync),
) {
    fn is_send<T: Send>(_: &T) {}
    is_send(&smoke(lifecycle, "id", opts, progress));
    is_send(&smoke_many(lifecycle, &[], opts, 1, progress));
}
