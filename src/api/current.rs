//! The lifecycle the API acts through, replaced while `serve` runs: when the engine first
//! answers (`serve` starts while it is down, answering from the store) and when the catalog
//! folder changes. Each request takes a copy at its start and keeps it to its end.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use axum::http::StatusCode;

use crate::catalog::Catalog;
use crate::domain::Lifecycle;

use super::ApiError;

pub struct Current {
    lifecycle: RwLock<Arc<Lifecycle>>,
    /// Whether `lifecycle` is on a connected (and reconciled) engine; until then it only
    /// answers from the store, and actions on the engine are refused.
    connected: AtomicBool,
}

impl Current {
    pub fn new(lifecycle: Lifecycle, connected: bool) -> Current {
        Current {
            lifecycle: RwLock::new(Arc::new(lifecycle)),
            connected: AtomicBool::new(connected),
        }
    }

    /// The lifecycle now.
    pub fn get(&self) -> Arc<Lifecycle> {
        // A poisoned lock only means a replacement panicked; the value in it is whole.
        self.lifecycle
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The engine answered: act through `lifecycle` from now on (on the catalog in use).
    pub fn connected(&self, lifecycle: Lifecycle) {
        let mut current = self
            .lifecycle
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *current = Arc::new(lifecycle.with_catalog(Arc::new(current.catalog().clone())));
        self.connected.store(true, Ordering::SeqCst);
    }

    /// The catalog was read again.
    pub fn set_catalog(&self, catalog: Arc<Catalog>) {
        let mut current = self
            .lifecycle
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *current = Arc::new(current.with_catalog(catalog));
    }

    /// Whether the engine has answered since `serve` started.
    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::SeqCst)
    }

    /// 503 `engine-unreachable` until the engine has answered once.
    pub fn require_engine(&self) -> Result<(), ApiError> {
        if self.is_connected() {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "engine-unreachable",
                "the engine has not answered since ctfdeck serve started; retry later",
            ))
        }
    }
}
