#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Shared by the console's terminal tests.

#![allow(dead_code)]

use std::path::PathBuf;

use ctfdeck::engine::{DockerEngine, Engine};
use ctfdeck::store::Store;

/// Removes every container and network of a test's store when dropped — also when the test
/// failed half way.
pub struct EngineCleanup {
    pub store: PathBuf,
}

impl Drop for EngineCleanup {
    fn drop(&mut self) {
        let Ok(store) = Store::open(&self.store) else {
            return;
        };
        let Ok(Some(id)) = store.setting("store_id") else {
            return;
        };
        let Ok(rt) = tokio::runtime::Runtime::new() else {
            return;
        };
        rt.block_on(async {
            let Ok(engine) = DockerEngine::connect(None).await else {
                return;
            };
            for c in engine.managed_containers(&id).await.unwrap_or_default() {
                let _ = engine.remove_container(&c.id).await;
            }
            for n in engine.managed_networks(&id).await.unwrap_or_default() {
                let _ = engine.remove_network(&n.id).await;
            }
        });
    }
}
