//! `crate-env ci`: refuses a missing or stale lock, for the root or any
//! workspace member (never writes it),
//! materialises frozen, runs doctor's checks (which verify that the built
//! rustc reports the locked release and the nightly the locked date), then
//! exports the environment the way the CI expects it.
//!
//! Exit codes: 0 ok; 1 drift (missing or stale lock, a failed check);
//! 2 usage, evaluation or build error (docs/ci.md).

use std::io::Write;
use std::path::Path;

use anyhow::{Context as _, Result};
use sha2::{Digest, Sha256};

use crate::checks::doctor::collect_workspace;
use crate::cli::args::{CiArgs, Emit};
use crate::cli::context::{print_data, Context};
use crate::cli::errors::{error_with_hint, ExitCode, ExitWithExt};
use crate::environment::vars::activation_vars;
use crate::environment::{ensure, RelockPolicy};
use crate::project::fsutil::atomic_write;
use crate::project::lockfile::{freshness, stale_lock_message, Freshness, MISSING_LOCK};
use crate::report::{approve, report_checks};
use crate::shell::{is_valid_name, render, Format};

pub fn run(ctx: &Context<'_>, args: &CiArgs) -> Result<ExitCode> {
    let project = ctx.project().exit_with(ExitCode::USAGE)?;
    // A missing or stale lock is drift (1); an unreadable one is a usage
    // error (2). Every member is verified; the stale ones are named.
    let mut stale = Vec::new();
    for member in project.workspace() {
        match freshness(&member).exit_with(ExitCode::USAGE)? {
            Freshness::Fresh { .. } => {}
            Freshness::Missing => return Err(ci_lock_error(MISSING_LOCK)),
            Freshness::Stale { .. } => stale.push(stale_lock_message(&member)),
        }
    }
    if !stale.is_empty() {
        return Err(ci_lock_error(&stale.join("\n")));
    }
    let env = ensure(ctx, &project, RelockPolicy::Frozen)
        .context("cannot materialise the environment")
        .exit_with(ExitCode::USAGE)?
        .env;
    approve(ctx, &project);
    let checks = collect_workspace(ctx, &project).exit_with(ExitCode::USAGE)?;
    report_checks(ctx, &checks).exit_with(ExitCode::FAILURE)?;
    let emit = args.emit.unwrap_or_else(detect);
    let caller_path = std::env::var("PATH").ok();
    match emit {
        Emit::Github => {
            let vars = activation_vars(&env, &project, None);
            emit_github(&vars).exit_with(ExitCode::USAGE)?;
            ctx.ui
                .info("exported the environment to $GITHUB_PATH and $GITHUB_ENV");
        }
        Emit::Gitlab => {
            let vars = activation_vars(&env, &project, caller_path.as_deref());
            let skipped = emit_dotenv(&args.dotenv, &vars).exit_with(ExitCode::USAGE)?;
            for name in skipped {
                ctx.ui.warn(format!(
                    "{name} has a multi-line value, which GitLab's dotenv reports cannot carry; it is not in {}",
                    args.dotenv.display()
                ));
            }
            ctx.ui.info(format!(
                "wrote {} (use it as `artifacts: reports: dotenv:`)",
                args.dotenv.display()
            ));
        }
        Emit::Shell => {
            let vars = activation_vars(&env, &project, caller_path.as_deref());
            let text = render(&vars, Format::Bash).exit_with(ExitCode::USAGE)?;
            print_data(&text)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn ci_lock_error(message: &str) -> anyhow::Error {
    Err::<(), _>(error_with_hint(
        message,
        "run `crate-env lock` and commit crate-env.lock; `crate-env ci` never writes it",
    ))
    .exit_with(ExitCode::FAILURE)
    .unwrap_err()
}

/// GitHub Actions sets `GITHUB_ACTIONS=true`, GitLab `GITLAB_CI=true`.
fn detect() -> Emit {
    let set = |name: &str| std::env::var(name).is_ok_and(|v| v == "true");
    if set("GITHUB_ACTIONS") {
        Emit::Github
    } else if set("GITLAB_CI") {
        Emit::Gitlab
    } else {
        Emit::Shell
    }
}

/// PATH entries go to `$GITHUB_PATH` (the runner puts later lines first, so
/// they are written last to first), every other variable to `$GITHUB_ENV`.
fn emit_github(vars: &[(String, String)]) -> Result<()> {
    let file = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                error_with_hint(
                    format!("{name} is not set"),
                    "`--emit github` runs in a GitHub Actions step; elsewhere use `--emit shell`",
                )
            })
    };
    let path_file = file("GITHUB_PATH")?;
    let env_file = file("GITHUB_ENV")?;
    let mut path_text = String::new();
    let mut env_text = String::new();
    for (name, value) in vars {
        if name == "PATH" {
            for entry in value.split(':').filter(|e| !e.is_empty()).rev() {
                path_text.push_str(entry);
                path_text.push('\n');
            }
        } else {
            env_text.push_str(&github_env_entry(name, value)?);
        }
    }
    append(Path::new(&path_file), &path_text)?;
    append(Path::new(&env_file), &env_text)
}

/// `NAME=value`, or for a multi-line value GitHub's heredoc form
/// `NAME<<DELIMITER`, the value, `DELIMITER`, with a delimiter that does
/// not occur in the value.
pub fn github_env_entry(name: &str, value: &str) -> Result<String> {
    if !is_valid_name(name) {
        anyhow::bail!("`{name}` is not a valid environment variable name");
    }
    if !value.contains(['\n', '\r']) {
        return Ok(format!("{name}={value}\n"));
    }
    let mut seed = 0u64;
    let delimiter = loop {
        let candidate = format!("ghadelimiter_{}", random_hex(name, value, seed));
        if !value.contains(&candidate) {
            break candidate;
        }
        seed += 1;
    };
    Ok(format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"))
}

/// Unpredictable enough that a value cannot end the heredoc early: hashed
/// from the time, the process and the value.
fn random_hex(name: &str, value: &str, seed: u64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut hasher = Sha256::new();
    hasher.update(now.to_le_bytes());
    hasher.update(std::process::id().to_le_bytes());
    hasher.update(seed.to_le_bytes());
    hasher.update(name.as_bytes());
    hasher.update(value.as_bytes());
    base16ct::lower::encode_string(&hasher.finalize())[..32].to_owned()
}

fn append(path: &Path, text: &str) -> Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// `NAME=value` lines; returns the names of multi-line values left out.
fn emit_dotenv(path: &Path, vars: &[(String, String)]) -> Result<Vec<String>> {
    let mut text = String::new();
    let mut skipped = Vec::new();
    for (name, value) in vars {
        if value.contains(['\n', '\r']) {
            skipped.push(name.clone());
            continue;
        }
        text.push_str(&format!("{name}={value}\n"));
    }
    atomic_write(path, text.as_bytes())?;
    Ok(skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_line_values_are_plain() {
        assert_eq!(github_env_entry("A", "x y").unwrap(), "A=x y\n");
    }

    #[test]
    fn multi_line_values_use_a_heredoc_delimiter_not_in_the_value() {
        let entry = github_env_entry("A", "one\ntwo\n").unwrap();
        let (first, rest) = entry.split_once('\n').unwrap();
        let delimiter = first.strip_prefix("A<<").unwrap();
        assert!(delimiter.starts_with("ghadelimiter_") && delimiter.len() > 20);
        assert_eq!(rest, format!("one\ntwo\n\n{delimiter}\n"));
        assert!(github_env_entry("bad-name", "x").is_err());
    }
}
