//! The cached environment `.crate-env/env.json`: the store's `env.json`
//! (docs/architecture.md) plus `key` and `materialised`. A cache hit (same
//! key) is served from this file alone, without starting Nix.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::project::fsutil::{atomic_write, FsError};

/// What the Nix library's `env` output holds in `env.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoreEnv {
    /// Exported variables, in the order the library wrote them.
    pub vars: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub shell_hook: String,
    pub stable: PathBuf,
    #[serde(default)]
    pub nightly: Option<PathBuf>,
    pub sources: Sources,
    /// Output paths (binaries' outputs) of the user's `packages`.
    #[serde(default)]
    pub packages: Vec<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sources {
    pub nixpkgs: PathBuf,
    #[serde(rename = "rust-overlay")]
    pub rust_overlay: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedEnv {
    #[serde(flatten)]
    pub env: StoreEnv,
    /// The cache key the environment was built for.
    pub key: String,
    /// Unix time of the build.
    pub materialised: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("{path} is not a valid environment: {message}")]
    Parse { path: PathBuf, message: String },
    #[error(transparent)]
    Write(#[from] FsError),
}

/// Everything the environment depends on, for the cache key.
pub struct KeyInputs<'a> {
    pub lib_hash: &'a str,
    pub system: &'a str,
    pub lock_bytes: &'a [u8],
    /// (absolute path, contents) of each crate-env.nix, outermost first.
    pub config_files: &'a [(PathBuf, Vec<u8>)],
}

/// Hex sha256 over `crate-env-key-v1`, the lib hash, the system, the lock
/// bytes and each config file's path and bytes; every part length-prefixed
/// so that no two different inputs hash the same bytes.
pub fn cache_key(inputs: &KeyInputs<'_>) -> String {
    let mut hasher = Sha256::new();
    let mut part = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    };
    part(b"crate-env-key-v1");
    part(inputs.lib_hash.as_bytes());
    part(inputs.system.as_bytes());
    part(inputs.lock_bytes);
    for (path, contents) in inputs.config_files {
        part(path.to_string_lossy().as_bytes());
        part(contents);
    }
    base16ct::lower::encode_string(&hasher.finalize())
}

impl CachedEnv {
    /// Reads the cached environment; `Ok(None)` if there is none.
    pub fn read(path: &Path) -> Result<Option<CachedEnv>, CacheError> {
        let text = match fs_err::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| CacheError::Parse {
                path: path.to_owned(),
                message: e.to_string(),
            })
    }

    /// Writes atomically; the caller holds the state lock.
    pub fn write(&self, path: &Path) -> Result<(), CacheError> {
        let mut text = serde_json::to_string_pretty(self).expect("env serialises");
        text.push('\n');
        atomic_write(path, text.as_bytes())?;
        Ok(())
    }

    /// Built for exactly these inputs, and its toolchain still in the store
    /// (a copied `.crate-env/` or a deleted root would otherwise point nowhere).
    pub fn is_fresh(&self, key: &str) -> bool {
        self.key == key && self.env.stable.exists()
    }

    /// String variables in export order (non-strings are skipped: the library
    /// only writes strings).
    pub fn vars(&self) -> Vec<(String, String)> {
        self.env
            .vars
            .iter()
            .filter_map(|(name, value)| value.as_str().map(|v| (name.clone(), v.to_owned())))
            .collect()
    }
}

/// Parses the store's `env.json`.
pub fn parse_store_env(text: &str, path: &Path) -> Result<StoreEnv, CacheError> {
    serde_json::from_str(text).map_err(|e| CacheError::Parse {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs<'a>(lock: &'a [u8], files: &'a [(PathBuf, Vec<u8>)]) -> KeyInputs<'a> {
        KeyInputs {
            lib_hash: "0123456789abcdef",
            system: "x86_64-linux",
            lock_bytes: lock,
            config_files: files,
        }
    }

    #[test]
    fn key_changes_with_every_input() {
        let files = vec![(PathBuf::from("/p/crate-env.nix"), b"{}".to_vec())];
        let base = cache_key(&inputs(b"lock", &files));
        assert_eq!(base.len(), 64);
        assert_eq!(base, cache_key(&inputs(b"lock", &files)));
        assert_ne!(base, cache_key(&inputs(b"lock2", &files)));
        let moved = vec![(PathBuf::from("/q/crate-env.nix"), b"{}".to_vec())];
        assert_ne!(base, cache_key(&inputs(b"lock", &moved)));
        let edited = vec![(PathBuf::from("/p/crate-env.nix"), b"{ }".to_vec())];
        assert_ne!(base, cache_key(&inputs(b"lock", &edited)));
        let mut other_system = inputs(b"lock", &files);
        other_system.system = "aarch64-linux";
        assert_ne!(base, cache_key(&other_system));
    }

    #[test]
    fn parts_do_not_run_together() {
        let a = vec![(PathBuf::from("/p/ab"), b"c".to_vec())];
        let b = vec![(PathBuf::from("/p/a"), b"bc".to_vec())];
        assert_ne!(cache_key(&inputs(b"", &a)), cache_key(&inputs(b"", &b)));
    }

    const STORE_ENV: &str = r#"{"vars":{"PATH":"/nix/store/a/bin","CC":"gcc"},"stable":"/","nightly":null,"sources":{"nixpkgs":"/n","rust-overlay":"/r"},"shellHook":"echo hi"}"#;

    #[test]
    fn cache_round_trips_and_keeps_var_order() {
        let env = parse_store_env(STORE_ENV, Path::new("env.json")).unwrap();
        let cached = CachedEnv {
            env,
            key: "k".into(),
            materialised: 7,
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("env.json");
        cached.write(&path).unwrap();
        let read = CachedEnv::read(&path).unwrap().unwrap();
        assert_eq!(read, cached);
        assert_eq!(read.vars()[0].0, "PATH");
        assert!(read.is_fresh("k"));
        assert!(!read.is_fresh("other"));
    }

    #[test]
    fn a_missing_toolchain_is_not_fresh() {
        let mut env = parse_store_env(STORE_ENV, Path::new("env.json")).unwrap();
        env.stable = PathBuf::from("/nix/store/gone-rust");
        let cached = CachedEnv {
            env,
            key: "k".into(),
            materialised: 7,
        };
        assert!(!cached.is_fresh("k"));
    }

    #[test]
    fn bad_store_env_names_the_file() {
        let err = parse_store_env("{}", Path::new("/nix/store/x/env.json")).unwrap_err();
        assert!(err.to_string().contains("/nix/store/x/env.json"), "{err}");
    }
}
