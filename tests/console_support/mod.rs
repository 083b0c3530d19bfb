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

/// A tmux session running one command; killed on drop, whatever happened.
pub struct Tmux {
    name: String,
    wait: std::time::Duration,
}

pub fn tmux(args: &[&str]) -> std::process::Output {
    std::process::Command::new("tmux")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "this test needs tmux ({e}); install it (apt-get install tmux) (CI={:?})",
                std::env::var("CI").ok()
            )
        })
}

impl Tmux {
    /// Start `command` in a detached session of `width`x`height`; `wait` bounds every wait.
    pub fn start(
        name: &str,
        command: &str,
        width: u16,
        height: u16,
        wait: std::time::Duration,
    ) -> Tmux {
        let _ = tmux(&["kill-session", "-t", name]);
        let (w, h) = (width.to_string(), height.to_string());
        let out = tmux(&["new-session", "-d", "-s", name, "-x", &w, "-y", &h, command]);
        assert!(
            out.status.success(),
            "tmux: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmux {
            name: name.to_string(),
            wait,
        }
    }

    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", &self.name];
        args.extend_from_slice(keys);
        assert!(tmux(&args).status.success());
    }

    /// Type `text` literally.
    pub fn text(&self, text: &str) {
        assert!(
            tmux(&["send-keys", "-t", &self.name, "-l", text])
                .status
                .success()
        );
    }

    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", &self.name]).stdout)
            .into_owned()
    }

    /// Poll the screen until `ok` holds, failing with the screen when the wait runs out.
    pub fn wait(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let start = std::time::Instant::now();
        loop {
            let screen = self.screen();
            if ok(&screen) {
                return screen;
            }
            if start.elapsed() > self.wait {
                panic!("timed out waiting for {what}; the screen shows:\n{screen}");
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    pub fn wait_for(&self, text: &str) -> String {
        self.wait(&format!("{text:?}"), |s| s.contains(text))
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = tmux(&["kill-session", "-t", &self.name]);
    }
}
