//! `ctfdeck` without a command: build what the console needs from the flags and the config,
//! and hand it over. The engine is left to the console, which starts without it when it is down.

use std::sync::Arc;

use color_eyre::eyre::{Result, WrapErr};
use futures_util::FutureExt;

use crate::catalog::Catalog;
use crate::cli::context::Context;
use crate::console::keys::Keymap;
use crate::console::theme::Theme;
use crate::console::{self, Connector, Launch, logging};
use crate::domain::{Actor, Lifecycle, Role};
use crate::engine::DockerEngine;
use crate::store::Store;

pub async fn run(ctx: &Context, log_filter: tracing_subscriber::EnvFilter) -> Result<()> {
    let keymap = Keymap::new(&ctx.config.keys).wrap_err("invalid key bindings in the config")?;
    let theme_name = ctx
        .global
        .theme
        .clone()
        .or_else(|| ctx.config.theme.clone());
    let theme = Theme::select(theme_name.as_deref(), Theme::no_color_env())?;
    console::require_terminal()?;
    let store_path = ctx.store_path();
    // Opened once here so that a store that cannot be opened is said before the screen opens
    // (and its folder exists for the log file).
    ctx.open_store()?;
    // From here on nothing may write to the terminal: the log goes to a file beside the store,
    // warnings also to the activity pane.
    let warnings = logging::init(log_filter, &logging::file_beside(&store_path));
    let catalog = Arc::new(ctx.catalog()?);
    console::run(launch(
        ctx,
        catalog,
        keymap,
        theme,
        ctx.actor(),
        Some(warnings),
    ))
    .await
}

/// The console for `actor` (the local user, or a staff member over SSH): their name in the
/// audit, their role deciding whether the console may act.
pub fn launch(
    ctx: &Context,
    catalog: Arc<Catalog>,
    keymap: Keymap,
    theme: Theme,
    actor: Actor,
    warnings: Option<logging::Warnings>,
) -> Launch {
    let store_path = ctx.store_path();
    let explicit = ctx.engine_explicit();
    let read_only = actor.role == Role::Monitor;
    let connect = engine_connector(ctx, catalog.clone(), actor.clone());
    Launch {
        keymap,
        theme,
        read_only,
        store_path,
        catalog,
        ceilings: ctx.config.ceilings.clone(),
        engine_target: DockerEngine::target(explicit.as_deref()),
        connect,
        public_host: ctx
            .config
            .public_host
            .clone()
            .unwrap_or_else(|| "localhost".to_string()),
        warnings,
        shared: None,
    }
}

/// Connects (again, after a loss) to the engine instances run on, with `actor`'s lifecycle:
/// the local console's connection, and the one all SSH sessions share.
pub fn engine_connector(ctx: &Context, catalog: Arc<Catalog>, actor: Actor) -> Connector {
    let (store_path, policy, target) = (
        ctx.store_path(),
        ctx.config.policy(),
        ctx.instance_engine_target(),
    );
    Arc::new(move || {
        let (catalog, store_path) = (catalog.clone(), store_path.clone());
        let (policy, actor, target) = (policy.clone(), actor.clone(), target.clone());
        async move {
            let engine = target.connect().await.map_err(|e| e.to_string())?;
            let store = Store::open(&store_path).map_err(|e| e.to_string())?;
            Lifecycle::new(engine, store, catalog, policy, actor).map_err(|e| e.to_string())
        }
        .boxed()
    })
}
