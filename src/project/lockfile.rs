//! `crate-env.lock` (version 1): types, exact serialisation, reading and
//! writing, and whether it is fresh for the crate-env.nix files as they are.
//!
//! The text format is part of the contract (docs/architecture.md): field order
//! as declared here, two-space indent, trailing newline. `ref` is omitted when
//! absent; `rev`, `toolchains.stable` and `toolchains.nightly` are written as
//! `null` when unknown. `members` (workspace members' toolchains and
//! stamps, keyed by their path) is omitted when empty, so a lock without
//! members reads and writes exactly as before.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::project::fsutil::{atomic_write, FsError};
use crate::project::Project;

pub const LOCK_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lockfile {
    pub version: u32,
    pub inputs: Inputs,
    pub toolchains: Toolchains,
    pub config: ConfigStamp,
    /// Workspace members (path relative to the root → what they resolved to).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub members: BTreeMap<String, MemberLock>,
}

/// A workspace member's part of the lock: its toolchains, and the stamp of
/// the crate-env.nix files (its parents' and its own) they were resolved from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberLock {
    pub toolchains: Toolchains,
    pub config: ConfigStamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inputs {
    pub nixpkgs: LockedInput,
    #[serde(rename = "rust-overlay")]
    pub rust_overlay: LockedInput,
}

/// The two inputs every project pins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputName {
    Nixpkgs,
    RustOverlay,
}

impl InputName {
    pub const ALL: [InputName; 2] = [InputName::Nixpkgs, InputName::RustOverlay];

    pub fn as_str(self) -> &'static str {
        match self {
            InputName::Nixpkgs => "nixpkgs",
            InputName::RustOverlay => "rust-overlay",
        }
    }

    /// The command-line flag that sets this input's spec.
    pub fn flag(self) -> &'static str {
        match self {
            InputName::Nixpkgs => "--nixpkgs",
            InputName::RustOverlay => "--rust-overlay",
        }
    }
}

impl Inputs {
    pub fn get(&self, name: InputName) -> &LockedInput {
        match name {
            InputName::Nixpkgs => &self.nixpkgs,
            InputName::RustOverlay => &self.rust_overlay,
        }
    }

    pub fn get_mut(&mut self, name: InputName) -> &mut LockedInput {
        match name {
            InputName::Nixpkgs => &mut self.nixpkgs,
            InputName::RustOverlay => &mut self.rust_overlay,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputType {
    Tarball,
    Git,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockedInput {
    /// What the user asked for (`github:…`, a URL, `git+…`).
    pub spec: String,
    #[serde(rename = "type")]
    pub kind: InputType,
    /// What Nix fetches.
    pub url: String,
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub rev: Option<String>,
    /// SRI, `sha256-<base64>`.
    pub nar_hash: String,
    /// Unix time of the newest content (commit time for git and GitHub).
    pub last_modified: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Toolchains {
    /// Exact stable version, e.g. `1.75.0`; `null` only in the provisional lock.
    pub stable: Option<String>,
    /// Nightly date `YYYY-MM-DD`, `null` when no nightly is requested.
    pub nightly: Option<String>,
}

/// Which crate-env.nix files the lock was resolved from, and their hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigStamp {
    /// Paths relative to the project root, outermost first.
    pub files: Vec<String>,
    /// `sha256:<hex>` over the files' bytes, concatenated in `files` order
    /// (for one file: what `sha256sum crate-env.nix` prints).
    pub hash: String,
}

#[derive(Debug, thiserror::Error)]
pub enum LockfileError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("{path}:{line}:{column}: invalid lock file: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: lock version {found} is not supported (this crate-env reads version {LOCK_VERSION})")]
    Version { path: PathBuf, found: u64 },
}

impl Lockfile {
    /// The exact file contents.
    pub fn to_text(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("lock serialises");
        text.push('\n');
        text
    }

    /// Parses lock text; `path` is only used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Lockfile, LockfileError> {
        match serde_json::from_str::<Lockfile>(text) {
            Ok(lock) if lock.version == LOCK_VERSION => Ok(lock),
            Ok(lock) => Err(LockfileError::Version {
                path: path.to_owned(),
                found: lock.version.into(),
            }),
            Err(err) => {
                Err(unsupported_version(text, path).unwrap_or_else(|| parse_error(err, path)))
            }
        }
    }

    /// Reads the lock file; `Ok(None)` if it does not exist.
    pub fn read(path: &Path) -> Result<Option<(Lockfile, String)>, LockfileError> {
        let text = match fs_err::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        Ok(Some((Lockfile::parse(&text, path)?, text)))
    }

    /// Whether the lock was resolved from exactly these config files.
    pub fn is_fresh_for(&self, stamp: &ConfigStamp) -> bool {
        &self.config == stamp
    }

    /// One member's view (`""`: the root's): the inputs with that member's
    /// toolchains and stamp, and no members. What the Nix library gets and
    /// what the member's cache key hashes, so that re-locking one member
    /// leaves every other member's cache valid. `None` if the lock has no
    /// entry for the member.
    pub fn view(&self, member: &str) -> Option<Lockfile> {
        let (toolchains, config) = if member.is_empty() {
            (self.toolchains.clone(), self.config.clone())
        } else {
            let entry = self.members.get(member)?;
            (entry.toolchains.clone(), entry.config.clone())
        };
        Some(Lockfile {
            version: self.version,
            inputs: self.inputs.clone(),
            toolchains,
            config,
            members: BTreeMap::new(),
        })
    }

    /// Puts a member's view (as [`Lockfile::view`] returns it) into the lock.
    pub fn set_member(&mut self, member: &str, view: &Lockfile) {
        if member.is_empty() {
            self.toolchains = view.toolchains.clone();
            self.config = view.config.clone();
        } else {
            let entry = MemberLock {
                toolchains: view.toolchains.clone(),
                config: view.config.clone(),
            };
            self.members.insert(member.to_owned(), entry);
        }
    }
}

/// A newer lock format fails to parse as version 1 for reasons that would be
/// confusing to show; report the version instead.
fn unsupported_version(text: &str, path: &Path) -> Option<LockfileError> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let found = value.get("version")?.as_u64()?;
    (found != u64::from(LOCK_VERSION)).then(|| LockfileError::Version {
        path: path.to_owned(),
        found,
    })
}

fn parse_error(err: serde_json::Error, path: &Path) -> LockfileError {
    let full = err.to_string();
    // serde_json appends " at line L column C"; we print that as path:L:C instead.
    let message = full
        .rsplit_once(" at line ")
        .map_or(full.as_str(), |(m, _)| m)
        .to_owned();
    LockfileError::Parse {
        path: path.to_owned(),
        line: err.line(),
        column: err.column(),
        message,
    }
}

/// Stamps the config files (absolute paths, outermost first) of the project at `root`.
pub fn config_stamp(root: &Path, files: &[PathBuf]) -> Result<ConfigStamp, std::io::Error> {
    let mut hasher = Sha256::new();
    let mut names = Vec::with_capacity(files.len());
    for file in files {
        let bytes = fs_err::read(file)?;
        hasher.update(&bytes);
        names.push(relative_name(root, file));
    }
    Ok(ConfigStamp {
        files: names,
        hash: format!(
            "sha256:{}",
            base16ct::lower::encode_string(&hasher.finalize())
        ),
    })
}

/// `/`-separated path relative to the root, so the lock is the same on every machine.
fn relative_name(root: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(root).unwrap_or(file);
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

pub const MISSING_LOCK: &str = "crate-env.lock does not exist";
pub const STALE_LOCK: &str = "crate-env.lock is stale: crate-env.nix changed since it was locked";

/// The stale-lock message naming the member (the root's is [`STALE_LOCK`]).
pub fn stale_lock_message(project: &Project) -> String {
    if project.is_root() {
        STALE_LOCK.to_owned()
    } else {
        format!(
            "crate-env.lock is stale for member {}: its crate-env.nix files changed since it was locked",
            project.member
        )
    }
}

/// crate-env.lock against a member's crate-env.nix files as they are now.
pub enum Freshness {
    Missing,
    /// `lock` is the whole lock; `locked` what it records for the member
    /// (`None`: nothing, a new member).
    Stale {
        lock: Lockfile,
        locked: Option<ConfigStamp>,
        stamp: ConfigStamp,
    },
    /// `lock` and `text` are the member's view ([`Lockfile::view`]).
    Fresh {
        lock: Lockfile,
        text: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum FreshnessError {
    #[error(transparent)]
    Lockfile(#[from] LockfileError),
    #[error(transparent)]
    Config(#[from] std::io::Error),
}

/// Reads the lock and compares it with the member's crate-env.nix files.
pub fn freshness(project: &Project) -> Result<Freshness, FreshnessError> {
    let Some((lock, _)) = Lockfile::read(&project.lock_file())? else {
        return Ok(Freshness::Missing);
    };
    let stamp = config_stamp(&project.root, &project.config_files())?;
    Ok(match lock.view(&project.member) {
        Some(view) if view.is_fresh_for(&stamp) => Freshness::Fresh {
            text: view.to_text(),
            lock: view,
        },
        view => Freshness::Stale {
            locked: view.map(|v| v.config),
            lock,
            stamp,
        },
    })
}

/// Writes the lock unless it equals `existing`; returns whether it wrote.
/// The caller holds the state lock.
pub fn write_if_changed(
    project: &Project,
    lock: &Lockfile,
    existing: Option<&Lockfile>,
) -> Result<bool, FsError> {
    if existing == Some(lock) {
        return Ok(false);
    }
    atomic_write(&project.lock_file(), lock.to_text().as_bytes())?;
    Ok(true)
}

/// `rev 0123456789ab` or, for a tarball without a revision, its narHash.
pub fn pin_summary(input: &LockedInput) -> String {
    match &input.rev {
        Some(rev) => format!("rev {}", &rev[..rev.len().min(12)]),
        None => input.nar_hash.clone(),
    }
}

/// What a summary line shows in parentheses: [`pin_summary`], with the
/// narHash after a revision when `with_nar_hash` (`status`, `--from-flake-lock`).
pub fn pin_details(input: &LockedInput, with_nar_hash: bool) -> String {
    match &input.rev {
        Some(_) if with_nar_hash => format!("{}, {}", pin_summary(input), input.nar_hash),
        _ => pin_summary(input),
    }
}

/// `stable 1.95.0, nightly 2026-02-19`.
pub fn toolchain_summary(toolchains: &Toolchains) -> String {
    let stable = toolchains.stable.as_deref().unwrap_or("(unresolved)");
    match &toolchains.nightly {
        Some(nightly) => format!("stable {stable}, nightly {nightly}"),
        None => format!("stable {stable}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::LOCK_FILE;

    fn sample() -> Lockfile {
        Lockfile {
            version: 1,
            inputs: Inputs {
                nixpkgs: LockedInput {
                    spec: "http://127.0.0.1:8/nixpkgs/a.tar.gz".into(),
                    kind: InputType::Tarball,
                    url: "http://127.0.0.1:8/nixpkgs/a.tar.gz".into(),
                    reference: None,
                    rev: None,
                    nar_hash: "sha256-AAAA".into(),
                    last_modified: 1795235573,
                },
                rust_overlay: LockedInput {
                    spec: "git+http://127.0.0.1:8/git/ro.git?ref=master".into(),
                    kind: InputType::Git,
                    url: "http://127.0.0.1:8/git/ro.git".into(),
                    reference: Some("master".into()),
                    rev: Some("0123456789abcdef0123456789abcdef01234567".into()),
                    nar_hash: "sha256-BBBB".into(),
                    last_modified: 1795235574,
                },
            },
            toolchains: Toolchains {
                stable: Some("1.95.0".into()),
                nightly: None,
            },
            config: ConfigStamp {
                files: vec!["crate-env.nix".into()],
                hash: "sha256:00ff".into(),
            },
            members: BTreeMap::new(),
        }
    }

    const GOLDEN: &str = r#"{
  "version": 1,
  "inputs": {
    "nixpkgs": {
      "spec": "http://127.0.0.1:8/nixpkgs/a.tar.gz",
      "type": "tarball",
      "url": "http://127.0.0.1:8/nixpkgs/a.tar.gz",
      "rev": null,
      "narHash": "sha256-AAAA",
      "lastModified": 1795235573
    },
    "rust-overlay": {
      "spec": "git+http://127.0.0.1:8/git/ro.git?ref=master",
      "type": "git",
      "url": "http://127.0.0.1:8/git/ro.git",
      "ref": "master",
      "rev": "0123456789abcdef0123456789abcdef01234567",
      "narHash": "sha256-BBBB",
      "lastModified": 1795235574
    }
  },
  "toolchains": {
    "stable": "1.95.0",
    "nightly": null
  },
  "config": {
    "files": [
      "crate-env.nix"
    ],
    "hash": "sha256:00ff"
  }
}
"#;

    #[test]
    fn serialises_exactly() {
        assert_eq!(sample().to_text(), GOLDEN);
    }

    #[test]
    fn round_trips() {
        let lock = Lockfile::parse(GOLDEN, Path::new("crate-env.lock")).unwrap();
        assert_eq!(lock, sample());
    }

    #[test]
    fn members_are_an_optional_extension() {
        let mut lock = sample();
        let mut wasm = lock.view("").unwrap();
        wasm.toolchains.nightly = Some("2026-02-19".into());
        wasm.config.files.push("wasm/crate-env.nix".into());
        lock.set_member("wasm", &wasm);
        let text = lock.to_text();
        assert!(text.starts_with(GOLDEN.trim_end_matches("}\n")), "{text}");
        assert!(text.contains("\"members\": {\n    \"wasm\": {"), "{text}");
        let back = Lockfile::parse(&text, Path::new("l")).unwrap();
        assert_eq!(back.view("wasm").unwrap(), wasm);
        // The root's view leaves the members out: it is what an old lock was.
        assert_eq!(back.view("").unwrap().to_text(), GOLDEN);
        assert_eq!(back.view("py"), None);
    }

    #[test]
    fn parse_errors_name_file_line_and_column() {
        let text = GOLDEN.replace("\"type\": \"tarball\"", "\"type\": \"zip\"");
        let err = Lockfile::parse(&text, Path::new("/p/crate-env.lock")).unwrap_err();
        let message = err.to_string();
        assert!(message.starts_with("/p/crate-env.lock:6:19: "), "{message}");
        assert!(message.contains("unknown variant `zip`"), "{message}");
        assert!(!message.contains(" at line "), "{message}");
    }

    #[test]
    fn syntax_errors_too() {
        let err = Lockfile::parse("{\n  \"version\": 1,\n}", Path::new("l")).unwrap_err();
        assert!(
            err.to_string().starts_with("l:3:1: invalid lock file"),
            "{err}"
        );
    }

    #[test]
    fn other_versions_are_named() {
        let err = Lockfile::parse(r#"{"version": 2, "future": true}"#, Path::new("l")).unwrap_err();
        assert!(
            matches!(err, LockfileError::Version { found: 2, .. }),
            "{err}"
        );
    }

    #[test]
    fn missing_file_is_none() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Lockfile::read(&dir.path().join(LOCK_FILE))
            .unwrap()
            .is_none());
    }

    #[test]
    fn config_stamp_is_sha256_of_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("crate-env.nix");
        std::fs::write(&file, "abc").unwrap();
        let stamp = config_stamp(dir.path(), &[file]).unwrap();
        assert_eq!(stamp.files, ["crate-env.nix"]);
        assert_eq!(
            stamp.hash,
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
