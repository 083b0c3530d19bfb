//! The engine as seen while it does not answer: every call fails as unreachable, naming what
//! was tried. A daemon that must start while the engine is down (`serve`, which answers from
//! the store meanwhile) holds this until a real connection succeeds.

use std::collections::BTreeMap;
use std::path::Path;

use futures_util::stream::BoxStream;

use super::{
    BuildNetwork, BuildProgress, ContainerPlan, Engine, EngineError, EngineInfo, EngineKind,
    ExecOutput, ManagedContainer, ManagedNetwork, SubnetPool,
};
use crate::shared::PublishedPort;

pub struct AbsentEngine {
    info: EngineInfo,
    /// Why the last connection failed.
    reason: String,
}

impl AbsentEngine {
    /// `target`: the socket or URL that did not answer; `reason`: how it failed.
    pub fn new(target: String, reason: String) -> AbsentEngine {
        AbsentEngine {
            info: EngineInfo {
                target,
                kind: EngineKind::Docker,
                version: String::new(),
                api_version: String::new(),
                os: String::new(),
                rootless: false,
                cgroup_version: String::new(),
            },
            reason,
        }
    }

    fn unreachable(&self) -> EngineError {
        EngineError::Unreachable {
            target: self.info.target.clone(),
            reason: self.reason.clone(),
        }
    }

    fn unreachable_stream<T: Send + 'static>(&self) -> BoxStream<'static, Result<T, EngineError>> {
        Box::pin(futures_util::stream::iter([Err(self.unreachable())]))
    }
}

#[async_trait::async_trait]
impl Engine for AbsentEngine {
    fn info(&self) -> &EngineInfo {
        &self.info
    }

    async fn image_present(&self, _image: &str) -> Result<bool, EngineError> {
        Err(self.unreachable())
    }

    async fn image_volumes(&self, _image: &str) -> Result<Vec<String>, EngineError> {
        Err(self.unreachable())
    }

    async fn build_image(
        &self,
        _context: &Path,
        _tag: &str,
        _network: BuildNetwork,
        _progress: BuildProgress<'_>,
    ) -> Result<(), EngineError> {
        Err(self.unreachable())
    }

    async fn create_network(
        &self,
        _name: &str,
        _labels: &BTreeMap<String, String>,
    ) -> Result<String, EngineError> {
        Err(self.unreachable())
    }

    async fn create_network_in(
        &self,
        _name: &str,
        _labels: &BTreeMap<String, String>,
        _pool: &SubnetPool,
    ) -> Result<String, EngineError> {
        Err(self.unreachable())
    }

    async fn create_container(&self, _plan: &ContainerPlan) -> Result<String, EngineError> {
        Err(self.unreachable())
    }

    async fn start_container(&self, _id: &str) -> Result<(), EngineError> {
        Err(self.unreachable())
    }

    async fn published_ports(
        &self,
        _id: &str,
        _protocols: &BTreeMap<u16, String>,
    ) -> Result<Vec<PublishedPort>, EngineError> {
        Err(self.unreachable())
    }

    async fn freeze_container(&self, _id_or_name: &str) -> Result<(), EngineError> {
        Err(self.unreachable())
    }

    async fn disconnect(&self, _network: &str, _container: &str) -> Result<(), EngineError> {
        Err(self.unreachable())
    }

    async fn remove_container(&self, _id_or_name: &str) -> Result<(), EngineError> {
        Err(self.unreachable())
    }

    async fn remove_network(&self, _id_or_name: &str) -> Result<(), EngineError> {
        Err(self.unreachable())
    }

    async fn managed_containers(
        &self,
        _store_id: &str,
    ) -> Result<Vec<ManagedContainer>, EngineError> {
        Err(self.unreachable())
    }

    async fn managed_networks(&self, _store_id: &str) -> Result<Vec<ManagedNetwork>, EngineError> {
        Err(self.unreachable())
    }

    fn logs(
        &self,
        _id: &str,
        _follow: bool,
        _tail: Option<usize>,
    ) -> BoxStream<'static, Result<String, EngineError>> {
        self.unreachable_stream()
    }

    async fn exec_with_env(
        &self,
        _id: &str,
        _cmd: &[&str],
        _env: &[(&str, &str)],
    ) -> Result<ExecOutput, EngineError> {
        Err(self.unreachable())
    }

    async fn ping(&self) -> Result<(), EngineError> {
        Err(self.unreachable())
    }

    fn container_events(
        &self,
        _store_id: &str,
    ) -> BoxStream<'static, Result<super::ContainerEvent, EngineError>> {
        self.unreachable_stream()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_call_says_which_engine_did_not_answer() {
        let engine = AbsentEngine::new("unix:///run/x.sock".into(), "no such socket".into());
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        let err = rt.block_on(engine.ping()).expect_err("absent");
        assert!(err.is_unreachable());
        assert!(err.to_string().contains("unix:///run/x.sock"), "{err}");
        let err = rt
            .block_on(engine.remove_container("c"))
            .expect_err("absent");
        assert!(err.is_unreachable());
    }
}
