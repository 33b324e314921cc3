//! `crate-env materialise`: make sure the environment for the current lock
//! and config is built, rooted and cached (`--frozen`: never touch the lock).

use anyhow::Result;

use crate::cli::args::MaterialiseArgs;
use crate::cli::context::Context;
use crate::cli::errors::ExitCode;
use crate::environment::{ensure, RelockPolicy};
use crate::report::approve;

pub fn run(ctx: &Context<'_>, args: &MaterialiseArgs) -> Result<ExitCode> {
    let project = ctx.project()?;
    let policy = if args.frozen {
        RelockPolicy::Frozen
    } else {
        RelockPolicy::Relock
    };
    let outcome = ensure(ctx, &project, policy)?;
    approve(ctx, &project);
    if outcome.built {
        ctx.ui.info(format!(
            "materialised the environment (rooted in {})",
            project.display(&project.gcroots_dir())
        ));
    } else {
        ctx.ui.info("environment is up to date");
    }
    Ok(ExitCode::SUCCESS)
}
