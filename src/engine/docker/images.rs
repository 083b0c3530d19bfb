use std::path::Path;

use bollard::Docker;
use bollard::query_parameters::BuildImageOptionsBuilder;
use futures_util::StreamExt;

use crate::engine::error::is_not_found;
use crate::engine::{BuildProgress, EngineError};

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
    progress: BuildProgress<'_>,
) -> Result<(), EngineError> {
    let tarball = tar_context(context)?;
    let options = BuildImageOptionsBuilder::new()
        .t(tag)
        .rm(true)
        .forcerm(true)
        .build();
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
    builder.follow_symlinks(true);
    builder.append_dir_all(".", context).map_err(err)?;
    builder.into_inner().map_err(err)
}
