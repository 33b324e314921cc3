//! One thin file per subcommand: parse the arguments, call the core, report
//! to the user (through [`Ui`]), wrapping core errors with anyhow context and
//! hints. A command never imports another command; what several of them
//! report the same way is here.

mod cache;
mod ci;
mod direnv;
mod doctor;
mod env;
mod exec;
mod init;
mod lock;
mod materialise;
mod status;
mod toolchain_file;
mod update;

use anyhow::Result;

use crate::checks::{Check, Status};
use crate::cli::args::{CacheCommand, Command, EnvCommand};
use crate::cli::context::Context;
use crate::cli::errors::{error_with_hint, render_summary, ExitCode};
use crate::cli::settings::Settings;
use crate::cli::ui::Ui;
use crate::environment::ensure_or_last_good;
use crate::project::env_cache::CachedEnv;
use crate::project::lockfile::{
    freshness, pin_summary, toolchain_summary, Freshness, InputName, Lockfile, MISSING_LOCK,
    STALE_LOCK,
};
use crate::project::Project;

pub fn dispatch(command: Command, settings: &Settings, ui: &Ui) -> Result<ExitCode> {
    let ctx = Context { settings, ui };
    match command {
        Command::Init => init::run(&ctx),
        Command::Lock(args) => lock::run(&ctx, &args),
        Command::Update(args) => update::run(&ctx, &args),
        Command::Materialise(args) => materialise::run(&ctx, &args),
        Command::Env(EnvCommand::Enter(args)) => env::enter(&ctx, &args),
        Command::Env(EnvCommand::Print(args)) => env::print(&ctx, &args),
        Command::Exec(args) => exec::run(&ctx, &args),
        Command::Status(args) => status::run(&ctx, &args),
        Command::Direnv(args) => direnv::run(&ctx, &args),
        Command::Doctor => doctor::run(&ctx),
        Command::Ci(args) => ci::run(&ctx, &args),
        Command::ToolchainFile(args) => toolchain_file::run(&ctx, &args),
        Command::Cache(CacheCommand::Push(args)) => cache::push(&ctx, &args),
    }
}

/// The lock, which must exist and be fresh; the hints say how to get there.
fn fresh_lock(project: &Project, missing_hint: &str, stale_hint: &str) -> Result<Lockfile> {
    match freshness(project)? {
        Freshness::Fresh { lock, .. } => Ok(lock),
        Freshness::Missing => Err(error_with_hint(MISSING_LOCK, missing_hint)),
        Freshness::Stale { .. } => Err(error_with_hint(STALE_LOCK, stale_hint)),
    }
}

/// The environment for `env` and `exec`: materialised if needed, else the
/// last good one with a warning saying what failed.
fn environment_or_last_good(ctx: &Context<'_>, project: &Project) -> Result<CachedEnv> {
    let (env, failure) = ensure_or_last_good(ctx, project)?;
    if let Some(err) = failure {
        ctx.ui.warn(format!(
            "{}\nusing the last good environment instead",
            render_summary(&err, false)
        ));
    }
    Ok(env)
}

/// Prints every check (`doctor`, `ci`); an error naming the problems if
/// there are any.
fn report_checks(ctx: &Context<'_>, checks: &[Check]) -> Result<()> {
    for check in checks {
        let line = format!("{:<20} {}", check.name, check.message);
        match check.status {
            Status::Ok => ctx.ui.ok(line),
            Status::Skipped => ctx.ui.skipped(line),
            Status::Problem => {
                let fix = check.fix.as_deref().unwrap_or("");
                ctx.ui.problem(format!("{line}\n{:<20} fix: {fix}", ""));
            }
        }
    }
    let problems: Vec<&str> = checks
        .iter()
        .filter(|c| c.is_problem())
        .map(|c| c.name)
        .collect();
    if problems.is_empty() {
        return Ok(());
    }
    Err(error_with_hint(
        format!(
            "{} check(s) found drift: {}",
            problems.len(),
            problems.join(", ")
        ),
        "change what each `fix:` line above says, then run `crate-env doctor` again",
    ))
}

/// One line per input (`nixpkgs       SPEC (rev 0123456789ab)`), then the
/// toolchains: the summary `lock` prints.
fn report_pins(ctx: &Context<'_>, lock: &Lockfile) {
    for name in InputName::ALL {
        let input = lock.inputs.get(name);
        ctx.ui.info(format!(
            "{:<13} {} ({})",
            name.as_str(),
            input.spec,
            pin_summary(input)
        ));
    }
    ctx.ui.info(format!(
        "{:<13} {}",
        "toolchains",
        toolchain_summary(&lock.toolchains)
    ));
}

/// The last line of `lock` and `update`: whether crate-env.lock changed.
fn report_written(ctx: &Context<'_>, project: &Project, changed: bool) {
    let path = project.display(&project.lock_file());
    if changed {
        ctx.ui.info(format!("wrote {path}"));
    } else {
        ctx.ui.info(format!("{path} is up to date"));
    }
}
