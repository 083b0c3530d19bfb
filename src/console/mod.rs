//! The console: the live full-screen view staff keep open. Producers feed one event channel;
//! one loop applies events to the state and draws only when something visible changed. The
//! loop never awaits the engine: lifecycle calls run in background tasks.
//!
//! The console starts without the engine too (during an incident that is when staff open
//! it): it shows the store's view under the engine-lost banner and connects when it can.

pub mod event;
pub mod frames;
pub mod keys;
mod launch;
pub mod logging;
mod ops;
pub mod state;
mod tasks;
mod terminal;
pub mod theme;
pub mod views;

use std::sync::Arc;

use color_eyre::eyre::{Result, WrapErr};
use tokio::sync::{mpsc, watch};

use crate::domain::Lifecycle;
use crate::store::{Store, now_millis};

use event::{Event, OpOutcome};
pub use launch::{Connector, Launch, SharedFeeds};
use state::{App, Command, Setup};
use tasks::engine::Current;
use tasks::logs::LogFollower;
pub use tasks::shared_engine::SharedEngine;
use theme::Theme;

/// Events waiting to be applied; producers wait when it is full (a log flood cannot grow memory).
const CHANNEL: usize = 1024;
/// Events applied between two draws at most, so a flood cannot starve the screen.
const BATCH: usize = 256;
/// How long quitting waits for a cancelled smoke test to tear down.
const SMOKE_TEARDOWN_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Refuse to start without a terminal, saying what to use instead.
pub fn require_terminal() -> Result<()> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        color_eyre::eyre::bail!(
            "the console needs a terminal; for scripts use a command (`ctfdeck list`, `ctfdeck --help`)"
        );
    }
    Ok(())
}

/// Start the console on the store and catalog it was given, in this process's terminal; the
/// engine is connected here, and again whenever it goes away.
pub async fn run(launch: Launch) -> Result<()> {
    require_terminal()?;
    let console = Console::prepare(launch).await?;
    tasks::input::spawn_signals(console.runner.tx.clone());
    let mut terminal = terminal::enter().wrap_err("cannot take over the terminal")?;
    let _restore = terminal::Guard;
    tasks::input::spawn_reader(console.runner.tx.clone());
    console.run(&mut terminal, &|| false).await
}

/// The console on a screen that is not this process's terminal (an SSH channel): `terminal`
/// draws to it, `input` is handed the event sender and feeds it keys, resizes and, when the
/// screen goes away, [`Event::Terminate`]. `repaint` says when the screen lost output and
/// must be drawn whole again. Signals are the caller's business.
pub async fn run_remote<B>(
    launch: Launch,
    terminal: &mut ratatui::Terminal<B>,
    input: impl FnOnce(mpsc::Sender<Event>),
    repaint: &(dyn Fn() -> bool + Send + Sync),
) -> Result<()>
where
    B: ratatui::backend::Backend<Error = std::io::Error>,
{
    let console = Console::prepare(launch).await?;
    input(console.runner.tx.clone());
    console.run(terminal, repaint).await
}

/// A console with its state and producers started, before it owns a screen.
struct Console {
    app: App,
    runner: Runner,
    rx: mpsc::Receiver<Event>,
    startup: Vec<Event>,
    theme: Theme,
    _catalog_watch: Option<crate::catalog::watch::Watcher>,
}

impl Console {
    async fn prepare(launch: Launch) -> Result<Console> {
        let Launch {
            keymap,
            theme,
            read_only,
            store_path,
            catalog,
            ceilings,
            engine_target,
            connect,
            public_host,
            warnings,
            shared,
        } = launch;
        // A console among many starts from the snapshot they share, not a read of every row.
        let latest = shared.as_ref().and_then(|s| s.store.latest());
        let snapshot = match latest {
            Some(snapshot) => (*snapshot).clone(),
            None => {
                let store = Store::open(&store_path)
                    .wrap_err_with(|| format!("opening the store {}", store_path.display()))?;
                tasks::store::load(&store).wrap_err("reading the store")?
            }
        };
        // The first attempt happens before the screen opens, so a healthy start looks as it
        // always did; an engine that does not answer is retried in the background.
        let first = connect().await;
        let version = match &first {
            Ok(l) => l.engine().info().described_version(),
            Err(_) => String::new(),
        };
        let setup = Setup {
            keymap,
            read_only,
            store_path: store_path.display().to_string(),
            engine_target,
            engine_version: version,
            public_host,
            now: now_millis(),
        };
        let app = App::new(setup, &catalog);

        let (tx, rx) = mpsc::channel(CHANNEL);
        let (targets_tx, targets_rx) = watch::channel(Vec::new());
        let (current_tx, current) = watch::channel(None);
        let mut startup = vec![Event::Store(snapshot)];
        let first = match first {
            Ok(lifecycle) => Some(Arc::new(lifecycle)),
            Err(reason) => {
                tracing::warn!("engine unreachable at start: {reason}");
                startup.push(Event::EngineLost {
                    reason,
                    retry_in_secs: tasks::engine::FIRST_RETRY_SECS,
                });
                None
            }
        };
        tasks::input::spawn_tick(tx.clone());
        match &shared {
            Some(shared) => shared.store.follow(tx.clone()),
            None => tasks::store::spawn(store_path, tx.clone()),
        }
        if let Some(warnings) = warnings {
            tasks::input::spawn_warnings(warnings, tx.clone());
        }
        match &shared {
            Some(shared) => shared.engine.follow(connect, first, current_tx, tx.clone()),
            None => tasks::engine::spawn(
                tasks::engine::Connection {
                    connect,
                    first,
                    reconcile: !read_only,
                    current: current_tx,
                },
                tx.clone(),
            ),
        }
        match &shared {
            Some(shared) => shared.stats.follow(current.clone(), targets_rx, tx.clone()),
            None => tasks::stats::spawn(current.clone(), targets_rx, tx.clone()),
        }
        tasks::nodes::spawn(current.clone(), tx.clone());
        let catalog_watch = match &shared {
            Some(shared) => {
                shared.catalog.follow(tx.clone());
                None
            }
            None => tasks::catalog::spawn(catalog.root.clone(), ceilings, tx.clone()),
        };
        let runner = Runner {
            current,
            tx,
            logs: LogFollower::default(),
            targets: targets_tx,
            read_only,
            smokes: std::collections::HashMap::new(),
            catalog: None,
        };
        Ok(Console {
            app,
            runner,
            rx,
            startup,
            theme,
            _catalog_watch: catalog_watch,
        })
    }

    async fn run<B>(
        mut self,
        terminal: &mut ratatui::Terminal<B>,
        repaint: &(dyn Fn() -> bool + Send + Sync),
    ) -> Result<()>
    where
        B: ratatui::backend::Backend<Error = std::io::Error>,
    {
        for event in std::mem::take(&mut self.startup) {
            let commands = self.app.on_event(event);
            self.runner.execute(commands);
        }
        let result = self
            .runner
            .event_loop(&mut self.app, self.rx, terminal, &self.theme, repaint)
            .await;
        self.runner.finish_smokes().await;
        result
    }
}

/// Carries out the state's commands and owns the background machinery.
struct Runner {
    /// The lifecycle on the connected engine; `None` until the engine first answers.
    current: Current,
    tx: mpsc::Sender<Event>,
    logs: LogFollower,
    targets: watch::Sender<tasks::stats::Targets>,
    read_only: bool,
    /// Smoke tests running, by operation: how to cancel each.
    smokes: std::collections::HashMap<u64, crate::domain::smoke::CancelHandle>,
    /// The catalog as last read after an edit; operations run on it.
    catalog: Option<Arc<crate::catalog::Catalog>>,
}

impl Runner {
    async fn event_loop<B>(
        &mut self,
        app: &mut App,
        mut rx: mpsc::Receiver<Event>,
        terminal: &mut ratatui::Terminal<B>,
        theme: &Theme,
        repaint: &(dyn Fn() -> bool + Send + Sync),
    ) -> Result<()>
    where
        B: ratatui::backend::Backend<Error = std::io::Error>,
    {
        let mut frames = frames::Frames::default();
        loop {
            if repaint() {
                // Output was dropped on the way to a slow screen: what it shows is unknown.
                terminal.clear().wrap_err("clearing the screen")?;
                frames.forget();
                app.dirty = true;
            }
            if frames.draw(terminal, app, theme)? {
                self.publish_visible(app);
            }
            let Some(first) = rx.recv().await else {
                return Ok(());
            };
            self.observe(&first);
            let mut commands = app.on_event(first);
            // Apply whatever else is already waiting before drawing once for all of it.
            for _ in 0..BATCH {
                match rx.try_recv() {
                    Ok(ev) => {
                        self.observe(&ev);
                        commands.extend(app.on_event(ev));
                    }
                    Err(_) => break,
                }
            }
            if self.execute(commands) || app.quit {
                return Ok(());
            }
        }
    }

    /// Leaving while a smoke test runs: cancel it and wait for its teardown, so that no
    /// throwaway instance outlives the console.
    async fn finish_smokes(&mut self) {
        for handle in self.smokes.values() {
            handle.cancel();
        }
        let deadline = tokio::time::Instant::now() + SMOKE_TEARDOWN_WAIT;
        while self.smokes.values().any(|h| !h.is_finished())
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// What the runner itself keeps of an event: a catalog read again.
    fn observe(&mut self, event: &Event) {
        if let Event::Catalog(event::CatalogReload {
            catalog: Some(catalog),
            ..
        }) = event
        {
            self.catalog = Some(catalog.clone());
        }
    }

    fn lifecycle(&self) -> Option<Arc<Lifecycle>> {
        let current = self.current.borrow().clone()?;
        Some(match &self.catalog {
            Some(catalog) => Arc::new(current.with_catalog(catalog.clone())),
            None => current,
        })
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
                    match self.lifecycle() {
                        Some(lifecycle) => {
                            if let state::Op::Smoke { challenge } = request {
                                self.smokes.retain(|_, h| !h.is_finished());
                                let handle =
                                    ops::start_smoke(lifecycle, op, challenge, self.tx.clone());
                                self.smokes.insert(op, handle);
                            } else {
                                ops::start(lifecycle, op, request, self.tx.clone());
                            }
                        }
                        None => {
                            let outcome = OpOutcome::Failed {
                                what: request.label(),
                                error: "the engine has not answered yet; the console keeps trying"
                                    .to_string(),
                            };
                            let tx = self.tx.clone();
                            tokio::spawn(async move {
                                let _ = tx.send(Event::OpDone { op, outcome }).await;
                            });
                        }
                    }
                }
                // Without an engine there is nothing to follow yet; the state follows again
                // when the engine comes back.
                Command::FollowLogs(target) => match self.lifecycle() {
                    Some(lifecycle) => self.logs.follow(lifecycle.engine(), target, &self.tx),
                    None => self.logs.stop(),
                },
                Command::CancelSmoke { op } => {
                    if let Some(handle) = self.smokes.get(&op) {
                        handle.cancel();
                    }
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
