//! What direnv and the proxies need to avoid work: the record of the last
//! failed materialisation (`.crate-env/failed.json`), so the same broken
//! inputs are not evaluated again on every prompt or every cargo call, and
//! setting a state file's mtime (the stamp `use_crate_env` compares with
//! bash's `-nt`).

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::fsutil::{atomic_write, FsError};

/// The inputs (cache key) that failed, and the error they gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedRecord {
    pub key: String,
    /// The error as the user saw it (Nix's own text included).
    pub error: String,
}

impl FailedRecord {
    pub fn path(state_dir: &Path) -> PathBuf {
        state_dir.join("failed.json")
    }

    /// The record, if any; an unreadable one counts as none (it only saves work).
    pub fn read(state_dir: &Path) -> Option<FailedRecord> {
        let text = std::fs::read_to_string(Self::path(state_dir)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Writes atomically; the caller holds the state lock.
    pub fn write(&self, state_dir: &Path) -> Result<(), FsError> {
        let mut text = serde_json::to_string_pretty(self).expect("strings serialise");
        text.push('\n');
        atomic_write(&Self::path(state_dir), text.as_bytes())
    }

    /// Removes the record; the caller holds the state lock.
    pub fn clear(state_dir: &Path) -> Result<(), FsError> {
        let path = Self::path(state_dir);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(FsError::Write { path, source: e })
            }
            _ => Ok(()),
        }
    }
}

/// Sets `path`'s mtime to `time`.
pub fn set_mtime(path: &Path, time: SystemTime) -> Result<(), FsError> {
    let error = |source| FsError::Write {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::options()
        .append(true)
        .open(path)
        .map_err(error)?;
    file.set_modified(time).map_err(error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn record_round_trips_and_clears() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(FailedRecord::read(dir.path()), None);
        let record = FailedRecord {
            key: "k".into(),
            error: "error: syntax error\n  at crate-env.nix:4".into(),
        };
        record.write(dir.path()).unwrap();
        assert_eq!(FailedRecord::read(dir.path()), Some(record));
        FailedRecord::clear(dir.path()).unwrap();
        FailedRecord::clear(dir.path()).unwrap();
        assert_eq!(FailedRecord::read(dir.path()), None);
    }

    #[test]
    fn mtime_goes_back_in_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stamp");
        std::fs::write(&path, "x").unwrap();
        let then = SystemTime::now() - Duration::from_secs(3600);
        set_mtime(&path, then).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().modified().unwrap(), then);
    }
}
