//! Stage 1: the definition passes the same checks as `catalog check`. The challenge's folder
//! is read again, so the author sees every diagnostic — including those of a definition too
//! broken to be in the catalog at all.

use std::path::PathBuf;

use crate::catalog::{Catalog, Challenge};
use crate::domain::Lifecycle;

use super::outcome::{Failed, Passed, StageOutcome};

pub fn run(lifecycle: &Lifecycle, challenge_id: &str) -> StageOutcome<Challenge> {
    let catalog = lifecycle.catalog();
    let folder = match catalog.get(challenge_id) {
        Some(c) => c.dir.clone(),
        None => {
            let guess: PathBuf = catalog.root.join(challenge_id);
            if !guess.is_dir()
                || challenge_id.contains(['/', '\\'])
                || challenge_id.starts_with('.')
            {
                let known: Vec<&str> = catalog.challenges.iter().map(|c| c.id.as_str()).collect();
                return Err(Failed::new(format!(
                    "unknown challenge {challenge_id:?} in {}; known: {}",
                    catalog.root.display(),
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                )));
            }
            guess
        }
    };
    let report = Catalog::load(&folder, &lifecycle.policy().ceilings)
        .map_err(|e| Failed::new(format!("cannot read {}: {e}", folder.display())))?;
    let details: Vec<String> = report.diagnostics.iter().map(ToString::to_string).collect();
    let errors = report.errors();
    if errors > 0 {
        return Err(Failed::new(format!(
            "{errors} error(s) in the definition, as `ctfdeck catalog check` reports them"
        ))
        .with_details(details));
    }
    let Some(fresh) = report.catalog.get(challenge_id).cloned() else {
        let found: Vec<&str> = report
            .catalog
            .challenges
            .iter()
            .map(|c| c.id.as_str())
            .collect();
        return Err(Failed::new(format!(
            "{} defines {}, not {challenge_id:?}",
            folder.display(),
            if found.is_empty() {
                "no challenge".to_string()
            } else {
                found.join(", ")
            }
        ))
        .with_details(details));
    };
    // The spawn uses the catalog loaded when this run started; a definition edited since
    // would make the smoke test check something else than what runs.
    if catalog.get(challenge_id) != Some(&fresh) {
        return Err(Failed::new(format!(
            "{} changed since the catalog was loaded; run the smoke test again",
            fresh.source.display()
        )));
    }
    let warnings = report.warnings();
    let message = match warnings {
        0 => format!("{} is valid", file_name(&fresh)),
        n => format!("{} is valid, with {n} warning(s)", file_name(&fresh)),
    };
    Ok(Passed::new(fresh, message).with_details(details))
}

fn file_name(challenge: &Challenge) -> String {
    challenge
        .source
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}
