//! `ctfdeck serve`'s HTTP API: what a scoreboard calls to start, keep and stop its players'
//! instances and to check their flags. Every route goes through the domain (the same calls
//! as the CLI's), acting for the owner the scoreboard names; see docs/API.md.

mod auth;
mod errors;
mod flags;
#[cfg(test)]
mod fuzz_tests;
mod health;
mod instances;
mod metrics;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post};
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};

use crate::domain::Lifecycle;

pub use errors::ApiError;
pub use metrics::Metrics;

/// The largest request body accepted; anything larger is answered 413 unread.
pub const BODY_LIMIT: usize = 16 * 1024;

/// How long a request may take in all: a spawn creates a network and a container.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// How long a client may take to send its body (a slow sender holds a connection).
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long in-flight requests may still run after SIGTERM before the process exits anyway.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// What every handler shares.
pub struct ApiState {
    /// The lifecycle the API acts through; each request gets a copy acting as its caller.
    pub lifecycle: Lifecycle,
    /// The host name players type, in the instances' `connection` strings.
    pub public_host: String,
    /// Shared with the reaper, which reports its lateness into it.
    pub metrics: Arc<Metrics>,
}

pub type Shared = Arc<ApiState>;

pub fn router(state: Shared) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/v1/challenges", get(instances::challenges))
        .route("/v1/instances", get(instances::list).post(instances::spawn))
        .route(
            "/v1/instances/{id}",
            get(instances::show).delete(instances::stop),
        )
        .route("/v1/instances/{id}/extend", post(instances::extend))
        .route("/v1/instances/{id}/reset", post(instances::reset))
        .route("/v1/flags/verify", post(flags::verify))
        .route("/metrics", get(metrics::metrics))
        .fallback(errors::no_route)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::count_requests,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(RequestBodyTimeoutLayer::new(BODY_TIMEOUT))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            REQUEST_TIMEOUT,
        ))
        .with_state(state)
}

/// Serve until `shutdown` resolves; then stop accepting, let in-flight requests finish for at
/// most [`SHUTDOWN_GRACE`], and return.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Shared,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stopping, mut stopped) = tokio::sync::watch::channel(false);
    let signal = async move {
        shutdown.await;
        let _ = stopping.send(true);
    };
    let server = axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(signal);
    let grace = async move {
        let _ = stopped.wait_for(|s| *s).await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        done = server => done,
        () = grace => {
            tracing::warn!(
                "requests still running {}s after shutdown began; exiting anyway",
                SHUTDOWN_GRACE.as_secs()
            );
            Ok(())
        }
    }
}
