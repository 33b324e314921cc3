//! `crate-env doctor`: the compatibility checks of the design contract,
//! each printed as ok / problem (with what differs and what to change) /
//! skipped, for the root and every workspace member. Exit 1 on any
//! problem. `crate-env ci` runs the same checks.

use anyhow::Result;

use crate::checks::doctor::collect_workspace;
use crate::cli::context::Context;
use crate::cli::errors::ExitCode;
use crate::report::report_checks;

pub fn run(ctx: &Context<'_>) -> Result<ExitCode> {
    let project = ctx.project()?;
    let checks = collect_workspace(ctx, &project)?;
    report_checks(ctx, &checks)?;
    Ok(ExitCode::SUCCESS)
}
