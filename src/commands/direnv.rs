//! `crate-env direnv [--install]`: the `use_crate_env` function for direnv;
//! `crate-env direnv export` (hidden): what that function runs when an input
//! may have changed. See docs/activation.md.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use anyhow::{Context as _, Result};

use crate::cli::args::{DirenvArgs, DirenvCommand, DirenvExportArgs};
use crate::cli::context::{print_data, Context};
use crate::cli::errors::{error_with_hint, ExitCode};
use crate::environment::activation::{activate, stale_warning, Mode};
use crate::environment::proxies::STALE_VAR;
use crate::environment::vars::activation_vars;
use crate::project::fsutil::{atomic_write, set_mtime, StateLock};
use crate::project::Project;
use crate::shell::direnv::{
    function_text, lib_dir, render_state, render_watches_only, State, STAMP_MARGIN,
};
use crate::trust;

/// The file `--install` writes in direnv's lib dir.
const LIB_FILE: &str = "crate-env.sh";

pub fn run(ctx: &Context<'_>, args: &DirenvArgs) -> Result<ExitCode> {
    match &args.command {
        Some(DirenvCommand::Export(export_args)) => export(ctx, export_args),
        None if args.install => install(ctx),
        None => {
            print_data(&function_text(&current_exe()?))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn current_exe() -> Result<PathBuf> {
    std::env::current_exe().context("cannot find the crate-env executable")
}

fn install(ctx: &Context<'_>) -> Result<ExitCode> {
    let var = |name| std::env::var_os(name).map(PathBuf::from);
    let dir = lib_dir(var("DIRENV_CONFIG"), var("XDG_CONFIG_HOME"), var("HOME")).ok_or_else(
        || {
            error_with_hint(
                "cannot find direnv's configuration directory (HOME is not set)",
                "set XDG_CONFIG_HOME or DIRENV_CONFIG, or save the output of `crate-env direnv` yourself",
            )
        },
    )?;
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(LIB_FILE);
    atomic_write(&path, function_text(&current_exe()?).as_bytes())?;
    ctx.ui.info(format!(
        "installed use_crate_env in {}\nput `use crate_env` in a project's .envrc, then run `direnv allow`",
        path.display()
    ));
    Ok(ExitCode::SUCCESS)
}

/// Prints the environment as the state `use_crate_env` sources, plus the
/// call applying it; writes the same state to `.crate-env/direnv.bash`,
/// stamped with the time the inputs were read.
fn export(ctx: &Context<'_>, args: &DirenvExportArgs) -> Result<ExitCode> {
    let project = ctx.project()?;
    // Taken before anything is read, so an edit from now on is newer.
    let read_at = SystemTime::now() - STAMP_MARGIN;
    let files = project.watched_files();
    let mut mtimes: Vec<Option<SystemTime>> = files.iter().map(|f| modified(f)).collect();
    let watches_in = std::env::var("DIRENV_WATCHES").unwrap_or_default();
    // The trust record too: `crate-env allow` / `deny` reload at the next prompt.
    let mut watched = files.clone();
    watched.extend(trust::record_path(ctx.settings, &project));
    let watch = || match &args.direnv {
        Some(direnv) => record_watches(ctx, direnv, &watched).unwrap_or_else(|| watches_in.clone()),
        None => watches_in.clone(),
    };
    let mut watches_out = watch();
    let activation = match activate(ctx, &project, Mode::from_env(), false) {
        Ok(activation) => activation,
        Err(err) => {
            // No environment at all: still watch the inputs, so the fix reloads.
            print_data(&render_watches_only(&watches_out))?;
            return Err(err);
        }
    };
    // Materialising may have re-locked: that write is ours, not an edit, so
    // watch the lock as it is now (else direnv reloads once more for it).
    let lock = files.len() - 1;
    let lock_mtime = modified(&files[lock]);
    if lock_mtime != mtimes[lock] {
        mtimes[lock] = lock_mtime;
        watches_out = watch();
    }
    let mut vars = activation_vars(&activation.env, &project, None);
    let warning = activation.stale.as_deref().map(stale_warning);
    if warning.is_some() {
        vars.push((STALE_VAR.to_owned(), "1".to_owned()));
    }
    let stamps = project.direnv_stamps(files.len());
    let text = render_state(&State {
        files: &files,
        stamps: &stamps,
        requires: std::slice::from_ref(&activation.env.env.stable),
        watches_in: &watches_in,
        watches_out: &watches_out,
        vars: &vars,
        warning: warning.as_deref(),
    })?;
    let state = (!activation.untrusted).then_some((text.as_str(), read_at));
    save_state(&project, state, &stamps, &mtimes)?;
    print_data(&format!("{text}__crate_env_apply\n"))?;
    Ok(ExitCode::SUCCESS)
}

/// Writes `.crate-env/direnv.bash` (stamped `read_at`) and its stamps, only
/// if nobody is materialising right now: the state is a shortcut, and
/// without it the next load just compares contents again. `None` (an
/// unapproved change, docs/trust.md) removes it: after `crate-env allow` the
/// next load must ask again.
fn save_state(
    project: &Project,
    state: Option<(&str, SystemTime)>,
    stamps: &[PathBuf],
    mtimes: &[Option<SystemTime>],
) -> Result<()> {
    let path = project.direnv_state();
    let Some(_lock) = StateLock::try_acquire(&project.state_dir()) else {
        return Ok(());
    };
    match state {
        None => {
            let _ = std::fs::remove_file(&path);
        }
        Some((text, read_at)) => {
            write_stamps(stamps, mtimes)?;
            atomic_write(&path, text.as_bytes())?;
            set_mtime(&path, read_at)?;
        }
    }
    Ok(())
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).ok()?.modified().ok()
}

/// Each stamp gets the mtime its input had when it was read; a missing input
/// gets none, so `use_crate_env` never takes the shortcut for it.
fn write_stamps(stamps: &[PathBuf], mtimes: &[Option<SystemTime>]) -> Result<()> {
    if let Some(dir) = stamps.first().and_then(|s| s.parent()) {
        fs_err::create_dir_all(dir)?;
    }
    for (stamp, mtime) in stamps.iter().zip(mtimes) {
        let _ = std::fs::remove_file(stamp);
        if let Some(mtime) = mtime {
            atomic_write(stamp, b"")?;
            set_mtime(stamp, *mtime)?;
        }
    }
    Ok(())
}

/// DIRENV_WATCHES with `files` added, as `direnv watch` computes it (so its
/// encoding is always direnv's own). `None` (with a warning) if that fails:
/// the environment still loads, edits just do not trigger a reload.
fn record_watches(ctx: &Context<'_>, direnv: &Path, files: &[PathBuf]) -> Option<String> {
    let out = Command::new(direnv)
        .arg("watch")
        .arg("json")
        .args(files)
        .output();
    let parsed = out.ok().filter(|o| o.status.success()).and_then(|o| {
        let value: serde_json::Value = serde_json::from_slice(&o.stdout).ok()?;
        value.get("DIRENV_WATCHES")?.as_str().map(str::to_owned)
    });
    if parsed.is_none() {
        ctx.ui.warn(format!(
            "crate-env: `{} watch json` failed; edits to crate-env.nix will not reload direnv",
            direnv.display()
        ));
    }
    parsed
}
