//! `crate-env allow`: approve the project's current crate-env.nix files and
//! lock for implicit activation (proxies, direnv). docs/trust.md.

use anyhow::Result;

use crate::cli::context::Context;
use crate::cli::errors::{ExitCode, HintExt};
use crate::trust;

pub fn run(ctx: &Context<'_>) -> Result<ExitCode> {
    let project = ctx.project()?;
    let (record, changed) = trust::allow(ctx.settings, &project)
        .hint("set CRATE_ENV_STATE_DIR or XDG_STATE_HOME to a writable directory")?;
    let files: Vec<String> = record
        .files
        .iter()
        .map(|f| project.display(&f.path))
        .collect();
    ctx.ui.info(if changed {
        format!(
            "allowed {} ({}) for proxies and direnv",
            project.root.display(),
            files.join(", ")
        )
    } else {
        format!("{} was already allowed", project.root.display())
    });
    Ok(ExitCode::SUCCESS)
}
