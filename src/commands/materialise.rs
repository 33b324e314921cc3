//! `crate-env materialise`: make sure the environment for the current lock
//! and config is built, rooted and cached, for the member at hand or
//! (`--all`) every member (`--frozen`: never touch the lock).

use anyhow::{Context as _, Result};

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
    let targets = if args.all {
        project.workspace()
    } else {
        vec![project]
    };
    for target in &targets {
        let whose = if target.is_root() {
            "the environment".to_owned()
        } else {
            format!("the environment of member {}", target.member)
        };
        let outcome =
            ensure(ctx, target, policy).with_context(|| format!("cannot materialise {whose}"))?;
        if outcome.built {
            ctx.ui.info(format!(
                "materialised {whose} (rooted in {})",
                target.display(&target.gcroots_dir())
            ));
        } else {
            ctx.ui.info(format!("{whose} is up to date"));
        }
    }
    // One approval covers every member (docs/trust.md).
    approve(ctx, &targets[0]);
    Ok(ExitCode::SUCCESS)
}
