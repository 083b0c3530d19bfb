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
