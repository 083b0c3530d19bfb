//! Opening the store file: folder, permissions, pragmas, migrations.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::{StoreError, migrations};

/// How long a writer waits for another process's transaction before giving up. Several staff
/// consoles, CLI runs and the reaper share one file; they queue instead of failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// A handle on the store file. Cheap to clone; all clones share one connection.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

/// The permission bits and group of the store file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileAccess {
    pub mode: u32,
    pub gid: u32,
}

impl FileAccess {
    /// Anyone on the host can read it, flag secret included.
    pub fn others_can_read(&self) -> bool {
        self.mode & 0o004 != 0
    }

    /// Its group can read it (perhaps not write it).
    pub fn group_can_read(&self) -> bool {
        self.mode & 0o040 != 0
    }

    /// Its group can read and write it: staff who share a store.
    pub fn group_shares(&self) -> bool {
        self.mode & 0o060 == 0o060
    }
}

impl Store {
    /// Open (creating if needed) the store at `path`, WAL, migrated to the latest schema. A new
    /// file is private to its creator (0600), or shared with the folder's group (0660) when the
    /// folder is set-group-id, which is how an event host shares one store among its staff.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            create_private_dirs(parent).map_err(|source| StoreError::Folder {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        let open_err = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        let existed = path.exists();
        let mut conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(open_err)?;
        if !existed {
            set_new_file_mode(path)?;
        }
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(open_err)?;
        let found: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(open_err)?;
        if found > migrations::LATEST {
            return Err(StoreError::TooNew {
                path: path.to_path_buf(),
                found,
                supported: migrations::LATEST,
            });
        }
        if found < migrations::LATEST {
            migrations::migrate(&mut conn).map_err(open_err)?;
        }
        Ok(Store {
            conn: Arc::new(Mutex::new(conn)),
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Who may open the store file, for `doctor`: its mode bits and group.
    #[cfg(unix)]
    pub fn file_access(&self) -> Result<FileAccess, StoreError> {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(&self.path).map_err(|source| StoreError::Folder {
            path: self.path.clone(),
            source,
        })?;
        Ok(FileAccess {
            mode: meta.mode() & 0o777,
            gid: meta.gid(),
        })
    }

    /// The schema version of the open store.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn()
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// SQLite's `data_version`: changes whenever another connection commits to the file.
    pub fn data_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn()
            .query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }

    pub(super) fn conn(&self) -> MutexGuard<'_, Connection> {
        // A poisoned lock means a panic happened while holding it; SQLite's own transactions
        // keep the file consistent, so carrying on with the connection is safe.
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Create `folder` and whichever of its parents are missing, each new one 0700: they hold the
/// store, flag secret included, so nobody else needs to list them. Folders that already exist
/// keep their mode (a shared, set-group-id event folder stays as its admin made it).
#[cfg(unix)]
fn create_private_dirs(folder: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(folder)
}

#[cfg(not(unix))]
fn create_private_dirs(folder: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(folder)
}

/// The mode for a new store file: 0600, or 0660 inside a set-group-id folder. The file holds
/// the flag secret, so it is never readable by others; SQLite gives its `-wal` and `-shm` files
/// the same mode.
#[cfg(unix)]
fn new_file_mode(folder: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    const SET_GROUP_ID: u32 = 0o2000;
    let shared = std::fs::metadata(folder)
        .map(|m| m.permissions().mode() & SET_GROUP_ID != 0)
        .unwrap_or(false);
    if shared { 0o660 } else { 0o600 }
}

#[cfg(unix)]
fn set_new_file_mode(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mode = new_file_mode(folder);
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|source| {
        StoreError::Folder {
            path: path.to_path_buf(),
            source,
        }
    })
}

#[cfg(not(unix))]
fn set_new_file_mode(_path: &Path) -> Result<(), StoreError> {
    Ok(())
}
