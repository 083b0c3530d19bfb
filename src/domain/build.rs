//! Building a challenge's image: the one way `ctfdeck build`, the console and `smoke` build.
//! The context is checked again right before it is sent (files change after `catalog check`),
//! and the build gets no network unless the challenge asks for it or the admin's `[build]`
//! says otherwise.

use serde::Deserialize;

use crate::catalog::{BuildNetworkMode, Challenge, checked_context};
use crate::engine::{BuildNetwork, BuildProgress, Engine, EngineError};

use super::Lifecycle;

/// `[build]` in config.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BuildDefaults {
    /// The network of builds whose challenge does not ask for one: `"none"` (the default) or
    /// `"default"` (the engine's build network, which reaches the host's own services).
    pub network: BuildNetworkMode,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{challenge} has no build context; it uses {image} as is")]
    NoContext { challenge: String, image: String },
    #[error("build of {challenge} refused: {}", problems.join("; "))]
    Refused {
        challenge: String,
        problems: Vec<String>,
    },
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// The network `challenge`'s build gets: its own request, else the admin's default.
pub fn build_network(challenge: &Challenge, defaults: &BuildDefaults) -> BuildNetwork {
    let mode = challenge
        .container
        .build_network
        .as_ref()
        .map_or(defaults.network, |request| request.mode);
    match mode {
        BuildNetworkMode::None => BuildNetwork::None,
        BuildNetworkMode::Default => BuildNetwork::Default,
    }
}

/// Build `challenge`'s image from its context, streaming the engine's output to `progress`.
pub async fn build_image(
    engine: &dyn Engine,
    challenge: &Challenge,
    defaults: &BuildDefaults,
    progress: BuildProgress<'_>,
) -> Result<(), BuildError> {
    let Some(build) = challenge.container.build.as_deref() else {
        return Err(BuildError::NoContext {
            challenge: challenge.id.clone(),
            image: challenge.container.image.clone(),
        });
    };
    let context =
        checked_context(&challenge.dir, build).map_err(|problems| BuildError::Refused {
            challenge: challenge.id.clone(),
            problems,
        })?;
    let network = build_network(challenge, defaults);
    engine
        .build_image(&context, &challenge.container.image, network, progress)
        .await?;
    Ok(())
}

impl Lifecycle {
    /// [`build_image`] with this lifecycle's engine and `[build]` settings.
    pub async fn build_image(
        &self,
        challenge: &Challenge,
        progress: BuildProgress<'_>,
    ) -> Result<(), BuildError> {
        build_image(
            self.engine().as_ref(),
            challenge,
            &self.policy.build,
            progress,
        )
        .await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn challenge(build_network: serde_json::Value) -> Challenge {
        serde_json::from_value(json!({
            "schema_version": 1, "id": "demo", "name": "Demo",
            "container": {"image": "img", "build": ".", "build_network": build_network},
            "flag": {"template": "flag{<hex:8>}"}
        }))
        .unwrap()
    }

    #[test]
    fn builds_get_no_network_unless_asked_or_configured() {
        let none = BuildDefaults::default();
        let open = BuildDefaults {
            network: BuildNetworkMode::Default,
        };
        let silent = challenge(serde_json::Value::Null);
        assert_eq!(build_network(&silent, &none), BuildNetwork::None);
        assert_eq!(build_network(&silent, &open), BuildNetwork::Default);
        let asks = challenge(json!({"mode": "default", "reason": "apk add"}));
        assert_eq!(build_network(&asks, &none), BuildNetwork::Default);
        let declines = challenge(json!({"mode": "none", "reason": "offline"}));
        assert_eq!(build_network(&declines, &open), BuildNetwork::None);
    }
}
