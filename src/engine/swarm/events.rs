//! The event stream of a Swarm's instances. The manager's `/events` says when a service is
//! created, updated or removed and when a node changes, but not when a task dies or when the
//! tasks of a node that went down stop answering; the containers' own events stay on each
//! node's engine. So the stream is made by looking at the services and their tasks every
//! `[swarm] watch_every` and telling what changed, in the words a container's events use:
//! `start` (its task runs), `die` (its task ended), `create` (a new task is getting ready:
//! Swarm is restarting it), `node_down` (its task is on a node that went down), `destroy`
//! (the service is gone).

use std::collections::HashMap;
use std::collections::VecDeque;

use bollard::Docker;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;

use super::{SwarmSettings, nodes, services};
use crate::engine::{ContainerEvent, EngineError, ManagedContainer, labels};

/// What the last look saw: each instance's service, its state, and where it was last seen
/// published (kept through the looks where it publishes nothing, between two tasks).
type Seen = HashMap<String, (String, String, String)>;

struct Watch {
    client: Docker,
    settings: std::sync::Arc<SwarmSettings>,
    store_id: String,
    /// `None` before the first look.
    seen: Option<Seen>,
    pending: VecDeque<ContainerEvent>,
    /// After an error the stream ends, as the Docker engine's does when the engine goes away.
    failed: bool,
}

pub fn stream(
    client: Docker,
    settings: std::sync::Arc<SwarmSettings>,
    store_id: &str,
) -> BoxStream<'static, Result<ContainerEvent, EngineError>> {
    let every = settings.watch_every;
    let watch = Watch {
        client,
        settings,
        store_id: store_id.to_string(),
        seen: None,
        pending: VecDeque::new(),
        failed: false,
    };
    futures_util::stream::unfold(watch, move |mut w| async move {
        loop {
            if let Some(event) = w.pending.pop_front() {
                return Some((Ok(event), w));
            }
            if w.failed {
                return None;
            }
            if w.seen.is_some() {
                tokio::time::sleep(every).await;
            }
            match look(&w).await {
                Ok(now) => {
                    let time = unix_now();
                    w.pending.extend(changes(w.seen.as_ref(), &now, time));
                    w.seen = Some(remembered(w.seen.as_ref(), seen(&now)));
                }
                Err(e) => {
                    w.failed = true;
                    return Some((Err(e), w));
                }
            }
        }
    })
    .boxed()
}

async fn look(w: &Watch) -> Result<Vec<ManagedContainer>, EngineError> {
    let nodes = nodes::list(&w.client, &w.settings).await?;
    services::managed(&w.client, &w.store_id, &nodes).await
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn seen(now: &[ManagedContainer]) -> Seen {
    now.iter()
        .filter_map(|c| {
            let instance = c.labels.get(labels::INSTANCE)?;
            let at = c
                .ports
                .first()
                .map(|p| format!("{}:{}", p.host_ip, p.host_port))
                .unwrap_or_default();
            Some((instance.clone(), (c.id.clone(), c.state.clone(), at)))
        })
        .collect()
}

/// `now`, where an instance that publishes nothing at the moment keeps the address it had.
fn remembered(before: Option<&Seen>, mut now: Seen) -> Seen {
    if let Some(before) = before {
        for (instance, (_, _, at)) in &mut now {
            if at.is_empty()
                && let Some((_, _, was)) = before.get(instance)
            {
                at.clone_from(was);
            }
        }
    }
    now
}

/// The event a service entering `state` gives.
fn action(state: &str) -> Option<&'static str> {
    Some(match state {
        "running" => "start",
        "exited" => "die",
        "lost" => "node_down",
        "created" => "create",
        _ => return None,
    })
}

/// What changed between the last look (`None`: this is the first) and `now`. The first look
/// tells only what is already wrong (ended, or on a node that is down): whoever subscribed
/// and then listed may have listed it running a moment before.
fn changes(before: Option<&Seen>, now: &[ManagedContainer], time: i64) -> Vec<ContainerEvent> {
    let now_seen = seen(now);
    let mut out = Vec::new();
    let mut instances: Vec<&String> = now_seen.keys().collect();
    instances.sort();
    for instance in instances {
        let (service, state, at) = &now_seen[instance];
        let was = before.and_then(|b| b.get(instance));
        let told = match (before, was) {
            (None, _) => matches!(state.as_str(), "exited" | "lost"),
            (Some(_), was) => was.map(|(_, s, _)| s.as_str()) != Some(state.as_str()),
        };
        if let Some(action) = action(state).filter(|_| told) {
            out.push(event(service, instance, action, time));
        }
        // Running somewhere else than it was last seen: the Swarm started a new task by
        // itself (its restart policy, or its node went down), on a port or a node of its
        // choosing, whether or not a look caught it between the two tasks.
        let moved = matches!(was, Some((_, _, w)) if !w.is_empty() && w != at)
            && state == "running"
            && !at.is_empty();
        if moved {
            out.push(event(service, instance, "moved", time));
        }
    }
    if let Some(before) = before {
        let mut gone: Vec<(&String, &String)> = before
            .iter()
            .filter(|(i, _)| !now_seen.contains_key(*i))
            .map(|(i, (service, _, _))| (i, service))
            .collect();
        gone.sort();
        for (instance, service) in gone {
            out.push(event(service, instance, "destroy", time));
        }
    }
    out
}

fn event(service: &str, instance: &str, action: &str, time: i64) -> ContainerEvent {
    ContainerEvent {
        container_id: service.to_string(),
        instance: Some(instance.to_string()),
        action: action.to_string(),
        time,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(instance: &str, state: &str) -> ManagedContainer {
        ManagedContainer {
            id: format!("svc-{instance}"),
            name: format!("ctfdeck-web-{instance}"),
            labels: [(labels::INSTANCE.to_string(), instance.to_string())].into(),
            state: state.into(),
            ports: Vec::new(),
            created: 0,
        }
    }

    fn told(events: &[ContainerEvent]) -> Vec<(String, String)> {
        events
            .iter()
            .map(|e| (e.instance.clone().unwrap_or_default(), e.action.clone()))
            .collect()
    }

    #[test]
    fn the_first_look_tells_only_what_is_already_wrong() {
        let now = [
            service("aaa", "running"),
            service("bbb", "exited"),
            service("ccc", "lost"),
            service("ddd", "created"),
        ];
        assert_eq!(
            told(&changes(None, &now, 1)),
            [
                ("bbb".into(), "die".into()),
                ("ccc".into(), "node_down".into())
            ]
        );
    }

    #[test]
    fn later_looks_tell_each_change_once_and_the_services_that_went() {
        let first = [
            service("aaa", "running"),
            service("bbb", "running"),
            service("ccc", "running"),
        ];
        let before = seen(&first);
        let now = [
            service("aaa", "running"),
            service("bbb", "lost"),
            service("ddd", "created"),
        ];
        let events = changes(Some(&before), &now, 7);
        assert_eq!(
            told(&events),
            [
                ("bbb".into(), "node_down".into()),
                ("ddd".into(), "create".into()),
                ("ccc".into(), "destroy".into()),
            ]
        );
        assert_eq!(events[0].container_id, "svc-bbb");
        assert_eq!(events[0].time, 7);
        assert!(changes(Some(&seen(&now)), &now, 8).is_empty());
    }

    #[test]
    fn a_running_service_published_elsewhere_now_has_moved() {
        let on = |host_ip: &str| {
            let mut s = service("aaa", "running");
            s.ports = vec![crate::shared::PublishedPort {
                container: 8080,
                host_ip: host_ip.into(),
                host_port: 30000,
                protocol: "tcp".into(),
            }];
            s
        };
        let before = seen(&[on("10.99.0.3")]);
        let events = changes(Some(&before), &[on("10.99.0.2")], 1);
        assert_eq!(told(&events), [("aaa".into(), "moved".into())]);
        assert!(events[0].calls_for_reconcile());
        assert_eq!(events[0].implied_state(), Some("running"));
        // Between two tasks it publishes nothing: not a move.
        assert!(changes(Some(&before), &[service("aaa", "running")], 2).is_empty());
    }

    #[test]
    fn a_task_restarted_by_the_swarm_on_a_new_port_has_moved() {
        let at = |state: &str, port: Option<u16>| {
            let mut s = service("aaa", state);
            s.ports = port
                .map(|host_port| crate::shared::PublishedPort {
                    container: 8080,
                    host_ip: "10.99.0.2".into(),
                    host_port,
                    protocol: "tcp".into(),
                })
                .into_iter()
                .collect();
            s
        };
        let first = remembered(None, seen(&[at("running", Some(30000))]));
        // A look between the two tasks: the new one is getting ready, publishing nothing.
        let between = [at("created", None)];
        assert_eq!(
            told(&changes(Some(&first), &between, 1)),
            [("aaa".into(), "create".into())]
        );
        let second = remembered(Some(&first), seen(&between));
        let events = changes(Some(&second), &[at("running", Some(30001))], 2);
        assert_eq!(
            told(&events),
            [
                ("aaa".into(), "start".into()),
                ("aaa".into(), "moved".into())
            ]
        );
        // The same port again is no move.
        assert_eq!(
            told(&changes(Some(&second), &[at("running", Some(30000))], 3)),
            [("aaa".into(), "start".into())]
        );
    }

    #[test]
    fn a_task_that_ended_is_a_die_the_domain_looks_at() {
        let before = seen(&[service("aaa", "running")]);
        let events = changes(Some(&before), &[service("aaa", "exited")], 1);
        assert!(events[0].may_have_exited());
        assert_eq!(events[0].implied_state(), Some("exited"));
    }
}
