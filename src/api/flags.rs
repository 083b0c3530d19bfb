//! `POST /v1/flags/verify`: the scoreboard's "is this flag right, and is it this owner's?".
//! The same domain call as `flag whose --submitted-by`, so a shared flag is audited as
//! `flag-shared` and every open console shows it. The answer never names another instance.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::domain::Submission;

use super::ApiError;
use super::auth::Caller;
use super::instances::json_body;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Verify {
    challenge: String,
    flag: String,
}

pub async fn verify(
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let owner = caller.owner()?.clone();
    let req: Verify = json_body(body)?;
    let lifecycle = caller.lifecycle;
    lifecycle.require_challenge(&req.challenge)?;
    let verdict = match lifecycle.check_submission(&req.flag, &owner)? {
        Submission::Own { instance } if instance.challenge == req.challenge => "own",
        Submission::Shared { instance, .. } if instance.challenge == req.challenge => "shared",
        Submission::Static { challenge } if challenge == req.challenge => "static",
        _ => "wrong",
    };
    Ok(Json(json!({ "verdict": verdict })))
}
