use std::io::Write;

use color_eyre::eyre::{Result, bail};

use crate::cli::context::Context;
use crate::domain::BuildOutcome;
use crate::engine::BuildNetwork;

/// `build [CHALLENGE…]`: build each challenge's image from its context, streaming the engine's
/// output prefixed with the challenge id.
pub async fn run(ctx: &Context, ids: &[String]) -> Result<()> {
    ctx.require_write("build")?;
    let lifecycle = ctx.lifecycle().await?;
    let mut failed = Vec::new();
    for target in lifecycle.build_targets(ids)? {
        let id = target.challenge;
        match &target.context {
            Some(context) => {
                let network = match target.network {
                    BuildNetwork::None => "no network",
                    BuildNetwork::Default => "the engine's default network",
                };
                eprintln!(
                    "{id}: building {} from {} ({network})",
                    target.image,
                    context.display()
                )
            }
            None => {
                eprintln!("{id}: no build context, uses {} as is", target.image);
                continue;
            }
        }
        let prefix = id.clone();
        let progress = move |line: &str| {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "  {prefix} | {line}");
        };
        match lifecycle.build(&id, &progress).await {
            Ok(BuildOutcome::Built { image }) => println!("{id}: built {image}"),
            Ok(BuildOutcome::NoContext { image }) => {
                eprintln!("{id}: no build context, uses {image} as is");
            }
            Err(e) => {
                eprintln!("{id}: {e}");
                failed.push(id);
            }
        }
    }
    if !failed.is_empty() {
        bail!("build failed for {}", failed.join(", "));
    }
    Ok(())
}
