//! `crate-env deny`: turn implicit activation (proxies, direnv) off for the
//! project until `crate-env allow`. docs/trust.md.

use anyhow::Result;

use crate::cli::context::Context;
use crate::cli::errors::{ExitCode, HintExt};
use crate::trust;

pub fn run(ctx: &Context<'_>) -> Result<ExitCode> {
    let project = ctx.project()?;
    let changed = trust::deny(ctx.settings, &project)
        .hint("set CRATE_ENV_STATE_DIR or XDG_STATE_HOME to a writable directory")?;
    ctx.ui.info(if changed {
        format!(
            "denied {}: proxies and direnv will not activate it (explicit commands still work; `crate-env allow` undoes this)",
            project.root.display()
        )
    } else {
        format!("{} was already denied", project.root.display())
    });
    Ok(ExitCode::SUCCESS)
}
