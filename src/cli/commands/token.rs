//! `token add|list|revoke`: who may call the scoreboard API. The domain keeps the rules
//! (admins only, names, hashing); this only prints.

use color_eyre::eyre::Result;
use serde::Serialize;

use crate::cli::context::Context;
use crate::cli::output::{print_json, table};
use crate::domain::tokens::{self, TokenRole};
use crate::domain::view::rfc3339;

/// Prints the token and nothing else on stdout, so `TOKEN=$(ctfdeck token add board)` works.
pub fn add(ctx: &Context, name: &str, role: TokenRole) -> Result<()> {
    ctx.require_write("token add")?;
    let secret = tokens::add_token(&ctx.open_store()?, &ctx.actor(), name, role)?;
    println!("{secret}");
    eprintln!("token {name} ({role}) made; it is shown only this once");
    Ok(())
}

#[derive(Serialize)]
struct TokenJson {
    name: String,
    role: String,
    created_at: String,
    revoked_at: Option<String>,
}

pub fn list(ctx: &Context, json: bool) -> Result<()> {
    let rows: Vec<TokenJson> = tokens::list_tokens(&ctx.open_store()?)?
        .into_iter()
        .map(|t| TokenJson {
            name: t.name,
            role: t.role,
            created_at: rfc3339(t.created_at),
            revoked_at: t.revoked_at.map(rfc3339),
        })
        .collect();
    if json {
        return print_json(&rows);
    }
    if rows.is_empty() {
        eprintln!("no tokens");
        return Ok(());
    }
    let cells: Vec<Vec<String>> = rows
        .into_iter()
        .map(|t| {
            vec![
                t.name,
                t.role,
                t.created_at,
                t.revoked_at.unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    print!("{}", table(&["NAME", "ROLE", "CREATED", "REVOKED"], &cells));
    Ok(())
}

pub fn revoke(ctx: &Context, name: &str) -> Result<()> {
    ctx.require_write("token revoke")?;
    tokens::revoke_token(&ctx.open_store()?, &ctx.actor(), name)?;
    println!("revoked {name}");
    Ok(())
}
