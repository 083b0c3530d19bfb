//! The spawn queue as the API offers it: when the global capacity is reached, a spawn asked
//! with `"queue": true` (or `[api] queue = true`) takes a place (202) instead of a refusal;
//! `GET /v1/queue` shows the owner's places, `DELETE /v1/queue/{challenge}` leaves. The
//! places are served in order as slots free ([`drive`]), through the same domain spawn.

use std::time::Duration;

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::Serialize;

use crate::domain::queue::{Place, SpawnQueue};
use crate::domain::{Lifecycle, Owner};
use crate::store::{InstanceFilter, now_millis};

use super::auth::Caller;
use super::{ApiError, Shared};

/// How often the queue's front is tried when nothing else wakes it.
const TRY_EVERY: Duration = Duration::from_secs(1);

/// A place in the queue, as the API shows it.
#[derive(Serialize)]
pub struct PlaceJson {
    challenge: String,
    owner: String,
    status: &'static str,
    /// 1 is served next.
    queue_position: usize,
    /// When a slot may free for this place, from the soonest expiries of live instances (an
    /// instance stopped earlier frees one sooner); absent when it cannot be told.
    estimate_seconds: Option<i64>,
}

fn lock(state: &Shared) -> std::sync::MutexGuard<'_, SpawnQueue> {
    // A poisoned lock only means a request panicked while holding it; the queue is whole.
    state
        .queue
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Seconds until the `position`-th soonest expiry among live instances.
fn estimate(lifecycle: &Lifecycle, position: usize) -> Option<i64> {
    let live = lifecycle
        .store()
        .list_instances(&InstanceFilter::default())
        .ok()?;
    let mut expiries: Vec<i64> = live.iter().map(|r| r.expires_at).collect();
    expiries.sort_unstable();
    let at = *expiries.get(position.checked_sub(1)?)?;
    Some(((at - now_millis()) / 1000).max(0))
}

fn place_json(lifecycle: &Lifecycle, position: usize, place: &Place) -> PlaceJson {
    PlaceJson {
        challenge: place.challenge.clone(),
        owner: place.owner.clone(),
        status: "queued",
        queue_position: position,
        estimate_seconds: estimate(lifecycle, position),
    }
}

/// Take (or keep) the caller's place for `challenge`: the 202 answer.
pub fn join(state: &Shared, caller: &Caller, owner: &Owner, challenge: &str) -> PlaceJson {
    let place = Place {
        owner: owner.to_string(),
        challenge: challenge.to_string(),
        actor: caller.lifecycle.actor().clone(),
        since: now_millis(),
    };
    let position = lock(state).join(place.clone());
    place_json(&caller.lifecycle, position, &place)
}

/// Whether someone is waiting (a spawn that may queue then queues behind them).
pub fn is_waiting(state: &Shared) -> bool {
    !lock(state).is_empty()
}

pub async fn list(
    State(state): State<Shared>,
    caller: Caller,
) -> Result<Json<Vec<PlaceJson>>, ApiError> {
    let owner = caller.owner()?.to_string();
    let places: Vec<(usize, Place)> = lock(&state)
        .of_owner(&owner)
        .into_iter()
        .map(|(n, p)| (n, p.clone()))
        .collect();
    Ok(Json(
        places
            .iter()
            .map(|(n, p)| place_json(&caller.lifecycle, *n, p))
            .collect(),
    ))
}

pub async fn leave(
    State(state): State<Shared>,
    caller: Caller,
    ChallengeId(challenge): ChallengeId,
) -> Result<StatusCode, ApiError> {
    let owner = caller.owner()?.to_string();
    if lock(&state).leave(&owner, &challenge) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not-queued",
            format!("{owner} has no place in the queue for {challenge}"),
        ))
    }
}

/// Serve the queue for as long as `serve` runs: each time a slot may have freed, spawn the
/// front place; stop at the first refusal by the global capacity, drop a place whose spawn
/// fails otherwise (the domain audits it; the owner sees no instance and may ask again).
pub async fn drive(state: Shared) {
    loop {
        tokio::time::sleep(TRY_EVERY).await;
        loop {
            // The lock is let go at once: the spawn below takes long, and requests use it.
            let front = lock(&state).front().cloned();
            let Some(place) = front else { break };
            if !state.current.is_connected() {
                break;
            }
            let lifecycle = state.current.get().with_actor(place.actor.clone());
            let spawned = match Owner::for_spawn(&place.owner) {
                Ok(owner) => {
                    let challenge = place.challenge.clone();
                    super::instances::to_the_end(&state, async move {
                        lifecycle.spawn(&challenge, &owner).await
                    })
                    .await
                }
                Err(e) => Err(ApiError::bad_request("invalid-owner", e.to_string())),
            };
            let outcome = spawned
                .as_ref()
                .map_or_else(|e| e.code.clone(), |_| "ok".into());
            if outcome == "global-capacity" {
                break;
            }
            state.metrics.action("spawn", &outcome);
            if let Err(e) = &spawned {
                tracing::warn!(
                    "queued spawn of {} for {} failed: {}",
                    place.challenge,
                    place.owner,
                    e.message
                );
            }
            lock(&state).leave(&place.owner, &place.challenge);
        }
    }
}

/// The `{challenge}` of a queue route; a malformed one is a JSON 400 like every error.
pub struct ChallengeId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ChallengeId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(id)| ChallengeId(id))
            .map_err(|e| ApiError::bad_request("bad-challenge-id", e.body_text()))
    }
}
