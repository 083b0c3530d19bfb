//! `status`: whether the scoreboard API (`serve`) runs on this store, from the heartbeat it
//! writes — the same facts as the console's status bar, for scripts and runbooks.

use color_eyre::eyre::Result;
use serde::Serialize;

use crate::cli::context::Context;
use crate::cli::output::print_json;
use crate::domain::api_status::{ApiHealth, api_health, api_status};
use crate::domain::view::rfc3339;
use crate::store::now_millis;

#[derive(Serialize)]
struct StatusJson {
    /// `up`, `down` (heartbeat stale), `stopped` (clean stop) or `never`.
    state: &'static str,
    listen: Option<String>,
    pid: Option<u32>,
    started_at: Option<String>,
    last_seen: Option<String>,
    requests_per_min: Option<u64>,
    errors_per_min: Option<u64>,
    queue_length: Option<u64>,
}

pub fn run(ctx: &Context, json: bool) -> Result<()> {
    let status = api_status(&ctx.open_store()?)?;
    let now = now_millis();
    let health = api_health(status.as_ref(), now);
    let state = match &health {
        ApiHealth::Never => "never",
        ApiHealth::Up(_) => "up",
        ApiHealth::Down { stopped: true, .. } => "stopped",
        ApiHealth::Down { .. } => "down",
    };
    if json {
        let s = status.as_ref();
        return print_json(&StatusJson {
            state,
            listen: s.map(|s| s.listen.clone()),
            pid: s.map(|s| s.pid),
            started_at: s.map(|s| rfc3339(s.started_at)),
            last_seen: s.map(|s| rfc3339(s.updated_at)),
            requests_per_min: s.map(|s| s.requests_per_min),
            errors_per_min: s.map(|s| s.errors_per_min),
            queue_length: s.map(|s| s.queue_length),
        });
    }
    match health {
        ApiHealth::Never => println!("API: no `ctfdeck serve` has run on this store"),
        ApiHealth::Up(s) => println!(
            "API listening on {} (pid {}, since {}): {} req/min, {} errors (5xx)/min, queue {}",
            s.listen,
            s.pid,
            rfc3339(s.started_at),
            s.requests_per_min,
            s.errors_per_min,
            s.queue_length
        ),
        ApiHealth::Down {
            listen,
            last_seen,
            stopped,
        } => println!(
            "API on {listen} {} (last seen {})",
            if stopped { "stopped" } else { "down" },
            rfc3339(last_seen)
        ),
    }
    Ok(())
}
