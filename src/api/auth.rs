//! Who is calling: the bearer token (checked against the store's hashes; never logged), the
//! owner the scoreboard acts for (`X-Ctfdeck-Owner`), and the person behind it for the audit
//! (`X-Ctfdeck-Actor`). A request becomes a lifecycle acting as `api:<token> (<actor>)` from
//! the client's address.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};

use crate::domain::tokens::{self, ApiToken, TokenRole};
use crate::domain::{Actor, Lifecycle, Owner, Role};

use super::{ApiError, Shared};

pub const OWNER_HEADER: &str = "x-ctfdeck-owner";
pub const ACTOR_HEADER: &str = "x-ctfdeck-actor";

/// Longest `X-Ctfdeck-Owner` read (`team:` plus a 64-character name fits).
const OWNER_MAX: usize = 80;
/// Longest `X-Ctfdeck-Actor` kept in the audit; the rest is cut.
const ACTOR_MAX: usize = 100;

/// An authenticated scoreboard request.
pub struct Caller {
    /// The domain, acting as this caller.
    pub lifecycle: Lifecycle,
    owner: Result<Owner, ApiError>,
}

impl Caller {
    /// The owner the request acts for; a request without a valid one is refused.
    pub fn owner(&self) -> Result<&Owner, ApiError> {
        self.owner.as_ref().map_err(Clone::clone)
    }
}

impl FromRequestParts<Shared> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, ApiError> {
        let token = token(parts, state)?;
        if token.role != TokenRole::Scoreboard {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "token-role",
                format!(
                    "token {} has the {} role; this route needs a scoreboard token",
                    token.name, token.role
                ),
            ));
        }
        let origin = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or_else(|| "api".to_string(), |c| format!("api:{}", c.0.ip()));
        let name = match actor_text(&parts.headers) {
            Some(who) => format!("api:{} ({who})", token.name),
            None => format!("api:{}", token.name),
        };
        let lifecycle = state.current.get().with_actor(Actor {
            name,
            origin,
            role: Role::Admin,
        });
        Ok(Caller {
            lifecycle,
            owner: owner(&parts.headers),
        })
    }
}

/// A request to `/metrics`: any live token (`metrics` or `scoreboard`).
pub struct Scraper;

impl FromRequestParts<Shared> for Scraper {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, ApiError> {
        token(parts, state).map(|_| Scraper)
    }
}

/// The live token the request carries; 401 without one, 429 when it is over its rate.
fn token(parts: &Parts, state: &Shared) -> Result<ApiToken, ApiError> {
    let presented = bearer(&parts.headers)
        .ok_or_else(|| ApiError::unauthorized("an Authorization: Bearer TOKEN header is needed"))?;
    let token = tokens::authenticate(state.current.get().store(), presented)?
        .ok_or_else(|| ApiError::unauthorized("unknown or revoked token"))?;
    if let Err(wait) = state.rate.take(&token.name, Instant::now()) {
        let mut refused = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limit",
            format!(
                "token {} is over its rate limit of {} requests per minute",
                token.name,
                state.rate.per_minute()
            ),
        );
        refused.retry_after = Some(wait.as_secs_f64().ceil().max(1.0) as u64);
        return Err(refused);
    }
    Ok(token)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// `X-Ctfdeck-Owner`, with the same syntax as `--owner` (and, like it, never `smoke:`).
fn owner(headers: &HeaderMap) -> Result<Owner, ApiError> {
    let value = headers.get(OWNER_HEADER).ok_or_else(|| {
        ApiError::bad_request(
            "owner-required",
            "an X-Ctfdeck-Owner: team:NAME or user:NAME header is needed",
        )
    })?;
    let text = value
        .to_str()
        .ok()
        .filter(|t| t.len() <= OWNER_MAX && !t.chars().any(char::is_control))
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid-owner",
                format!("X-Ctfdeck-Owner must be team:NAME or user:NAME of at most {OWNER_MAX} printable characters"),
            )
        })?;
    Owner::for_spawn(text).map_err(|e| ApiError::bad_request("invalid-owner", e.to_string()))
}

/// `X-Ctfdeck-Actor` as the audit keeps it: control characters dropped, at most
/// [`ACTOR_MAX`] characters, absent when nothing is left.
fn actor_text(headers: &HeaderMap) -> Option<String> {
    let raw = headers.get(ACTOR_HEADER)?;
    let text: String = String::from_utf8_lossy(raw.as_bytes())
        .chars()
        .filter(|c| !c.is_control())
        .take(ACTOR_MAX)
        .collect();
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &[u8])]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_bytes(v).unwrap());
        }
        h
    }

    #[test]
    fn the_owner_header_takes_what_owner_takes_and_nothing_else() {
        let ok = owner(&headers(&[(OWNER_HEADER, b"team:red")])).unwrap();
        assert_eq!(ok.to_string(), "team:red");
        for bad in [
            &b"smoke:x"[..],
            b"team:",
            b"red",
            b"team:a\tb",
            b"team:\xc3\xa9",
            &[b'x'; 200],
        ] {
            let e = owner(&headers(&[(OWNER_HEADER, bad)])).unwrap_err();
            assert_eq!(e.code, "invalid-owner", "{bad:?}");
        }
        assert_eq!(owner(&HeaderMap::new()).unwrap_err().code, "owner-required");
    }

    #[test]
    fn the_actor_header_is_cleaned_and_bounded() {
        assert_eq!(
            actor_text(&headers(&[(ACTOR_HEADER, b"alice (user 17)")])).as_deref(),
            Some("alice (user 17)")
        );
        assert_eq!(
            actor_text(&headers(&[(ACTOR_HEADER, b"a\tb\xe9")])).as_deref(),
            Some("ab\u{fffd}")
        );
        let long = vec![b'x'; 500];
        assert_eq!(
            actor_text(&headers(&[(ACTOR_HEADER, &long)]))
                .unwrap()
                .len(),
            ACTOR_MAX
        );
        assert_eq!(actor_text(&headers(&[(ACTOR_HEADER, b"  ")])), None);
    }

    #[test]
    fn only_bearer_credentials_are_read() {
        let h = headers(&[("authorization", b"Bearer ctfd_abc")]);
        assert_eq!(bearer(&h), Some("ctfd_abc"));
        let h = headers(&[("authorization", b"Basic Y3Rm")]);
        assert_eq!(bearer(&h), None);
        assert_eq!(bearer(&HeaderMap::new()), None);
    }
}
