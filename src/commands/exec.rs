//! `crate-env exec -- CMD…`: replace crate-env with CMD inside the
//! environment. The shellHook does not run (it is for interactive shells).

use anyhow::Result;

use crate::cli::args::ExecArgs;
use crate::cli::context::Context;
use crate::cli::errors::ExitCode;
use crate::environment::vars::{activation_vars, caller_path, exec_in};
use crate::report::environment_or_last_good;

pub fn run(ctx: &Context<'_>, args: &ExecArgs) -> Result<ExitCode> {
    let project = ctx.project()?;
    let env = environment_or_last_good(ctx, &project)?;
    let vars = activation_vars(&env, &project, caller_path().as_deref());
    exec_in(&vars, &args.command)
}
