//! Opening what a command needs: config, catalog, store, engine — and reconciling them.

use std::path::PathBuf;
use std::sync::Arc;

use color_eyre::eyre::{Result, WrapErr, bail};

use crate::catalog::{Catalog, CatalogReport};
use crate::config::EngineChoice;
use crate::config::{Config, default_store_path};
use crate::domain::{Actor, Lifecycle, ReconcileReport, Role, current_user, origin_from_env};
use crate::engine::{DockerEngine, Engine, SwarmEngine};
use crate::store::Store;

use super::args::GlobalArgs;

pub struct Context {
    pub global: GlobalArgs,
    pub config: Config,
}

/// The engine instances run on, by kind: every caller connects the same way.
#[derive(Clone)]
pub struct InstanceEngineTarget {
    choice: EngineChoice,
    explicit: Option<String>,
    swarm: crate::engine::SwarmSettings,
}

impl InstanceEngineTarget {
    pub async fn connect(&self) -> Result<Arc<dyn Engine>, crate::engine::EngineError> {
        Ok(match self.choice {
            EngineChoice::Docker => {
                Arc::new(DockerEngine::connect(self.explicit.as_deref()).await?)
            }
            EngineChoice::Swarm => {
                Arc::new(SwarmEngine::connect(self.explicit.as_deref(), self.swarm.clone()).await?)
            }
        })
    }
}

impl Context {
    pub fn new(global: GlobalArgs) -> Result<Context> {
        let config = Config::load(global.config.as_deref())?;
        Ok(Context { global, config })
    }

    pub fn catalog_dir(&self) -> PathBuf {
        self.global
            .catalog
            .clone()
            .or_else(|| self.config.catalog.clone())
            .unwrap_or_else(|| PathBuf::from("challenges"))
    }

    pub fn store_path(&self) -> PathBuf {
        self.global
            .store
            .clone()
            .or_else(|| self.config.store.clone())
            .unwrap_or_else(default_store_path)
    }

    pub fn load_catalog(&self) -> Result<CatalogReport> {
        let dir = self.catalog_dir();
        Catalog::load(&dir, &self.config.ceilings)
            .wrap_err_with(|| format!("cannot load catalog {}", dir.display()))
    }

    /// The catalog's valid challenges; problems are logged as warnings (`catalog check` shows them).
    pub fn catalog(&self) -> Result<Catalog> {
        let report = self.load_catalog()?;
        for d in &report.diagnostics {
            tracing::warn!("{d}");
        }
        Ok(report.catalog)
    }

    pub fn open_store(&self) -> Result<Store> {
        Ok(Store::open(&self.store_path())?)
    }

    /// The engine asked for with `--engine` or in the config (else `DOCKER_HOST`, else the
    /// local socket, decided when connecting).
    pub fn engine_explicit(&self) -> Option<String> {
        self.global
            .engine
            .clone()
            .or_else(|| self.config.engine_url())
    }

    pub async fn engine(&self) -> Result<DockerEngine> {
        Ok(DockerEngine::connect(self.engine_explicit().as_deref()).await?)
    }

    /// The engine instances run on: the Docker engine, or a Swarm manager with
    /// `[engine] kind = "swarm"`.
    pub async fn instance_engine(&self) -> Result<Arc<dyn Engine>> {
        Ok(self.instance_engine_target().connect().await?)
    }

    /// Where [`Context::instance_engine`] connects, as a value the console's and the SSH
    /// sessions' background tasks keep to connect again after losing the engine.
    pub fn instance_engine_target(&self) -> InstanceEngineTarget {
        InstanceEngineTarget {
            choice: self.config.engine_choice(),
            explicit: self.engine_explicit(),
            swarm: self.config.swarm.clone(),
        }
    }

    /// The Swarm manager `--engine` (or `[engine] url`) names.
    pub async fn swarm_engine(&self) -> Result<SwarmEngine> {
        Ok(
            SwarmEngine::connect(self.engine_explicit().as_deref(), self.config.swarm.clone())
                .await?,
        )
    }

    /// Everything an instance command needs, reconciled with the engine first (by an admin;
    /// a monitor is told what drifted, on stderr, and nothing is changed).
    pub async fn lifecycle(&self) -> Result<Lifecycle> {
        let (lifecycle, report) = self.reconciled_lifecycle().await?;
        if report.pending && !report.is_empty() {
            eprintln!("note: {report}");
        } else if !report.is_empty() {
            tracing::info!("reconciled: {report}");
        }
        Ok(lifecycle)
    }

    /// [`Context::lifecycle`], and what its reconcile changed (the reaper logs it) or, for a
    /// monitor, found and left for an admin (`pending`).
    pub async fn reconciled_lifecycle(&self) -> Result<(Lifecycle, ReconcileReport)> {
        let engine = self.instance_engine().await?;
        let lifecycle = Lifecycle::new(
            engine,
            self.open_store()?,
            Arc::new(self.catalog()?),
            self.config.policy(),
            self.actor(),
        )?;
        let report = lifecycle
            .reconcile()
            .await
            .wrap_err("reconciling store and engine")?;
        Ok((lifecycle, report))
    }

    /// Who runs this command: the unix user, the SSH origin, the role from config. `--read-only`
    /// makes anyone a monitor for this run.
    pub fn actor(&self) -> Actor {
        let user = current_user();
        let role = if self.global.read_only {
            Role::Monitor
        } else {
            self.config.roles.role_of(&user)
        };
        Actor {
            name: user.name,
            origin: origin_from_env(),
            role,
        }
    }

    /// True with `--read-only` or the monitor role (`[roles]` in the config).
    pub fn read_only(&self) -> bool {
        self.actor().role == Role::Monitor
    }

    /// Refuse a mutating command up front, before connecting to anything, in read-only mode
    /// or for a monitor. (The domain refuses again; this only makes the message immediate.)
    pub fn require_write(&self, what: &str) -> Result<()> {
        if self.global.read_only {
            bail!("{what} refused: ctfdeck runs read-only (--read-only)");
        }
        let actor = self.actor();
        if actor.role == Role::Monitor {
            bail!(
                "{what} refused: {} has the monitor role (read-only); ask an admin",
                actor.name
            );
        }
        Ok(())
    }
}
