//! `audit`: who did what, from where, with what outcome; filtered by instance, actor, action
//! and age.

use color_eyre::eyre::Result;

use crate::cli::args::AuditFilterArgs;
use crate::cli::context::Context;
use crate::cli::output::{print_json, table};
use crate::domain::view::rfc3339;
use crate::store::{AuditFilter, millis, now_millis};

pub fn run(ctx: &Context, json: bool, args: &AuditFilterArgs, limit: usize) -> Result<()> {
    let store = ctx.open_store()?;
    let instance = match &args.instance {
        Some(prefix) => Some(store.resolve(prefix)?.id),
        None => None,
    };
    let since = args.since.map(|ago| now_millis() - millis(ago));
    let filter = AuditFilter {
        instance,
        actor: args.actor.clone(),
        action: args.action.clone(),
        since,
    };
    let entries = store.audit_matching(&filter, limit)?;
    if json {
        return print_json(&entries);
    }
    if entries.is_empty() {
        println!("no audit entries match");
        return Ok(());
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
