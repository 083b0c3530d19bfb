//! Podman's compatible API reads a `seccomp=` option as a file path on the engine's host, where
//! Docker takes the profile's JSON. For Podman on a local socket the profile is written to a
//! file only its owner can change, named by its content, and the path is sent instead; reading
//! a container back, the file's content stands for the path again, as Docker would report it.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::engine::EngineError;

/// Where the profiles go: root's under `/run`, anyone else's under their runtime directory.
fn folder() -> PathBuf {
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    let base = match std::env::var_os("XDG_RUNTIME_DIR").filter(|_| !root) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from("/run"),
    };
    base.join("ctfdeck").join("seccomp")
}

/// The file holding `json`, written if it is not there yet.
pub fn write(json: &str) -> Result<PathBuf, EngineError> {
    let dir = folder();
    let failed = |what: &str, path: &Path, e: std::io::Error| {
        EngineError::Unexpected(format!(
            "writing the seccomp profile for Podman ({what} {}): {e}",
            path.display()
        ))
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(|e| failed("creating", &dir, e))?;
    // Only its owner may write there: anyone else could swap the filter.
    let meta = std::fs::metadata(&dir).map_err(|e| failed("reading", &dir, e))?;
    let me = std::fs::metadata("/proc/self").map_err(|e| failed("reading", &dir, e))?;
    if meta.uid() != me.uid() || meta.mode() & 0o022 != 0 {
        return Err(EngineError::Unexpected(format!(
            "{} must belong to uid {} and be writable by it alone",
            dir.display(),
            me.uid()
        )));
    }
    let digest = Sha256::digest(json.as_bytes());
    let name: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let path = dir.join(format!("{name}.json"));
    if std::fs::read_to_string(&path).is_ok_and(|have| have == json) {
        return Ok(path);
    }
    let partial = dir.join(format!("{name}.{}.partial", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(&partial)
        .map_err(|e| failed("opening", &partial, e))?;
    file.write_all(json.as_bytes())
        .map_err(|e| failed("writing", &partial, e))?;
    std::fs::rename(&partial, &path).map_err(|e| failed("renaming", &path, e))?;
    Ok(path)
}

/// `seccomp=<path>` options of ctfdeck's own files with the profile's JSON in place of the
/// path, as Docker reports them. Other paths are left as they are (and so do not match a plan).
pub fn inline(options: &mut [String]) {
    let dir = folder();
    for option in options.iter_mut() {
        let Some(path) = option.strip_prefix("seccomp=").map(PathBuf::from) else {
            continue;
        };
        if path.parent() != Some(dir.as_path()) {
            continue;
        }
        if let Ok(json) = std::fs::read_to_string(&path) {
            *option = format!("seccomp={json}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_written_for_podman_reads_back_as_its_json() {
        let json = r#"{"defaultAction":"SCMP_ACT_ERRNO","comment":"ctfdeck unit test"}"#;
        let path = write(json).expect("write");
        assert_eq!(path, write(json).expect("again"), "named by its content");
        let mut options = vec![
            "no-new-privileges".to_string(),
            format!("seccomp={}", path.display()),
            "seccomp=/elsewhere/profile.json".to_string(),
        ];
        inline(&mut options);
        assert_eq!(options[1], format!("seccomp={json}"));
        assert_eq!(options[2], "seccomp=/elsewhere/profile.json");
        std::fs::remove_file(&path).expect("remove");
        // Leave no folder behind either, unless a real spawn uses it meanwhile (then not empty).
        let folder = path.parent().expect("a folder");
        let _ = std::fs::remove_dir(folder);
        let _ = folder.parent().map(std::fs::remove_dir);
    }
}
