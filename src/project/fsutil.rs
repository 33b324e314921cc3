//! Atomic writes and the `.crate-env/lock` file lock.
//!
//! Every writer of crate-env.lock or of `.crate-env/` holds [`StateLock`] and
//! writes through [`atomic_write`], so a reader never sees half a file and two
//! shells materialising at once serialise instead of interleaving.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

#[derive(Debug, thiserror::Error)]
pub enum FsError {
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} already exists")]
    Exists { path: PathBuf },
    #[error("cannot lock {path}")]
    Lockfile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn write_error(path: &Path) -> impl FnOnce(std::io::Error) -> FsError + '_ {
    move |source| FsError::Write {
        path: path.to_owned(),
        source,
    }
}

/// Writes `bytes` to a temporary file next to `path`, then renames it over `path`.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<(), FsError> {
    let temp = write_temp_next_to(path, bytes)?;
    temp.persist(path).map_err(|e| write_error(path)(e.error))?;
    Ok(())
}

/// Like [`atomic_write`], but fails with [`FsError::Exists`] instead of replacing a file.
pub fn atomic_create(path: &Path, bytes: &[u8]) -> Result<(), FsError> {
    let temp = write_temp_next_to(path, bytes)?;
    temp.persist_noclobber(path).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            FsError::Exists {
                path: path.to_owned(),
            }
        } else {
            write_error(path)(e.error)
        }
    })?;
    Ok(())
}

fn write_temp_next_to(path: &Path, bytes: &[u8]) -> Result<tempfile::NamedTempFile, FsError> {
    let dir = parent_dir(path);
    let mut temp = tempfile::Builder::new()
        .prefix(".crate-env-tmp")
        .tempfile_in(dir)
        .map_err(write_error(path))?;
    temp.write_all(bytes).map_err(write_error(path))?;
    temp.as_file().sync_all().map_err(write_error(path))?;
    set_mode(temp.path(), 0o644).map_err(write_error(path))?;
    Ok(temp)
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Temporary files are created 0600; files users commit or share should not be.
#[cfg(unix)]
pub fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
pub fn set_mode(_path: &Path, _mode: u32) -> std::io::Result<()> {
    Ok(())
}

/// An exclusive advisory lock on `.crate-env/lock`, released on drop.
#[derive(Debug)]
pub struct StateLock {
    file: File,
}

impl StateLock {
    /// Takes the lock, creating the state directory if needed. Calls
    /// `on_wait` once if another process holds it, then blocks.
    pub fn acquire(state_dir: &Path, on_wait: impl FnOnce()) -> Result<StateLock, FsError> {
        let path = state_dir.join("lock");
        let lock_error = |source| FsError::Lockfile {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(state_dir).map_err(lock_error)?;
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(lock_error)?;
        // Fully qualified: std's File::lock (Rust 1.89+) would shadow fs4's.
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => {}
            Err(fs4::TryLockError::WouldBlock) => {
                on_wait();
                fs4::FileExt::lock(&file).map_err(lock_error)?;
            }
            Err(fs4::TryLockError::Error(e)) => return Err(lock_error(e)),
        }
        Ok(StateLock { file })
    }
}

impl StateLock {
    /// Takes the lock only if nobody holds it; for optional writes (a
    /// freshness stamp) that must never make a caller wait.
    pub fn try_acquire(state_dir: &Path) -> Option<StateLock> {
        std::fs::create_dir_all(state_dir).ok()?;
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(state_dir.join("lock"))
            .ok()?;
        fs4::FileExt::try_lock(&file).ok()?;
        Some(StateLock { file })
    }
}

impl Drop for StateLock {
    fn drop(&mut self) {
        let _ = fs4::FileExt::unlock(&self.file);
    }
}

/// Removes what a killed writer left behind: temporary files of atomic
/// writes (`.crate-env-tmp*`) and of proxy links (`.tmp*`) in `state_dir`
/// and each member's directory, their `bin/`, `direnv-stamps/`, `build/`
/// (`crate-env build`'s argument files) and `generations/*/` (a retired
/// environment's env.json), whose writers all hold the state lock
/// (as the caller does); and, older than a minute, library extractions
/// (`lib/.tmp*`: `doctor` extracts without the lock) and `.crate-env-tmp*` in
/// `root` (`init` writes there without it; `build` links `result-NAME`
/// through one). Best effort; returns how many went.
pub fn sweep_temp_files(state_dir: &Path, root: &Path) -> usize {
    let minute = Some(std::time::Duration::from_secs(60));
    let mut removed = 0;
    let members = std::fs::read_dir(state_dir.join("members"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path());
    for env_dir in std::iter::once(state_dir.to_path_buf()).chain(members) {
        let generations = std::fs::read_dir(env_dir.join("generations"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path());
        let fixed = ["", "bin", "direnv-stamps", "build"].map(|d| env_dir.join(d));
        for dir in fixed.into_iter().chain(generations) {
            removed += sweep(&dir, &[".crate-env-tmp", ".tmp"], None);
        }
    }
    removed += sweep(&state_dir.join("lib"), &[".tmp"], minute);
    removed + sweep(root, &[".crate-env-tmp"], minute)
}

fn sweep(dir: &Path, prefixes: &[&str], older_than: Option<std::time::Duration>) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !prefixes.iter().any(|p| name.starts_with(p)) {
            continue;
        }
        let Ok(meta) = entry.path().symlink_metadata() else {
            continue;
        };
        let age = meta.modified().ok().and_then(|m| m.elapsed().ok());
        if older_than.is_some_and(|min| age.is_none_or(|age| age < min)) {
            continue;
        }
        let gone = if meta.is_dir() {
            std::fs::remove_dir_all(entry.path())
        } else {
            std::fs::remove_file(entry.path())
        };
        removed += usize::from(gone.is_ok());
    }
    removed
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
    fn atomic_write_replaces_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        atomic_write(&path, b"one").unwrap();
        atomic_write(&path, b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn atomic_create_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        atomic_create(&path, b"one").unwrap();
        assert!(matches!(
            atomic_create(&path, b"two"),
            Err(FsError::Exists { .. })
        ));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn state_lock_is_exclusive_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join(".crate-env");
        let held = StateLock::acquire(&state, || panic!("nobody holds it yet")).unwrap();
        let other = File::options()
            .write(true)
            .open(state.join("lock"))
            .unwrap();
        assert!(fs4::FileExt::try_lock(&other).is_err());
        drop(held);
        assert!(fs4::FileExt::try_lock(&other).is_ok());
    }

    #[test]
    fn sweep_removes_what_killed_writers_left() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join(".crate-env");
        let old = state.join("lib/.tmp-lib123");
        std::fs::create_dir_all(&old).unwrap();
        let hour_ago = SystemTime::now() - std::time::Duration::from_secs(3600);
        std::fs::File::open(&old)
            .unwrap()
            .set_modified(hour_ago)
            .unwrap();
        std::fs::create_dir_all(state.join("lib/.tmp-lib-young")).unwrap();
        std::fs::create_dir_all(state.join("bin")).unwrap();
        std::fs::write(state.join(".crate-env-tmpAbc"), "half").unwrap();
        std::fs::write(state.join("env.json"), "{}").unwrap();
        std::os::unix::fs::symlink("/nowhere", state.join("bin/.tmp-cargo-1")).unwrap();
        std::fs::write(dir.path().join(".crate-env-tmpNew"), "in flight").unwrap();
        // A member's build/ and a retired generation's env.json.
        let member = state.join("members/m");
        std::fs::create_dir_all(member.join("build")).unwrap();
        std::fs::write(member.join("build/.crate-env-tmpX"), "half").unwrap();
        std::fs::create_dir_all(state.join("generations/0123")).unwrap();
        std::fs::write(state.join("generations/0123/.crate-env-tmpY"), "half").unwrap();
        assert_eq!(sweep_temp_files(&state, dir.path()), 5);
        assert!(state.join("env.json").exists());
        assert!(dir.path().join(".crate-env-tmpNew").exists(), "too young");
        assert!(!old.exists());
        assert!(state.join("lib/.tmp-lib-young").exists(), "maybe in flight");
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
