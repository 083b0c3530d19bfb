//! `ctfdeck serve`'s HTTP API: what a scoreboard calls to start, keep and stop its players'
//! instances and to check their flags. Every route goes through the domain (the same calls
//! as the CLI's), acting for the owner the scoreboard names; see docs/API.md.

mod auth;
mod connections;
mod current;
mod errors;
mod flags;
#[cfg(test)]
mod fuzz_tests;
mod health;
mod heartbeat;
mod instances;
mod metrics;
#[cfg(test)]
mod openapi_tests;
mod queue;
mod rate_limit;
mod traffic;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, StatusCode};
use axum::routing::{MethodRouter, delete, get, post};
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};

use crate::domain::queue::SpawnQueue;

pub use connections::{ConnectionLimits, serve};
pub use current::Current;
pub use errors::ApiError;
pub use heartbeat::{Heartbeat, QueueLength, start as start_heartbeat};
pub use metrics::Metrics;
pub use queue::drive as drive_queue;
pub use rate_limit::RateLimiter;

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
    /// The lifecycle the API acts through (replaced when the engine first answers and when
    /// the catalog changes); each request gets a copy acting as its caller.
    pub current: Current,
    /// The host name players type, in the instances' `connection` strings.
    pub public_host: String,
    /// Shared with the reaper, which reports its lateness into it.
    pub metrics: Arc<Metrics>,
    /// Requests per minute per token.
    pub rate: RateLimiter,
    /// Spawns waiting for a free slot of the global capacity.
    pub queue: Mutex<SpawnQueue>,
    /// Whether a spawn that does not say (`"queue"`) takes a place when the capacity is reached.
    pub queue_by_default: bool,
    /// Engine actions (spawn, extend, reset, stop) running at once; the rest wait their turn.
    pub engine_slots: Arc<tokio::sync::Semaphore>,
    /// How long a spawn request waits for its instance before answering 202 `starting`.
    pub spawn_wait: Duration,
}

pub type Shared = Arc<ApiState>;

/// Every route the API answers, as (path, method, handler): the one list the router is
/// built from, and that docs/openapi.json is checked against.
pub fn routes() -> Vec<(&'static str, Method, MethodRouter<Shared>)> {
    vec![
        ("/healthz", Method::GET, get(health::healthz)),
        ("/v1/challenges", Method::GET, get(instances::challenges)),
        ("/v1/instances", Method::GET, get(instances::list)),
        ("/v1/instances", Method::POST, post(instances::spawn)),
        ("/v1/instances/{id}", Method::GET, get(instances::show)),
        (
            "/v1/instances/{id}",
            Method::DELETE,
            delete(instances::stop),
        ),
        (
            "/v1/instances/{id}/extend",
            Method::POST,
            post(instances::extend),
        ),
        (
            "/v1/instances/{id}/reset",
            Method::POST,
            post(instances::reset),
        ),
        ("/v1/flags/verify", Method::POST, post(flags::verify)),
        ("/v1/queue", Method::GET, get(queue::list)),
        (
            "/v1/queue/{challenge}",
            Method::DELETE,
            delete(queue::leave),
        ),
        ("/metrics", Method::GET, get(metrics::metrics)),
    ]
}

pub fn router(state: Shared) -> Router {
    routes()
        .into_iter()
        .fold(Router::new(), |router, (path, _, handler)| {
            router.route(path, handler)
        })
        .fallback(errors::no_route)
        .method_not_allowed_fallback(errors::wrong_method)
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
