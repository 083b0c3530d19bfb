use std::path::Path;

use color_eyre::eyre::Result;
use serde::Serialize;

use crate::catalog::Catalog;
use crate::cli::context::Context;
use crate::cli::exit::Reported;
use crate::cli::output::{print_json, table};

/// `catalog check [DIR]`: every problem on stdout as `path:line:col: message`.
pub fn check(ctx: &Context, dir: Option<&Path>) -> Result<()> {
    let dir = dir.map_or_else(|| ctx.catalog_dir(), Path::to_path_buf);
    let report = Catalog::load(&dir, &ctx.config.ceilings)?;
    for d in &report.diagnostics {
        // A diagnostic may quote the challenge file, which its author controls.
        println!("{}", crate::terminal_text::clean(&d.to_string()));
    }
    let errors = report.errors();
    let n = report.catalog.challenges.len();
    if errors > 0 {
        return Err(Reported(format!(
            "{errors} error(s) in {}; {n} valid challenge(s)",
            dir.display()
        ))
        .into());
    }
    eprintln!("{}: {n} challenge(s), no errors", dir.display());
    Ok(())
}

#[derive(Serialize)]
struct ChallengeSummary<'a> {
    id: &'a str,
    name: &'a str,
    category: &'a str,
    difficulty: &'a str,
    points: u32,
    image: &'a str,
    ports: Vec<String>,
    path: String,
}

pub fn list(ctx: &Context, json: bool) -> Result<()> {
    let catalog = ctx.catalog()?;
    let items: Vec<ChallengeSummary<'_>> = catalog
        .challenges
        .iter()
        .map(|c| ChallengeSummary {
            id: &c.id,
            name: &c.name,
            category: &c.category,
            difficulty: c.difficulty.as_str(),
            points: c.points,
            image: &c.container.image,
            ports: c
                .container
                .ports
                .iter()
                .map(|p| format!("{}/{}", p.container, p.protocol.as_str()))
                .collect(),
            path: c.dir.display().to_string(),
        })
        .collect();
    if json {
        return print_json(&items);
    }
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|c| {
            vec![
                c.id.to_string(),
                c.category.to_string(),
                c.difficulty.to_string(),
                c.points.to_string(),
                c.ports.join(","),
                c.name.to_string(),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &["ID", "CATEGORY", "DIFFICULTY", "POINTS", "PORTS", "NAME"],
            &rows
        )
    );
    Ok(())
}
