//! `serve`: the scoreboard API (`crate::api`) and the reaper — the very daemon of
//! `reap --watch` — in one process. It starts while the engine is down (answering from the
//! store, refusing engine actions with 503) and takes the engine on when it answers; it
//! follows edits to the catalog folder. SIGTERM or SIGINT: stop accepting, let in-flight
//! requests finish (bounded), exit 0.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use color_eyre::eyre::{Result, WrapErr};
use tokio::signal::unix::{SignalKind, signal};

use crate::api::{self, ApiState, ConnectionLimits, Current, Metrics, RateLimiter, Shared};
use crate::catalog::Catalog;
use crate::catalog::watch::{Watcher, watch};
use crate::cli::context::Context;
use crate::domain::Lifecycle;
use crate::domain::reaper::ReaperEvent;
use crate::domain::reaper::{self, ReaperTiming};
use crate::domain::view::rfc3339;
use crate::engine::{AbsentEngine, DockerEngine, EngineError};
use crate::store::now_millis;

/// The longest wait between tries to reach an engine that was down at start.
const MAX_RETRY: Duration = Duration::from_secs(10);

pub async fn run(ctx: &Context, listen: Option<SocketAddr>) -> Result<()> {
    ctx.require_write("serve")?;
    let addr = listen.unwrap_or(ctx.config.api.listen);
    let mut terminate =
        signal(SignalKind::terminate()).wrap_err("installing the SIGTERM handler")?;
    let catalog = Arc::new(ctx.catalog()?);
    let (lifecycle, connected) = match DockerEngine::connect(ctx.engine_explicit().as_deref()).await
    {
        Ok(_) => (ctx.lifecycle().await?, true),
        Err(e) if e.is_unreachable() => {
            eprintln!("warning: {e}; answering from the store until the engine answers");
            (store_view(ctx, catalog.clone(), &e)?, false)
        }
        Err(e) => return Err(e.into()),
    };
    let ssh = super::serve_ssh::start(ctx)?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .wrap_err_with(|| format!("cannot listen on {addr}"))?;
    let metrics = Arc::new(Metrics::default());
    let state = Arc::new(ApiState {
        metrics: metrics.clone(),
        current: Current::new(lifecycle.with_catalog(catalog), connected),
        public_host: ctx
            .config
            .public_host
            .clone()
            .unwrap_or_else(|| "localhost".to_string()),
        rate: RateLimiter::new(ctx.config.api.rate_per_minute),
        queue: Default::default(),
        queue_by_default: ctx.config.api.queue,
        engine_slots: Arc::new(tokio::sync::Semaphore::new(
            ctx.config.api.engine_concurrency.max(1),
        )),
        spawn_wait: ctx.config.api.spawn_wait,
    });
    // The consoles' status bar reads this: where the API listens, its traffic, the queue.
    let queued = Arc::downgrade(&state);
    let _heartbeat = api::start_heartbeat(
        ctx.open_store()?,
        listener.local_addr().unwrap_or(addr).to_string(),
        metrics.clone(),
        Arc::new(move || {
            queued
                .upgrade()
                .and_then(|state| state.queue.lock().ok().map(|q| q.len() as u64))
                .unwrap_or(0)
        }),
    )?;
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
    let engine_link = async {
        if !connected {
            until_connected(ctx, &state).await;
        }
        std::future::pending::<()>().await;
    };
    let _watcher = follow_catalog(ctx, state.clone());
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
        served = api::serve(listener, state.clone(), limits, shutdown) => served.wrap_err("serving the API")?,
        // The reaper runs until the process ends; it never returns on its own.
        () = reaper => {}
        // So does the SSH server (when `[ssh] listen` is set), unless it cannot start.
        served = ssh => served?,
        () = engine_link => {}
        () = api::drive_queue(state.clone()) => {}
    }
    println!("{} API stopped", rfc3339(now_millis()));
    Ok(())
}

/// The lifecycle on an engine that has not answered: it reads the store; engine calls fail
/// as unreachable (and the API refuses engine actions until [`until_connected`] is done).
fn store_view(ctx: &Context, catalog: Arc<Catalog>, why: &EngineError) -> Result<Lifecycle> {
    let target = DockerEngine::target(ctx.engine_explicit().as_deref());
    let engine = AbsentEngine::new(target, why.to_string());
    Ok(Lifecycle::new(
        Arc::new(engine),
        ctx.open_store()?,
        catalog,
        ctx.config.policy(),
        ctx.actor(),
    )?)
}

/// Try the engine again, backing off, until it answers; then reconcile and act through it.
async fn until_connected(ctx: &Context, state: &Shared) {
    let mut wait = Duration::from_secs(1);
    loop {
        tokio::time::sleep(wait).await;
        match ctx.reconciled_lifecycle().await {
            Ok((lifecycle, report)) => {
                if !report.is_empty() {
                    tracing::info!("reconciled: {report}");
                }
                state.current.connected(lifecycle);
                println!("{} the engine answers", rfc3339(now_millis()));
                return;
            }
            Err(e) => {
                tracing::debug!("the engine still does not answer: {e:#}");
                wait = (wait * 2).min(MAX_RETRY);
            }
        }
    }
}

/// Read the catalog again after each burst of edits, as the console does; a folder that
/// cannot be read keeps the challenges read before. The watcher lives as long as the value.
fn follow_catalog(ctx: &Context, state: Shared) -> Option<Watcher> {
    let dir = ctx.catalog_dir();
    let ceilings = ctx.config.ceilings.clone();
    let reload = {
        let dir = dir.clone();
        move |_| match Catalog::load(&dir, &ceilings) {
            Ok(report) => {
                for d in &report.diagnostics {
                    tracing::warn!("{d}");
                }
                println!(
                    "{} catalog read again: {} challenge(s)",
                    rfc3339(now_millis()),
                    report.catalog.challenges.len()
                );
                state.current.set_catalog(Arc::new(report.catalog));
            }
            Err(e) => tracing::warn!(
                "cannot read the catalog {} again ({e}); keeping the challenges read before",
                dir.display()
            ),
        }
    };
    match watch(&dir, reload) {
        Ok(watcher) => Some(watcher),
        Err(e) => {
            tracing::warn!("serve will not follow catalog edits: {e}");
            None
        }
    }
}
