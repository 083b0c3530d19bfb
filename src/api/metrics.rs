//! `GET /metrics`: Prometheus text for a `metrics` or `scoreboard` token. Names start with
//! `ctfdeck_`. Live instances and the engine's state are read at scrape time; requests,
//! actions, spawn durations and reap lateness are counted as they happen.

use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::store::InstanceFilter;

use super::auth::Scraper;
use super::{ApiError, Shared};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionLabels {
    action: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LiveLabels {
    challenge: String,
    status: String,
}

fn seconds_histogram() -> Histogram {
    // 50 ms … ~51 s.
    Histogram::new(exponential_buckets(0.05, 2.0, 11))
}

/// The process's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RouteLabels, Counter>,
    actions: Family<ActionLabels, Counter>,
    live: Family<LiveLabels, Gauge>,
    audited: Family<ActionLabels, Gauge>,
    engine_up: Gauge,
    spawn_seconds: Histogram,
    reap_lateness_seconds: Histogram,
    /// Plain totals for the heartbeat (`serve`'s line in the consoles' status bar).
    pub traffic: super::traffic::Traffic,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("ctfdeck");
        let requests = Family::<RouteLabels, Counter>::default();
        let actions = Family::<ActionLabels, Counter>::default();
        let live = Family::<LiveLabels, Gauge>::default();
        let audited = Family::<ActionLabels, Gauge>::default();
        let engine_up = Gauge::default();
        let spawn_seconds = seconds_histogram();
        let reap_lateness_seconds = seconds_histogram();
        registry.register(
            "api_requests",
            "API requests by route and status code",
            requests.clone(),
        );
        registry.register(
            "actions",
            "Spawns, extends, resets and stops asked through the API, by outcome",
            actions.clone(),
        );
        registry.register(
            "live_instances",
            "Live instances by challenge and status",
            live.clone(),
        );
        registry.register(
            "audited_actions",
            "Actions in the audit log, of every process (CLI, console, API, reaper), by action and outcome",
            audited.clone(),
        );
        registry.register("engine_up", "1 when the engine answers", engine_up.clone());
        registry.register(
            "spawn_duration_seconds",
            "How long new instances took to start, through the API",
            spawn_seconds.clone(),
        );
        registry.register(
            "reap_lateness_seconds",
            "How long after its expiry each instance was reaped",
            reap_lateness_seconds.clone(),
        );
        Metrics {
            registry,
            requests,
            actions,
            live,
            audited,
            engine_up,
            spawn_seconds,
            reap_lateness_seconds,
            traffic: super::traffic::Traffic::default(),
        }
    }
}

impl Metrics {
    /// An API action's outcome: `ok` or the error code.
    pub fn action(&self, action: &str, outcome: &str) {
        self.actions
            .get_or_create(&ActionLabels {
                action: action.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
    }

    pub fn spawned_in(&self, took: Duration) {
        self.spawn_seconds.observe(took.as_secs_f64());
    }

    pub fn reaped_late(&self, late_ms: i64) {
        self.reap_lateness_seconds
            .observe(late_ms.max(0) as f64 / 1000.0);
    }
}

/// Counts every request by its route (the pattern, not the path: ids would grow the label
/// set without bound) and status code.
pub async fn count_requests(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_string();
    let response = next.run(request).await;
    state.metrics.traffic.record(response.status());
    state
        .metrics
        .requests
        .get_or_create(&RouteLabels {
            route,
            code: response.status().as_u16().to_string(),
        })
        .inc();
    response
}

pub async fn metrics(State(state): State<Shared>, _scraper: Scraper) -> Result<Response, ApiError> {
    let metrics = &state.metrics;
    let lifecycle = state.current.get();
    let up = lifecycle.engine().ping().await.is_ok();
    metrics.engine_up.set(i64::from(up));
    let live = lifecycle
        .store()
        .list_instances(&InstanceFilter::default())
        .map_err(crate::domain::DomainError::from)?;
    metrics.live.clear();
    for r in &live {
        metrics
            .live
            .get_or_create(&LiveLabels {
                challenge: r.challenge.clone(),
                status: r.status.as_str().to_string(),
            })
            .inc();
    }
    let counts = lifecycle
        .store()
        .audit_counts()
        .map_err(crate::domain::DomainError::from)?;
    metrics.audited.clear();
    for (action, outcome, n) in counts {
        metrics
            .audited
            .get_or_create(&ActionLabels { action, outcome })
            .set(n);
    }
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &metrics.registry)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    Ok(response)
}
