use bollard::Docker;
use bollard::query_parameters::LogsOptionsBuilder;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;

use crate::engine::EngineError;

pub fn stream(
    client: Docker,
    id: String,
    follow: bool,
    tail: Option<usize>,
) -> BoxStream<'static, Result<String, EngineError>> {
    stream_with(client, id, follow, tail, false)
}

/// As [`stream`]; with `timestamps`, each line starts with the engine's RFC 3339 time and a space.
pub fn stream_with(
    client: Docker,
    id: String,
    follow: bool,
    tail: Option<usize>,
    timestamps: bool,
) -> BoxStream<'static, Result<String, EngineError>> {
    let tail = tail.map_or_else(|| "all".to_string(), |n| n.to_string());
    let options = LogsOptionsBuilder::new()
        .follow(follow)
        .stdout(true)
        .stderr(true)
        .tail(&tail)
        .timestamps(timestamps)
        .build();
    let action = format!("reading logs of {id}");
    client
        .logs(&id, Some(options))
        .map(move |item| {
            item.map(|out| String::from_utf8_lossy(&out.into_bytes()).into_owned())
                .map_err(EngineError::api(action.clone()))
        })
        .boxed()
}
