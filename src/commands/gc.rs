//! `crate-env gc`: removes the GC roots this project's current lock and
//! config no longer use, or (`--all-projects`) those of every registered
//! project; prints each removed root on stdout and what the store can then
//! free on stderr. `--dry-run` only prints. Store paths stay: freeing them
//! is `nix-collect-garbage`'s job.

use std::time::SystemTime;

use anyhow::{Context as _, Result};

use crate::cli::args::GcArgs;
use crate::cli::context::{print_data, Context};
use crate::cli::errors::{error_with_hint, ExitCode};
use crate::gc::{self, Plan, Reason, Removal};

pub fn run(ctx: &Context<'_>, args: &GcArgs) -> Result<ExitCode> {
    let project = ctx.project().ok();
    let state_home = ctx.settings.state_home.value.as_deref();
    let plan = if args.all_projects {
        let state_home = state_home.ok_or_else(|| {
            error_with_hint(
                "no user state directory, so no registry of projects",
                "set HOME, XDG_STATE_HOME or CRATE_ENV_STATE_DIR",
            )
        })?;
        let current = project.as_ref().map(|p| p.root.as_path());
        let system = &ctx.settings.system.value;
        gc::plan_all(
            state_home,
            args.older_than,
            current,
            SystemTime::now(),
            system,
        )
        .context("cannot read the registry of projects")?
    } else {
        let project = ctx.project()?;
        Plan {
            removals: gc::plan_project(&project.root, &ctx.settings.system.value),
            forget: Vec::new(),
        }
    };
    let spinner = ctx.ui.spinner("computing what the store can free");
    let nix = ctx.nix(&spinner)?;
    let freeable = gc::freeable(&nix, &plan)?;
    drop(nix);
    spinner.finish();
    report(ctx, &plan, args.dry_run)?;
    if !args.dry_run {
        gc::apply(&plan, state_home).context("cannot remove the stale roots")?;
    }
    let verb = if args.dry_run {
        "would remove"
    } else {
        "removed"
    };
    let roots: usize = plan.removals.iter().map(|r| r.roots.len()).sum();
    ctx.ui.info(format!(
        "{verb} {roots} GC root(s); `nix-collect-garbage` can then free {} in {} store path(s)",
        human_bytes(freeable.bytes),
        freeable.paths
    ));
    Ok(ExitCode::SUCCESS)
}

/// Each removed root on stdout (`LINK -> STORE PATH`); why, on stderr.
fn report(ctx: &Context<'_>, plan: &Plan, dry_run: bool) -> Result<()> {
    let verb = if dry_run { "would remove" } else { "removing" };
    let mut stdout = String::new();
    for removal in &plan.removals {
        ctx.ui.info(format!(
            "{verb} {} ({})",
            removal.path.display(),
            why(removal)
        ));
        for (link, target) in &removal.roots {
            stdout.push_str(&format!("{} -> {}\n", link.display(), target.display()));
        }
    }
    for (_, root) in &plan.forget {
        ctx.ui.info(format!(
            "{} {} from the registry (it no longer exists)",
            if dry_run {
                "would forget"
            } else {
                "forgetting"
            },
            root.display()
        ));
    }
    print_data(&stdout)
}

fn why(removal: &Removal) -> String {
    match &removal.reason {
        Reason::OldGeneration { member } if member.is_empty() => {
            "a previous environment".to_owned()
        }
        Reason::OldGeneration { member } => format!("a previous environment of member {member}"),
        Reason::GoneMember { member } => format!("member {member} no longer exists"),
        Reason::OldLibrary => "a Nix library of another crate-env version".to_owned(),
        Reason::Untouched { days } => format!(
            "{} not activated for {days} day(s)",
            removal.project.display()
        ),
        Reason::GoneProject => format!("{} no longer exists", removal.project.display()),
        Reason::UndeclaredBuild { member, build } if member.is_empty() => {
            format!("build {build} is no longer in crate-env.nix")
        }
        Reason::UndeclaredBuild { member, build } => {
            format!("build {build} is no longer in member {member}'s crate-env.nix")
        }
        Reason::OldBuildToolchain { member } if member.is_empty() => {
            "a toolchain of an earlier lock, realised for buildStd".to_owned()
        }
        Reason::OldBuildToolchain { member } => {
            format!("a toolchain of an earlier lock of member {member}, realised for buildStd")
        }
    }
}

fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B ({bytes} bytes)")
    } else {
        format!("{value:.1} {} ({bytes} bytes)", UNITS[unit])
    }
}
