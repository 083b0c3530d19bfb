//! Building challenge images from their build contexts. `ctfdeck build`, the console and the
//! smoke test's build stage all come through here: a monitor is refused, every build is audited.

use std::path::PathBuf;

use crate::engine::BuildProgress;

use super::{DomainError, Lifecycle};

/// One challenge `build` would take, and what it would do with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildTarget {
    pub challenge: String,
    pub image: String,
    /// The folder the image is built from; `None`: the image is used as it is.
    pub context: Option<PathBuf>,
}

/// What [`Lifecycle::build`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildOutcome {
    /// The image was built from the challenge's context.
    Built { image: String },
    /// The challenge has no build context: its image is used as it is (pulled or present).
    NoContext { image: String },
}

impl Lifecycle {
    /// The challenges a build takes: those named (an unknown one is an error), or, when none
    /// is named, every challenge with a build context.
    pub fn build_targets(&self, ids: &[String]) -> Result<Vec<BuildTarget>, DomainError> {
        let target = |c: &crate::catalog::Challenge| BuildTarget {
            challenge: c.id.clone(),
            image: c.container.image.clone(),
            context: c.build_context(),
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
        let Some(context) = challenge.build_context() else {
            return Ok(BuildOutcome::NoContext { image });
        };
        let detail = format!("{challenge_id} as {image}");
        match self.engine.build_image(&context, &image, progress).await {
            Ok(()) => {
                self.audit("build", None, &detail, "ok");
                Ok(BuildOutcome::Built { image })
            }
            Err(e) => {
                self.audit("build", None, &detail, &format!("failed: {e}"));
                Err(e.into())
            }
        }
    }
}
