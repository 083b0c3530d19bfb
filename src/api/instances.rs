//! The instance routes: the catalog's challenges, and one owner's instances — list, show,
//! spawn, extend, reset, stop. Each acts through the domain for the owner the scoreboard
//! names; another owner's instance is refused (403) and audited. No flags in any answer.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::task::{JoinError, JoinHandle};

use crate::domain::view::InstanceView;
use crate::domain::{DomainError, Lifecycle, Owner};
use crate::shared::PublishedPort;
use crate::store::{InstanceRecord, now_millis};

use super::auth::Caller;
use super::{ApiError, Shared, queue};

/// A JSON body: too large → 413, not JSON or not the expected fields → 400 naming where.
pub fn json_body<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
    let bytes = body.map_err(|r| ApiError::new(r.status(), "bad-body", r.body_text()))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request("invalid-json", format!("request body: {e}")))
}

/// The instance as the API shows it: `list --json`'s object, and what a player needs.
#[derive(Serialize)]
pub struct InstanceJson {
    #[serde(flatten)]
    view: InstanceView,
    /// Ready to paste: `nc HOST PORT` for TCP, `http://HOST:PORT/` for HTTP.
    connection: Vec<String>,
    seconds_left: i64,
    renewals_left: u32,
    /// An extend asked now would be granted (renewals left, inside the renewal window).
    can_extend_now: bool,
}

fn connection(port: &PublishedPort, public_host: &str) -> String {
    let host = if port.host_ip.is_empty() || port.host_ip == "0.0.0.0" || port.host_ip == "::" {
        public_host
    } else {
        port.host_ip.as_str()
    };
    match port.protocol.as_str() {
        "http" => format!("http://{host}:{}/", port.host_port),
        _ => format!("nc {host} {}", port.host_port),
    }
}

fn instance_json(state: &Shared, lifecycle: &Lifecycle, r: &InstanceRecord) -> InstanceJson {
    let now = now_millis();
    let public_host = state.public_host.as_str();
    InstanceJson {
        can_extend_now: lifecycle.can_extend_now(r, now),
        view: InstanceView::from(r),
        connection: r.ports.iter().map(|p| connection(p, public_host)).collect(),
        seconds_left: ((r.expires_at - now) / 1000).max(0),
        renewals_left: r.max_renewals.saturating_sub(r.renewals),
    }
}

#[derive(Serialize)]
pub struct ChallengeJson {
    id: String,
    name: String,
    category: String,
    points: u32,
    ports: Vec<PortJson>,
}

#[derive(Serialize)]
struct PortJson {
    port: u32,
    protocol: String,
}

pub async fn challenges(caller: Caller) -> Json<Vec<ChallengeJson>> {
    let list = caller
        .lifecycle
        .catalog()
        .challenges
        .iter()
        .map(|c| ChallengeJson {
            id: c.id.clone(),
            name: c.name.clone(),
            category: c.category.clone(),
            points: c.points,
            ports: c
                .container
                .ports
                .iter()
                .map(|p| PortJson {
                    port: p.container,
                    protocol: serde_json::to_value(p.protocol)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                })
                .collect(),
        })
        .collect();
    Json(list)
}

pub async fn list(
    State(state): State<Shared>,
    caller: Caller,
) -> Result<Json<Vec<InstanceJson>>, ApiError> {
    let records = caller.lifecycle.instances_of(caller.owner()?)?;
    Ok(Json(
        records
            .iter()
            .map(|r| instance_json(&state, &caller.lifecycle, r))
            .collect(),
    ))
}

pub async fn show(
    State(state): State<Shared>,
    caller: Caller,
    InstanceId(id): InstanceId,
) -> Result<Json<InstanceJson>, ApiError> {
    let record = caller
        .lifecycle
        .owned_instance(&id, caller.owner()?, "show")?;
    Ok(Json(instance_json(&state, &caller.lifecycle, &record)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpawnRequest {
    challenge: String,
    /// Take a place in the spawn queue when the global capacity is reached (default:
    /// `[api] queue`).
    #[serde(default)]
    queue: Option<bool>,
}

/// Start a domain action in its own task, once one of the engine slots is free (engine work
/// runs with bounded concurrency, `[api] engine_concurrency`). In its own task so that it
/// finishes even if the client goes away or the request times out: a spawn or stop cut in the
/// middle would leave engine objects behind for reconcile to find.
pub(super) fn start<T: Send + 'static>(
    state: &Shared,
    action: impl Future<Output = Result<T, DomainError>> + Send + 'static,
) -> JoinHandle<Result<T, DomainError>> {
    let slots = state.engine_slots.clone();
    tokio::spawn(async move {
        // Never closed: the semaphore lives as long as the state.
        let _slot = slots.acquire_owned().await;
        action.await
    })
}

/// What a [`start`]ed action came to.
fn joined<T>(joined: Result<Result<T, DomainError>, JoinError>) -> Result<T, ApiError> {
    match joined {
        Ok(done) => Ok(done?),
        Err(e) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("the action did not finish: {e}"),
        )),
    }
}

/// [`start`], and wait for the end.
pub(super) async fn to_the_end<T: Send + 'static>(
    state: &Shared,
    action: impl Future<Output = Result<T, DomainError>> + Send + 'static,
) -> Result<T, ApiError> {
    joined(start(state, action).await)
}

/// Count an action's outcome (`ok` or its error code) for `/metrics`.
fn counted<T>(state: &Shared, action: &str, done: Result<T, ApiError>) -> Result<T, ApiError> {
    let outcome = done.as_ref().map_or_else(|e| e.code.as_str(), |_| "ok");
    state.metrics.action(action, outcome);
    done
}

pub async fn spawn(
    State(state): State<Shared>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let owner = caller.owner()?.clone();
    let req: SpawnRequest = json_body(body)?;
    let queue = req.queue.unwrap_or(state.queue_by_default);
    // First come first served: while others wait, a spawn that may queue goes behind them.
    if queue && queue::is_waiting(&state) {
        caller.lifecycle.require_challenge(&req.challenge)?;
        return Ok(queued(&state, &caller, &owner, &req.challenge));
    }
    state.current.require_engine()?;
    let acting = caller
        .lifecycle
        .with_actor(caller.lifecycle.actor().clone());
    let (challenge, who) = (req.challenge.clone(), owner.clone());
    let started = std::time::Instant::now();
    let mut task = start(&state, async move { acting.spawn(&challenge, &who).await });
    let done = match tokio::time::timeout(state.spawn_wait, &mut task).await {
        Ok(done) => joined(done),
        Err(_) => {
            // Still starting: answer now, the client polls; the outcome is counted when it comes.
            let later = state.clone();
            tokio::spawn(async move {
                let done = joined(task.await);
                let outcome = done.as_ref().map_or_else(|e| e.code.as_str(), |_| "ok");
                later.metrics.action("spawn", outcome);
            });
            let body = StartingJson {
                challenge: req.challenge,
                owner: owner.to_string(),
                status: "starting",
            };
            return Ok((StatusCode::ACCEPTED, Json(body)).into_response());
        }
    };
    if queue && matches!(&done, Err(e) if e.code == "global-capacity") {
        return Ok(queued(&state, &caller, &owner, &req.challenge));
    }
    let spawned = counted(&state, "spawn", done)?;
    if !spawned.existing {
        state.metrics.spawned_in(started.elapsed());
    }
    let status = if spawned.existing {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let instance = instance_json(&state, &caller.lifecycle, &spawned.instance);
    Ok((status, Json(instance)).into_response())
}

/// A spawn that took longer than `[api] spawn_wait`: it goes on; its instance shows in
/// `GET /v1/instances` (status `starting`, then `running`).
#[derive(Serialize)]
struct StartingJson {
    challenge: String,
    owner: String,
    status: &'static str,
}

/// 202 and the place taken in the spawn queue.
fn queued(state: &Shared, caller: &Caller, owner: &Owner, challenge: &str) -> Response {
    state.metrics.action("spawn", "queued");
    let place = queue::join(state, caller, owner, challenge);
    (StatusCode::ACCEPTED, Json(place)).into_response()
}

pub async fn extend(
    State(state): State<Shared>,
    caller: Caller,
    InstanceId(id): InstanceId,
) -> Result<Json<InstanceJson>, ApiError> {
    let record = caller
        .lifecycle
        .owned_instance(&id, caller.owner()?, "extend")?;
    state.current.require_engine()?;
    let lifecycle = Arc::new(caller.lifecycle);
    let acting = lifecycle.clone();
    let extended = counted(
        &state,
        "extend",
        to_the_end(&state, async move { acting.extend(&record.id, None).await }).await,
    )?;
    Ok(Json(instance_json(&state, &lifecycle, &extended)))
}

pub async fn reset(
    State(state): State<Shared>,
    caller: Caller,
    InstanceId(id): InstanceId,
) -> Result<Json<InstanceJson>, ApiError> {
    let record = caller
        .lifecycle
        .owned_instance(&id, caller.owner()?, "reset")?;
    state.current.require_engine()?;
    let lifecycle = Arc::new(caller.lifecycle);
    let acting = lifecycle.clone();
    let fresh = counted(
        &state,
        "reset",
        to_the_end(&state, async move { acting.reset(&record.id).await }).await,
    )?;
    Ok(Json(instance_json(&state, &lifecycle, &fresh)))
}

pub async fn stop(
    State(state): State<Shared>,
    caller: Caller,
    InstanceId(id): InstanceId,
) -> Result<StatusCode, ApiError> {
    let record = caller
        .lifecycle
        .owned_instance(&id, caller.owner()?, "stop")?;
    state.current.require_engine()?;
    let lifecycle = caller.lifecycle;
    counted(
        &state,
        "stop",
        to_the_end(&state, async move {
            lifecycle.stop(&record.id, "stopped by its owner").await
        })
        .await,
    )?;
    Ok(StatusCode::NO_CONTENT)
}

/// The `{id}` of an instance route. A malformed one (bytes that are not UTF-8) is answered like
/// every other error, in the JSON shape, not with the framework's plain-text rejection.
pub struct InstanceId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for InstanceId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(id)| InstanceId(id))
            .map_err(|e| ApiError::bad_request("bad-instance-id", e.body_text()))
    }
}
