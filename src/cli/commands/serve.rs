//! `serve`: the scoreboard API (`crate::api`) and the reaper — the very daemon of
//! `reap --watch` — in one process. SIGTERM or SIGINT: stop accepting, let in-flight
//! requests finish (bounded), exit 0.

use std::net::SocketAddr;
use std::sync::Arc;

use color_eyre::eyre::{Result, WrapErr};
use tokio::signal::unix::{SignalKind, signal};

use crate::api::{self, ApiState, ConnectionLimits, Metrics, RateLimiter};
use crate::cli::context::Context;
use crate::domain::reaper::ReaperEvent;
use crate::domain::reaper::{self, ReaperTiming};
use crate::domain::view::rfc3339;
use crate::store::now_millis;

pub async fn run(ctx: &Context, listen: Option<SocketAddr>) -> Result<()> {
    ctx.require_write("serve")?;
    let addr = listen.unwrap_or(ctx.config.api.listen);
    let mut terminate =
        signal(SignalKind::terminate()).wrap_err("installing the SIGTERM handler")?;
    let lifecycle = ctx.lifecycle().await?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .wrap_err_with(|| format!("cannot listen on {addr}"))?;
    let metrics = Arc::new(Metrics::default());
    let state = Arc::new(ApiState {
        metrics: metrics.clone(),
        lifecycle,
        public_host: ctx
            .config
            .public_host
            .clone()
            .unwrap_or_else(|| "localhost".to_string()),
        rate: RateLimiter::new(ctx.config.api.rate_per_minute),
    });
    let limits = ConnectionLimits {
        max_connections: ctx.config.api.max_connections,
        header_timeout: ctx.config.api.header_timeout,
    };
    let connect = || async {
        ctx.reconciled_lifecycle()
            .await
            .map_err(|e| format!("{e:#}"))
    };
    // The same daemon and printer as `reap --watch`; its lateness also goes to /metrics.
    let events = Arc::new(move |event: ReaperEvent| {
        if let ReaperEvent::Reaped { late_ms, .. } = &event {
            metrics.reaped_late(*late_ms);
        }
        super::reap::print(event);
    });
    let reaper = reaper::run(connect, ReaperTiming::default(), events);
    let shutdown = async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    };
    println!(
        "{} serving the API on {}",
        rfc3339(now_millis()),
        listener.local_addr().unwrap_or(addr)
    );
    tokio::select! {
        served = api::serve(listener, state, limits, shutdown) => served.wrap_err("serving the API")?,
        // The reaper runs until the process ends; it never returns on its own.
        () = reaper => {}
    }
    println!("{} API stopped", rfc3339(now_millis()));
    Ok(())
}
