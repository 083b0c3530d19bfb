//! The server's identity: an ed25519 key kept in one file (OpenSSH format, mode 0600),
//! created on first start. Staff check its fingerprint once, on their first connection.

use std::io::Write;
use std::path::{Path, PathBuf};

use russh::keys::ssh_key::LineEnding;
use russh::keys::ssh_key::private::Ed25519Keypair;
use russh::keys::{HashAlg, PrivateKey};

#[derive(Debug, thiserror::Error)]
pub enum HostKeyError {
    #[error("cannot read the SSH host key {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("cannot create the SSH host key {path}: {reason}")]
    Create { path: PathBuf, reason: String },
    #[error("the SSH host key {path} is readable by others (mode {mode:o}); chmod 600 it")]
    Exposed { path: PathBuf, mode: u32 },
}

/// The key at `path`, created there when the file does not exist.
pub fn load_or_create(path: &Path) -> Result<PrivateKey, HostKeyError> {
    match std::fs::metadata(path) {
        Ok(meta) => {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(HostKeyError::Exposed {
                    path: path.to_path_buf(),
                    mode,
                });
            }
            read(path)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(path),
        Err(e) => Err(HostKeyError::Read {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }),
    }
}

/// The key at `path`, if there is one (for `doctor`: it never creates one).
pub fn read(path: &Path) -> Result<PrivateKey, HostKeyError> {
    PrivateKey::read_openssh_file(path).map_err(|e| HostKeyError::Read {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// `SHA256:…`, as `ssh` prints it when asking whether to trust a host.
pub fn fingerprint(key: &PrivateKey) -> String {
    key.public_key().fingerprint(HashAlg::Sha256).to_string()
}

fn create(path: &Path) -> Result<PrivateKey, HostKeyError> {
    let failed = |reason: String| HostKeyError::Create {
        path: path.to_path_buf(),
        reason,
    };
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| failed(e.to_string()))?;
    let key = PrivateKey::from(Ed25519Keypair::from_seed(&seed));
    let text = key
        .to_openssh(LineEnding::LF)
        .map_err(|e| failed(e.to_string()))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| failed(e.to_string()))?;
    }
    // Written under a temporary name with mode 0600 from the start, then renamed: no moment
    // where the key is readable by others, no half-written key after a crash.
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let written = (|| {
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(failed(e.to_string()));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_missing_key_is_created_private_and_read_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/ssh_host_ed25519_key");
        let made = load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = load_or_create(&path).unwrap();
        assert_eq!(fingerprint(&made), fingerprint(&again));
        assert!(fingerprint(&made).starts_with("SHA256:"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = load_or_create(&path).unwrap_err().to_string();
        assert!(err.contains("readable by others"), "{err}");
        std::fs::write(&path, "garbage").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(matches!(
            load_or_create(&path),
            Err(HostKeyError::Read { .. })
        ));
    }
}
