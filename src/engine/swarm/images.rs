//! Images on every node: the manager tags each instance image for the lab's (or event's)
//! registry and pushes it there once; services name that copy, which every node can pull.

use bollard::Docker;
use bollard::query_parameters::{PushImageOptionsBuilder, TagImageOptionsBuilder};
use futures_util::StreamExt;

use crate::engine::EngineError;

/// `image` as `registry` serves it: `ctfdeck/web:latest` → `10.99.0.1:5000/ctfdeck/web:latest`.
/// Unchanged without a registry, or for an image pinned by digest (no node could have it
/// under another name).
pub fn in_registry(registry: &str, image: &str) -> String {
    let registry = registry.trim().trim_end_matches('/');
    if registry.is_empty() || image.contains('@') || image.starts_with(&format!("{registry}/")) {
        return image.to_string();
    }
    let (repo, tag) = split_tag(image);
    format!("{registry}/{repo}:{tag}")
}

/// `name:tag` → (`name`, `tag`); no tag: `latest`. A `:` before the last `/` is a port.
fn split_tag(image: &str) -> (&str, &str) {
    match image.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, tag),
        _ => (image, "latest"),
    }
}

/// Make `image` (present on the manager) pullable by every node from `registry`, and return the
/// name the nodes pull. Pushing what the registry already holds sends no layers.
pub async fn distribute(
    client: &Docker,
    registry: &str,
    image: &str,
) -> Result<String, EngineError> {
    let target = in_registry(registry, image);
    if target == image {
        return Ok(target);
    }
    let (repo, tag) = split_tag(&target);
    let options = TagImageOptionsBuilder::new().repo(repo).tag(tag).build();
    client.tag_image(image, Some(options)).await.map_err(|e| {
        if crate::engine::error::is_not_found(&e) {
            EngineError::ImageMissing {
                image: image.to_string(),
            }
        } else {
            EngineError::api(format!("tagging {image} for {registry}"))(e)
        }
    })?;
    let options = PushImageOptionsBuilder::new().tag(tag).build();
    let mut push = client.push_image(repo, Some(options), None);
    while let Some(step) = push.next().await {
        let step = step.map_err(|e| EngineError::Pull {
            image: target.clone(),
            message: format!("pushing to the registry {registry}: {e}"),
        })?;
        if let Some(error) = step.error_detail.and_then(|d| d.message) {
            return Err(EngineError::Pull {
                image: target.clone(),
                message: format!("pushing to the registry {registry}: {error}"),
            });
        }
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_named_in_the_registry() {
        let r = "10.99.0.1:5000";
        assert_eq!(
            in_registry(r, "ctfdeck/web:latest"),
            "10.99.0.1:5000/ctfdeck/web:latest"
        );
        assert_eq!(in_registry(r, "busybox"), "10.99.0.1:5000/busybox:latest");
        assert_eq!(
            in_registry(r, "localhost:5000/x"),
            "10.99.0.1:5000/localhost:5000/x:latest"
        );
        assert_eq!(
            in_registry(r, "10.99.0.1:5000/a:1"),
            "10.99.0.1:5000/a:1",
            "already there"
        );
        assert_eq!(in_registry("", "a:1"), "a:1");
        assert_eq!(in_registry(r, "a@sha256:00"), "a@sha256:00");
    }
}
