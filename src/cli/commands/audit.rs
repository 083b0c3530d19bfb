use color_eyre::eyre::Result;

use crate::cli::context::Context;
use crate::cli::output::{print_json, table};
use crate::domain::view::rfc3339;

pub fn run(ctx: &Context, json: bool, instance: Option<&str>, limit: usize) -> Result<()> {
    let store = ctx.open_store()?;
    let entries = match instance {
        Some(prefix) => store.audit_for_instance(&store.resolve(prefix)?.id, limit)?,
        None => store.audit_tail(limit)?,
    };
    if json {
        return print_json(&entries);
    }
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            vec![
                rfc3339(e.at),
                e.actor.clone(),
                e.origin.clone(),
                e.action.clone(),
                e.instance.clone().unwrap_or_else(|| "-".into()),
                e.outcome.clone(),
                e.detail.clone(),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &[
                "TIME", "ACTOR", "ORIGIN", "ACTION", "INSTANCE", "OUTCOME", "DETAIL"
            ],
            &rows
        )
    );
    Ok(())
}
