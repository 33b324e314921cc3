//! `crate-env exec -- CMD…`: replace crate-env with CMD inside the
//! environment. The shellHook does not run (it is for interactive shells).

use std::ffi::OsString;

use anyhow::Result;

use super::materialise::ensure_or_last_good;
use super::Context;
use crate::activate::activation_vars;
use crate::cli::ExecArgs;
use crate::errors::{ExitCode, RunError};

pub fn run(ctx: &Context<'_>, args: &ExecArgs) -> Result<ExitCode> {
    let project = ctx.project()?;
    let env = ensure_or_last_good(ctx, &project)?;
    let vars = activation_vars(&env, &project.root, caller_path().as_deref());
    exec_in(&vars, &args.command)
}

/// The caller's PATH, kept after the environment's.
pub(super) fn caller_path() -> Option<String> {
    std::env::var("PATH").ok().filter(|p| !p.is_empty())
}

/// Replaces this process with `argv` in the environment `vars` (on Unix;
/// elsewhere runs it and passes its exit code on). Returns only on error.
pub(super) fn exec_in(vars: &[(String, String)], argv: &[OsString]) -> Result<ExitCode> {
    let (program, rest) = argv.split_first().expect("clap requires a command");
    let mut command = std::process::Command::new(program);
    // With PATH set on the Command, std looks the program up in the new PATH.
    command.args(rest).envs(vars.iter().map(|(k, v)| (k, v)));
    let run_error = |source| RunError {
        program: program.to_string_lossy().into_owned(),
        source,
    };
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        Err(run_error(command.exec()).into())
    }
    #[cfg(not(unix))]
    {
        let status = command.status().map_err(run_error)?;
        Ok(ExitCode(status.code().unwrap_or(1)))
    }
}
