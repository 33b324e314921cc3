//! Evaluating crate-env.nix against pinned inputs (the Nix library's
//! `request`), and resolving specs into pinned inputs: the two steps every
//! locking pipeline (and the snapshot search) repeats.

use anyhow::{Context as _, Result};

use crate::cli::context::Context;
use crate::cli::errors::error_with_hint;
use crate::inputs::{GitHubBases, Resolver};
use crate::nix::request::Request;
use crate::nix::Nix;
use crate::project::lockfile::Lockfile;
use crate::project::toolchain_file::ExpectedToolchain;
use crate::project::Project;

/// Resolves specs with the GitHub bases of the settings.
pub fn resolver<'n, 'o>(ctx: &Context<'_>, nix: &'n Nix<'o>) -> Resolver<'n, 'o> {
    Resolver::new(
        nix,
        GitHubBases {
            git: ctx.settings.github_git_base.value.clone(),
            archive: ctx.settings.github_archive_base.value.clone(),
        },
    )
}

/// What crate-env.nix asks for (the Nix library's `request`), evaluated
/// against the inputs `lock` pins.
pub fn evaluate_request(
    ctx: &Context<'_>,
    project: &Project,
    nix: &Nix<'_>,
    lock: &Lockfile,
) -> Result<Request> {
    let library = project.library(&ctx.settings.system.value)?;
    let value = library
        .eval(nix, "request", &lock.to_text())
        .context("cannot evaluate crate-env.nix")?;
    Request::from_json(value).context("crate-env's Nix library returned an unexpected `request`")
}

/// What rust-toolchain.toml must say: the lock's toolchains with what
/// crate-env.nix asks for (one `nix-instantiate`).
pub fn expected_toolchain(
    ctx: &Context<'_>,
    project: &Project,
    lock: &Lockfile,
) -> Result<ExpectedToolchain> {
    let stable = lock.toolchains.stable.clone().ok_or_else(|| {
        error_with_hint(
            "crate-env.lock has no resolved stable toolchain",
            "run `crate-env lock`",
        )
    })?;
    let spinner = ctx.ui.spinner("evaluating crate-env.nix");
    let nix = ctx.nix(&spinner)?;
    let request = evaluate_request(ctx, project, &nix, lock)
        .context("cannot read the toolchain crate-env.nix asks for")?;
    Ok(ExpectedToolchain::new(
        stable,
        lock.toolchains.nightly.clone(),
        &request,
    ))
}
