//! The Nix library (`nix/`), embedded in the binary and extracted to
//! `.crate-env/lib/<lib-hash>/` so Nix can import it. The directory name is a
//! hash of the contents, so an existing directory is reused as is, and a new
//! crate-env version never changes files an older one may still be reading.
//!
//! [`Library`] is the one place that knows the library's arguments
//! (`lock`, `configFiles`, `system`, and `buildArgs` for `crate-env build`;
//! docs/architecture.md).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::nix::{Nix, NixError};

/// (file name, contents, unix mode)
const FILES: &[(&str, &str, u32)] = &[
    ("default.nix", include_str!("../../nix/default.nix"), 0o644),
    ("config.nix", include_str!("../../nix/config.nix"), 0o644),
    (
        "validate.nix",
        include_str!("../../nix/validate.nix"),
        0o644,
    ),
    (
        "toolchains.nix",
        include_str!("../../nix/toolchains.nix"),
        0o644,
    ),
    ("capture.nix", include_str!("../../nix/capture.nix"), 0o644),
    ("request.nix", include_str!("../../nix/request.nix"), 0o644),
    (
        "capture-env.sh",
        include_str!("../../nix/capture-env.sh"),
        0o644,
    ),
    // `crate-env build` (src/build, docs/build.md).
    (
        "build/default.nix",
        include_str!("../../nix/build/default.nix"),
        0o644,
    ),
    (
        "build/validate.nix",
        include_str!("../../nix/build/validate.nix"),
        0o644,
    ),
    (
        "build/source.nix",
        include_str!("../../nix/build/source.nix"),
        0o644,
    ),
    (
        "build/vendor.nix",
        include_str!("../../nix/build/vendor.nix"),
        0o644,
    ),
    (
        "build/cargo-build.sh",
        include_str!("../../nix/build/cargo-build.sh"),
        0o644,
    ),
];

const ENTRY: &str = "default.nix";

/// The extracted library, bound to one project and system.
#[derive(Debug, Clone)]
pub struct Library {
    entry: PathBuf,
    /// `configFiles`: a JSON list of the absolute crate-env.nix paths.
    config_files: String,
    system: String,
}

impl Library {
    /// Extracts the library below `parent` (a project's `.crate-env/lib`)
    /// unless it is there, for the crate-env.nix `config_files` (absolute,
    /// outermost first). The caller holds the state lock.
    pub fn extract(
        parent: &Path,
        config_files: &[PathBuf],
        system: &str,
    ) -> Result<Library, ExtractError> {
        let paths: Vec<String> = config_files
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        Ok(Library {
            entry: extract(parent)?,
            config_files: serde_json::to_string(&paths).expect("strings serialise"),
            system: system.to_owned(),
        })
    }

    /// `nix-instantiate --eval --strict --json -A ATTR` with `lock_text`.
    pub fn eval(
        &self,
        nix: &Nix<'_>,
        attr: &str,
        lock_text: &str,
    ) -> Result<serde_json::Value, NixError> {
        nix.eval_json(&self.entry, attr, &self.args(lock_text))
    }

    /// `nix-build -A ATTR --out-link OUT_LINK` with `lock_text`.
    pub fn build(
        &self,
        nix: &Nix<'_>,
        attr: &str,
        lock_text: &str,
        out_link: &Path,
    ) -> Result<PathBuf, NixError> {
        nix.build(&self.entry, attr, &self.args(lock_text), out_link)
    }

    /// `crate-env build`'s one `nix-build` of several attributes with
    /// `buildArgs` (the path of `.crate-env/…/build/args.json`): Nix links them
    /// as `OUT_LINK`, `OUT_LINK-2`, … Returns the output paths in order.
    pub fn build_with_args(
        &self,
        nix: &Nix<'_>,
        attrs: &[&str],
        lock_text: &str,
        build_args: &Path,
        out_link: &Path,
    ) -> Result<Vec<PathBuf>, NixError> {
        let build_args = build_args.to_string_lossy();
        let mut args = self.args(lock_text).to_vec();
        args.push(("buildArgs", &build_args));
        nix.build_attrs(&self.entry, attrs, &args, out_link)
    }

    fn args<'a>(&'a self, lock_text: &'a str) -> [(&'a str, &'a str); 3] {
        [
            ("lock", lock_text),
            ("configFiles", &self.config_files),
            ("system", &self.system),
        ]
    }
}

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
    base16ct::lower::encode_string(&hasher.finalize())[..16].to_owned()
}

/// Extracts the library below `parent` (`.crate-env/lib`) unless present;
/// returns the path of its entry file. The caller holds the state lock.
fn extract(parent: &Path) -> Result<PathBuf, ExtractError> {
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
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
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

/// Written files get fixed modes, whatever the umask.
fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
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
