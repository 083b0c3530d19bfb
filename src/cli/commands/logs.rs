use std::io::Write;

use color_eyre::eyre::{Result, bail};
use futures_util::StreamExt;

use crate::cli::context::Context;

pub async fn run(ctx: &Context, instance: &str, follow: bool, tail: Option<usize>) -> Result<()> {
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
    while let Some(chunk) = stream.next().await {
        out.write_all(chunk?.as_bytes())?;
        out.flush()?;
    }
    Ok(())
}
