//! Pulling an image from its registry.

use bollard::Docker;
use bollard::query_parameters::CreateImageOptionsBuilder;
use futures_util::StreamExt;

use crate::engine::{BuildProgress, EngineError};

pub async fn pull(
    client: &Docker,
    image: &str,
    progress: BuildProgress<'_>,
) -> Result<(), EngineError> {
    let options = CreateImageOptionsBuilder::new().from_image(image).build();
    let mut stream = client.create_image(Some(options), None, None);
    while let Some(item) = stream.next().await {
        let info = item.map_err(|e| EngineError::Pull {
            image: image.to_string(),
            message: e.to_string(),
        })?;
        if let Some(status) = info.status.as_deref() {
            let line = match info.id.as_deref() {
                Some(layer) => format!("{layer}: {status}"),
                None => status.to_string(),
            };
            progress(&line);
        }
    }
    Ok(())
}
