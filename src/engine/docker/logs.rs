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
        .flat_map(move |item| {
            let items: Vec<Result<String, EngineError>> = match item {
                Ok(out) => pieces(&String::from_utf8_lossy(&out.into_bytes()))
                    .map(|p| Ok(p.to_string()))
                    .collect(),
                Err(e) => vec![Err(EngineError::api(action.clone())(e))],
            };
            futures_util::stream::iter(items)
        })
        .boxed()
}

/// Most bytes of one item of the stream. Engines usually cut long lines at 16 KiB, but not
/// all log drivers do: a container writing megabytes in one go still arrives in bounded
/// pieces, so no reader has to hold more than this at once.
pub const MAX_PIECE: usize = 16 * 1024;

/// `text` in pieces of at most [`MAX_PIECE`] bytes, cut on character boundaries.
fn pieces(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut end = rest.len().min(MAX_PIECE);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let (piece, tail) = rest.split_at(end);
        rest = tail;
        Some(piece)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_output_comes_in_bounded_pieces_cut_between_characters() {
        let text = format!("{}{}", "a".repeat(MAX_PIECE - 1), "é".repeat(MAX_PIECE));
        let got: Vec<&str> = pieces(&text).collect();
        assert!(got.iter().all(|p| p.len() <= MAX_PIECE));
        assert_eq!(got.concat(), text);
        assert_eq!(got[0].len(), MAX_PIECE - 1, "é is not split");
        assert_eq!(pieces("").count(), 0);
        assert_eq!(pieces("short\n").collect::<Vec<_>>(), ["short\n"]);
    }
}
