//! Stage 4: the instance answers — every published port (an HTTP status for `http` ports, a
//! held-open connection or a banner for `tcp`), and its healthcheck when it has one — within
//! the timeout. When it does not, say why: the container's exit code or OOM kill, and its last
//! log lines.

use std::time::{Duration, Instant};

use futures_util::StreamExt;

use crate::catalog::Challenge;
use crate::engine::{ContainerState, Engine};
use crate::store::{InstanceRecord, PublishedPort};

use super::outcome::{Failed, Passed, StageOutcome, last_lines};
use super::probe::{self, Probe};

/// Between two rounds of probes: short, because this wait is part of what the smoke test
/// measures (spawn → first answer).
const POLL: Duration = Duration::from_millis(20);
/// Between two looks at the container's state (an engine round trip).
const STATE_EVERY: Duration = Duration::from_millis(200);
/// How long to wait for the engine's OOM event after a SIGKILL exit: tries × step.
const OOM_SETTLE_TRIES: u32 = 10;
const OOM_SETTLE_STEP: Duration = Duration::from_millis(100);
/// Between two runs of a definition's healthcheck command.
const HEALTHCHECK_EVERY: Duration = Duration::from_millis(500);

/// Where to reach a published port from this host.
pub fn host_for(port: &PublishedPort) -> String {
    match port.host_ip.as_str() {
        // Published on every address: loopback is one of them.
        "" | "0.0.0.0" => "127.0.0.1".to_string(),
        "::" => "::1".to_string(),
        ip => ip.to_string(),
    }
}

struct Target {
    port: PublishedPort,
    host: String,
    last: String,
}

impl Target {
    fn label(&self) -> String {
        format!("{}/{}", self.port.container, self.port.protocol)
    }
}

pub async fn run(
    engine: &dyn Engine,
    challenge: &Challenge,
    instance: &InstanceRecord,
    timeout: Duration,
    log_lines: usize,
) -> StageOutcome<()> {
    let Some(container) = instance.container_id.as_deref() else {
        return Err(Failed::new("the instance has no container"));
    };
    let started = Instant::now();
    let deadline = started + timeout;
    let mut pending: Vec<Target> = instance
        .ports
        .iter()
        .map(|p| Target {
            port: p.clone(),
            host: host_for(p),
            last: "not tried yet".to_string(),
        })
        .collect();
    let mut answered: Vec<String> = Vec::new();
    let exec_check = challenge
        .container
        .healthcheck
        .as_ref()
        .map(|h| exec_form(&h.test));
    let mut exec_ok = exec_check.is_none();
    let mut exec_last = String::new();
    let mut next_exec = started;
    let mut state: Option<ContainerState> = None;
    let mut next_state = started;

    loop {
        let now = Instant::now();
        if now >= next_state {
            next_state = now + STATE_EVERY;
            let current = engine
                .container_state(container)
                .await
                .map_err(|e| Failed::new(e.to_string()))?;
            if current.has_exited() {
                let current = settle_oom(engine, container, current).await;
                let details = logs(engine, container, log_lines).await;
                return Err(Failed::new(format!(
                    "the container {} before answering",
                    current.describe_exit()
                ))
                .with_details(details));
            }
            if let Some(health) = &current.health
                && health.status == "unhealthy"
            {
                let mut details = vec![format!(
                    "last healthcheck output: {}",
                    health.last_output.as_deref().unwrap_or("(none)")
                )];
                details.extend(logs(engine, container, log_lines).await);
                return Err(Failed::new("the container's healthcheck reports unhealthy")
                    .with_details(details));
            }
            state = Some(current);
        }

        let mut still = Vec::new();
        for mut target in pending {
            let result = match target.port.protocol.as_str() {
                "http" => probe::http(&target.host, target.port.host_port).await,
                _ => probe::tcp(&target.host, target.port.host_port).await,
            };
            match result {
                Probe::Answered(how) => answered.push(format!("{} {how}", target.label())),
                Probe::NoAnswer(why) => {
                    target.last = why;
                    still.push(target);
                }
            }
        }
        pending = still;

        // The definition's own healthcheck is run here when the engine does not run it.
        let engine_health = state.as_ref().and_then(|s| s.health.as_ref());
        if !exec_ok && engine_health.is_none() && Instant::now() >= next_exec {
            next_exec = Instant::now() + HEALTHCHECK_EVERY;
            if let Some(cmd) = &exec_check {
                let args: Vec<&str> = cmd.iter().map(String::as_str).collect();
                match engine.exec(container, &args).await {
                    Ok(out) if out.exit_code == 0 => exec_ok = true,
                    Ok(out) => {
                        exec_last = format!(
                            "exit {}: {}",
                            out.exit_code,
                            last_lines(&out.output, 1).join("")
                        )
                    }
                    Err(e) => exec_last = e.to_string(),
                }
            }
        }
        let health_ok = engine_health.is_none_or(|h| h.status == "healthy");

        if pending.is_empty() && health_ok && (exec_ok || engine_health.is_some()) {
            let mut message = format!("answered after {}", seconds(started.elapsed()));
            if !answered.is_empty() {
                message.push_str(&format!(": {}", answered.join(", ")));
            }
            if engine_health.is_some() || exec_check.is_some() {
                message.push_str(", healthcheck passing");
            }
            return Ok(Passed::new((), message));
        }
        if Instant::now() >= deadline {
            let mut waiting: Vec<String> = pending
                .iter()
                .map(|t| format!("port {}: {}", t.label(), t.last))
                .collect();
            if !health_ok {
                waiting.push("healthcheck: still starting".to_string());
            } else if !exec_ok && engine_health.is_none() {
                waiting.push(format!("healthcheck: {exec_last}"));
            }
            let mut details = vec![format!(
                "container state: {}",
                state.as_ref().map_or("unknown", |s| s.status.as_str())
            )];
            details.extend(logs(engine, container, log_lines).await);
            return Err(Failed::new(format!(
                "not ready within {}; {}",
                seconds(timeout),
                waiting.join("; ")
            ))
            .with_details(details));
        }
        tokio::time::sleep(POLL.min(deadline.saturating_duration_since(Instant::now()))).await;
    }
}

/// A SIGKILL exit (137) is what the kernel's OOM killer leaves, but the engine learns of the
/// OOM from a separate event that may land just after the exit: look again for a moment
/// before saying it was not an OOM kill.
async fn settle_oom(engine: &dyn Engine, container: &str, state: ContainerState) -> ContainerState {
    if state.oom_killed || state.exit_code != Some(137) {
        return state;
    }
    for _ in 0..OOM_SETTLE_TRIES {
        tokio::time::sleep(OOM_SETTLE_STEP).await;
        match engine.container_state(container).await {
            Ok(again) if again.oom_killed => return again,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    state
}

/// Docker's `["CMD", …]` / `["CMD-SHELL", "…"]` forms, or a plain command.
fn exec_form(test: &[String]) -> Vec<String> {
    match test.split_first() {
        Some((first, rest)) if first == "CMD" => rest.to_vec(),
        Some((first, rest)) if first == "CMD-SHELL" => {
            vec!["sh".to_string(), "-c".to_string(), rest.join(" ")]
        }
        _ => test.to_vec(),
    }
}

/// The container's last log lines, introduced, for a failure's details.
pub async fn logs(engine: &dyn Engine, container: &str, n: usize) -> Vec<String> {
    let mut text = String::new();
    let mut stream = engine.logs(container, false, Some(n));
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(chunk) => text.push_str(&chunk),
            Err(e) => {
                return vec![format!("(could not read the container's logs: {e})")];
            }
        }
    }
    let lines = last_lines(&text, n);
    if lines.is_empty() {
        return vec!["(the container logged nothing)".to_string()];
    }
    let mut out = vec![format!("last {} log line(s):", lines.len())];
    out.extend(lines.into_iter().map(|l| format!("| {l}")));
    out
}

pub fn seconds(d: Duration) -> String {
    format!("{:.2}s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn healthcheck_forms_become_commands() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            exec_form(&v(&["CMD", "wget", "-q", "localhost"])),
            v(&["wget", "-q", "localhost"])
        );
        assert_eq!(
            exec_form(&v(&["CMD-SHELL", "nc -z localhost 80"])),
            v(&["sh", "-c", "nc -z localhost 80"])
        );
        assert_eq!(exec_form(&v(&["/check"])), v(&["/check"]));
    }

    #[test]
    fn wildcard_bindings_are_reached_on_loopback() {
        let port = |ip: &str| PublishedPort {
            container: 80,
            host_ip: ip.to_string(),
            host_port: 1,
            protocol: "tcp".into(),
        };
        assert_eq!(host_for(&port("0.0.0.0")), "127.0.0.1");
        assert_eq!(host_for(&port("")), "127.0.0.1");
        assert_eq!(host_for(&port("::")), "::1");
        assert_eq!(host_for(&port("10.1.2.3")), "10.1.2.3");
    }
}
