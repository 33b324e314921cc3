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

use crate::cli::context::Context;
use crate::cli::errors::describe;
use crate::inputs::flake_lock;
use crate::locking::{resolve_lock, Locked};
use crate::project::lockfile::{
    config_stamp, toolchain_summary, write_if_changed, Inputs, Lockfile, Toolchains, LOCK_VERSION,
};
use crate::project::toolchain_file::{ToolchainFile, TOOLCHAIN_FILE};
use crate::project::Project;
use crate::versions::parse_release;

/// The lock as written, and the warning to show when its toolchains could
/// not be verified (the inputs could not be fetched).
pub struct FromFlakeLock {
    pub locked: Locked,
    pub unverified: Option<String>,
}

/// See the module docs.
pub fn lock(ctx: &Context<'_>, project: &Project, file: &Path) -> Result<FromFlakeLock> {
    let flake = flake_lock::read(file, &ctx.settings.github_archive_base.value)
        .context("cannot lock from a flake.lock")?;
    let inputs = Inputs {
        nixpkgs: flake.nixpkgs,
        rust_overlay: flake.rust_overlay,
    };
    let _state = ctx.state_lock(project)?;
    let existing = Lockfile::read(&project.lock_file())
        .ok()
        .flatten()
        .map(|(l, _)| l);
    let spinner = ctx.ui.spinner("resolving toolchains");
    let nix = ctx.nix(&spinner)?;
    let (lock, unverified) = match resolve_lock(ctx, project, &nix, inputs.clone()) {
        Ok(lock) => (lock, None),
        Err(err) if is_fetch_failure(&err) => {
            let toolchains = toolchains_from_file(project)?;
            let warning = unverified_warning(&err, &toolchains);
            let lock = Lockfile {
                version: LOCK_VERSION,
                inputs,
                toolchains,
                config: config_stamp(&project.root, &project.config_files())?,
                members: Default::default(),
            };
            (lock, Some(warning))
        }
        Err(err) => return Err(err),
    };
    drop(nix);
    spinner.finish();
    let changed = write_if_changed(project, &lock, existing.as_ref())?;
    let locked = Locked {
        lock,
        reasons: vec![],
        changed,
    };
    Ok(FromFlakeLock { locked, unverified })
}

fn unverified_warning(err: &anyhow::Error, toolchains: &Toolchains) -> String {
    let (message, _, _) = describe(err);
    let cause = err
        .chain()
        .map(|e| e.to_string())
        .find(|t| t.contains("unable to download") || t.contains("fetching Git"))
        .and_then(|t| t.lines().find(|l| l.contains("error:")).map(str::to_owned))
        .unwrap_or(message);
    format!(
        "the pinned inputs cannot be fetched here, so the toolchains are not verified against rust-overlay:\n{cause}\n\
         wrote the toolchains named by {TOOLCHAIN_FILE} ({}); run `crate-env lock` where the inputs can be fetched to verify them",
        toolchain_summary(toolchains)
    )
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
    Ok(Toolchains {
        stable: channel.filter(|c| parse_release(c).is_some()),
        nightly: file
            .as_ref()
            .and_then(|f| f.nightly_date().map(str::to_owned)),
    })
}
