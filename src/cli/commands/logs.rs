//! `ctfdeck logs`: a container's output, with terminal control sequences removed unless
//! `--raw` asks for the bytes as they are.

use std::io::Write;

use color_eyre::eyre::{Result, bail};
use futures_util::StreamExt;

use crate::cli::context::Context;
use crate::terminal_text::Sanitizer;

pub async fn run(
    ctx: &Context,
    instance: &str,
    follow: bool,
    tail: Option<usize>,
    raw: bool,
) -> Result<()> {
    let lifecycle = ctx.lifecycle().await?;
    let rec = lifecycle.store().resolve(instance)?;
    let Some(container) = rec.container_id.clone().filter(|_| rec.status.is_live()) else {
        bail!(
            "instance {} is {}; its container is gone",
            rec.id,
            rec.status
        );
    };
    let mut stream = lifecycle.engine().logs(&container, follow, tail);
    let mut out = std::io::stdout().lock();
    // One sanitizer for the whole stream: a sequence split between two writes is still caught.
    let mut sanitizer = Sanitizer::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if raw {
            out.write_all(chunk.as_bytes())?;
        } else {
            out.write_all(sanitizer.push(&chunk).as_bytes())?;
        }
        out.flush()?;
    }
    Ok(())
}
