//! `crate-env lock`: resolve inputs and toolchains into crate-env.lock.

use anyhow::{Context as _, Result};

use super::Context;
use crate::cli::LockArgs;
use crate::errors::{error_with_hint, ExitCode, HintExt};
use crate::fsutil::atomic_write;
use crate::inputs::{GitHubBases, Resolver};
use crate::lock::{config_stamp, InputName, Inputs, Lock, LockedInput, Toolchains, LOCK_VERSION};
use crate::nix::Nix;
use crate::nixlib;
use crate::project::Project;
use crate::request::Request;
use crate::resolve::resolve_toolchains;

pub fn run(ctx: &Context<'_>, args: &LockArgs) -> Result<ExitCode> {
    let project = ctx.project()?;
    if args.check {
        return check(ctx, &project);
    }
    let _state = ctx.lock_state(&project)?;
    let existing = read_existing(&project, args)?;
    let spinner = ctx.ui.spinner("locking");
    let nix = ctx.nix(&spinner)?;
    let inputs = resolve_inputs(ctx, &nix, args, existing.as_ref())?;
    let lock = resolve_lock(ctx, &project, &nix, inputs)?;
    drop(nix);
    spinner.finish();
    let changed = write_lock(&project, &lock, existing.as_ref())?;
    summarise(ctx, &project, &lock, changed);
    Ok(ExitCode::SUCCESS)
}

/// `--check`: no network, no writes; compares the lock with crate-env.nix.
fn check(ctx: &Context<'_>, project: &Project) -> Result<ExitCode> {
    let path = project.lock_file();
    let (lock, _) = Lock::read(&path)?.ok_or_else(|| {
        error_with_hint(
            "crate-env.lock does not exist",
            "run `crate-env lock --nixpkgs SPEC --rust-overlay SPEC`",
        )
    })?;
    let stamp = config_stamp(&project.root, &project.config_files())?;
    if !lock.is_fresh_for(&stamp) {
        return Err(error_with_hint(
            "crate-env.lock is stale: crate-env.nix changed since it was locked",
            "run `crate-env lock`",
        ));
    }
    ctx.ui.info("crate-env.lock is up to date");
    Ok(ExitCode::SUCCESS)
}

/// The current lock, if any. A lock that doesn't parse is an error unless
/// both specs are given, since then nothing is taken from it.
fn read_existing(project: &Project, args: &LockArgs) -> Result<Option<Lock>> {
    match Lock::read(&project.lock_file()) {
        Ok(lock) => Ok(lock.map(|(lock, _)| lock)),
        Err(_) if args.nixpkgs.is_some() && args.rust_overlay.is_some() => Ok(None),
        Err(err) => {
            Err(err).hint("fix or delete crate-env.lock, or pass both --nixpkgs and --rust-overlay")
        }
    }
}

fn resolve_inputs(
    ctx: &Context<'_>,
    nix: &Nix<'_>,
    args: &LockArgs,
    existing: Option<&Lock>,
) -> Result<Inputs> {
    let resolver = Resolver::new(
        nix,
        GitHubBases {
            git: ctx.settings.github_git_base.value.clone(),
            archive: ctx.settings.github_archive_base.value.clone(),
        },
    );
    let resolve = |name: InputName, flag: &Option<String>| -> Result<LockedInput> {
        let previous = existing.map(|lock| lock.inputs.get(name));
        let spec = match (flag, previous) {
            (Some(spec), _) => spec.clone(),
            (None, Some(previous)) => previous.spec.clone(),
            (None, None) => {
                return Err(error_with_hint(
                    format!("no spec for input {}", name.as_str()),
                    format!(
                        "pass {} SPEC, e.g. {} {}",
                        name.flag(),
                        name.flag(),
                        example_spec(name)
                    ),
                ))
            }
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
        nixpkgs: resolve(InputName::Nixpkgs, &args.nixpkgs)?,
        rust_overlay: resolve(InputName::RustOverlay, &args.rust_overlay)?,
    })
}

fn example_spec(name: InputName) -> &'static str {
    match name {
        InputName::Nixpkgs => "github:NixOS/nixpkgs/nixos-unstable",
        InputName::RustOverlay => "github:oxalica/rust-overlay/master",
    }
}

/// Evaluates what crate-env.nix asks for against the pinned inputs and picks
/// the toolchains. The caller holds the state lock.
pub(super) fn resolve_lock(
    ctx: &Context<'_>,
    project: &Project,
    nix: &Nix<'_>,
    inputs: Inputs,
) -> Result<Lock> {
    let config_files = project.config_files();
    let provisional = Lock {
        version: LOCK_VERSION,
        inputs,
        toolchains: Toolchains::default(),
        config: config_stamp(&project.root, &config_files)?,
    };
    let request = evaluate_request(ctx, project, nix, &provisional)?;
    let toolchains = resolve_toolchains(&request).map_err(|e| {
        let hint = e.hint();
        anyhow::Error::from(e).context(crate::Hint(hint))
    })?;
    Ok(Lock {
        toolchains,
        ..provisional
    })
}

fn evaluate_request(
    ctx: &Context<'_>,
    project: &Project,
    nix: &Nix<'_>,
    provisional: &Lock,
) -> Result<Request> {
    let lib = nixlib::extract(&project.lib_parent_dir())?;
    let lock_text = provisional.to_text();
    let config_json = super::materialise::config_files_json(project);
    let value = nix
        .eval_json(
            &lib,
            "request",
            &[
                ("lock", &lock_text),
                ("configFiles", &config_json),
                ("system", &ctx.settings.system.value),
            ],
        )
        .context("cannot evaluate crate-env.nix")?;
    Request::from_json(value).context("crate-env's Nix library returned an unexpected `request`")
}

/// Writes the lock unless it is unchanged; returns whether it changed.
pub(super) fn write_lock(project: &Project, lock: &Lock, existing: Option<&Lock>) -> Result<bool> {
    if existing == Some(lock) {
        return Ok(false);
    }
    atomic_write(&project.lock_file(), lock.to_text().as_bytes())?;
    Ok(true)
}

fn summarise(ctx: &Context<'_>, project: &Project, lock: &Lock, changed: bool) {
    for name in InputName::ALL {
        let input = lock.inputs.get(name);
        ctx.ui.info(format!(
            "{:<13} {} ({})",
            name.as_str(),
            input.spec,
            pin_summary(input)
        ));
    }
    ctx.ui.info(format!(
        "{:<13} {}",
        "toolchains",
        toolchain_summary(&lock.toolchains)
    ));
    let path = project.display(&project.lock_file());
    if changed {
        ctx.ui.info(format!("wrote {path}"));
    } else {
        ctx.ui.info(format!("{path} is up to date"));
    }
}

/// `rev 0123456789ab` or, for a tarball without a revision, its narHash.
pub(super) fn pin_summary(input: &LockedInput) -> String {
    match &input.rev {
        Some(rev) => format!("rev {}", &rev[..rev.len().min(12)]),
        None => input.nar_hash.clone(),
    }
}

pub(super) fn toolchain_summary(toolchains: &Toolchains) -> String {
    let stable = toolchains.stable.as_deref().unwrap_or("(unresolved)");
    match &toolchains.nightly {
        Some(nightly) => format!("stable {stable}, nightly {nightly}"),
        None => format!("stable {stable}"),
    }
}
