//! `GET /healthz`: whether the engine and the store answer. No token: a load balancer asks.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::Shared;

pub async fn healthz(State(state): State<Shared>) -> (StatusCode, Json<Value>) {
    let lifecycle = state.current.get();
    // Before the engine first answered, the API refuses engine actions: down, whatever a ping says.
    let engine = state.current.is_connected() && lifecycle.engine().ping().await.is_ok();
    let store = lifecycle.store().schema_version().is_ok();
    let word = |ok: bool| if ok { "ok" } else { "down" };
    let status = if engine && store {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({"engine": word(engine), "store": word(store)})),
    )
}
