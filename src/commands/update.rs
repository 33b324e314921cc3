//! `crate-env update [INPUT]`: move inputs to the newest revision of their
//! ref, re-resolve the toolchains, and report what changed.

use anyhow::{Context as _, Result};

use super::Context;
use crate::cli::{UpdateArgs, UpdateInput};
use crate::errors::{error_with_hint, ExitCode};
use crate::lock::{InputName, Lock, LockedInput};
use crate::project::Project;

pub fn run(ctx: &Context<'_>, args: &UpdateArgs) -> Result<ExitCode> {
    let project = ctx.project()?;
    let _state = ctx.lock_state(&project)?;
    let old = read_lock(&project)?;
    let names = match args.input {
        None => InputName::ALL.to_vec(),
        Some(UpdateInput::Nixpkgs) => vec![InputName::Nixpkgs],
        Some(UpdateInput::RustOverlay) => vec![InputName::RustOverlay],
    };
    let spinner = ctx.ui.spinner("updating");
    let nix = ctx.nix(&spinner)?;
    let resolver = super::lock::resolver(ctx, &nix);
    let mut inputs = old.inputs.clone();
    for name in names {
        let spec = &old.inputs.get(name).spec;
        // Resolving the spec again asks its ref for the newest revision; a
        // spec that names a revision stays where it is.
        let moved = resolver
            .resolve(spec)
            .with_context(|| format!("cannot update input {} from `{spec}`", name.as_str()))?;
        match name {
            InputName::Nixpkgs => inputs.nixpkgs = moved,
            InputName::RustOverlay => inputs.rust_overlay = moved,
        }
    }
    let (new, reasons) = super::lock::resolve_lock_explained(ctx, &project, &nix, inputs)
        .context("cannot resolve the toolchains against the updated inputs")?;
    drop(nix);
    spinner.finish();
    let changed = super::lock::write_lock(&project, &new, Some(&old))?;
    report(ctx, &project, &old, &new, &reasons, changed);
    Ok(ExitCode::SUCCESS)
}

fn read_lock(project: &Project) -> Result<Lock> {
    let read = Lock::read(&project.lock_file())?;
    read.map(|(lock, _)| lock).ok_or_else(|| {
        error_with_hint(
            "crate-env.lock does not exist, so there is nothing to update",
            "run `crate-env lock --nixpkgs SPEC --rust-overlay SPEC` first",
        )
    })
}

fn report(
    ctx: &Context<'_>,
    project: &Project,
    old: &Lock,
    new: &Lock,
    reasons: &[String],
    changed: bool,
) {
    for name in InputName::ALL {
        let line = change(&pin(old.inputs.get(name)), &pin(new.inputs.get(name)));
        ctx.ui.info(format!("{:<13} {line}", name.as_str()));
    }
    let toolchain = |value: &Option<String>| value.clone().unwrap_or_else(|| "none".into());
    let (o, n) = (&old.toolchains, &new.toolchains);
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
        for reason in reasons {
            ctx.ui.info(format!("  {reason}"));
        }
    }
    super::lock::report_written(ctx, project, changed);
}

/// `rev 0123456789ab`, or the narHash of a tarball without a revision.
fn pin(input: &LockedInput) -> String {
    super::lock::pin_summary(input)
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
