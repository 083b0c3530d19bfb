//! The Swarm's nodes for the nodes strip and the NODE column, every few seconds. A single-host
//! engine has no nodes: the task ends at its first answer and costs nothing after.

use std::time::Duration;

use tokio::sync::mpsc::Sender;

use crate::console::event::Event;
use crate::console::tasks::engine::Current;

/// Node state changes (a node going down) show within this, at the cost of one node list and
/// one store query each time.
pub const EVERY: Duration = Duration::from_secs(3);

pub fn spawn(lifecycle: Current, tx: Sender<Event>) {
    tokio::spawn(async move {
        loop {
            let current = lifecycle.borrow().clone();
            if let Some(l) = current {
                match l.nodes().await {
                    Ok(nodes) if nodes.is_empty() => return,
                    Ok(nodes) => {
                        if tx.send(Event::Nodes(nodes)).await.is_err() {
                            return;
                        }
                    }
                    // The engine task says when the engine is lost.
                    Err(e) => tracing::debug!("listing the Swarm's nodes: {e}"),
                }
            }
            tokio::time::sleep(EVERY).await;
            if tx.is_closed() {
                return;
            }
        }
    });
}
