use std::path::Path;

use bollard::Docker;
use bollard::query_parameters::BuildImageOptionsBuilder;
use futures_util::StreamExt;

use crate::engine::error::is_not_found;
use crate::engine::{BuildNetwork, BuildProgress, EngineError};

pub async fn present(client: &Docker, image: &str) -> Result<bool, EngineError> {
    match client.inspect_image(image).await {
        Ok(_) => Ok(true),
        Err(e) if is_not_found(&e) => Ok(false),
        Err(e) => Err(EngineError::api(format!("inspecting image {image}"))(e)),
    }
}

/// The paths an image declares with `VOLUME`: the engine would give each one a writable,
/// unbounded volume on the host's disk, unless something is mounted there.
pub async fn volumes(client: &Docker, image: &str) -> Result<Vec<String>, EngineError> {
    match client.inspect_image(image).await {
        Ok(found) => {
            let mut paths = found.config.and_then(|c| c.volumes).unwrap_or_default();
            paths.sort();
            Ok(paths)
        }
        Err(e) if is_not_found(&e) => Err(EngineError::ImageMissing {
            image: image.to_string(),
        }),
        Err(e) => Err(EngineError::api(format!("inspecting image {image}"))(e)),
    }
}

/// Tar the build context in memory and stream the engine's build output to `progress`.
pub async fn build(
    client: &Docker,
    context: &Path,
    tag: &str,
    network: BuildNetwork,
    progress: BuildProgress<'_>,
) -> Result<(), EngineError> {
    let tarball = tar_context(context)?;
    let mut options = BuildImageOptionsBuilder::new()
        .t(tag)
        .rm(true)
        .forcerm(true);
    if network == BuildNetwork::None {
        options = options.networkmode("none");
    }
    let options = options.build();
    let mut stream = client.build_image(
        options,
        None,
        Some(bollard::body_full(bytes::Bytes::from(tarball))),
    );
    while let Some(item) = stream.next().await {
        let info = item.map_err(|e| EngineError::Build {
            tag: tag.to_string(),
            message: e.to_string(),
        })?;
        if let Some(detail) = info.error_detail {
            return Err(EngineError::Build {
                tag: tag.to_string(),
                message: detail
                    .message
                    .unwrap_or_else(|| "unknown build error".into()),
            });
        }
        if let Some(line) = info.stream.as_deref().or(info.status.as_deref()) {
            let line = line.trim_end();
            if !line.is_empty() {
                progress(line);
            }
        }
    }
    Ok(())
}

fn tar_context(context: &Path) -> Result<Vec<u8>, EngineError> {
    let err = |source| EngineError::Context {
        path: context.to_path_buf(),
        source,
    };
    if !context.join("Dockerfile").is_file() {
        return Err(err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no Dockerfile in the build context",
        )));
    }
    let mut builder = tar::Builder::new(Vec::new());
    // Links go as links, as `docker build` sends them. Following them would put whatever they
    // point at (`/etc/shadow`, a root-only folder) into the context, and from there into the
    // image; the engine resolves links inside the context only.
    builder.follow_symlinks(false);
    builder.append_dir_all(".", context).map_err(err)?;
    builder.into_inner().map_err(err)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn links_travel_as_links_and_their_targets_stay_behind() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "TOPSECRET").unwrap();
        let context = tempfile::tempdir().unwrap();
        std::fs::write(context.path().join("Dockerfile"), "FROM scratch\n").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), context.path().join("shadow"))
            .unwrap();
        std::os::unix::fs::symlink(outside.path(), context.path().join("folder")).unwrap();

        let tarball = tar_context(context.path()).unwrap();
        assert!(
            !tarball.windows(9).any(|w| w == b"TOPSECRET"),
            "the link's target was put into the context"
        );
        let mut archive = tar::Archive::new(tarball.as_slice());
        let mut links = Vec::new();
        for entry in archive.entries().unwrap() {
            let entry = entry.unwrap();
            let path = entry.path().unwrap().into_owned();
            if entry.header().entry_type().is_symlink() {
                links.push((path, entry.link_name().unwrap().unwrap().into_owned()));
            }
        }
        links.sort();
        assert_eq!(
            links,
            [
                ("folder".into(), outside.path().to_path_buf()),
                ("shadow".into(), outside.path().join("secret")),
            ]
        );
    }
}
