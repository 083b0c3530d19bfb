//! `flag whose FLAG`: which instance, owner and challenge a submitted flag belongs to.

use color_eyre::eyre::Result;

use crate::cli::context::Context;
use crate::cli::exit::Reported;
use crate::cli::output::{print_json, table};
use crate::domain::FlagOwner;

pub async fn whose(ctx: &Context, flag: &str, json: bool) -> Result<()> {
    let lifecycle = ctx.lifecycle().await?;
    let found = lifecycle.whose_flag(flag)?;
    if json {
        print_json(&found)?;
    } else {
        let rows: Vec<Vec<String>> = found
            .iter()
            .map(|f| match f {
                FlagOwner::Instance(i) => vec![
                    i.id.clone(),
                    i.challenge.clone(),
                    i.owner.clone(),
                    i.status.clone(),
                    i.created_at.clone(),
                ],
                FlagOwner::Static { challenge } => vec![
                    "-".into(),
                    challenge.clone(),
                    "(static flag: every instance)".into(),
                    "-".into(),
                    "-".into(),
                ],
            })
            .collect();
        if !rows.is_empty() {
            print!(
                "{}",
                table(
                    &["INSTANCE", "CHALLENGE", "OWNER", "STATUS", "CREATED"],
                    &rows
                )
            );
        }
    }
    if found.is_empty() {
        return Err(Reported("no instance holds this flag".into()).into());
    }
    Ok(())
}
