//! What Podman's Docker-compatible answers leave out, read from its own API on the same socket:
//! a network's bridge interface (its compatible network answer carries no options).
//!
//! One small GET on the local socket ([`socket_get`]): bollard speaks only the compatible API.

use std::time::Duration;

use super::socket_get;
use crate::engine::EngineError;

/// Podman's own API path prefix; 4.0 is the oldest release that serves it under this name.
const LIBPOD: &str = "/v4.0.0/libpod";
const TIMEOUT: Duration = Duration::from_secs(10);

/// The bridge interface Podman made for network `name` (`None`: it names none, or the engine
/// is not on a local socket, where this cannot be asked).
pub async fn network_interface(target: &str, name: &str) -> Result<Option<String>, EngineError> {
    let Some(socket) = target
        .strip_prefix("unix://")
        .or_else(|| target.starts_with('/').then_some(target))
    else {
        return Ok(None);
    };
    let path = format!("{LIBPOD}/networks/{}/json", encode(name));
    let body = tokio::time::timeout(TIMEOUT, get(socket, &path))
        .await
        .map_err(|_| unexpected(name, format!("no answer within {TIMEOUT:?}")))?
        .map_err(|e| unexpected(name, e))?;
    let value: serde_json::Value =
        serde_json::from_str(&body).map_err(|e| unexpected(name, e.to_string()))?;
    Ok(value
        .get("network_interface")
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .map(str::to_string))
}

fn unexpected(name: &str, reason: String) -> EngineError {
    EngineError::Unexpected(format!(
        "reading network {name} from Podman's own API: {reason}"
    ))
}

/// The body of a 200 answer to `GET path` on the unix socket `socket`.
async fn get(socket: &str, path: &str) -> Result<String, String> {
    let answer = socket_get::get(socket, path).await?;
    if answer.status != 200 {
        return Err(format!("{}: {}", answer.status, answer.body.trim()));
    }
    Ok(answer.body)
}

/// Network names ctfdeck makes are `[a-z0-9-]`; anything else is percent-encoded.
fn encode(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
