#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]
//! Running `ctfdeck smoke` as a user would, and asking the engine what it left behind.

use std::path::Path;
use std::process::{Command, Output};

use ctfdeck::engine::{DockerEngine, Engine};
use ctfdeck::store::Store;

use super::common::bin;

/// The binary's `smoke` with its own store and catalog, and `args` after `smoke`.
pub fn command(catalog: &Path, store: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(bin());
    cmd.arg("--store")
        .arg(store)
        .arg("--catalog")
        .arg(catalog)
        .arg("smoke")
        .args(args)
        .env_remove("CTFDECK_CONFIG")
        .env_remove("CTFDECK_ENGINE");
    cmd
}

pub fn run(catalog: &Path, store: &Path, args: &[&str]) -> Output {
    command(catalog, store, args)
        .output()
        .expect("run ctfdeck smoke")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The `--json` array, one object per challenge.
pub fn reports(o: &Output) -> Vec<serde_json::Value> {
    let value: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&o.stdout),
            stderr(o)
        )
    });
    value.as_array().expect("an array of reports").clone()
}

/// The stage object named `stage` of one report.
pub fn stage<'a>(report: &'a serde_json::Value, stage: &str) -> &'a serde_json::Value {
    report["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == stage)
        .unwrap_or_else(|| panic!("no stage {stage} in {report}"))
}

/// Names of the containers and networks the store at `store` still has on the engine.
pub async fn leftovers(store: &Path) -> Vec<String> {
    let store = Store::open(store).expect("open store");
    let Some(store_id) = store.setting("store_id").expect("read store id") else {
        return Vec::new();
    };
    let engine = DockerEngine::connect(None).await.expect("engine");
    let mut left: Vec<String> = engine
        .managed_containers(&store_id)
        .await
        .expect("list containers")
        .into_iter()
        .map(|c| format!("container {}", c.name))
        .collect();
    left.extend(
        engine
            .managed_networks(&store_id)
            .await
            .expect("list networks")
            .into_iter()
            .map(|n| format!("network {}", n.name)),
    );
    left
}
