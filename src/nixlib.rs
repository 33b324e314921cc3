//! The Nix library (`nix/`), embedded in the binary and extracted to
//! `.crate-env/lib/<lib-hash>/` so Nix can import it. The directory name is a
//! hash of the contents, so an existing directory is reused as is, and a new
//! crate-env version never changes files an older one may still be reading.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::fsutil::{hex, set_mode};

/// (file name, contents, unix mode)
const FILES: &[(&str, &str, u32)] = &[
    ("default.nix", include_str!("../nix/default.nix"), 0o644),
    (
        "capture-env.sh",
        include_str!("../nix/capture-env.sh"),
        0o644,
    ),
];

pub const ENTRY: &str = "default.nix";

#[derive(Debug, thiserror::Error)]
#[error("cannot extract crate-env's Nix library to {path}")]
pub struct ExtractError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// First 16 hex digits of sha256 over every embedded file's name and contents.
pub fn lib_hash() -> String {
    let mut hasher = Sha256::new();
    for (name, contents, _) in FILES {
        for part in [name.as_bytes(), contents.as_bytes()] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part);
        }
    }
    hex(&hasher.finalize())[..16].to_owned()
}

/// Extracts the library below `parent` (`.crate-env/lib`) unless present;
/// returns the path of its entry file. The caller holds the state lock.
pub fn extract(parent: &Path) -> Result<PathBuf, ExtractError> {
    let target = parent.join(lib_hash());
    if !target.join(ENTRY).is_file() {
        write_atomically(parent, &target).map_err(|source| ExtractError {
            path: target.clone(),
            source,
        })?;
    }
    Ok(target.join(ENTRY))
}

fn write_atomically(parent: &Path, target: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(parent)?;
    let temp = tempfile::Builder::new()
        .prefix(".tmp-lib")
        .tempdir_in(parent)?;
    for (name, contents, mode) in FILES {
        let path = temp.path().join(name);
        std::fs::write(&path, contents)?;
        set_mode(&path, *mode)?;
    }
    set_mode(temp.path(), 0o755)?;
    if target.exists() {
        // Incomplete leftovers (no entry file) from an older, interrupted crate-env.
        std::fs::remove_dir_all(target)?;
    }
    let temp_path = temp.keep();
    std::fs::rename(&temp_path, target).inspect_err(|_| {
        let _ = std::fs::remove_dir_all(&temp_path);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_16_hex_digits_and_stable() {
        let hash = lib_hash();
        assert_eq!(hash.len(), 16);
        assert!(hash.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(hash, lib_hash());
    }

    #[test]
    fn extracts_once_and_reuses() {
        let dir = tempfile::tempdir().unwrap();
        let entry = extract(dir.path()).unwrap();
        assert_eq!(entry, dir.path().join(lib_hash()).join("default.nix"));
        assert_eq!(std::fs::read_to_string(&entry).unwrap(), FILES[0].1);
        let again = extract(dir.path()).unwrap();
        assert_eq!(entry, again);
        // Only the library dir, no temporary leftovers.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
