//! `flag whose FLAG`: which instance, owner and challenge a submitted flag belongs to; with
//! `--submitted-by OWNER`, whether that owner handed in its own flag or someone else's.

use color_eyre::eyre::{Result, bail};

use crate::cli::context::Context;
use crate::cli::exit::Reported;
use crate::cli::output::{print_json, table};
use crate::domain::{FlagOwner, Owner, OwnerKind, Submission};

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

/// `flag whose FLAG --submitted-by OWNER`: a verdict, and an exit code a scoreboard's hook can
/// branch on (0 their own or a static flag, 1 another owner's or unknown).
pub async fn submission(ctx: &Context, flag: &str, submitter: &str, json: bool) -> Result<()> {
    let submitter: Owner = submitter.parse()?;
    if submitter.kind == OwnerKind::Smoke {
        bail!("--submitted-by takes team:NAME or user:NAME, not {submitter}");
    }
    let lifecycle = ctx.lifecycle().await?;
    let verdict = lifecycle.check_submission(flag, &submitter)?;
    if json {
        print_json(&verdict)?;
    }
    let failure = match &verdict {
        Submission::Own { instance: i } => {
            if !json {
                println!(
                    "own flag: {} ({} of {}, {})",
                    i.id, i.challenge, i.owner, i.status
                );
            }
            None
        }
        Submission::Static { challenge } => {
            if !json {
                println!(
                    "static flag of {challenge}: the same for everyone, sharing cannot be told"
                );
            }
            None
        }
        Submission::Shared {
            instance: i,
            submitted_by,
        } => Some(format!(
            "shared flag: it belongs to {} ({} of {}, {}), submitted by {submitted_by}",
            i.id, i.challenge, i.owner, i.status
        )),
        Submission::Unknown => Some("no instance holds this flag".to_string()),
    };
    match failure {
        Some(message) => Err(Reported(message).into()),
        None => Ok(()),
    }
}
