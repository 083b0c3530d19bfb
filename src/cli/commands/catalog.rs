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
    match check_once(ctx, &dir)? {
        Ok(summary) => {
            eprintln!("{summary}");
            Ok(())
        }
        Err(summary) => Err(Reported(summary).into()),
    }
}

/// One check: the problems on stdout; the summary, `Err` when there are errors.
fn check_once(ctx: &Context, dir: &Path) -> Result<std::result::Result<String, String>> {
    let report = Catalog::load(dir, &ctx.config.ceilings)?;
    for d in &report.diagnostics {
        // A diagnostic may quote the challenge file, which its author controls.
        println!("{}", crate::terminal_text::clean(&d.to_string()));
    }
    let errors = report.errors();
    let n = report.catalog.challenges.len();
    Ok(if errors > 0 {
        Err(format!(
            "{errors} error(s) in {}; {n} valid challenge(s)",
            dir.display()
        ))
    } else {
        Ok(format!("{}: {n} challenge(s), no errors", dir.display()))
    })
}

/// `catalog check --watch [DIR]`: check, then check again after every burst of file changes
/// under DIR, until Ctrl-C (exit 0).
pub async fn watch(ctx: &Context, dir: Option<&Path>) -> Result<()> {
    let dir = dir.map_or_else(|| ctx.catalog_dir(), Path::to_path_buf);
    let (tx, mut changes) = tokio::sync::mpsc::unbounded_channel();
    let _watcher = crate::catalog::watch::watch(&dir, move |c| {
        let _ = tx.send(c);
    })?;
    let show = |outcome: std::result::Result<String, String>| match outcome {
        Ok(summary) => eprintln!("{summary}"),
        Err(summary) => eprintln!("error: {summary}"),
    };
    show(check_once(ctx, &dir)?);
    eprintln!("watching {} for changes (Ctrl-C to stop)", dir.display());
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            change = changes.recv() => {
                let Some(change) = change else { return Ok(()) };
                match change {
                    Ok(paths) => {
                        let first = paths.first().map(|p| p.display().to_string());
                        let more = paths.len().saturating_sub(1);
                        eprintln!(
                            "\n-- changed: {}{} -- checking again",
                            crate::terminal_text::clean(&first.unwrap_or_default()),
                            if more > 0 { format!(" (+{more} more)") } else { String::new() }
                        );
                    }
                    Err(e) => eprintln!("\n-- watching went wrong ({e}) -- checking again"),
                }
                // A folder deleted under the watch is reported, not fatal.
                match check_once(ctx, &dir) {
                    Ok(outcome) => show(outcome),
                    Err(e) => eprintln!("error: {e:#}"),
                }
            }
        }
    }
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
