//! `crate-env init`: start a project's crate-env files.

use std::path::Path;

use anyhow::{Context as _, Result};

use crate::cli::context::Context;
use crate::cli::errors::{ExitCode, HintExt};
use crate::project::fsutil::{atomic_create, atomic_write, FsError};
use crate::project::template::{render, Seed};
use crate::project::toolchain_file::{ToolchainFile, TOOLCHAIN_FILE};
use crate::project::{config_path, gitignore_with_state_dir};

const ENVRC_LINE: &str = "use crate_env";

pub fn run(ctx: &Context<'_>) -> Result<ExitCode> {
    // init works in the start directory itself, not in a parent project.
    let dir = &ctx.settings.start_dir.value;
    let toolchain_file = ToolchainFile::read_in(dir)?;
    let seed = toolchain_file
        .as_ref()
        .map(Seed::from_toolchain_file)
        .unwrap_or_default();
    write_config(dir, &seed)?;
    match &toolchain_file {
        Some(_) => ctx
            .ui
            .info(format!("wrote crate-env.nix (from {TOOLCHAIN_FILE})")),
        None => ctx.ui.info("wrote crate-env.nix"),
    }
    if update_file(&dir.join(".envrc"), with_envrc_line)? {
        ctx.ui.info("wrote .envrc (`use crate_env`, for direnv)");
    }
    if update_file(&dir.join(".gitignore"), |text| {
        gitignore_with_state_dir(text)
    })? {
        ctx.ui.info("added .crate-env/ to .gitignore");
    }
    ctx.ui.info(
        "next: `crate-env lock --nixpkgs SPEC --rust-overlay SPEC`, then `crate-env materialise`",
    );
    Ok(ExitCode::SUCCESS)
}

fn write_config(dir: &Path, seed: &Seed) -> Result<()> {
    let path = config_path(dir);
    match atomic_create(&path, render(seed).as_bytes()) {
        Err(FsError::Exists { path }) => Err(anyhow::anyhow!("{} already exists", path.display()))
            .hint("edit it, or delete it to start from the template again"),
        other => other.map_err(Into::into),
    }
}

/// Rewrites `path` with `change(current text)` unless that returns `None`;
/// returns whether it wrote.
fn update_file(path: &Path, change: impl FnOnce(Option<&str>) -> Option<String>) -> Result<bool> {
    let current = match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    match change(current.as_deref()) {
        Some(text) => {
            atomic_write(path, text.as_bytes())?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Adds `use crate_env` to .envrc unless it is there.
fn with_envrc_line(existing: Option<&str>) -> Option<String> {
    let existing = existing.unwrap_or("");
    if existing.lines().any(|l| l.trim() == ENVRC_LINE) {
        return None;
    }
    let mut text = existing.to_owned();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(ENVRC_LINE);
    text.push('\n');
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envrc_gets_the_line_once() {
        assert_eq!(with_envrc_line(None).unwrap(), "use crate_env\n");
        assert_eq!(
            with_envrc_line(Some("dotenv")).unwrap(),
            "dotenv\nuse crate_env\n"
        );
        assert_eq!(with_envrc_line(Some("use crate_env\n")), None);
    }
}
