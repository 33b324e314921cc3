//! `crate-env lock`: resolve inputs and toolchains into crate-env.lock.

use anyhow::{Context as _, Result};

use super::Context;
use crate::cli::LockArgs;
use crate::errors::{error_with_hint, ExitCode, Hint, HintExt};
use crate::fsutil::atomic_write;
use crate::inputs::{GitHubBases, Resolver};
use crate::lock::{config_stamp, InputName, Inputs, Lock, LockedInput, Toolchains, LOCK_VERSION};
use crate::nix::Nix;
use crate::nixlib;
use crate::project::Project;
use crate::request::Request;
use crate::resolve::{resolve_toolchains, ResolveError};
use crate::shell::quote_posix_if_needed;
use crate::snapshot;
use crate::spec::Spec;

/// How many `snapshot/*` tags a missing nightly is looked up in (each costs
/// a fetch and an evaluation).
const SNAPSHOTS_TRIED: usize = 3;

pub fn run(ctx: &Context<'_>, args: &LockArgs) -> Result<ExitCode> {
    let project = ctx.project()?;
    if args.check {
        return check(ctx, &project);
    }
    if let Some(file) = &args.from_flake_lock {
        return super::flake_import::run(ctx, &project, file);
    }
    let _state = ctx.lock_state(&project)?;
    let existing = read_existing(&project, args)?;
    let spinner = ctx.ui.spinner("locking");
    let nix = ctx.nix(&spinner)?;
    let inputs = resolve_inputs(ctx, &nix, args, existing.as_ref())?;
    let (lock, reasons) = resolve_lock_explained(ctx, &project, &nix, inputs)?;
    drop(nix);
    spinner.finish();
    let changed = write_lock(&project, &lock, existing.as_ref())?;
    summarise(ctx, &project, &lock, changed, &reasons);
    Ok(ExitCode::SUCCESS)
}

/// `--check`: no network, no writes; compares the lock with crate-env.nix.
fn check(ctx: &Context<'_>, project: &Project) -> Result<ExitCode> {
    super::fresh_lock(
        project,
        "run `crate-env lock --nixpkgs SPEC --rust-overlay SPEC`",
        "run `crate-env lock`",
    )?;
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
    let resolver = resolver(ctx, nix);
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

pub(super) fn resolver<'n, 'o>(ctx: &Context<'_>, nix: &'n Nix<'o>) -> Resolver<'n, 'o> {
    Resolver::new(
        nix,
        GitHubBases {
            git: ctx.settings.github_git_base.value.clone(),
            archive: ctx.settings.github_archive_base.value.clone(),
        },
    )
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
    resolve_lock_explained(ctx, project, nix, inputs).map(|(lock, _)| lock)
}

/// Like [`resolve_lock`], also returning why each toolchain was chosen. A
/// nightly the overlay purged is looked up in its `snapshot/*` tags, and the
/// error's hint names the `crate-env lock` that pins one.
pub(super) fn resolve_lock_explained(
    ctx: &Context<'_>,
    project: &Project,
    nix: &Nix<'_>,
    inputs: Inputs,
) -> Result<(Lock, Vec<String>)> {
    let config_files = project.config_files();
    let provisional = Lock {
        version: LOCK_VERSION,
        inputs,
        toolchains: Toolchains::default(),
        config: config_stamp(&project.root, &config_files)?,
    };
    let request = evaluate_request(ctx, project, nix, &provisional)?;
    match resolve_toolchains(&request) {
        Ok(resolution) => Ok((
            Lock {
                toolchains: resolution.toolchains,
                ..provisional
            },
            resolution.reasons,
        )),
        Err(err) => {
            let hint = match &err {
                ResolveError::NightlyNotAvailable(missing) if err.is_pruned() => {
                    snapshot_hint(ctx, project, nix, &provisional, &missing.date, &err)
                }
                _ => err.hint(),
            };
            Err(anyhow::Error::from(err).context(Hint(hint)))
        }
    }
}

/// A snapshot tag that has the nightly, as a command to run.
struct SnapshotFound {
    tag: String,
    spec: String,
    /// Why the whole request still fails with it (e.g. the stable is newer).
    problem: Option<String>,
}

fn snapshot_hint(
    ctx: &Context<'_>,
    project: &Project,
    nix: &Nix<'_>,
    provisional: &Lock,
    date: &str,
    err: &ResolveError,
) -> String {
    let overlay_spec = &provisional.inputs.rust_overlay.spec;
    let Ok(spec) = Spec::parse(overlay_spec) else {
        return err.hint();
    };
    let Some(url) = snapshot::git_url(&spec, &ctx.settings.github_git_base.value) else {
        return format!(
            "{}\n(the rust-overlay spec is a tarball URL, so crate-env cannot list its tags)",
            err.hint()
        );
    };
    ctx.ui.info(format!(
        "nightly {date} is gone from the pinned rust-overlay; looking for a snapshot tag that has it"
    ));
    match find_snapshot(ctx, project, nix, provisional, &spec, &url, date) {
        Ok(Some(found)) => {
            let command = format!(
                "crate-env lock{} --rust-overlay {}",
                nixpkgs_flag(project, provisional),
                quote_posix_if_needed(&found.spec)
            );
            match found.problem {
                None => format!(
                    "rust-overlay's tag `{}` still has nightly {date}; pin it with:\n    {command}",
                    found.tag
                ),
                Some(problem) => format!(
                    "rust-overlay's tag `{}` still has nightly {date}, but with it: {problem}\n\
                     adjust crate-env.nix, then pin it with:\n    {command}",
                    found.tag
                ),
            }
        }
        Ok(None) => format!(
            "no `snapshot/*` tag of {url} after {date} has that nightly; \
             pin a rust-overlay revision from before its purge (`git+URL?rev=REV`), or set nightly.date to a date it has"
        ),
        Err(search) => format!("{}\n(looking for a snapshot tag failed: {search:#})", err.hint()),
    }
}

/// ` --nixpkgs SPEC` unless crate-env.lock already pins that spec, so the
/// suggested command works without the lock this run failed to write.
fn nixpkgs_flag(project: &Project, provisional: &Lock) -> String {
    let spec = &provisional.inputs.nixpkgs.spec;
    let existing = Lock::read(&project.lock_file()).ok().flatten();
    if existing.is_some_and(|(lock, _)| &lock.inputs.nixpkgs.spec == spec) {
        String::new()
    } else {
        format!(" --nixpkgs {}", quote_posix_if_needed(spec))
    }
}

/// The newest snapshot tag after `date` whose overlay has the nightly,
/// preferring one with which the whole request resolves.
fn find_snapshot(
    ctx: &Context<'_>,
    project: &Project,
    nix: &Nix<'_>,
    provisional: &Lock,
    spec: &Spec,
    url: &str,
    date: &str,
) -> Result<Option<SnapshotFound>> {
    let tags = snapshot::candidates(&snapshot::list_tags(url)?, date);
    let resolver = resolver(ctx, nix);
    let mut carrying = None;
    for tag in tags.into_iter().take(SNAPSHOTS_TRIED) {
        let Some(tag_spec) = snapshot::spec_at_tag(spec, &tag) else {
            break;
        };
        let tag_spec = tag_spec.to_string();
        let mut trial = provisional.clone();
        trial.inputs.rust_overlay = resolver
            .resolve(&tag_spec)
            .with_context(|| format!("cannot fetch rust-overlay at {tag}"))?;
        let request = evaluate_request(ctx, project, nix, &trial)?;
        if !request.available.nightly.iter().any(|d| d == date) {
            continue;
        }
        let problem = resolve_toolchains(&request).err().map(|e| e.to_string());
        let found = SnapshotFound {
            tag,
            spec: tag_spec,
            problem,
        };
        if found.problem.is_none() {
            return Ok(Some(found));
        }
        carrying.get_or_insert(found);
    }
    Ok(carrying)
}

pub(super) fn evaluate_request(
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

fn summarise(ctx: &Context<'_>, project: &Project, lock: &Lock, changed: bool, reasons: &[String]) {
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
    for reason in reasons {
        ctx.ui.info(format!("  {reason}"));
    }
    report_written(ctx, project, changed);
}

/// The last line of `lock` and `update`: whether crate-env.lock changed.
pub(super) fn report_written(ctx: &Context<'_>, project: &Project, changed: bool) {
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
