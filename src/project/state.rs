//! The state files that spare direnv and the proxies work: the record of the
//! last failed materialisation (`.crate-env/failed.json`), so the same broken
//! inputs are not evaluated again on every prompt or every cargo call, and
//! the freshness stamp (`.crate-env/fresh`).

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::project::fsutil::{atomic_write, set_mtime, FsError};

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

/// `.crate-env/fresh`: the last time (its mtime) the inputs' contents were
/// found to match the cache key it holds, by which crate-env executable.
/// While no input changed since (by ctime, which unlike mtime cannot be set
/// back by `touch -d` or `cp -p`) and crate-env is the same file, a proxy
/// knows the cache is fresh without hashing anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreshStamp {
    pub key: String,
    exe: String,
}

impl FreshStamp {
    pub fn path(state_dir: &Path) -> PathBuf {
        state_dir.join("fresh")
    }

    /// A stamp for `key`, checked by the running executable.
    pub fn new(key: &str) -> Option<FreshStamp> {
        Some(FreshStamp {
            key: key.to_owned(),
            exe: exe_identity()?,
        })
    }

    /// The key, if the stamp is there, was written by this very executable,
    /// and no input changed since.
    pub fn check(state_dir: &Path, inputs: &[PathBuf]) -> Option<String> {
        let path = Self::path(state_dir);
        let stamped = std::fs::metadata(&path).ok()?.modified().ok()?;
        for input in inputs {
            if changed_at(input)? > stamped {
                return None;
            }
        }
        let text = std::fs::read_to_string(&path).ok()?;
        let (key, exe) = text.trim_end().split_once('\n')?;
        (exe == exe_identity()?).then(|| key.to_owned())
    }

    /// Writes the stamp, dated `read_at` (when the inputs were read). The
    /// caller holds the state lock.
    pub fn write(&self, state_dir: &Path, read_at: SystemTime) -> Result<(), FsError> {
        let path = Self::path(state_dir);
        atomic_write(&path, format!("{}\n{}\n", self.key, self.exe).as_bytes())?;
        set_mtime(&path, read_at)
    }
}

/// The running executable's path and mtime: another build has another
/// embedded Nix library, hence another cache key.
fn exe_identity() -> Option<String> {
    let exe = std::env::current_exe().ok()?;
    let modified = std::fs::metadata(&exe).ok()?.modified().ok()?;
    let since = modified.duration_since(std::time::UNIX_EPOCH).ok()?;
    Some(format!("{} {}", since.as_nanos(), exe.display()))
}

/// When the file's inode last changed (ctime); falls back to mtime off Unix.
fn changed_at(path: &Path) -> Option<SystemTime> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let secs = u64::try_from(meta.ctime()).ok()?;
        let nanos = u32::try_from(meta.ctime_nsec()).ok()?;
        Some(std::time::UNIX_EPOCH + std::time::Duration::new(secs, nanos))
    }
    #[cfg(not(unix))]
    {
        meta.modified().ok()
    }
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
    fn fresh_stamp_holds_until_an_input_changes() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("crate-env.nix");
        std::fs::write(&input, "{}").unwrap();
        let inputs = vec![input.clone()];
        assert_eq!(FreshStamp::check(dir.path(), &inputs), None);
        let read_at = SystemTime::now() + Duration::from_secs(1);
        FreshStamp::new("k")
            .unwrap()
            .write(dir.path(), read_at)
            .unwrap();
        assert_eq!(FreshStamp::check(dir.path(), &inputs).as_deref(), Some("k"));
        // Backdating the mtime does not hide a change: ctime moves on.
        let stamp = FreshStamp::path(dir.path());
        set_mtime(&stamp, SystemTime::now() - Duration::from_secs(5)).unwrap();
        std::fs::write(&input, "{ }").unwrap();
        set_mtime(&input, SystemTime::now() - Duration::from_secs(3600)).unwrap();
        assert_eq!(FreshStamp::check(dir.path(), &inputs), None);
        let missing = vec![dir.path().join("gone")];
        assert_eq!(FreshStamp::check(dir.path(), &missing), None);
    }
}
