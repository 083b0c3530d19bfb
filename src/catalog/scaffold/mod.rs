//! `ctfdeck new`: a challenge folder made from a template that passes `catalog check` and
//! `smoke` as generated — a Dockerfile that builds offline (`FROM busybox:1.36`), a working
//! service, a solve script that really solves it, and a `challenge.json` with `$schema`.
//!
//! The folder is written under a hidden name and renamed into place at the end, so a failure
//! half-way leaves nothing behind.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::validate::is_valid_id;

/// The JSON Schema that `challenge.json` points editors to (`"$schema": "../schema.json"`).
const SCHEMA: &str = include_str!("../../../challenges/schema.json");
const SCHEMA_FILE: &str = "schema.json";

/// Which kind of challenge to start from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// An HTTP service: static pages and a CGI script (busybox httpd).
    Web,
    /// A line-based TCP service, one process per connection (busybox nc).
    Tcp,
    /// Files to download and analyse, served over HTTP, the flag hidden in one of them.
    StaticFiles,
}

impl Template {
    pub const ALL: [Template; 3] = [Template::Web, Template::Tcp, Template::StaticFiles];

    pub fn as_str(self) -> &'static str {
        match self {
            Template::Web => "web",
            Template::Tcp => "tcp",
            Template::StaticFiles => "static-files",
        }
    }

    /// The files of the template: path in the folder, text, executable.
    fn files(self) -> &'static [(&'static str, &'static str, bool)] {
        macro_rules! file {
            ($dir:literal, $path:literal, $exec:literal) => {
                (
                    $path,
                    include_str!(concat!("templates/", $dir, "/", $path)),
                    $exec,
                )
            };
        }
        match self {
            Template::Web => &[
                file!("web", "challenge.json", false),
                file!("web", "Dockerfile", false),
                file!("web", "www/index.html", false),
                file!("web", "www/cgi-bin/door", true),
                file!("web", "solve.sh", true),
            ],
            Template::Tcp => &[
                file!("tcp", "challenge.json", false),
                file!("tcp", "Dockerfile", false),
                file!("tcp", "service.sh", true),
                file!("tcp", "solve.sh", true),
            ],
            Template::StaticFiles => &[
                file!("static-files", "challenge.json", false),
                file!("static-files", "Dockerfile", false),
                file!("static-files", "serve.sh", true),
                file!("static-files", "www/index.html", false),
                file!("static-files", "www/files/README.txt", false),
                file!("static-files", "solve.sh", true),
            ],
        }
    }
}

#[derive(Debug, Error)]
pub enum ScaffoldError {
    #[error(
        "{0:?} is not a valid challenge id: use 2-63 lowercase letters, digits and dashes, starting with a letter or digit"
    )]
    InvalidId(String),
    #[error("{} already exists; pick another id or remove it", .0.display())]
    Exists(PathBuf),
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    /// The new challenge folder.
    pub dir: PathBuf,
    /// Its files, relative to `dir`.
    pub files: Vec<String>,
    /// The catalog's `schema.json`, when this run had to write it.
    pub schema: Option<PathBuf>,
}

/// Write a new challenge `id` from `template` into `catalog/<id>`, and the catalog's
/// `schema.json` when it has none.
pub fn create(catalog: &Path, id: &str, template: Template) -> Result<Created, ScaffoldError> {
    if !is_valid_id(id) {
        return Err(ScaffoldError::InvalidId(id.to_string()));
    }
    let dir = catalog.join(id);
    if dir.symlink_metadata().is_ok() {
        return Err(ScaffoldError::Exists(dir));
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ScaffoldError::Io { path, source }
    };
    fs::create_dir_all(catalog).map_err(io(catalog))?;
    let staging = catalog.join(format!(".{id}.new"));
    if staging.symlink_metadata().is_ok() {
        fs::remove_dir_all(&staging).map_err(io(&staging))?;
    }
    let written = write_files(&staging, id, template);
    if let Err(e) = written.and_then(|()| fs::rename(&staging, &dir).map_err(io(&dir))) {
        // Best effort: the staging folder is hidden and replaced by the next run anyway.
        let _ = fs::remove_dir_all(&staging);
        return Err(e);
    }
    let schema_path = catalog.join(SCHEMA_FILE);
    let schema = if schema_path.exists() {
        None
    } else {
        fs::write(&schema_path, SCHEMA).map_err(io(&schema_path))?;
        Some(schema_path)
    };
    Ok(Created {
        dir,
        files: template
            .files()
            .iter()
            .map(|(p, _, _)| p.to_string())
            .collect(),
        schema,
    })
}

fn write_files(root: &Path, id: &str, template: Template) -> Result<(), ScaffoldError> {
    for (path, text, executable) in template.files() {
        let target = root.join(path);
        let io = |source| ScaffoldError::Io {
            path: target.clone(),
            source,
        };
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(io)?;
        }
        fs::write(&target, text.replace("__ID__", id)).map_err(io)?;
        if *executable {
            make_executable(&target).map_err(io)?;
        }
    }
    Ok(())
}

#[cfg(unix)]
fn make_executable(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests;
