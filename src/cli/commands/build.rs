use std::io::Write;

use color_eyre::eyre::{Result, bail};

use crate::cli::context::Context;
use crate::domain::{BuildError, build_image, build_network};
use crate::engine::BuildNetwork;

/// `build [CHALLENGE…]`: build each challenge's image from its context, streaming the engine's
/// output prefixed with the challenge id.
pub async fn run(ctx: &Context, ids: &[String]) -> Result<()> {
    ctx.require_write("build")?;
    let catalog = ctx.catalog()?;
    let engine = ctx.engine().await?;
    let selected: Vec<_> = if ids.is_empty() {
        catalog
            .challenges
            .iter()
            .filter(|c| c.container.build.is_some())
            .collect()
    } else {
        let mut v = Vec::new();
        for id in ids {
            match catalog.get(id) {
                Some(c) => v.push(c),
                None => bail!("unknown challenge {id:?}"),
            }
        }
        v
    };
    let mut failed = Vec::new();
    for c in selected {
        let network = match build_network(c, &ctx.config.build) {
            BuildNetwork::None => "no network",
            BuildNetwork::Default => "the engine's default network",
        };
        eprintln!("{}: building {} ({network})", c.id, c.container.image);
        let id = c.id.clone();
        let progress = move |line: &str| {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "  {id} | {line}");
        };
        match build_image(&engine, c, &ctx.config.build, &progress).await {
            Ok(()) => println!("{}: built {}", c.id, c.container.image),
            Err(e @ BuildError::NoContext { .. }) => eprintln!("{e}"),
            Err(e) => {
                eprintln!("{}: {e}", c.id);
                failed.push(c.id.clone());
            }
        }
    }
    if !failed.is_empty() {
        bail!("build failed for {}", failed.join(", "));
    }
    Ok(())
}
