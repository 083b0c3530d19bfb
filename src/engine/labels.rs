//! The labels every ctfdeck container and network carries, so that after a crash a restart can
//! adopt or reap what it finds.

pub const MANAGED: &str = "org.ctfdeck.managed";
pub const INSTANCE: &str = "org.ctfdeck.instance";
pub const CHALLENGE: &str = "org.ctfdeck.challenge";
pub const OWNER: &str = "org.ctfdeck.owner";
/// Which store file owns the object: several stores (tests, staging) can share one engine
/// without reconciling each other's instances away.
pub const STORE: &str = "org.ctfdeck.store";
/// Expiry (ms since the epoch) at spawn time, to rebuild a lost store row.
pub const EXPIRES: &str = "org.ctfdeck.expires";
/// `denied` on an instance (container and network) that may not open outbound connections.
pub const EGRESS: &str = "org.ctfdeck.egress";
/// Value of [`EGRESS`] for denied egress.
pub const EGRESS_DENIED: &str = "denied";
/// On the objects that serve an instance without egress: `egress-proxy` (the port proxy
/// container) or `edge` (the ordinary network it publishes on). Proxies carry no [`MANAGED`]
/// label: they are not instances, and are removed with their instance's network.
pub const COMPANION: &str = "org.ctfdeck.companion";
pub const COMPANION_PROXY: &str = "egress-proxy";
pub const COMPANION_EDGE: &str = "edge";
/// On an instance without egress: the image its port proxy runs, and the host address it
/// publishes on.
pub const PROXY_IMAGE: &str = "org.ctfdeck.proxy.image";
pub const PROXY_BIND: &str = "org.ctfdeck.proxy.bind";
/// On an instance without egress: the subnet pool its edge network is carved from
/// ([`crate::engine::SubnetPool::to_label`]). Absent: the engine's own pools.
pub const EDGE_POOL: &str = "org.ctfdeck.edge.pool";
/// On an instance: the catalog's container ports (`8080,1337`), the only ones its port proxy
/// publishes. The image's `EXPOSE` list is no source: it may name ports the catalog does not.
pub const PORTS: &str = "org.ctfdeck.ports";

/// Every label ctfdeck reads back from a container. An image's own labels end up on its
/// containers too, so an image could carry any of these; ctfdeck sets each of them on every
/// container it creates (empty when it has no value), so what it reads back is always its own.
pub const ALL: [&str; 12] = [
    MANAGED,
    INSTANCE,
    CHALLENGE,
    OWNER,
    STORE,
    EXPIRES,
    EGRESS,
    COMPANION,
    PROXY_IMAGE,
    PROXY_BIND,
    EDGE_POOL,
    PORTS,
];

/// The prefix of ctfdeck's labels: an image label with it is never honoured.
pub const PREFIX: &str = "org.ctfdeck.";

/// `labels` with every key of [`ALL`] present, empty where ctfdeck has no value, and every
/// other `org.ctfdeck.*` key in `image_labels` blanked: the container labels ctfdeck creates.
pub fn overriding(
    labels: &std::collections::BTreeMap<String, String>,
    image_labels: impl IntoIterator<Item = String>,
) -> std::collections::BTreeMap<String, String> {
    let mut out = labels.clone();
    let image_keys = image_labels.into_iter().filter(|k| k.starts_with(PREFIX));
    for key in ALL.iter().map(|k| k.to_string()).chain(image_keys) {
        out.entry(key).or_default();
    }
    out
}

/// The value of a label ctfdeck set, `None` when absent or empty (see [`ALL`]).
pub fn value<'a>(
    labels: &'a std::collections::HashMap<String, String>,
    key: &str,
) -> Option<&'a str> {
    labels
        .get(key)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn every_ctfdeck_key_is_set_and_image_ones_are_blanked() {
        let ours = BTreeMap::from([(INSTANCE.to_string(), "abc".to_string())]);
        let image = ["org.ctfdeck.future".to_string(), "maintainer".to_string()];
        let out = overriding(&ours, image);
        assert_eq!(out.get(INSTANCE).map(String::as_str), Some("abc"));
        for key in ALL.iter().filter(|k| **k != INSTANCE) {
            assert_eq!(out.get(*key).map(String::as_str), Some(""), "{key}");
        }
        assert_eq!(out.get("org.ctfdeck.future").map(String::as_str), Some(""));
        // Other labels of the image are none of ctfdeck's business.
        assert!(!out.contains_key("maintainer"));
    }
}
