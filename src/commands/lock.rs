//! `crate-env lock`: resolve inputs and toolchains into crate-env.lock
//! (`--check` only compares; `--from-flake-lock` takes a flake's pins).

use std::path::Path;

use anyhow::Result;

use crate::cli::args::LockArgs;
use crate::cli::context::Context;
use crate::cli::errors::ExitCode;
use crate::locking::{self, from_flake_lock, Specs};
use crate::project::Project;
use crate::report::{approve, report_pins, report_written};

pub fn run(ctx: &Context<'_>, args: &LockArgs) -> Result<ExitCode> {
    let project = ctx.project()?;
    if args.check {
        return check(ctx, &project);
    }
    if let Some(file) = &args.from_flake_lock {
        return from_flake(ctx, &project, file);
    }
    let specs = Specs {
        nixpkgs: args.nixpkgs.clone(),
        rust_overlay: args.rust_overlay.clone(),
    };
    let locked = locking::lock(ctx, &project, &specs)?;
    report_pins(ctx, &locked.lock, false);
    for reason in &locked.reasons {
        ctx.ui.info(format!("  {reason}"));
    }
    report_written(ctx, &project, locked.changed);
    approve(ctx, &project);
    Ok(ExitCode::SUCCESS)
}

/// `--check`: no network, no writes; compares the lock with the crate-env.nix
/// files of the root and of every member (the first stale one is named).
fn check(ctx: &Context<'_>, project: &Project) -> Result<ExitCode> {
    for member in project.workspace() {
        ctx.fresh_lock(
            &member,
            "run `crate-env lock --nixpkgs SPEC --rust-overlay SPEC`",
            "run `crate-env lock`",
        )?;
    }
    ctx.ui.info("crate-env.lock is up to date (every member)");
    Ok(ExitCode::SUCCESS)
}

/// `--from-flake-lock FILE`: the pins, with their narHash, and where from.
fn from_flake(ctx: &Context<'_>, project: &Project, file: &Path) -> Result<ExitCode> {
    let imported = from_flake_lock::lock(ctx, project, file)?;
    approve(ctx, project);
    if let Some(warning) = &imported.unverified {
        ctx.ui.warn(warning);
    }
    report_pins(ctx, &imported.locked.lock, true);
    let path = project.display(&project.lock_file());
    ctx.ui.info(if imported.locked.changed {
        format!("wrote {path} from {}", file.display())
    } else {
        format!("{path} is up to date")
    });
    Ok(ExitCode::SUCCESS)
}
