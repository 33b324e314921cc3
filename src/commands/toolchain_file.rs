//! `crate-env toolchain-file`: writes rust-toolchain.toml from the lock
//! (channel = the pinned stable) and crate-env.nix (profile, components,
//! targets; `llvm-tools-preview` when `coverage = true`), so rustup users
//! and editors get the same toolchain. `--check` only compares.

use anyhow::{Context as _, Result};

use super::Context;
use crate::checks::{check_toolchain_file, render_toolchain_file, ExpectedToolchain};
use crate::cli::ToolchainFileArgs;
use crate::errors::{error_with_hint, ExitCode};
use crate::fsutil::atomic_write;
use crate::lock::Lock;
use crate::project::Project;
use crate::toolchain_file::{ToolchainFile, TOOLCHAIN_FILE};

pub fn run(ctx: &Context<'_>, args: &ToolchainFileArgs) -> Result<ExitCode> {
    let project = ctx.project()?;
    let (lock, _) = super::fresh_lock(
        &project,
        "run `crate-env lock --nixpkgs SPEC --rust-overlay SPEC` first",
        "run `crate-env lock` first",
    )?;
    let expected = expected(ctx, &project, &lock)?;
    let path = project.root.join(TOOLCHAIN_FILE);
    if args.check {
        let file = ToolchainFile::read_in(&project.root)?;
        let check = check_toolchain_file(file.as_ref(), &expected);
        if check.is_problem() {
            return Err(error_with_hint(
                check.message,
                check.fix.unwrap_or_default(),
            ));
        }
        ctx.ui.info(check.message);
        return Ok(ExitCode::SUCCESS);
    }
    let _state = ctx.lock_state(&project)?;
    atomic_write(&path, render_toolchain_file(&expected).as_bytes())?;
    ctx.ui.info(format!(
        "wrote {TOOLCHAIN_FILE} (channel {}, profile {})",
        expected.stable, expected.profile
    ));
    Ok(ExitCode::SUCCESS)
}

/// What rust-toolchain.toml must say: evaluates crate-env.nix's `request`
/// against the pinned inputs (one `nix-instantiate`).
pub(super) fn expected(
    ctx: &Context<'_>,
    project: &Project,
    lock: &Lock,
) -> Result<ExpectedToolchain> {
    let stable = lock.toolchains.stable.clone().ok_or_else(|| {
        error_with_hint(
            "crate-env.lock has no resolved stable toolchain",
            "run `crate-env lock`",
        )
    })?;
    let spinner = ctx.ui.spinner("evaluating crate-env.nix");
    let nix = ctx.nix(&spinner)?;
    let request = super::lock::evaluate_request(ctx, project, &nix, lock)
        .context("cannot read the toolchain crate-env.nix asks for")?;
    let mut components = request.rust.components.clone();
    if request.coverage && !components.iter().any(|c| c.starts_with("llvm-tools")) {
        components.push("llvm-tools-preview".to_owned());
    }
    Ok(ExpectedToolchain {
        stable,
        nightly: lock.toolchains.nightly.clone(),
        profile: request
            .rust
            .profile
            .clone()
            .unwrap_or_else(|| "default".into()),
        components,
        targets: request.rust.targets.clone(),
    })
}
