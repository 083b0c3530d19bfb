//! Whether the files a challenge hands to the host stay inside its folder once links are
//! resolved. A path that is lexically inside (`shadow`, `solve.sh`) can be a link to
//! `/etc/shadow` or to a script elsewhere; only the resolved path tells.

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

/// Why a path is not inside the challenge folder once resolved.
#[derive(Debug, thiserror::Error)]
pub enum ContainmentError {
    #[error("{path} cannot be resolved: {source}")]
    Unresolvable {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{shown} leads to {}, outside the challenge folder", target.display())]
    Outside { shown: String, target: PathBuf },
}

/// A link inside a folder whose target leaves the challenge folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscapingLink {
    /// The link, relative to the challenge folder.
    pub link: PathBuf,
    /// Its target as written.
    pub target: PathBuf,
}

impl std::fmt::Display for EscapingLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} -> {}", self.link.display(), self.target.display())
    }
}

/// `dir.join(relative)` with every link resolved, when it stays inside `dir` (itself
/// resolved). The resolved path is what should be used from then on.
pub fn resolve_inside(dir: &Path, relative: &str) -> Result<PathBuf, ContainmentError> {
    let root = canonical(dir)?;
    let path = canonical(&dir.join(relative))?;
    if path.starts_with(&root) {
        Ok(path)
    } else {
        Err(ContainmentError::Outside {
            shown: relative.to_string(),
            target: path,
        })
    }
}

/// Every link under `folder` (links are not followed into) whose target, resolved, is outside
/// `dir`. Dangling links count when what they name lies outside.
pub fn links_leaving(dir: &Path, folder: &Path) -> Result<Vec<EscapingLink>, ContainmentError> {
    let root = canonical(dir)?;
    let start = canonical(folder)?;
    let mut found = Vec::new();
    let mut pending = vec![start];
    while let Some(current) = pending.pop() {
        let entries = fs::read_dir(&current).map_err(|source| ContainmentError::Unresolvable {
            path: current.clone(),
            source,
        })?;
        for entry in entries {
            let entry = entry.map_err(|source| ContainmentError::Unresolvable {
                path: current.clone(),
                source,
            })?;
            let path = entry.path();
            let kind = entry
                .file_type()
                .map_err(|source| ContainmentError::Unresolvable {
                    path: path.clone(),
                    source,
                })?;
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_symlink() {
                let target =
                    fs::read_link(&path).map_err(|source| ContainmentError::Unresolvable {
                        path: path.clone(),
                        source,
                    })?;
                // A link that resolves is judged by where it really leads (through any other
                // links); a dangling one by what it names.
                let lands =
                    fs::canonicalize(&path).unwrap_or_else(|_| lexical(&current.join(&target)));
                if !lands.starts_with(&root) {
                    found.push(EscapingLink {
                        link: path.strip_prefix(&root).unwrap_or(&path).to_path_buf(),
                        target,
                    });
                }
            }
        }
    }
    found.sort_by(|a, b| a.link.cmp(&b.link));
    Ok(found)
}

fn canonical(path: &Path) -> Result<PathBuf, ContainmentError> {
    fs::canonicalize(path).map_err(|source| ContainmentError::Unresolvable {
        path: path.to_path_buf(),
        source,
    })
}

/// `path` with `.` and `..` removed without touching the file system.
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    #[test]
    fn paths_resolving_outside_are_refused() {
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("solve.sh"), "#!/bin/sh\n").unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("demo");
        fs::create_dir_all(dir.join("sub")).unwrap();
        fs::write(dir.join("sub/check.sh"), "#!/bin/sh\n").unwrap();
        symlink(outside.path().join("solve.sh"), dir.join("solve.sh")).unwrap();
        symlink("sub/check.sh", dir.join("inner.sh")).unwrap();

        let inside = resolve_inside(&dir, "inner.sh").unwrap();
        assert_eq!(inside, dir.join("sub/check.sh").canonicalize().unwrap());
        let err = resolve_inside(&dir, "solve.sh").unwrap_err();
        assert!(matches!(err, ContainmentError::Outside { .. }), "{err}");
        assert!(
            err.to_string().contains("outside the challenge folder"),
            "{err}"
        );
        assert!(matches!(
            resolve_inside(&dir, "missing.sh"),
            Err(ContainmentError::Unresolvable { .. })
        ));
    }

    #[test]
    fn links_leaving_the_folder_are_found_wherever_they_are() {
        let outside = tempfile::tempdir().unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("demo");
        fs::create_dir_all(dir.join("app/deep")).unwrap();
        symlink("/etc/shadow", dir.join("app/shadow")).unwrap();
        symlink(outside.path(), dir.join("app/deep/folder")).unwrap();
        symlink("../../../../nowhere", dir.join("app/deep/dangling")).unwrap();
        symlink("../Dockerfile", dir.join("app/fine")).unwrap();
        symlink("gone", dir.join("app/dangling-inside")).unwrap();

        let found = links_leaving(&dir, &dir.join("app")).unwrap();
        let shown: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "app/deep/dangling -> ../../../../nowhere".to_string(),
                format!("app/deep/folder -> {}", outside.path().display()),
                "app/shadow -> /etc/shadow".to_string(),
            ]
        );
    }
}
