//! The Nix side of a build: the `buildArgs` file, the toolchain's rust-src
//! lock for `buildStd`, and the two `nix-build`s of each build (inputs,
//! dependency layer, output), each rooted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{log, roots, workspace, BuildError, Info, LibArgs, Prepared, Step};
use crate::nix::{Nix, NixError};
use crate::project::fsutil::{atomic_write, FsError};
use crate::project::Project;

/// What the Nix library reads from `buildArgs` (nix/build/source.nix, vendor.nix).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct BuildArgs<'a> {
    root: &'a Path,
    files: &'a [String],
    stubs: &'a workspace::Stubs,
    std_lock: Option<&'a str>,
    crate_url: &'a str,
}

/// Realises the toolchain of a `buildStd` build (rooted) and reads its
/// rust-src's Cargo.lock.
fn std_lock(
    nix: &Nix<'_>,
    args: &LibArgs<'_>,
    project: &Project,
    toolchain: &str,
) -> Result<String, BuildError> {
    let link = roots::toolchain(project, toolchain);
    roots::create_dir(&roots::toolchains_dir(project))?;
    let out = args
        .library
        .build(
            nix,
            &format!("builds.toolchains.{toolchain}"),
            args.lock,
            &link,
        )
        .map_err(|source| BuildError::Nix {
            name: toolchain.to_owned(),
            step: Step::Toolchain,
            source,
        })?;
    let src = out.join("lib/rustlib/src/rust");
    [src.join("library/Cargo.lock"), src.join("Cargo.lock")]
        .iter()
        .find_map(|lock| std::fs::read_to_string(lock).ok())
        .ok_or(BuildError::NoStdLock {
            toolchain: toolchain.to_owned(),
            path: out,
        })
}

/// Writes the `buildArgs` file (the member's `build/args.json`); returns its path.
fn write_args(
    project: &Project,
    prepared: &Prepared,
    std_lock: Option<&str>,
    crate_url: &str,
) -> Result<PathBuf, BuildError> {
    let path = super::build_dir(project).join("args.json");
    super::create_parent(&path)?;
    let args = BuildArgs {
        root: &project.root,
        files: &prepared.files,
        stubs: &prepared.stubs,
        std_lock,
        crate_url,
    };
    let text = serde_json::to_string(&args).expect("build args serialise");
    atomic_write(&path, text.as_bytes())?;
    Ok(path)
}

/// The output one build produced (its inputs are rooted next to it).
#[derive(Debug, Clone)]
pub struct Built {
    pub name: String,
    pub out: PathBuf,
}

/// Runs the Nix side of builds for one project.
pub struct Builder<'a, 'n> {
    pub nix: &'a Nix<'n>,
    pub args: LibArgs<'a>,
    pub project: &'a Project,
    /// Filled by the Nix observer; read to explain a failure.
    pub log: &'a log::BuildLog,
}

/// What to build: the names, in order, and what each needs.
pub struct Plan<'a> {
    pub prepared: &'a Prepared,
    pub info: &'a Info,
    pub names: &'a [String],
    /// Registry download URL template ([`DEFAULT_CRATE_URL`]).
    pub crate_url: &'a str,
    /// Where each build's output is linked (`result-NAME`).
    pub out_link: &'a dyn Fn(&str) -> PathBuf,
}

impl Builder<'_, '_> {
    /// Builds every name of `plan` in order; `on_step` is told (name, step)
    /// before each step, `on_built` after each build.
    pub fn build_all(
        &self,
        plan: &Plan<'_>,
        on_step: &dyn Fn(&str, Step),
        on_built: &dyn Fn(&Built),
    ) -> Result<Vec<Built>, BuildError> {
        let mut std_locks: BTreeMap<String, String> = BTreeMap::new();
        let mut built = Vec::new();
        for name in plan.names {
            let settings = &plan.info.builds[name];
            let std_lock = if settings.build_std.is_empty() {
                None
            } else {
                if !std_locks.contains_key(&settings.toolchain) {
                    on_step(name, Step::Toolchain);
                    let text = std_lock(self.nix, &self.args, self.project, &settings.toolchain)?;
                    std_locks.insert(settings.toolchain.clone(), text);
                }
                std_locks.get(&settings.toolchain).map(String::as_str)
            };
            let args_file = write_args(self.project, plan.prepared, std_lock, plan.crate_url)?;
            on_step(name, Step::Building);
            let one = self.build(&args_file, name, &(plan.out_link)(name))?;
            on_built(&one);
            built.push(one);
        }
        Ok(built)
    }

    /// Builds `name` (its crates, dependency layer and output, in one
    /// `nix-build`), rooted under the member's `gcroots/builds/NAME/` and
    /// linked at `out_link`.
    pub fn build(
        &self,
        build_args: &Path,
        name: &str,
        out_link: &Path,
    ) -> Result<Built, BuildError> {
        let project = self.project;
        let dir = roots::build_dir(project, name);
        roots::create_dir(&dir)?;
        let output = format!("builds.drv.{name}");
        let inputs = format!("{output}.inputs");
        let paths = self
            .args
            .library
            .build_with_args(
                self.nix,
                &[&output, &inputs],
                self.args.lock,
                build_args,
                &roots::output(project, name),
            )
            .map_err(|err| {
                // A first build that failed leaves nothing behind (the
                // directory goes only if empty).
                let _ = std::fs::remove_dir(&dir);
                explain(name, err, self.log)
            })?;
        let out = paths[0].clone();
        link_atomically(&out, out_link)?;
        Ok(Built {
            name: name.to_owned(),
            out,
        })
    }
}

/// `link` → `target`, replacing what was there (symlink next to it + rename).
/// The GC root under `.crate-env/gcroots/builds/` keeps the target alive.
fn link_atomically(target: &Path, link: &Path) -> Result<(), FsError> {
    let error = |source| FsError::Write {
        path: link.to_path_buf(),
        source,
    };
    // A name the state-lock holders sweep after a kill (project::fsutil).
    let name = link.file_name().unwrap_or_default().to_string_lossy();
    let temp = link.with_file_name(format!(".crate-env-tmp-{name}-{}", std::process::id()));
    let _ = std::fs::remove_file(&temp);
    std::os::unix::fs::symlink(target, &temp).map_err(error)?;
    std::fs::rename(&temp, link).map_err(error)
}

/// A failed Nix build, explained: a crate whose checksum differs, or the
/// compiler's / the tests' own words from the failed derivation's log.
fn explain(name: &str, err: NixError, log: &log::BuildLog) -> BuildError {
    let step = log.failed_step();
    let message = err.nix_message().unwrap_or_default();
    if let Some(m) = log::checksum_mismatch(message) {
        return BuildError::ChecksumMismatch {
            name: m.name,
            version: m.version,
            expected: m.expected,
            got: m.got,
        };
    }
    let excerpt = message
        .contains("error: builder for '")
        .then(|| log.failure())
        .flatten();
    match excerpt {
        Some(excerpt) => BuildError::Failed {
            name: name.to_owned(),
            step,
            excerpt,
        },
        None => BuildError::Nix {
            name: name.to_owned(),
            step,
            source: err,
        },
    }
}
