//! Popups as data: at most one is open, and it takes the keys while it is.

use tui_input::Input;

use crate::domain::nodes::NodeView;
use crate::domain::{FlagOwner, Owner};
use crate::engine::ContainerDetail;

use super::command::PendingAction;
use super::smoke::SmokeView;

#[derive(Debug)]
pub enum Popup {
    Help {
        scroll: usize,
    },
    /// A destructive action waiting for yes or no.
    Confirm(PendingAction),
    Spawn(SpawnForm),
    Detail(DetailView),
    PurgeMenu(PurgeMenu),
    /// Which Swarm node to drain or let take instances again.
    NodeMenu(NodeMenu),
    /// What a flag lookup found.
    Whose(WhoseView),
    /// A smoke test, live.
    Smoke(SmokeView),
}

#[derive(Debug)]
pub struct SpawnForm {
    pub challenge: String,
    pub input: Input,
    pub error: Option<String>,
    /// Owners seen in the store, for completion.
    pub known_owners: Vec<String>,
}

impl SpawnForm {
    pub fn new(challenge: &str, known_owners: Vec<String>) -> SpawnForm {
        SpawnForm {
            challenge: challenge.to_string(),
            input: Input::default(),
            error: None,
            known_owners,
        }
    }

    /// Known owners starting with what was typed (`team:`/`user:` are offered when nothing
    /// matches yet).
    pub fn suggestions(&self) -> Vec<String> {
        let typed = self.input.value();
        let mut out: Vec<String> = self
            .known_owners
            .iter()
            .filter(|o| o.starts_with(typed) && o.as_str() != typed)
            // Smoke-test owners are in the store but a spawn may not name them.
            .filter(|o| Owner::for_spawn(o).is_ok())
            .take(5)
            .cloned()
            .collect();
        if out.is_empty() && !typed.contains(':') {
            out = ["team:", "user:"]
                .iter()
                .filter(|p| p.starts_with(typed))
                .map(|p| p.to_string())
                .collect();
        }
        out
    }

    /// Complete to the first suggestion.
    pub fn complete(&mut self) {
        if let Some(first) = self.suggestions().into_iter().next() {
            self.input = Input::new(first);
        }
    }
}

#[derive(Debug)]
pub struct DetailView {
    pub instance: String,
    /// None while the engine is being asked.
    pub inspect: Option<Result<Box<ContainerDetail>, String>>,
    pub revealed: bool,
    pub scroll: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PurgeChoice {
    Expired,
    Challenge(String),
    Marked(usize),
    All,
}

impl PurgeChoice {
    pub fn label(&self) -> String {
        match self {
            PurgeChoice::Expired => "expired instances".to_string(),
            PurgeChoice::Challenge(c) => format!("every instance of {c}"),
            PurgeChoice::Marked(n) => format!("the {n} marked instance(s)"),
            PurgeChoice::All => "ALL live instances".to_string(),
        }
    }
}

#[derive(Debug)]
pub struct PurgeMenu {
    pub choices: Vec<PurgeChoice>,
    pub selected: usize,
}

impl PurgeMenu {
    pub fn new(challenge: Option<String>, marked: usize) -> PurgeMenu {
        let mut choices = vec![PurgeChoice::Expired];
        if let Some(c) = challenge {
            choices.push(PurgeChoice::Challenge(c));
        }
        if marked > 0 {
            choices.push(PurgeChoice::Marked(marked));
        }
        choices.push(PurgeChoice::All);
        PurgeMenu {
            choices,
            selected: 0,
        }
    }
}

/// One node offered in the node menu, with what choosing it does: a node that takes instances
/// is drained, one that does not is let take them again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeChoice {
    pub hostname: String,
    pub address: String,
    pub state: String,
    pub availability: String,
    pub instances: usize,
    /// Choosing it lets the node take instances (else: drains it).
    pub take: bool,
}

impl NodeChoice {
    pub fn of(view: &NodeView) -> NodeChoice {
        let n = &view.node;
        NodeChoice {
            hostname: n.hostname.clone(),
            address: n.address.clone(),
            state: n.state.clone(),
            availability: n.availability.clone(),
            instances: view.instances,
            take: n.availability != "active",
        }
    }

    pub fn verb(&self) -> &'static str {
        if self.take { "activate" } else { "drain" }
    }

    pub fn label(&self) -> String {
        format!(
            "{} {} ({}, {}, {})",
            self.verb(),
            self.hostname,
            self.state,
            self.availability,
            instances_text(self.instances)
        )
    }

    /// The confirmation this choice leads to.
    pub fn pending(&self) -> PendingAction {
        PendingAction::NodeTaking {
            node: self.hostname.clone(),
            take: self.take,
            summary: format!(
                "{} ({}, {} running)",
                self.hostname,
                self.address,
                instances_text(self.instances)
            ),
        }
    }
}

fn instances_text(k: usize) -> String {
    match k {
        1 => "1 instance".to_string(),
        k => format!("{k} instances"),
    }
}

#[derive(Debug)]
pub struct NodeMenu {
    pub choices: Vec<NodeChoice>,
    pub selected: usize,
}

impl NodeMenu {
    /// Every node, the one named `preselect` (the selected instance's) chosen first.
    pub fn new(nodes: &[NodeView], preselect: &str) -> NodeMenu {
        let choices: Vec<NodeChoice> = nodes.iter().map(NodeChoice::of).collect();
        let selected = choices
            .iter()
            .position(|c| c.hostname == preselect)
            .unwrap_or(0);
        NodeMenu { choices, selected }
    }
}

#[derive(Debug)]
pub struct WhoseView {
    /// The flag as looked up (staff pasted it; it is not a secret to them).
    pub flag: String,
    pub owners: Vec<FlagOwner>,
    pub scroll: usize,
}
