//! What several commands report the same way (so no command imports another): checks (`doctor`, `ci`), pins
//! (`lock`), whether crate-env.lock was written (`lock`, `update`), the
//! environment with a fallback warning (`env`, `exec`), and the approval a
//! typed command gives (docs/trust.md).

use anyhow::Result;

use crate::checks::{Check, Status};
use crate::cli::context::Context;
use crate::cli::errors::{error_with_hint, render_summary};
use crate::environment::ensure_or_last_good;
use crate::project::env_cache::CachedEnv;
use crate::project::lockfile::{pin_details, toolchain_summary, InputName, Lockfile};
use crate::project::Project;
use crate::trust::{self, Approval};

/// The environment for `env` and `exec`: materialised if needed, else the
/// last good one with a warning saying what failed.
pub fn environment_or_last_good(ctx: &Context<'_>, project: &Project) -> Result<CachedEnv> {
    let (env, failure) = ensure_or_last_good(ctx, project)?;
    if let Some(err) = failure {
        ctx.ui.warn(format!(
            "{}\nusing the last good environment instead",
            render_summary(&err, false)
        ));
    }
    approve(ctx, project);
    Ok(env)
}

/// A command a person typed evaluated the project: its current crate-env.nix
/// files and lock are approved for proxies and direnv, with a one-line
/// notice when that changes anything. Failing to record it only warns.
pub fn approve(ctx: &Context<'_>, project: &Project) {
    let root = project.root.display();
    match trust::approve(ctx.settings, project) {
        Ok(Approval::Unchanged) => {}
        Ok(Approval::Recorded { first: true }) => ctx.ui.info(format!(
            "crate-env: allowed {root} for proxies and direnv (`crate-env deny` turns them off)"
        )),
        Ok(Approval::Recorded { first: false }) => ctx
            .ui
            .info("crate-env: allowed the current crate-env.nix and lock for proxies and direnv"),
        Ok(Approval::StillDenied) => ctx.ui.info(format!(
            "crate-env: proxies and direnv stay off for {root} (`crate-env deny`); `crate-env allow` turns them on"
        )),
        Err(err) => ctx.ui.warn(format!(
            "crate-env: cannot record that you allowed {root}: {}",
            render_summary(&err.into(), false)
        )),
    }
}

/// Prints every check (`doctor`, `ci`); an error naming the problems if
/// there are any.
pub fn report_checks(ctx: &Context<'_>, checks: &[Check]) -> Result<()> {
    for check in checks {
        let line = format!("{:<20} {}", check.label(), check.message);
        match check.status {
            Status::Ok => ctx.ui.ok(line),
            Status::Skipped => ctx.ui.skipped(line),
            Status::Problem => {
                let fix = check.fix.as_deref().unwrap_or("");
                ctx.ui.problem(format!("{line}\n{:<20} fix: {fix}", ""));
            }
        }
    }
    let problems: Vec<String> = checks
        .iter()
        .filter(|c| c.is_problem())
        .map(Check::label)
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

/// One line per input (`nixpkgs       SPEC (rev 0123456789ab)`, with the
/// narHash too when `with_nar_hash`), then the toolchains: the summary of
/// `lock` and `lock --from-flake-lock`.
pub fn report_pins(ctx: &Context<'_>, lock: &Lockfile, with_nar_hash: bool) {
    for name in InputName::ALL {
        let input = lock.inputs.get(name);
        ctx.ui.info(format!(
            "{:<13} {} ({})",
            name.as_str(),
            input.spec,
            pin_details(input, with_nar_hash)
        ));
    }
    ctx.ui.info(format!(
        "{:<13} {}",
        "toolchains",
        toolchain_summary(&lock.toolchains)
    ));
}

/// The last line of `lock` and `update`: whether crate-env.lock changed.
pub fn report_written(ctx: &Context<'_>, project: &Project, changed: bool) {
    let path = project.display(&project.lock_file());
    if changed {
        ctx.ui.info(format!("wrote {path}"));
    } else {
        ctx.ui.info(format!("{path} is up to date"));
    }
}
