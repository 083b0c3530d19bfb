//! Errors as the API answers them: `{"error": {"code", "message"}}`, with the status that
//! fits, and `Retry-After` when a refusal says when it frees up. Codes name the same rules as
//! the CLI's refusals (`per-owner-quota`, `spawn-cooldown`, …).

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::domain::DomainError;
use crate::store::StoreError;

/// Every (status, code) the API answers errors with: the list docs/openapi.json documents (a
/// test holds the two together) and that debug builds check each error answer against.
pub const CODES: &[(u16, &str)] = &[
    (400, "invalid-json"),
    (400, "owner-required"),
    (400, "invalid-owner"),
    (400, "bad-body"),
    (400, "bad-instance-id"),
    (400, "bad-challenge-id"),
    (401, "unauthorized"),
    (403, "not-owner"),
    (403, "token-role"),
    (403, "not-allowed"),
    (404, "not-found"),
    (404, "unknown-challenge"),
    (404, "no-route"),
    (404, "not-queued"),
    (405, "method-not-allowed"),
    (409, "assignment-mode"),
    (409, "not-running"),
    (409, "renewals-exhausted"),
    (409, "max-lifetime"),
    (409, "unspawnable"),
    (413, "bad-body"),
    (429, "per-owner-quota"),
    (429, "per-challenge-quota"),
    (429, "global-capacity"),
    (429, "spawn-cooldown"),
    (429, "renewal-window"),
    (429, "rate-limit"),
    (500, "internal"),
    (502, "spawn-failed"),
    (502, "engine"),
    (503, "engine-unreachable"),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    /// Seconds, for `Retry-After`.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: code.to_string(),
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn unauthorized(message: &str) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn bad_request(code: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }
}

/// `the per-owner quota` → `per-owner-quota`.
fn rule_code(rule: &str) -> String {
    rule.trim_start_matches("the ").replace(' ', "-")
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> ApiError {
        let message = e.to_string();
        let (status, code) = match &e {
            DomainError::UnknownChallenge { .. } => {
                (StatusCode::NOT_FOUND, "unknown-challenge".into())
            }
            DomainError::Unspawnable { .. } => (StatusCode::CONFLICT, "unspawnable".into()),
            _ if e.is_unreachable() => {
                (StatusCode::SERVICE_UNAVAILABLE, "engine-unreachable".into())
            }
            DomainError::SpawnFailed { .. } => (StatusCode::BAD_GATEWAY, "spawn-failed".into()),
            DomainError::Engine(_) => (StatusCode::BAD_GATEWAY, "engine".into()),
            DomainError::NotRunning { .. } => (StatusCode::CONFLICT, "not-running".into()),
            DomainError::RenewalsExhausted { .. } => {
                (StatusCode::CONFLICT, "renewals-exhausted".into())
            }
            DomainError::AtMaxTotal { .. } => (StatusCode::CONFLICT, "max-lifetime".into()),
            DomainError::Refused {
                rule,
                retry_after_ms,
                ..
            } => {
                // The assignment mode never frees up by waiting; every other refusal does.
                let status = if *rule == "the assignment mode" {
                    StatusCode::CONFLICT
                } else {
                    StatusCode::TOO_MANY_REQUESTS
                };
                let mut err = ApiError::new(status, &rule_code(rule), message);
                err.retry_after = retry_after_ms.map(|ms| (ms.max(0) as u64).div_ceil(1000).max(1));
                return err;
            }
            DomainError::NotAllowed { .. } => (StatusCode::FORBIDDEN, "not-allowed".into()),
            DomainError::NotOwner { .. } => (StatusCode::FORBIDDEN, "not-owner".into()),
            DomainError::Owner(_) => (StatusCode::BAD_REQUEST, "invalid-owner".into()),
            DomainError::Store(
                StoreError::NotFound(_) | StoreError::EmptyPrefix | StoreError::Ambiguous { .. },
            ) => (StatusCode::NOT_FOUND, "not-found".into()),
            DomainError::Token(_)
            | DomainError::NoRandomness { .. }
            | DomainError::Build(_)
            | DomainError::Store(_) => {
                tracing::error!("API request failed: {message}");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal".into())
            }
        };
        ApiError {
            status,
            code,
            message,
            retry_after: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        debug_assert!(
            CODES.contains(&(self.status.as_u16(), self.code.as_str())),
            "undocumented error {} {}",
            self.status,
            self.code
        );
        let body = Json(json!({"error": {"code": self.code, "message": self.message}}));
        let mut response = (self.status, body).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// Any path the API does not have.
pub async fn no_route() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no-route", "no such route")
}

/// A route the API has, asked with a method it does not answer there.
pub async fn wrong_method() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "this route does not answer that method",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_keep_their_rule_names_and_say_when_to_retry() {
        let e = ApiError::from(DomainError::Refused {
            rule: "the per-owner quota",
            message: "m".into(),
            retry_after_ms: Some(1_500),
        });
        assert_eq!(e.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(e.code, "per-owner-quota");
        assert_eq!(e.retry_after, Some(2));
        let e = ApiError::from(DomainError::Refused {
            rule: "the assignment mode",
            message: "m".into(),
            retry_after_ms: None,
        });
        assert_eq!(
            (e.status, e.code.as_str()),
            (StatusCode::CONFLICT, "assignment-mode")
        );
        assert_eq!(e.retry_after, None);
        let e = ApiError::from(DomainError::from(StoreError::NotFound("x".into())));
        assert_eq!(e.status, StatusCode::NOT_FOUND);
        let e = ApiError::from(DomainError::NotOwner {
            id: "a".into(),
            owner: "team:b".into(),
        });
        assert_eq!(
            (e.status, e.code.as_str()),
            (StatusCode::FORBIDDEN, "not-owner")
        );
    }
}
