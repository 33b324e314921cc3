//! `crate-env update [INPUT]`: move inputs to the newest revision of their
//! ref, re-resolve the toolchains, and report what changed.

use anyhow::Result;

use crate::cli::args::{UpdateArgs, UpdateInput};
use crate::cli::context::Context;
use crate::cli::errors::ExitCode;
use crate::locking::{self, Locked};
use crate::project::lockfile::{pin_summary, InputName, Lockfile};
use crate::project::Project;
use crate::report::{approve, report_written};

pub fn run(ctx: &Context<'_>, args: &UpdateArgs) -> Result<ExitCode> {
    let project = ctx.project()?;
    let names = match args.input {
        None => InputName::ALL.to_vec(),
        Some(UpdateInput::Nixpkgs) => vec![InputName::Nixpkgs],
        Some(UpdateInput::RustOverlay) => vec![InputName::RustOverlay],
    };
    let (old, new) = locking::update(ctx, &project, &names)?;
    report(ctx, &project, &old, &new);
    approve(ctx, &project);
    Ok(ExitCode::SUCCESS)
}

fn report(ctx: &Context<'_>, project: &Project, old: &Lockfile, new: &Locked) {
    for name in InputName::ALL {
        let line = change(
            &pin_summary(old.inputs.get(name)),
            &pin_summary(new.lock.inputs.get(name)),
        );
        ctx.ui.info(format!("{:<13} {line}", name.as_str()));
    }
    let toolchain = |value: &Option<String>| value.clone().unwrap_or_else(|| "none".into());
    let (o, n) = (&old.toolchains, &new.lock.toolchains);
    ctx.ui.info(format!(
        "{:<13} {}",
        "stable",
        change(&toolchain(&o.stable), &toolchain(&n.stable))
    ));
    if o.nightly.is_some() || n.nightly.is_some() {
        ctx.ui.info(format!(
            "{:<13} {}",
            "nightly",
            change(&toolchain(&o.nightly), &toolchain(&n.nightly))
        ));
    }
    if o != n {
        for reason in &new.reasons {
            ctx.ui.info(format!("  {reason}"));
        }
    }
    report_written(ctx, project, new.changed);
}

/// `old → new`, or `old (unchanged)`.
fn change(old: &str, new: &str) -> String {
    if old == new {
        format!("{old} (unchanged)")
    } else {
        format!("{old} → {new}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_read_old_to_new() {
        assert_eq!(change("1.95.0", "1.96.0"), "1.95.0 → 1.96.0");
        assert_eq!(change("rev abc", "rev abc"), "rev abc (unchanged)");
    }
}
