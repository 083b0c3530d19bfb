//! Checking one value of a profile field: names, the default user, tmpfs mount points and
//! options, the seccomp setting. Each says why a value is refused.

use std::path::{Path, PathBuf};

use super::Seccomp;
use crate::catalog::model::parse_memory;
use crate::textfile;

/// tmpfs options a profile or a challenge may set; everything else (notably `exec`, `suid`,
/// `dev`, which would undo the forced `noexec,nosuid,nodev`) is refused.
const TMPFS_OPTIONS: &[&str] = &["size", "mode", "uid", "gid", "nr_inodes"];

/// Mount points a tmpfs may never cover.
const RESERVED_MOUNTS: &[&str] = &["/", "/proc", "/sys", "/dev"];

pub(super) fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Why a profile's default user is refused (root is granted per challenge, never by profile).
pub(super) fn user_problem(user: &str) -> Option<&'static str> {
    let mut parts = user.split(':');
    let uid = parts.next().unwrap_or_default();
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !numeric(uid) || parts.clone().any(|g| !numeric(g)) || parts.count() > 1 {
        return Some("must be a numeric uid or uid:gid");
    }
    if uid.bytes().all(|b| b == b'0') {
        return Some("is root; root is granted per challenge with [profiles.allow] root");
    }
    if user
        .split_once(':')
        .is_some_and(|(_, gid)| gid.bytes().all(|b| b == b'0'))
    {
        return Some(
            "is in group 0 (root's group); root is granted per challenge with [profiles.allow] root",
        );
    }
    None
}

/// Why a tmpfs mount point is refused, if it is.
pub fn mount_problem(mount: &str) -> Option<&'static str> {
    if !mount.starts_with('/') {
        return Some("must be an absolute path");
    }
    let trimmed = mount.trim_end_matches('/');
    let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
    if trimmed == "/" {
        return Some("would hide the whole root filesystem");
    }
    if Path::new(trimmed)
        .components()
        .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Some("must not contain ..");
    }
    if RESERVED_MOUNTS
        .iter()
        .any(|r| *r != "/" && (trimmed == *r || trimmed.starts_with(&format!("{r}/"))))
    {
        return Some("is a kernel or device filesystem the engine manages");
    }
    None
}

/// tmpfs options split into the size and the rest.
#[derive(Debug, Default, PartialEq)]
pub struct TmpfsOptions {
    /// (as written, bytes)
    pub size: Option<(String, i64)>,
    pub others: Vec<String>,
}

/// Parse `size=16m,mode=1777`. Refuses options outside [`TMPFS_OPTIONS`] with the reason.
pub fn parse_tmpfs_options(text: &str) -> Result<TmpfsOptions, String> {
    let mut out = TmpfsOptions::default();
    for option in text.split(',').map(str::trim).filter(|o| !o.is_empty()) {
        let (key, value) = option.split_once('=').unwrap_or((option, ""));
        match key {
            "exec" | "suid" | "dev" => {
                return Err(format!(
                    "option {option:?} is refused: tmpfs mounts are always noexec,nosuid,nodev, so nothing written at runtime can be run"
                ));
            }
            "size" => {
                let bytes = parse_memory(value)
                    .ok_or_else(|| format!("size {value:?} is not a size (e.g. \"16m\")"))?;
                out.size = Some((value.to_string(), bytes));
            }
            _ if TMPFS_OPTIONS.contains(&key) && !value.is_empty() => {
                out.others.push(option.to_string());
            }
            _ => {
                return Err(format!(
                    "option {option:?} is not allowed (allowed: size, mode, uid, gid, nr_inodes)"
                ));
            }
        }
    }
    Ok(out)
}

/// ctfdeck's own seccomp profile, compiled in: see the file's `comment`.
pub const HARDENED_SECCOMP: &str = include_str!("../../../profiles/seccomp-hardened.json");

pub(super) fn parse_seccomp(value: &str) -> Result<Seccomp, String> {
    match value.trim() {
        "default" => Ok(Seccomp::EngineDefault),
        "hardened" => {
            let json: serde_json::Value = serde_json::from_str(HARDENED_SECCOMP)
                .map_err(|e| format!("the shipped seccomp-hardened.json is not JSON: {e}"))?;
            Ok(Seccomp::Builtin {
                name: "hardened".to_string(),
                json: json.to_string(),
            })
        }
        "unconfined" => Err(
            "\"unconfined\" is refused: it removes the syscall filter every instance runs under"
                .to_string(),
        ),
        path if Path::new(path).is_absolute() => {
            // Size-capped and UTF-8 checked like every file ctfdeck reads.
            let text = textfile::read(Path::new(path)).map_err(|e| e.to_string())?;
            let json: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| format!("{path} is not JSON: {e}"))?;
            if json.get("defaultAction").is_none() {
                return Err(format!(
                    "{path} is not a seccomp profile (it has no \"defaultAction\")"
                ));
            }
            Ok(Seccomp::File {
                path: PathBuf::from(path),
                json: json.to_string(),
            })
        }
        other => Err(format!(
            "{other:?} must be \"default\", \"hardened\" or the absolute path of a seccomp JSON file"
        )),
    }
}
