//! The dangerous settings an admin may grant one challenge: the catalog decides them from
//! `[profiles.allow]`, the domain checks the user against them, the engine applies them.

/// Dangerous settings the admin granted to one challenge (`[profiles.allow]`). Default: none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    pub privileged: bool,
    pub network_mode: Option<String>,
    pub pid_mode: Option<String>,
    pub ipc_mode: Option<String>,
    pub uts_mode: Option<String>,
    /// `host:container:ro|rw`.
    pub binds: Vec<String>,
    /// `/dev/host[:/dev/container[:rwm]]`.
    pub devices: Vec<String>,
    /// The process may run as uid 0. The domain checks the plan's user against it; the engine
    /// only runs the user it is given.
    pub root: bool,
}
