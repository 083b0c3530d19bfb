//! The domain's rules on the in-memory engine ([`crate::engine::fake::FakeEngine`]): quotas,
//! admission, renewals, teardown claims, reconcile, whose-flag, builds and the reaper — each
//! test in milliseconds, no container engine needed. What the engine itself does (hardening,
//! networks, ports) is tested against the real engine in `tests/`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod build;
mod node_down;
mod nodes;
mod owned;
mod quotas;
mod reaper;
mod reconcile;
mod renewals;
mod teardown;
mod whose;

use std::sync::Arc;

use serde_json::json;
use tempfile::TempDir;

use crate::catalog::{Catalog, Challenge};
use crate::engine::fake::FakeEngine;
use crate::store::{AuditEntry, AuditFilter, InstanceRecord, Store};

use super::{Actor, Lifecycle, Owner, Policy, Role};

/// `web`: built from its folder, a per-instance flag, 45m + 30m renewals (2 of them) up to 2h.
/// `pwn`: a registry image, a static flag shared by every instance, the default lifetime.
fn challenges(dir: &std::path::Path) -> Vec<Challenge> {
    let web = json!({
        "schema_version": 1, "id": "web", "name": "Web",
        "container": {"image": "ctfdeck-test/web:1", "build": ".",
                      "ports": [{"container": 8080, "protocol": "http"}]},
        "flag": {"template": "flag{<hex:16>}"},
        "lifetime": {"default": "45m", "extend_by": "30m", "max_renewals": 2, "max_total": "2h"}
    });
    let pwn = json!({
        "schema_version": 1, "id": "pwn", "name": "Pwn",
        "container": {"image": "registry.example/pwn:1",
                      "ports": [{"container": 1337, "protocol": "tcp"}]},
        "flag": {"static": "flag{everyone_gets_this}"}
    });
    // Sorted by id, as the loader gives them.
    [pwn, web]
        .into_iter()
        .map(|v| {
            let mut c: Challenge = serde_json::from_value(v).unwrap();
            c.dir = dir.join(&c.id);
            c
        })
        .collect()
}

/// A lifecycle on a fresh store in a temporary folder and a fake engine holding both images.
pub(super) struct Deck {
    pub dir: TempDir,
    pub engine: Arc<FakeEngine>,
    pub lifecycle: Lifecycle,
}

impl Deck {
    pub fn new() -> Deck {
        Deck::with_policy(|_| {})
    }

    pub fn with_policy(adjust: impl FnOnce(&mut Policy)) -> Deck {
        Deck::on(FakeEngine::new(), adjust)
    }

    /// On `engine` (a fake Swarm, say), with the policy adjusted.
    pub fn on(engine: FakeEngine, adjust: impl FnOnce(&mut Policy)) -> Deck {
        let dir = tempfile::tempdir().unwrap();
        // `web`'s build context: a build checks it is really there before sending it.
        std::fs::create_dir(dir.path().join("web")).unwrap();
        std::fs::write(dir.path().join("web/Dockerfile"), "FROM busybox:1.36\n").unwrap();
        let engine = Arc::new(engine);
        engine.add_image("ctfdeck-test/web:1");
        engine.add_image("registry.example/pwn:1");
        let mut policy = Policy::default();
        adjust(&mut policy);
        let catalog = Catalog {
            root: dir.path().to_path_buf(),
            challenges: challenges(dir.path()),
        };
        let lifecycle = Lifecycle::new(
            engine.clone(),
            Store::open(&dir.path().join("ctfdeck.db")).unwrap(),
            Arc::new(catalog),
            policy,
            Actor::admin("tester"),
        )
        .unwrap();
        Deck {
            dir,
            engine,
            lifecycle,
        }
    }

    /// Another process on the same store and engine (a second console, the reaper, a CLI run).
    pub fn second(&self, actor: Actor) -> Lifecycle {
        Lifecycle::new(
            self.engine.clone(),
            Store::open(&self.dir.path().join("ctfdeck.db")).unwrap(),
            Arc::new(Catalog {
                root: self.dir.path().to_path_buf(),
                challenges: challenges(self.dir.path()),
            }),
            self.lifecycle.policy().clone(),
            actor,
        )
        .unwrap()
    }

    pub fn monitor(&self) -> Lifecycle {
        self.second(Actor {
            name: "watcher".into(),
            origin: "local".into(),
            role: Role::Monitor,
        })
    }

    pub async fn spawn(&self, challenge: &str, owner_text: &str) -> InstanceRecord {
        self.lifecycle
            .spawn(challenge, &owner(owner_text))
            .await
            .unwrap()
            .instance
    }

    pub fn row(&self, id: &str) -> InstanceRecord {
        self.lifecycle.store().instance(id).unwrap().unwrap()
    }

    /// Move an instance's expiry to `at` (ms since the epoch).
    pub fn expire_at(&self, rec: &InstanceRecord, at: i64) {
        self.lifecycle
            .store()
            .set_times(&rec.id, rec.created_at, at)
            .unwrap();
    }

    /// The audit entries of one action, oldest first.
    pub fn audit(&self, action: &str) -> Vec<AuditEntry> {
        let filter = AuditFilter {
            action: Some(action.to_string()),
            ..Default::default()
        };
        self.lifecycle.store().audit_matching(&filter, 100).unwrap()
    }

    /// (containers, networks) the fake engine still holds.
    pub fn engine_objects(&self) -> (usize, usize) {
        (self.engine.containers().len(), self.engine.networks().len())
    }
}

pub(super) fn owner(text: &str) -> Owner {
    text.parse().unwrap()
}
