//! `crate-env toolchain-file`: writes rust-toolchain.toml from the lock
//! (channel = the pinned stable) and crate-env.nix (profile, components,
//! targets; `llvm-tools-preview` when `coverage = true`), so rustup users
//! and editors get the same toolchain. `--check` only compares. Always the
//! workspace root's toolchain (members are not rustup's business).

use anyhow::Result;

use crate::checks::rules::check_toolchain_file;
use crate::cli::args::ToolchainFileArgs;
use crate::cli::context::Context;
use crate::cli::errors::{error_with_hint, ExitCode};
use crate::locking::expected_toolchain;
use crate::project::fsutil::atomic_write;
use crate::project::toolchain_file::{render, ToolchainFile, TOOLCHAIN_FILE};
use crate::project::Project;

pub fn run(ctx: &Context<'_>, args: &ToolchainFileArgs) -> Result<ExitCode> {
    // rust-toolchain.toml is the workspace root's, whichever member we are in.
    let project = Project::new(ctx.project()?.root);
    let lock = ctx.fresh_lock(
        &project,
        "run `crate-env lock --nixpkgs SPEC --rust-overlay SPEC` first",
        "run `crate-env lock` first",
    )?;
    let expected = expected_toolchain(ctx, &project, &lock)?;
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
    let _state = ctx.state_lock(&project)?;
    let existing = match fs_err::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e.into()),
    };
    atomic_write(&path, render(&expected, existing.as_deref()).as_bytes())?;
    ctx.ui.info(format!(
        "wrote {TOOLCHAIN_FILE} (channel {}, profile {})",
        expected.stable, expected.profile
    ));
    Ok(ExitCode::SUCCESS)
}
