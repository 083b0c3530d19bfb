//! The command line: clap definitions, dispatch, and plain/JSON printers.

pub mod args;
mod commands;
pub mod context;
pub mod exit;
pub mod output;

pub use args::Cli;

use color_eyre::eyre::Result;

use args::{CatalogCommand, Command, FlagCommand, NodeCommand, TokenCommand};
use context::Context;

/// What is logged: `CTFDECK_LOG` (an env-filter directive), else warnings and errors.
pub fn log_filter() -> tracing_subscriber::EnvFilter {
    tracing_subscriber::EnvFilter::try_from_env("CTFDECK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"))
}

/// Commands log to stderr. The console installs its own logging (a file and its activity
/// pane), since stderr is the screen it draws on.
pub fn init_command_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(log_filter())
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

/// Run one parsed command line.
pub async fn run(cli: Cli) -> Result<()> {
    let ctx = Context::new(cli.global)?;
    let Some(command) = cli.command else {
        return commands::console::run(&ctx, log_filter()).await;
    };
    match command {
        Command::Catalog(CatalogCommand::Check { dir, watch: false }) => {
            commands::catalog::check(&ctx, dir.as_deref())
        }
        Command::Catalog(CatalogCommand::Check { dir, watch: true }) => {
            commands::catalog::watch(&ctx, dir.as_deref()).await
        }
        Command::Catalog(CatalogCommand::List { json }) => commands::catalog::list(&ctx, json),
        Command::Build { challenges } => commands::build::run(&ctx, &challenges).await,
        Command::Spawn {
            challenge,
            owner,
            json,
        } => commands::instances::spawn(&ctx, &challenge, &owner, json).await,
        Command::List {
            json,
            challenge,
            owner,
            all,
        } => {
            commands::instances::list(&ctx, json, challenge.as_deref(), owner.as_deref(), all).await
        }
        Command::Extend { instance, by, json } => {
            commands::instances::extend(&ctx, &instance, by, json).await
        }
        Command::Stop { instances } => commands::instances::stop(&ctx, &instances).await,
        Command::Reset { instance, json } => {
            commands::instances::reset(&ctx, &instance, json).await
        }
        Command::Purge(args) => commands::purge::run(&ctx, &args).await,
        Command::Logs {
            instance,
            follow,
            tail,
            raw,
        } => commands::logs::run(&ctx, &instance, follow, tail, raw).await,
        Command::Reap { watch } => commands::reap::run(&ctx, watch).await,
        Command::Flag(FlagCommand::Whose {
            flag,
            submitted_by: None,
            json,
        }) => commands::flag::whose(&ctx, &flag, json).await,
        Command::Flag(FlagCommand::Whose {
            flag,
            submitted_by: Some(by),
            json,
        }) => commands::flag::submission(&ctx, &flag, &by, json).await,
        Command::Audit {
            json,
            filter,
            limit,
        } => commands::audit::run(&ctx, json, &filter, limit),
        Command::Smoke(args) => commands::smoke::run(&ctx, &args).await,
        Command::New { id, template, dir } => {
            commands::new::run(&ctx, &id, template.into(), dir.as_deref())
        }
        Command::Doctor { security: false } => commands::doctor::run(&ctx).await,
        Command::Doctor { security: true } => commands::doctor_security::run(&ctx).await,
        Command::Firewall(action) => commands::firewall::run(&ctx, &action),
        Command::Token(TokenCommand::Add { name, role }) => {
            commands::token::add(&ctx, &name, role.into())
        }
        Command::Token(TokenCommand::List { json }) => commands::token::list(&ctx, json),
        Command::Token(TokenCommand::Revoke { name }) => commands::token::revoke(&ctx, &name),
        Command::Node(NodeCommand::Ls { json }) => commands::node::list(&ctx, json).await,
        Command::Node(NodeCommand::Drain { node }) => {
            commands::node::set_taking(&ctx, &node, false).await
        }
        Command::Node(NodeCommand::Activate { node }) => {
            commands::node::set_taking(&ctx, &node, true).await
        }
        Command::Serve { listen } => commands::serve::run(&ctx, listen).await,
        Command::Status { json } => commands::api_status::run(&ctx, json),
    }
}
