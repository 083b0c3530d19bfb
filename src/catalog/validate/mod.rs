//! Semantic checks of a deserialized challenge: identity, container, resources, lifetime, smoke.
//! Security requests and the flag have their own modules. Every problem is reported, not just
//! the first.

use std::collections::BTreeMap;
use std::path::{Component, Path};

use super::ceilings::Ceilings;
use super::containment::resolve_inside;
use super::effective::is_unlimited;
use super::exceptions::Exception;
use super::findings::Findings;
use super::locate::escape;
use super::model::{Challenge, SCHEMA_VERSION, parse_memory};
use super::{flag, security};

pub(super) fn validate(ch: &Challenge, ceilings: &Ceilings, out: &mut Findings<'_>) {
    identity(ch, out);
    container(ch, ceilings, out);
    security::check(ch, ceilings, out);
    flag::check(ch, out);
    lifetime(ch, out);
    smoke(ch, out);
}

fn identity(ch: &Challenge, out: &mut Findings<'_>) {
    if ch.schema_version != SCHEMA_VERSION {
        out.error(
            "/schema_version",
            format!(
                "schema_version {} is not supported (this ctfdeck reads schema_version {SCHEMA_VERSION})",
                ch.schema_version
            ),
        );
    }
    if !is_valid_id(&ch.id) {
        out.error(
            "/id",
            format!(
                "id {:?} is not valid: use 2-63 lowercase letters, digits and dashes, starting with a letter or digit",
                ch.id
            ),
        );
    } else if let Some(folder) = folder_name(&ch.dir)
        && folder != ch.id
    {
        out.warning(
            "/id",
            format!(
                "id {:?} differs from its folder name {folder:?}; rename one so they match",
                ch.id
            ),
        );
    }
    if ch.name.trim().is_empty() {
        out.error("/name", "name must not be empty");
    }
}

/// `^[a-z0-9][a-z0-9-]{1,62}$`
pub(super) fn is_valid_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    (2..=63).contains(&bytes.len())
        && matches!(bytes[0], b'a'..=b'z' | b'0'..=b'9')
        && bytes[1..]
            .iter()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-'))
}

/// `[A-Za-z_][A-Za-z0-9_]*`
pub(super) fn is_valid_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A relative path that stays inside its base folder (no root, no `..`).
pub(super) fn is_inside_relative(path: &str) -> bool {
    !path.is_empty()
        && Path::new(path)
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

fn folder_name(dir: &Path) -> Option<String> {
    let name = match dir.file_name() {
        Some(name) => name.to_os_string(),
        None => dir.canonicalize().ok()?.file_name()?.to_os_string(),
    };
    Some(name.to_string_lossy().into_owned())
}

fn container(ch: &Challenge, ceilings: &Ceilings, out: &mut Findings<'_>) {
    let c = &ch.container;
    if c.image.trim().is_empty() {
        out.error(
            "/container/image",
            "container.image must not be empty (it names the image to run or to build)",
        );
    }
    if let Some(build) = &c.build {
        build::check(ch, build, ceilings, out);
    }
    ports(ch, out);
    for name in c.env.keys() {
        if !is_valid_env_name(name) {
            out.error_at_key(
                &format!("/container/env/{}", escape(name)),
                format!(
                    "environment variable name {name:?} is not valid (letters, digits and _, not starting with a digit)"
                ),
            );
        }
    }
    if c.command.as_ref().is_some_and(Vec::is_empty) {
        out.error(
            "/container/command",
            "container.command must not be empty (leave it out to use the image's own command)",
        );
    }
    let allow_root = ceilings.allow_root || ceilings.security.allow.allows(Exception::Root, &ch.id);
    if let Some(user) = &c.user
        && let Some(problem) = user_problem(user, allow_root)
    {
        out.error("/container/user", problem);
    }
    resources(ch, out);
    if let Some(hc) = &c.healthcheck
        && hc.test.is_empty()
    {
        out.error(
            "/container/healthcheck/test",
            "container.healthcheck.test must name a command",
        );
    }
}

fn ports(ch: &Challenge, out: &mut Findings<'_>) {
    let ports = &ch.container.ports;
    if ports.is_empty() {
        out.warning(
            "/container/ports",
            "no ports are exposed; players will have no way to reach this challenge",
        );
    }
    let mut seen: BTreeMap<u32, usize> = BTreeMap::new();
    for (i, port) in ports.iter().enumerate() {
        let at = format!("/container/ports/{i}/container");
        if !(1..=65535).contains(&port.container) {
            out.error(
                &at,
                format!(
                    "container port {} is out of range (1-65535)",
                    port.container
                ),
            );
        } else if let Some(first) = seen.get(&port.container) {
            out.error(
                &at,
                format!(
                    "container port {} is listed twice (first as ports[{first}])",
                    port.container
                ),
            );
        } else {
            seen.insert(port.container, i);
        }
    }
}

/// Why `user` is refused, if it is. Accepted: numeric `uid` or `uid:gid`, non-zero uid and gid
/// unless the admin allows root.
pub(super) fn user_problem(user: &str, allow_root: bool) -> Option<String> {
    let (uid, gid) = match user.split_once(':') {
        Some((uid, gid)) => (uid, Some(gid)),
        None => (user, None),
    };
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let is_root =
        uid == "root" || uid.is_empty() || (numeric(uid) && uid.bytes().all(|b| b == b'0'));
    if is_root && !allow_root {
        return Some(format!(
            "container.user {user:?} runs the challenge as root, which the admin does not allow; use a non-root numeric uid such as \"1000:1000\""
        ));
    }
    // Group 0 is root's group: files only root's group may read or write are open to it.
    let root_group = gid.is_some_and(|g| numeric(g) && g.bytes().all(|b| b == b'0'));
    if root_group && !allow_root {
        return Some(format!(
            "container.user {user:?} runs the challenge in group 0 (root's group), which the admin does not allow; use a non-root numeric gid such as \"1000:1000\""
        ));
    }
    if !numeric(uid) || gid.is_some_and(|g| !numeric(g)) {
        return Some(format!(
            "container.user {user:?} must be a numeric uid or uid:gid (e.g. \"1000:1000\")"
        ));
    }
    if uid.parse::<u32>().is_err() || gid.is_some_and(|g| g.parse::<u32>().is_err()) {
        return Some(format!(
            "container.user {user:?} is out of range for a uid/gid"
        ));
    }
    None
}

/// The form of resource requests. Limits (admin ceilings, the profile's, unlimited) are checked
/// with the rest of the security requests, in `effective.rs`.
fn resources(ch: &Challenge, out: &mut Findings<'_>) {
    let r = &ch.container.resources;
    if let Some(memory) = &r.memory
        && !is_unlimited(memory)
        && parse_memory(memory).is_none()
    {
        out.error(
            "/container/resources/memory",
            format!(
                "container.resources.memory {memory:?} is not a size (use e.g. \"256m\" or \"1g\")"
            ),
        );
    }
    if let Some(cpus) = r.cpus
        && (!cpus.is_finite() || cpus <= 0.0)
    {
        out.error(
            "/container/resources/cpus",
            format!("container.resources.cpus must be greater than 0 (got {cpus})"),
        );
    }
}

fn lifetime(ch: &Challenge, out: &mut Findings<'_>) {
    let l = &ch.lifetime;
    if l.default.is_some_and(|d| d.is_zero()) {
        out.error(
            "/lifetime/default",
            "lifetime.default must be greater than zero",
        );
    }
    if l.extend_by.is_some_and(|d| d.is_zero()) {
        out.error(
            "/lifetime/extend_by",
            "lifetime.extend_by must be greater than zero",
        );
    }
    if let Some(max_total) = l.max_total {
        if max_total.is_zero() {
            out.error(
                "/lifetime/max_total",
                "lifetime.max_total must be greater than zero",
            );
        } else if let Some(default) = l.default
            && max_total < default
        {
            out.error(
                "/lifetime/max_total",
                format!(
                    "lifetime.max_total ({}) is shorter than lifetime.default ({})",
                    humantime::format_duration(max_total),
                    humantime::format_duration(default)
                ),
            );
        }
    }
}

fn smoke(ch: &Challenge, out: &mut Findings<'_>) {
    let Some(smoke) = &ch.smoke else {
        return;
    };
    if !is_inside_relative(&smoke.check) {
        out.error(
            "/smoke/check",
            format!(
                "smoke.check {:?} must be a path inside the challenge folder",
                smoke.check
            ),
        );
    } else if !ch.dir.join(&smoke.check).is_file() {
        out.error(
            "/smoke/check",
            format!(
                "smoke.check {:?} does not exist in the challenge folder",
                smoke.check
            ),
        );
    } else if let Err(e) = resolve_inside(&ch.dir, &smoke.check) {
        // The script runs on this host: a link to a script elsewhere would run that instead.
        out.error("/smoke/check", format!("smoke.check {e}"));
    }
    if smoke.timeout.is_some_and(|t| t.is_zero()) {
        out.error("/smoke/timeout", "smoke.timeout must be greater than zero");
    }
}

mod build;
pub use build::checked_context;

#[cfg(test)]
mod build_tests;
#[cfg(test)]
mod tests;
