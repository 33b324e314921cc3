//! `crate-env lock --from-flake-lock FILE`: pin nixpkgs and rust-overlay
//! exactly as an existing flake.lock does (docs/ci.md, "Locking from a
//! flake.lock").
//!
//! The inputs are written as the flake.lock has them, without downloading
//! anything. The toolchains are then resolved against those inputs, which
//! needs them fetched. If they cannot be fetched (offline, a mirror without
//! that revision), the lock is still written, with the toolchains named by
//! the project's rust-toolchain.toml (an exact `X.Y.Z` channel and a
//! `nightly-DATE`), marked unverified by a warning; `crate-env lock` later
//! verifies them without moving the inputs.

use std::path::Path;

use anyhow::{Context as _, Result};

use super::Context;
use crate::errors::{describe, ExitCode};
use crate::flakelock;
use crate::lock::{config_stamp, Inputs, Lock, Toolchains, LOCK_VERSION};
use crate::project::Project;
use crate::toolchain_file::{ToolchainFile, TOOLCHAIN_FILE};

pub fn run(ctx: &Context<'_>, project: &Project, file: &Path) -> Result<ExitCode> {
    let flake = flakelock::read(file, &ctx.settings.github_archive_base.value)
        .context("cannot lock from a flake.lock")?;
    let inputs = Inputs {
        nixpkgs: flake.nixpkgs,
        rust_overlay: flake.rust_overlay,
    };
    let _state = ctx.lock_state(project)?;
    let existing = Lock::read(&project.lock_file())
        .ok()
        .flatten()
        .map(|(l, _)| l);
    let spinner = ctx.ui.spinner("resolving toolchains");
    let nix = ctx.nix(&spinner)?;
    let lock = match super::lock::resolve_lock(ctx, project, &nix, inputs.clone()) {
        Ok(lock) => lock,
        Err(err) if is_fetch_failure(&err) => {
            let toolchains = toolchains_from_file(project)?;
            let (message, _, _) = describe(&err);
            let cause = err
                .chain()
                .map(|e| e.to_string())
                .find(|t| t.contains("unable to download") || t.contains("fetching Git"))
                .and_then(|t| t.lines().find(|l| l.contains("error:")).map(str::to_owned))
                .unwrap_or(message);
            ctx.ui.warn(format!(
                "the pinned inputs cannot be fetched here, so the toolchains are not verified against rust-overlay:\n{cause}\n\
                 wrote the toolchains named by {TOOLCHAIN_FILE} ({}); run `crate-env lock` where the inputs can be fetched to verify them",
                super::lock::toolchain_summary(&toolchains)
            ));
            Lock {
                version: LOCK_VERSION,
                inputs,
                toolchains,
                config: config_stamp(&project.root, &project.config_files())?,
            }
        }
        Err(err) => return Err(err),
    };
    drop(nix);
    spinner.finish();
    let changed = super::lock::write_lock(project, &lock, existing.as_ref())?;
    for (name, input) in [
        ("nixpkgs", &lock.inputs.nixpkgs),
        ("rust-overlay", &lock.inputs.rust_overlay),
    ] {
        ctx.ui.info(format!(
            "{name:<13} {} ({}, {})",
            input.spec,
            super::lock::pin_summary(input),
            input.nar_hash
        ));
    }
    ctx.ui.info(format!(
        "{:<13} {}",
        "toolchains",
        super::lock::toolchain_summary(&lock.toolchains)
    ));
    let path = project.display(&project.lock_file());
    ctx.ui.info(if changed {
        format!("wrote {path} from {}", file.display())
    } else {
        format!("{path} is up to date")
    });
    Ok(ExitCode::SUCCESS)
}

/// Nix could not download a tarball or fetch a git revision.
fn is_fetch_failure(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        let text = e.to_string();
        text.contains("unable to download") || text.contains("fetching Git repository")
    })
}

/// `stable` from an exact `X.Y.Z` channel, `nightly` from `nightly-DATE`.
fn toolchains_from_file(project: &Project) -> Result<Toolchains> {
    let file = ToolchainFile::read_in(&project.root)?;
    let channel = file.as_ref().and_then(|f| f.toolchain.channel.clone());
    let exact = channel
        .filter(|c| c.split('.').count() == 3 && c.split('.').all(|p| p.parse::<u64>().is_ok()));
    Ok(Toolchains {
        stable: exact,
        nightly: file
            .as_ref()
            .and_then(|f| f.nightly_date().map(str::to_owned)),
    })
}
