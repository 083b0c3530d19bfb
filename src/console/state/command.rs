//! What the state asks the outside world to do. Key handling never performs I/O: it returns
//! these, the loop carries them out (engine work in background tasks), and tests assert them.

use crate::domain::{Owner, PurgeSelector};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Start a background operation; its result comes back as `Event::OpDone`.
    Run {
        op: u64,
        request: Op,
    },
    /// Cancel the smoke test running as this operation (it still tears down).
    CancelSmoke {
        op: u64,
    },
    /// Follow this instance's container logs (None: stop following).
    FollowLogs(Option<LogTarget>),
    Quit,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogTarget {
    pub instance: String,
    pub container: String,
    pub generation: u64,
}

/// A lifecycle operation, as data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Spawn {
        challenge: String,
        owner: Owner,
    },
    Extend {
        id: String,
    },
    Stop {
        ids: Vec<String>,
        reason: String,
    },
    Reset {
        id: String,
    },
    /// Ask the domain which live instances the selector takes (for the confirmation).
    SelectPurge(PurgeSelector),
    Inspect {
        instance: String,
        container: String,
    },
    Build {
        challenge: String,
    },
    /// Which instances (live or stopped) or challenges hold this flag.
    WhoseFlag {
        flag: String,
    },
    /// The author's end-to-end check, as `ctfdeck smoke` runs it; stages come back as
    /// `Event::Smoke`.
    Smoke {
        challenge: String,
    },
    /// Let a Swarm node take new instances (`take`) or drain it.
    SetNodeTaking {
        node: String,
        take: bool,
    },
}

impl Op {
    /// Changes instances or images (refused in the read-only role).
    pub fn is_mutating(&self) -> bool {
        !matches!(
            self,
            Op::SelectPurge(_) | Op::Inspect { .. } | Op::WhoseFlag { .. }
        )
    }

    /// Short description for progress and messages.
    pub fn label(&self) -> String {
        match self {
            Op::Spawn { challenge, owner } => format!("spawn {challenge} for {owner}"),
            Op::Extend { id } => format!("extend {id}"),
            Op::Stop { ids, .. } if ids.len() == 1 => format!("stop {}", ids[0]),
            Op::Stop { ids, .. } => format!("stop {} instances", ids.len()),
            Op::Reset { id } => format!("reset {id}"),
            Op::SelectPurge(_) => "select purge".to_string(),
            Op::Inspect { instance, .. } => format!("inspect {instance}"),
            Op::Build { challenge } => format!("build {challenge}"),
            Op::WhoseFlag { .. } => "flag lookup".to_string(),
            Op::Smoke { challenge } => format!("smoke {challenge}"),
            Op::SetNodeTaking { node, take: true } => format!("activate node {node}"),
            Op::SetNodeTaking { node, take: false } => format!("drain node {node}"),
        }
    }
}

/// A destructive action waiting for confirmation. The confirm popup carries it as data, shows
/// `summary`, and runs exactly this when confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PendingAction {
    Stop {
        ids: Vec<String>,
        summary: String,
    },
    Reset {
        id: String,
        summary: String,
    },
    Purge {
        ids: Vec<String>,
        summary: String,
        selector: String,
    },
    /// Drain a Swarm node (`take` false) or let it take instances again.
    NodeTaking {
        node: String,
        take: bool,
        summary: String,
    },
}

impl PendingAction {
    pub fn verb(&self) -> &'static str {
        match self {
            PendingAction::Stop { .. } => "Stop",
            PendingAction::Reset { .. } => "Reset",
            PendingAction::Purge { .. } => "Purge",
            PendingAction::NodeTaking { take: false, .. } => "Drain",
            PendingAction::NodeTaking { take: true, .. } => "Activate",
        }
    }

    /// What the confirmation's keys act on: the instances listed, or the one node.
    pub fn object(&self) -> &'static str {
        match self {
            PendingAction::NodeTaking { .. } => "it",
            _ => "them",
        }
    }

    /// The sentence the confirmation shows: exactly what will go.
    pub fn sentence(&self) -> String {
        match self {
            PendingAction::Stop { summary, .. } => format!("stop {summary}"),
            PendingAction::Reset { summary, .. } => {
                format!("reset {summary} (stopped, then started fresh)")
            }
            PendingAction::Purge {
                summary, selector, ..
            } => format!("stop {summary} (purge: {selector})"),
            PendingAction::NodeTaking {
                summary,
                take: false,
                ..
            } => format!(
                "drain node {summary}: it takes no new instances; the ones it runs stay until they end"
            ),
            PendingAction::NodeTaking {
                summary,
                take: true,
                ..
            } => format!("activate node {summary}: it takes new instances again"),
        }
    }

    pub fn ids(&self) -> Vec<String> {
        match self {
            PendingAction::Stop { ids, .. } | PendingAction::Purge { ids, .. } => ids.clone(),
            PendingAction::Reset { id, .. } => vec![id.clone()],
            PendingAction::NodeTaking { .. } => Vec::new(),
        }
    }

    pub fn into_op(self) -> Op {
        match self {
            PendingAction::Stop { ids, .. } => Op::Stop {
                ids,
                reason: "stopped from the console".to_string(),
            },
            PendingAction::Purge { ids, .. } => Op::Stop {
                ids,
                reason: "purged".to_string(),
            },
            PendingAction::Reset { id, .. } => Op::Reset { id },
            PendingAction::NodeTaking { node, take, .. } => Op::SetNodeTaking { node, take },
        }
    }
}
