//! `firewall status|apply|remove`: the host rules that keep instances away from the host, from
//! each other's published ports and from metadata addresses (see `engine::firewall`).

use color_eyre::eyre::{Result, WrapErr};

use crate::cli::args::FirewallCommand;
use crate::cli::context::Context;
use crate::cli::exit::Reported;
use crate::engine::firewall::{self, BRIDGES, FORWARD_CHAIN, INPUT_CHAIN};

pub fn run(ctx: &Context, action: &FirewallCommand) -> Result<()> {
    match action {
        FirewallCommand::Status => {
            let s = firewall::status().wrap_err("reading the host firewall")?;
            if s.complete() {
                println!(
                    "in place: {INPUT_CHAIN} (from INPUT) and {FORWARD_CHAIN} (from FORWARD and DOCKER-USER) cover {BRIDGES}"
                );
                Ok(())
            } else {
                for gap in s.missing() {
                    println!("missing: {gap}");
                }
                Err(Reported(
                    "the host firewall is not in place; run `sudo ctfdeck firewall apply`".into(),
                )
                .into())
            }
        }
        FirewallCommand::Apply => {
            ctx.require_write("firewall apply")?;
            let s = firewall::apply().wrap_err("installing the host firewall")?;
            if !s.complete() {
                return Err(Reported(format!(
                    "the rules did not all take: missing {}",
                    s.missing().join("; ")
                ))
                .into());
            }
            println!(
                "applied: instances on {BRIDGES} bridges cannot open connections to the host (published ports still answer) nor to link-local/metadata addresses"
            );
            Ok(())
        }
        FirewallCommand::Remove => {
            ctx.require_write("firewall remove")?;
            firewall::remove().wrap_err("removing the host firewall")?;
            println!("removed {INPUT_CHAIN} and {FORWARD_CHAIN}");
            Ok(())
        }
    }
}
