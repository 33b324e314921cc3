//! What every command (and every pipeline it calls) gets: the resolved
//! settings and the output channel, plus the three things they open through
//! them: the project, Nix (its progress on a spinner) and the state lock.

use anyhow::{Context as _, Result};

use crate::cli::errors::{error_with_hint, HintExt};
use crate::cli::settings::{Settings, Verbosity};
use crate::cli::ui::{Spinner, Ui};
use crate::nix::{Event, Nix};
use crate::project::fsutil::{atomic_write, sweep_temp_files, StateLock};
use crate::project::lockfile::{freshness, stale_lock_message, Freshness, Lockfile, MISSING_LOCK};
use crate::project::Project;

pub struct Context<'a> {
    pub settings: &'a Settings,
    pub ui: &'a Ui,
}

impl<'a> Context<'a> {
    /// The project (the member of the start directory), or an error
    /// telling how to create one.
    pub fn project(&self) -> Result<Project> {
        match &self.settings.project_root {
            Some(root) => Ok(Project::discover(&self.settings.start_dir.value)
                .unwrap_or_else(|| Project::new(root.value.clone()))),
            None => Err(error_with_hint(
                format!(
                    "no crate-env.nix in {} or any parent directory",
                    self.settings.start_dir.value.display()
                ),
                "run `crate-env init` to create one",
            )),
        }
    }

    /// Finds Nix; its commands and progress are reported on `spinner`.
    pub fn nix<'s>(&'s self, spinner: &'s Spinner) -> Result<Nix<'s>> {
        let verbosity = self.ui.verbosity();
        self.nix_observed(move |event| report(verbosity, spinner, event))
    }

    /// Finds Nix; `observer` sees its commands and progress (`build`'s log).
    pub fn nix_observed<'s>(&self, observer: impl Fn(Event<'_>) + 's) -> Result<Nix<'s>> {
        let nix = Nix::find(self.settings.nix_bin_dir.value.as_deref()).hint(
            "install Nix (https://nixos.org/download), or point CRATE_ENV_NIX_BIN_DIR at its bin directory",
        )?;
        Ok(nix.observe(observer))
    }

    /// The project's lock, which must exist and be fresh; the hints say how
    /// to get there.
    pub fn fresh_lock(
        &self,
        project: &Project,
        missing_hint: &str,
        stale_hint: &str,
    ) -> Result<Lockfile> {
        match freshness(project)? {
            Freshness::Fresh { lock, .. } => Ok(lock),
            Freshness::Missing => Err(error_with_hint(MISSING_LOCK, missing_hint)),
            Freshness::Stale { .. } => {
                Err(error_with_hint(stale_lock_message(project), stale_hint))
            }
        }
    }

    /// Takes the state lock (`.crate-env/lock`), telling the user if they
    /// have to wait.
    pub fn state_lock(&self, project: &Project) -> Result<StateLock> {
        let state_dir = project.state_dir();
        let lock = StateLock::acquire(&state_dir, || {
            self.ui
                .info("waiting for another crate-env to finish (.crate-env/lock)…")
        })?;
        write_state_gitignore(&state_dir);
        // What a killed crate-env left (docs/reliability.md).
        sweep_temp_files(&state_dir, &project.root);
        Ok(lock)
    }
}

/// Writes data a caller parses (shell code, JSON) to stdout: the only place
/// crate-env prints to stdout.
pub fn print_data(text: &str) -> Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .context("cannot write to stdout")
}

/// `.crate-env/` ignores itself, so it stays out of git even without the
/// entry `init` adds to the project's `.gitignore`.
fn write_state_gitignore(state_dir: &std::path::Path) {
    let path = state_dir.join(".gitignore");
    if !path.exists() {
        // Best effort: failing to write it must not stop the real work.
        let _ = atomic_write(&path, b"*\n");
    }
}

fn report(verbosity: Verbosity, spinner: &Spinner, event: Event<'_>) {
    match event {
        Event::Command(line) if verbosity >= Verbosity::Verbose => {
            spinner.println(format!("+ {line}"))
        }
        Event::Building(name) => {
            spinner.set_message(format!("building {name}"));
            if verbosity >= Verbosity::Verbose {
                spinner.println(format!("building {name}"));
            }
        }
        Event::Fetching(what) => spinner.set_message(format!("fetching {what}")),
        Event::Output(line) if verbosity >= Verbosity::Trace => spinner.println(line),
        _ => {}
    }
}
