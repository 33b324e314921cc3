//! The registry of materialised projects in the user's state directory
//! (`<state dir>/projects/<id>.json`, one file per workspace root), which
//! `crate-env gc --all-projects` works through, and the activation stamp
//! `.crate-env/activated` (its mtime: the last materialise, proxy call or
//! direnv load). See docs/workspaces.md#garbage-collection.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::project::fsutil::{atomic_write, FsError, StateLock};

/// The file whose mtime is the project's last activation.
pub const ACTIVATED_FILE: &str = "activated";

/// One registered project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The workspace root.
    pub root: PathBuf,
    /// Unix time of the first registration.
    pub registered: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Write(#[from] FsError),
    #[error("cannot read the project registry {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// `<state dir>/projects`.
pub fn registry_dir(state_home: &Path) -> PathBuf {
    state_home.join("projects")
}

fn entry_path(dir: &Path, root: &Path) -> PathBuf {
    let digest = Sha256::digest(root.as_os_str().as_encoded_bytes());
    let hex = base16ct::lower::encode_string(&digest);
    dir.join(format!("{}.json", &hex[..16]))
}

/// Records `root` (once; later calls change nothing), atomically under the
/// registry's own file lock.
pub fn register(state_home: &Path, root: &Path, now: u64) -> Result<(), RegistryError> {
    let dir = registry_dir(state_home);
    let path = entry_path(&dir, root);
    if path.is_file() {
        return Ok(());
    }
    let _lock = StateLock::acquire(&dir, || {})?;
    let entry = Entry {
        root: root.to_owned(),
        registered: now,
    };
    let mut text = serde_json::to_string_pretty(&entry).expect("entry serialises");
    text.push('\n');
    atomic_write(&path, text.as_bytes())?;
    Ok(())
}

/// Every registered project, with the file that records it.
pub fn entries(state_home: &Path) -> Result<Vec<(PathBuf, Entry)>, RegistryError> {
    let dir = registry_dir(state_home);
    let read_error = |source| RegistryError::Read {
        path: dir.clone(),
        source,
    };
    let listing = match std::fs::read_dir(&dir) {
        Ok(listing) => listing,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(read_error(e)),
    };
    let mut found = Vec::new();
    for item in listing {
        let path = item.map_err(read_error)?.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        // An unreadable entry is skipped: the registry only saves work.
        let entry = std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| serde_json::from_str::<Entry>(&t).ok());
        if let Some(entry) = entry {
            found.push((path, entry));
        }
    }
    found.sort_by(|a, b| a.1.root.cmp(&b.1.root));
    Ok(found)
}

/// Forgets a project (its entry file), under the registry's lock.
pub fn forget(state_home: &Path, entry_file: &Path) -> Result<(), RegistryError> {
    let _lock = StateLock::acquire(&registry_dir(state_home), || {})?;
    match std::fs::remove_file(entry_file) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(FsError::Write {
            path: entry_file.to_owned(),
            source: e,
        }
        .into()),
        _ => Ok(()),
    }
}

/// Stamps an activation: sets the mtime of `.crate-env/activated` to now
/// (creating the empty file). Best effort and lock-free: it is one
/// timestamp, never content, and runs on every proxy call.
pub fn mark_activated(state_dir: &Path) {
    let path = state_dir.join(ACTIVATED_FILE);
    let file = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path);
    if let Ok(file) = file {
        let _ = file.set_modified(SystemTime::now());
    }
}

/// When the project was last activated, if it ever was.
pub fn last_activated(state_dir: &Path) -> Option<SystemTime> {
    std::fs::metadata(state_dir.join(ACTIVATED_FILE))
        .ok()?
        .modified()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_once_lists_and_forgets() {
        let home = tempfile::tempdir().unwrap();
        let root = Path::new("/some/project");
        register(home.path(), root, 10).unwrap();
        register(home.path(), root, 20).unwrap();
        register(home.path(), Path::new("/another"), 30).unwrap();
        let listed = entries(home.path()).unwrap();
        let roots: Vec<_> = listed.iter().map(|(_, e)| e.root.clone()).collect();
        assert_eq!(roots, [Path::new("/another"), root]);
        assert_eq!(listed[1].1.registered, 10);
        forget(home.path(), &listed[0].0).unwrap();
        assert_eq!(entries(home.path()).unwrap().len(), 1);
    }

    #[test]
    fn activation_is_the_stamps_mtime() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(last_activated(dir.path()), None);
        let before = SystemTime::now() - std::time::Duration::from_secs(1);
        mark_activated(dir.path());
        assert!(last_activated(dir.path()).unwrap() >= before);
    }
}
