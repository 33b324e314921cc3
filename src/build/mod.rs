//! `crate-env build`: hermetic Nix builds of `builds.NAME` (docs/build.md).
//!
//! The Rust side checks the project (Cargo.lock fresh, which files belong to
//! it, the stub targets of the dependency layer), reads rust-src's Cargo.lock
//! for `buildStd`, and hands everything to the Nix library (`nix/build/`) in
//! one JSON file. Nix does the rest: vendoring, the two layers, the outputs.
//! Nothing here prints; progress reaches the caller through [`Step`] and the
//! [`log::BuildLog`] its Nix observer fills.

mod builder;
mod cargo_lock;
pub mod log;
pub mod roots;
mod workspace;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use builder::{Builder, Built, Plan};

use crate::environment::current_key;
use crate::environment::nix_config::NixConfig;
use crate::nix::library::Library;
use crate::nix::{Nix, NixError};
use crate::project::fsutil::{atomic_write, FsError};
use crate::project::Project;

/// Where registry crates are downloaded from, unless `CRATE_ENV_CRATES_MIRROR`
/// says otherwise (cargo's `dl` template syntax).
pub const DEFAULT_CRATE_URL: &str =
    "https://static.crates.io/crates/{crate}/{crate}-{version}.crate";

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("no Cargo.lock in {root}")]
    NoCargoLock { root: PathBuf },
    #[error("Cargo.lock is out of date with {manifest}: {problem}")]
    StaleCargoLock { manifest: PathBuf, problem: String },
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not valid TOML")]
    Toml {
        path: PathBuf,
        #[source]
        source: Box<toml::de::Error>,
    },
    #[error("cannot list the project's files in {root}")]
    Walk {
        root: PathBuf,
        #[source]
        source: ignore::Error,
    },
    #[error("unknown build `{name}`; crate-env.nix has: {}", known.join(", "))]
    UnknownBuild { name: String, known: Vec<String> },
    #[error("cannot evaluate `builds` of crate-env.nix")]
    Eval(#[source] NixError),
    #[error("crate-env's Nix library returned unexpected `builds.info`: {0}")]
    Info(String),
    #[error("the {toolchain} toolchain {path} has no rust-src Cargo.lock (library/Cargo.lock)")]
    NoStdLock { toolchain: String, path: PathBuf },
    #[error(
        "Cargo.lock checksum mismatch for {name} {version}: Cargo.lock says {expected}, \
         the downloaded {name}-{version}.crate has {got}"
    )]
    ChecksumMismatch {
        name: String,
        version: String,
        expected: String,
        got: String,
    },
    #[error("build `{name}` failed in its {step}:\n{excerpt}")]
    Failed {
        name: String,
        step: Step,
        /// The compiler's error or the failing tests, from the build log.
        excerpt: String,
    },
    #[error("cannot build `{name}` ({step})")]
    Nix {
        name: String,
        step: Step,
        #[source]
        source: NixError,
    },
    #[error(transparent)]
    Fs(#[from] FsError),
}

/// Where a build is (progress) or failed (errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Realising the toolchain whose rust-src `buildStd` needs.
    Toolchain,
    /// The build's one `nix-build` (crates, dependency layer, output).
    Building,
    /// Fetching a `.crate`.
    Crates,
    /// The dependency layer.
    Dependencies,
    /// The workspace layer: the output.
    Workspace,
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Step::Toolchain => "toolchain",
            Step::Building => "build",
            Step::Crates => "crate downloads",
            Step::Dependencies => "dependency layer",
            Step::Workspace => "workspace layer",
        })
    }
}

/// The project checked and listed; nothing written yet.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub files: Vec<String>,
    pub stubs: workspace::Stubs,
}

/// Lists the project's files and checks Cargo.lock against the manifests.
pub fn prepare(root: &Path) -> Result<Prepared, BuildError> {
    let files = workspace::list_files(root)?;
    let manifests = workspace::manifests(root, &files)?;
    cargo_lock::check_fresh(root, &manifests)?;
    let stubs = workspace::stubs(&manifests, &files);
    Ok(Prepared { files, stubs })
}

/// The Nix library bound to the project (member) and the text of its view
/// of the lock: what every evaluation and build gets.
#[derive(Debug, Clone, Copy)]
pub struct LibArgs<'a> {
    pub library: &'a Library,
    pub lock: &'a str,
    pub system: &'a str,
}

/// One build's settings, as the library normalised them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildSettings {
    pub toolchain: String,
    #[serde(default)]
    pub build_std: Vec<String>,
    #[serde(default)]
    pub target: Option<String>,
    #[serde(default)]
    pub check: bool,
}

/// `builds.info`: every build's name and settings, and `nixConfig` (turned
/// into `--option`s by `environment::nix_config`, like `materialise`'s).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Info {
    pub names: Vec<String>,
    pub builds: BTreeMap<String, BuildSettings>,
    #[serde(default)]
    pub nix_config: NixConfig,
}

/// `builds.info` (evaluating it checks every build's fields), cached in the
/// member's `build/info.json` under the environment's cache key (the
/// library, system, lock and crate-env.nix files): a rebuild after a source
/// edit evaluates it no more.
pub fn info(nix: &Nix<'_>, args: &LibArgs<'_>, project: &Project) -> Result<Info, BuildError> {
    let path = build_dir(project).join("info.json");
    // No key (a file unreadable): nothing is cached.
    let key = current_key(project, args.system).ok().flatten();
    let cached = std::fs::read(&path)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<CachedInfo>(&bytes).ok())
        .filter(|c| Some(&c.key) == key.as_ref());
    if let Some(cached) = cached {
        return Ok(cached.info);
    }
    let value = args
        .library
        .eval(nix, "builds.info", args.lock)
        .map_err(BuildError::Eval)?;
    let info: Info = serde_json::from_value(value).map_err(|e| BuildError::Info(e.to_string()))?;
    if let Some(key) = key {
        let text = serde_json::to_vec(&CachedInfo {
            key,
            info: info.clone(),
        })
        .expect("info serialises");
        create_parent(&path)?;
        atomic_write(&path, &text)?;
    }
    Ok(info)
}

#[derive(Serialize, Deserialize)]
struct CachedInfo {
    key: String,
    info: Info,
}

/// The builds crate-env.nix declares, as the last `crate-env build`
/// evaluated them, if that was for the current crate-env.nix files and lock
/// (`None`: unknown without evaluating, which `gc` never does).
pub fn declared(project: &Project, system: &str) -> Option<Vec<String>> {
    let bytes = std::fs::read(build_dir(project).join("info.json")).ok()?;
    let cached: CachedInfo = serde_json::from_slice(&bytes).ok()?;
    let key = current_key(project, system).ok().flatten()?;
    (cached.key == key).then_some(cached.info.names)
}

/// The member's `build/` directory: `args.json`, `info.json`.
pub fn build_dir(project: &Project) -> PathBuf {
    project.env_dir().join("build")
}

pub(crate) fn create_parent(path: &Path) -> Result<(), FsError> {
    let Some(dir) = path.parent() else {
        return Ok(());
    };
    std::fs::create_dir_all(dir).map_err(|source| FsError::Write {
        path: dir.to_path_buf(),
        source,
    })
}

/// The builds to run: `requested`, or `default`; an unknown name is an error.
pub fn select(info: &Info, requested: &[String]) -> Result<Vec<String>, BuildError> {
    if requested.is_empty() {
        return Ok(vec!["default".to_owned()]);
    }
    for name in requested {
        if !info.builds.contains_key(name) {
            return Err(BuildError::UnknownBuild {
                name: name.clone(),
                known: info.names.clone(),
            });
        }
    }
    let mut names = requested.to_vec();
    names.dedup();
    Ok(names)
}
