//! `[swarm]`: how instances are placed and published when the engine is a Docker Swarm.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SwarmSettings {
    /// Placement constraints every instance gets (`node.labels.ctfdeck==true`).
    pub constraints: Vec<String>,
    /// Registry every node pulls instance images from (`10.99.0.1:5000`). The manager tags and
    /// pushes each image there before its first service; empty: images are used by their own
    /// name, and must already be on every node that may run them.
    pub registry: String,
    /// How long a spawn waits for its task to run. A task that cannot get its image or a node
    /// to run on fails the spawn with the reason when this runs out.
    #[serde(with = "humantime_serde")]
    pub start_timeout: Duration,
    /// How often the services' tasks are looked at for the event stream: how soon a task that
    /// died or a node that went down is known (the manager sends no event for either).
    #[serde(with = "humantime_serde")]
    pub watch_every: Duration,
    /// How often Swarm restarts a task that failed, before giving up.
    pub restart_attempts: u32,
    /// Share of each limit reserved on the node (0 to 1): the scheduler spreads instances by
    /// what is reserved, the limits bound what each may use.
    pub reserve: f64,
    /// What becomes of an instance whose node goes down.
    pub on_node_down: OnNodeDown,
    /// `[swarm.nodes.<hostname>]`: per node settings.
    pub nodes: BTreeMap<String, NodeSettings>,
    /// `[swarm.challenges.<id>]`: per challenge placement.
    pub challenges: BTreeMap<String, ChallengePlacement>,
}

impl Default for SwarmSettings {
    fn default() -> Self {
        SwarmSettings {
            constraints: Vec::new(),
            registry: String::new(),
            start_timeout: Duration::from_secs(60),
            watch_every: Duration::from_secs(2),
            restart_attempts: 2,
            reserve: 0.25,
            on_node_down: OnNodeDown::default(),
            nodes: BTreeMap::new(),
            challenges: BTreeMap::new(),
        }
    }
}

/// `[swarm] on_node_down`: what becomes of an instance whose node goes down.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnNodeDown {
    /// Marked `lost` and its service removed: the team spawns a new one (a fresh flag).
    #[default]
    Lost,
    /// Placed again by the Swarm on a node that takes instances: the row keeps running, same
    /// flag, on its new node's address and port (what ran inside is gone). `lost` after all
    /// when no node can take it within `start_timeout`.
    Reschedule,
}

impl OnNodeDown {
    pub fn as_str(self) -> &'static str {
        match self {
            OnNodeDown::Lost => "lost",
            OnNodeDown::Reschedule => "reschedule",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NodeSettings {
    /// The address teams reach this node's instances on (else the node's Swarm address).
    pub public_host: Option<String>,
    /// This node's own engine (`tcp://…`, `unix://…`), for exec, stats and the drift check of
    /// the containers it runs. Absent: only what the manager knows is available.
    pub engine: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChallengePlacement {
    /// Added to `[swarm] constraints` for this challenge's instances.
    pub constraints: Vec<String>,
}

impl SwarmSettings {
    /// Every constraint an instance of `challenge` is placed with.
    pub fn constraints_for(&self, challenge: &str) -> Vec<String> {
        let own = self.challenges.get(challenge).map(|c| c.constraints.iter());
        self.constraints
            .iter()
            .chain(own.into_iter().flatten())
            .cloned()
            .collect()
    }

    /// What is wrong with the settings, if anything.
    pub fn check(&self) -> Result<(), String> {
        if self.watch_every.is_zero() {
            return Err("watch_every must be more than zero".to_string());
        }
        if !(0.0..=1.0).contains(&self.reserve) {
            return Err(format!("reserve {} must be between 0 and 1", self.reserve));
        }
        let bad = self
            .constraints_for("")
            .into_iter()
            .chain(self.challenges.values().flat_map(|c| c.constraints.clone()))
            .find(|c| !["==", "!="].iter().any(|op| c.contains(op)));
        if let Some(c) = bad {
            return Err(format!(
                "constraints {c:?} is not `attribute==value` or `attribute!=value`"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_constraints_add_to_the_global_ones() {
        let s: SwarmSettings = toml::from_str(
            r#"
            constraints = ["node.labels.ctfdeck==true"]
            [challenges.pwn-heap]
            constraints = ["node.labels.pwn==true"]
            [nodes.node-2]
            public_host = "pwn2.ctf.example"
            "#,
        )
        .expect("parses");
        assert_eq!(
            s.constraints_for("pwn-heap"),
            ["node.labels.ctfdeck==true", "node.labels.pwn==true"]
        );
        assert_eq!(s.constraints_for("web"), ["node.labels.ctfdeck==true"]);
        assert_eq!(
            s.nodes["node-2"].public_host.as_deref(),
            Some("pwn2.ctf.example")
        );
        assert!(s.check().is_ok());
        let bad = SwarmSettings {
            constraints: vec!["node.labels.ctfdeck".into()],
            ..SwarmSettings::default()
        };
        assert!(bad.check().is_err_and(|e| e.contains("attribute==value")));
        let over = SwarmSettings {
            reserve: 1.5,
            ..SwarmSettings::default()
        };
        assert!(over.check().is_err());
    }
}
