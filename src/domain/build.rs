//! Building challenge images from their build contexts. `ctfdeck build`, the console and the
//! smoke test's build stage all come through [`Lifecycle::build`]: a monitor is refused, every
//! build is audited. The context is checked again right before it is sent (files change after
//! `catalog check`), and the build gets no network unless the challenge asks for it or the
//! admin's `[build]` says otherwise.

use std::path::PathBuf;

use serde::Deserialize;

use crate::catalog::{BuildNetworkMode, Challenge, checked_context};
use crate::engine::{BuildNetwork, BuildProgress, Engine, EngineError};

use super::{DomainError, Lifecycle};

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

/// One challenge `build` would take, and what it would do with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildTarget {
    pub challenge: String,
    pub image: String,
    /// The folder the image is built from; `None`: the image is used as it is.
    pub context: Option<PathBuf>,
    /// The network its build gets.
    pub network: BuildNetwork,
}

/// What [`Lifecycle::build`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildOutcome {
    /// The image was built from the challenge's context.
    Built { image: String },
    /// The challenge has no build context: its image is used as it is (pulled or present).
    NoContext { image: String },
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

/// Build `challenge`'s image from its checked context on `engine`, streaming the engine's
/// output to `progress`. The step itself, with no role check and no audit: callers go through
/// [`Lifecycle::build`].
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
    /// The challenges a build takes: those named (an unknown one is an error), or, when none
    /// is named, every challenge with a build context.
    pub fn build_targets(&self, ids: &[String]) -> Result<Vec<BuildTarget>, DomainError> {
        let target = |c: &Challenge| BuildTarget {
            challenge: c.id.clone(),
            image: c.container.image.clone(),
            context: c.build_context(),
            network: build_network(c, &self.policy.build),
        };
        if ids.is_empty() {
            return Ok(self
                .catalog
                .challenges
                .iter()
                .filter(|c| c.container.build.is_some())
                .map(target)
                .collect());
        }
        ids.iter()
            .map(|id| self.challenge(id).map(target))
            .collect()
    }

    /// Build `challenge_id`'s image from its context, forwarding the engine's output lines to
    /// `progress`. The engine reuses cached layers.
    pub async fn build(
        &self,
        challenge_id: &str,
        progress: BuildProgress<'_>,
    ) -> Result<BuildOutcome, DomainError> {
        self.require_admin("build")?;
        let challenge = self.challenge(challenge_id)?;
        let image = challenge.container.image.clone();
        if challenge.container.build.is_none() {
            return Ok(BuildOutcome::NoContext { image });
        }
        let detail = format!("{challenge_id} as {image}");
        match build_image(
            self.engine.as_ref(),
            challenge,
            &self.policy.build,
            progress,
        )
        .await
        {
            Ok(()) => {
                self.audit("build", None, &detail, "ok");
                Ok(BuildOutcome::Built { image })
            }
            Err(e) => {
                self.audit("build", None, &detail, &format!("failed: {e}"));
                Err(match e {
                    BuildError::Engine(e) => DomainError::Engine(e),
                    other => DomainError::Build(other),
                })
            }
        }
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
