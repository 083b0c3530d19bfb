//! The SSH part of `serve`: when `[ssh] listen` is set, staff connect with their key and get
//! the console (see `crate::ssh`). Built here from the config, so `serve` itself only awaits it.

use std::sync::Arc;

use color_eyre::eyre::{Result, WrapErr};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use crate::catalog::Catalog;
use crate::cli::context::Context;
use crate::config::Config;
use crate::console::keys::Keymap;
use crate::console::theme::Theme;
use crate::console::{Connector, SharedEngine, SharedFeeds};
use crate::domain::{Actor, Lifecycle};
use crate::ssh::{self, Launcher, Reload, SshServe};
use crate::store::Store;

/// The SSH server to run beside the API, or a future that never ends when `[ssh] listen` is
/// not set. Configuration errors are reported before anything listens.
pub fn start(ctx: &Context) -> Result<BoxFuture<'static, Result<()>>> {
    let Some(listen) = ctx.config.ssh.listen else {
        return Ok(std::future::pending().boxed());
    };
    let keymap = Keymap::new(&ctx.config.keys).wrap_err("invalid key bindings in the config")?;
    let theme_name = ctx
        .global
        .theme
        .clone()
        .or_else(|| ctx.config.theme.clone());
    // A client's NO_COLOR does not reach the server (environment requests are refused).
    let theme = Theme::select(theme_name.as_deref(), false)?;
    let catalog = Arc::new(ctx.catalog()?);
    let owned = Context {
        global: ctx.global.clone(),
        config: ctx.config.clone(),
    };
    // One store watcher, one stats sampler, one engine connection and one catalog watcher for
    // all sessions, not one each.
    let shared = SharedFeeds::spawn(
        ctx.store_path(),
        super::console::engine_connector(ctx, catalog.clone(), ctx.actor()),
        catalog.root.clone(),
        ctx.config.ceilings.clone(),
    );
    let launcher: Launcher = Arc::new(move |actor| {
        let mut launch = super::console::launch(
            &owned,
            catalog.clone(),
            keymap.clone(),
            theme.clone(),
            actor.clone(),
            None,
        );
        launch.connect = on_shared_engine(&owned, &shared.engine, catalog.clone(), actor);
        launch.shared = Some(shared.clone());
        launch
    });
    let explicit = ctx.global.config.clone();
    let reload: Reload = Arc::new(move || {
        let config = Config::load(explicit.as_deref()).map_err(|e| format!("{e:#}"))?;
        Ok(config.ssh)
    });
    let serve = SshServe {
        listen,
        config: ctx.config.ssh.clone(),
        host_key: ssh::host_key_path(&ctx.config.ssh, &ctx.store_path()),
        launcher,
        reload,
    };
    Ok(async move {
        ssh::serve(serve)
            .await
            .wrap_err("serving the console over SSH")
    }
    .boxed())
}

/// A session's lifecycle — its staff member as the actor — on the shared engine: no
/// connection of its own; while the shared one is down it fails with why.
fn on_shared_engine(
    ctx: &Context,
    shared: &SharedEngine,
    catalog: Arc<Catalog>,
    actor: Actor,
) -> Connector {
    let (store_path, policy, shared) = (ctx.store_path(), ctx.config.policy(), shared.clone());
    Arc::new(move || {
        let engine = shared.engine().ok_or_else(|| shared.why_not());
        let (catalog, store_path) = (catalog.clone(), store_path.clone());
        let (policy, actor) = (policy.clone(), actor.clone());
        async move {
            let store = Store::open(&store_path).map_err(|e| e.to_string())?;
            Lifecycle::new(engine?, store, catalog, policy, actor).map_err(|e| e.to_string())
        }
        .boxed()
    })
}
