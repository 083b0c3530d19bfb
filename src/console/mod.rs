//! The console: the live full-screen view staff keep open. Producers feed one event channel;
//! one loop applies events to the state and draws only when something visible changed. The
//! loop never awaits the engine: lifecycle calls run in background tasks.

pub mod event;
pub mod keys;
mod ops;
pub mod state;
mod tasks;
mod terminal;
pub mod theme;
pub mod views;

use std::sync::Arc;

use color_eyre::eyre::{Result, WrapErr};
use tokio::sync::{mpsc, watch};

use crate::cli::context::Context;
use crate::domain::Lifecycle;
use crate::store::now_millis;

use event::Event;
use keys::Keymap;
use state::{App, Command, Setup};
use tasks::logs::LogFollower;
use theme::Theme;

/// Events waiting to be applied; producers wait when it is full (a log flood cannot grow memory).
const CHANNEL: usize = 1024;
/// Events applied between two draws at most, so a flood cannot starve the screen.
const BATCH: usize = 256;

/// Start the console on the context's store, catalog and engine.
pub async fn run(ctx: &Context) -> Result<()> {
    let keymap = Keymap::new(&ctx.config.keys).wrap_err("invalid key bindings in the config")?;
    let theme_name = ctx
        .global
        .theme
        .clone()
        .or_else(|| ctx.config.theme.clone());
    let theme = Theme::select(theme_name.as_deref(), Theme::no_color_env())?;
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        color_eyre::eyre::bail!(
            "the console needs a terminal; for scripts use a command (`ctfdeck list`, `ctfdeck --help`)"
        );
    }
    let read_only = ctx.read_only();
    let (lifecycle, reconciled) = ctx.reconciled_lifecycle().await?;
    let lifecycle = Arc::new(lifecycle);
    let info = lifecycle.engine().info().clone();
    let setup = Setup {
        keymap,
        read_only,
        store_path: ctx.store_path().display().to_string(),
        engine_target: info.target,
        engine_version: info.version,
        public_host: ctx
            .config
            .public_host
            .clone()
            .unwrap_or_else(|| "localhost".to_string()),
        now: now_millis(),
    };
    let mut app = App::new(setup, lifecycle.catalog());
    if reconciled.pending && !reconciled.is_empty() {
        // A monitor changes nothing, but sees the drift an admin will reconcile.
        app.say(reconciled.to_string());
    } else if !reconciled.is_empty() {
        tracing::info!("reconciled: {reconciled}");
    }
    let snapshot = tasks::store::load(lifecycle.store()).wrap_err("reading the store")?;

    let (tx, rx) = mpsc::channel(CHANNEL);
    let (targets_tx, targets_rx) = watch::channel(Vec::new());
    tasks::input::spawn_signals(tx.clone());
    tasks::input::spawn_tick(tx.clone());
    tasks::store::spawn(ctx.store_path(), tx.clone());
    tasks::engine::spawn(lifecycle.clone(), !read_only, tx.clone());
    tasks::stats::spawn(lifecycle.engine().clone(), targets_rx, tx.clone());

    let mut terminal = terminal::enter().wrap_err("cannot take over the terminal")?;
    let _restore = terminal::Guard;
    tasks::input::spawn_reader(tx.clone());
    let mut runner = Runner {
        lifecycle,
        tx,
        logs: LogFollower::default(),
        targets: targets_tx,
        read_only,
    };
    let first = app.on_event(Event::Store(snapshot));
    runner.execute(first);
    runner.event_loop(&mut app, rx, &mut terminal, &theme).await
}

/// Carries out the state's commands and owns the background machinery.
struct Runner {
    lifecycle: Arc<Lifecycle>,
    tx: mpsc::Sender<Event>,
    logs: LogFollower,
    targets: watch::Sender<tasks::stats::Targets>,
    read_only: bool,
}

impl Runner {
    async fn event_loop(
        &mut self,
        app: &mut App,
        mut rx: mpsc::Receiver<Event>,
        terminal: &mut terminal::Term,
        theme: &Theme,
    ) -> Result<()> {
        loop {
            if app.dirty {
                terminal
                    .draw(|f| views::draw(f, app, theme))
                    .wrap_err("drawing the screen")?;
                app.drawn();
                self.publish_visible(app);
            }
            let Some(first) = rx.recv().await else {
                return Ok(());
            };
            let mut commands = app.on_event(first);
            // Apply whatever else is already waiting before drawing once for all of it.
            for _ in 0..BATCH {
                match rx.try_recv() {
                    Ok(ev) => commands.extend(app.on_event(ev)),
                    Err(_) => break,
                }
            }
            if self.execute(commands) || app.quit {
                return Ok(());
            }
        }
    }

    /// Returns true when the console should end.
    fn execute(&mut self, commands: Vec<Command>) -> bool {
        let mut quit = false;
        for command in commands {
            match command {
                Command::Run { op, request } => {
                    if self.read_only && request.is_mutating() {
                        // The state refuses these already; this is the second lock on the door.
                        continue;
                    }
                    ops::start(self.lifecycle.clone(), op, request, self.tx.clone());
                }
                Command::FollowLogs(target) => {
                    self.logs.follow(self.lifecycle.engine(), target, &self.tx)
                }
                Command::Quit => quit = true,
            }
        }
        quit
    }

    /// Tell the stats sampler which containers are on screen, when that changed.
    fn publish_visible(&self, app: &App) {
        let visible: tasks::stats::Targets = app
            .instances
            .visible()
            .filter_map(|r| Some((r.rec.id.clone(), r.rec.container_id.clone()?)))
            .collect();
        self.targets.send_if_modified(|current| {
            if *current == visible {
                false
            } else {
                *current = visible;
                true
            }
        });
    }
}
