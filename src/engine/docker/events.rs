//! The engine's event stream, narrowed to one store's managed containers.

use bollard::Docker;
use bollard::models::EventMessageTypeEnum;
use bollard::query_parameters::EventsOptionsBuilder;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;

use crate::engine::{ContainerEvent, EngineError, labels};

pub fn stream(
    client: Docker,
    store_id: &str,
) -> BoxStream<'static, Result<ContainerEvent, EngineError>> {
    let mut filters = super::managed_filter(store_id);
    filters.insert("type".to_string(), vec!["container".to_string()]);
    // The request is only sent when the stream is first polled. `since` the moment of this
    // call makes the engine replay what happened in between, so a caller that subscribes and
    // then lists misses nothing.
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let options = EventsOptionsBuilder::new()
        .filters(&filters)
        .since(&since.to_string())
        .build();
    client
        .events(Some(options))
        .filter_map(|item| async move {
            match item {
                Err(e) => Some(Err(EngineError::api("watching engine events")(e))),
                Ok(msg) if msg.typ != Some(EventMessageTypeEnum::CONTAINER) => None,
                Ok(msg) => {
                    let actor = msg.actor.unwrap_or_default();
                    let attributes = actor.attributes.unwrap_or_default();
                    Some(Ok(ContainerEvent {
                        container_id: actor.id.unwrap_or_default(),
                        instance: attributes.get(labels::INSTANCE).cloned(),
                        action: in_docker_words(msg.action.unwrap_or_default()),
                        time: msg.time.unwrap_or_default(),
                    }))
                }
            }
        })
        .boxed()
}

/// Podman's compatible stream names a container's removal `remove`, Docker's `destroy`; the
/// rest of ctfdeck reads Docker's word. Docker itself sends no `remove` for containers.
fn in_docker_words(action: String) -> String {
    if action == "remove" {
        "destroy".to_string()
    } else {
        action
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As Podman 4.3's compatible stream words a `run` then `rm -f`.
    #[test]
    fn podmans_remove_is_dockers_destroy_and_the_rest_is_as_sent() {
        let podman = [
            "create", "init", "start", "die", "cleanup", "sync", "remove",
        ];
        let read: Vec<String> = podman
            .iter()
            .map(|a| in_docker_words(a.to_string()))
            .collect();
        assert_eq!(
            read,
            [
                "create", "init", "start", "die", "cleanup", "sync", "destroy"
            ]
        );
    }
}
