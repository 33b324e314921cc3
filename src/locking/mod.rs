//! Locking: resolving input specs and toolchains into crate-env.lock
//! (`lock`, `update`, `lock --from-flake-lock`), with the resolution rules
//! in [`rules`] and the search of rust-overlay's snapshot tags in
//! [`snapshot`]. The caller holds the state lock while a lock is written.

mod evaluate;
pub mod from_flake_lock;
pub mod rules;
pub mod snapshot;

pub use evaluate::{evaluate_request, expected_toolchain, resolver};

use anyhow::{Context as _, Result};

use crate::cli::context::Context;
use crate::cli::errors::{error_with_hint, Hint, HintExt};
use crate::locking::rules::{resolve_toolchains, ResolveError};
use crate::nix::Nix;
use crate::project::lockfile::{
    config_stamp, write_if_changed, InputName, Inputs, LockedInput, Lockfile, Toolchains,
    LOCK_VERSION,
};
use crate::project::Project;

/// The specs `crate-env lock` was given (`--nixpkgs`, `--rust-overlay`).
#[derive(Debug, Clone, Default)]
pub struct Specs {
    pub nixpkgs: Option<String>,
    pub rust_overlay: Option<String>,
}

/// A lock as written (or found unchanged), and why each toolchain was chosen.
pub struct Locked {
    pub lock: Lockfile,
    pub reasons: Vec<String>,
    /// Whether crate-env.lock changed.
    pub changed: bool,
}

/// `crate-env lock`: inputs from the specs (an unchanged spec keeps its
/// pinned revision), toolchains resolved against them, written if changed.
pub fn lock(ctx: &Context<'_>, project: &Project, specs: &Specs) -> Result<Locked> {
    let _state = ctx.state_lock(project)?;
    let existing = read_existing(project, specs)?;
    let spinner = ctx.ui.spinner("locking");
    let nix = ctx.nix(&spinner)?;
    let inputs = resolve_inputs(ctx, &nix, specs, existing.as_ref())?;
    let (lock, reasons) = resolve_workspace(ctx, project, &nix, inputs)?;
    drop(nix);
    spinner.finish();
    let changed = write_if_changed(project, &lock, existing.as_ref())?;
    Ok(Locked {
        lock,
        reasons,
        changed,
    })
}

/// `crate-env update`: moves `names` to the newest revision of their ref
/// and re-resolves the toolchains. Returns the lock before, and after.
pub fn update(
    ctx: &Context<'_>,
    project: &Project,
    names: &[InputName],
) -> Result<(Lockfile, Locked)> {
    let _state = ctx.state_lock(project)?;
    let old = Lockfile::read(&project.lock_file())?
        .map(|(lock, _)| lock)
        .ok_or_else(|| {
            error_with_hint(
                "crate-env.lock does not exist, so there is nothing to update",
                "run `crate-env lock --nixpkgs SPEC --rust-overlay SPEC` first",
            )
        })?;
    let spinner = ctx.ui.spinner("updating");
    let nix = ctx.nix(&spinner)?;
    let resolver = resolver(ctx, &nix);
    let mut inputs = old.inputs.clone();
    for &name in names {
        let spec = &old.inputs.get(name).spec;
        // Resolving the spec again asks its ref for the newest revision; a
        // spec that names a revision stays where it is.
        let moved = resolver
            .resolve(spec)
            .with_context(|| format!("cannot update input {} from `{spec}`", name.as_str()))?;
        *inputs.get_mut(name) = moved;
    }
    let (lock, reasons) = resolve_workspace(ctx, project, &nix, inputs)
        .context("cannot resolve the toolchains against the updated inputs")?;
    drop(nix);
    spinner.finish();
    let changed = write_if_changed(project, &lock, Some(&old))?;
    let locked = Locked {
        lock,
        reasons,
        changed,
    };
    Ok((old, locked))
}

/// The current lock, if any. A lock that doesn't parse is an error unless
/// both specs are given, since then nothing is taken from it.
fn read_existing(project: &Project, specs: &Specs) -> Result<Option<Lockfile>> {
    match Lockfile::read(&project.lock_file()) {
        Ok(lock) => Ok(lock.map(|(lock, _)| lock)),
        Err(_) if specs.nixpkgs.is_some() && specs.rust_overlay.is_some() => Ok(None),
        Err(err) => {
            Err(err).hint("fix or delete crate-env.lock, or pass both --nixpkgs and --rust-overlay")
        }
    }
}

fn resolve_inputs(
    ctx: &Context<'_>,
    nix: &Nix<'_>,
    specs: &Specs,
    existing: Option<&Lockfile>,
) -> Result<Inputs> {
    let resolver = resolver(ctx, nix);
    let resolve = |name: InputName, flag: &Option<String>| -> Result<LockedInput> {
        let previous = existing.map(|lock| lock.inputs.get(name));
        let spec = match (flag, previous) {
            (Some(spec), _) => spec.clone(),
            (None, Some(previous)) => previous.spec.clone(),
            (None, None) => return Err(missing_spec(name)),
        };
        // An unchanged spec keeps its pinned revision: moving it is `update`'s job.
        if let Some(previous) = previous.filter(|p| p.spec == spec) {
            return Ok(previous.clone());
        }
        resolver
            .resolve(&spec)
            .with_context(|| format!("cannot lock input {} from `{spec}`", name.as_str()))
    };
    Ok(Inputs {
        nixpkgs: resolve(InputName::Nixpkgs, &specs.nixpkgs)?,
        rust_overlay: resolve(InputName::RustOverlay, &specs.rust_overlay)?,
    })
}

fn missing_spec(name: InputName) -> anyhow::Error {
    let example = match name {
        InputName::Nixpkgs => "github:NixOS/nixpkgs/nixos-unstable",
        InputName::RustOverlay => "github:oxalica/rust-overlay/master",
    };
    error_with_hint(
        format!("no spec for input {}", name.as_str()),
        format!("pass {} SPEC, e.g. {} {example}", name.flag(), name.flag()),
    )
}

/// The whole lock of the workspace `project` is in: the root's toolchains
/// and those of every member, each resolved from its merged crate-env.nix
/// files (one evaluation per member). Reasons name the member.
pub fn resolve_workspace(
    ctx: &Context<'_>,
    project: &Project,
    nix: &Nix<'_>,
    inputs: Inputs,
) -> Result<(Lockfile, Vec<String>)> {
    let mut whole: Option<Lockfile> = None;
    let mut all_reasons = Vec::new();
    for member in project.workspace() {
        let (view, reasons) = resolve_lock_explained(ctx, &member, nix, inputs.clone())
            .with_context(|| format!("cannot lock member {}", member.label()))?;
        for reason in reasons {
            all_reasons.push(match member.is_root() {
                true => reason,
                false => format!("{}: {reason}", member.member),
            });
        }
        match &mut whole {
            None => whole = Some(view),
            Some(whole) => whole.set_member(&member.member, &view),
        }
    }
    Ok((whole.expect("a workspace has its root"), all_reasons))
}

/// Evaluates what a member's crate-env.nix files ask for against the pinned
/// inputs and picks the toolchains: the member's view of the lock
/// ([`Lockfile::view`]). The caller holds the state lock.
pub fn resolve_lock(
    ctx: &Context<'_>,
    project: &Project,
    nix: &Nix<'_>,
    inputs: Inputs,
) -> Result<Lockfile> {
    resolve_lock_explained(ctx, project, nix, inputs).map(|(lock, _)| lock)
}

/// Like [`resolve_lock`], also returning why each toolchain was chosen. A
/// nightly the overlay purged is looked up in its `snapshot/*` tags, and the
/// error's hint names the `crate-env lock` that pins one.
pub fn resolve_lock_explained(
    ctx: &Context<'_>,
    project: &Project,
    nix: &Nix<'_>,
    inputs: Inputs,
) -> Result<(Lockfile, Vec<String>)> {
    let provisional = Lockfile {
        version: LOCK_VERSION,
        inputs,
        toolchains: Toolchains::default(),
        config: config_stamp(&project.root, &project.config_files())?,
        members: Default::default(),
    };
    let request = evaluate_request(ctx, project, nix, &provisional)?;
    match resolve_toolchains(&request) {
        Ok(resolution) => Ok((
            Lockfile {
                toolchains: resolution.toolchains,
                ..provisional
            },
            resolution.reasons,
        )),
        Err(err) => {
            let hint = match &err {
                ResolveError::NightlyNotAvailable(missing) if err.is_pruned() => {
                    let search = snapshot::Search {
                        ctx,
                        project,
                        nix,
                        provisional: &provisional,
                    };
                    search.hint(&missing.date, &err)
                }
                _ => err.hint(),
            };
            Err(anyhow::Error::from(err).context(Hint(hint)))
        }
    }
}
