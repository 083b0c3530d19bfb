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
