//! One module per subcommand. Commands talk to the user (through [`Ui`]) and
//! wrap core errors with anyhow context and hints.

pub(crate) mod activation;
mod cache;
mod ci;
mod direnv;
mod doctor;
mod env;
mod exec;
mod flake_import;
mod init;
mod lock;
mod materialise;
pub(crate) mod proxy;
mod status;
mod toolchain_file;
mod update;

use anyhow::Result;

use crate::cli::{CacheCommand, Command, EnvCommand};
use crate::errors::{error_with_hint, ExitCode, HintExt};
use crate::fsutil::StateLock;
use crate::lock::{config_stamp, ConfigStamp, Lock};
use crate::nix::{Event, Nix};
use crate::project::Project;
use crate::settings::{Settings, Verbosity};
use crate::ui::{Spinner, Ui};

pub(crate) const MISSING_LOCK: &str = "crate-env.lock does not exist";
pub(crate) const STALE_LOCK: &str =
    "crate-env.lock is stale: crate-env.nix changed since it was locked";

/// crate-env.lock against the crate-env.nix files as they are now.
pub(crate) enum LockState {
    Missing,
    Stale { lock: Lock, stamp: ConfigStamp },
    Fresh { lock: Lock, text: String },
}

pub(crate) fn lock_state(project: &Project) -> Result<LockState> {
    let Some((lock, text)) = Lock::read(&project.lock_file())? else {
        return Ok(LockState::Missing);
    };
    let stamp = config_stamp(&project.root, &project.config_files())?;
    Ok(if lock.is_fresh_for(&stamp) {
        LockState::Fresh { lock, text }
    } else {
        LockState::Stale { lock, stamp }
    })
}

/// The lock, which must exist and be fresh; the hints say how to get there.
pub(crate) fn fresh_lock(
    project: &Project,
    missing_hint: &str,
    stale_hint: &str,
) -> Result<(Lock, String)> {
    match lock_state(project)? {
        LockState::Fresh { lock, text } => Ok((lock, text)),
        LockState::Missing => Err(error_with_hint(MISSING_LOCK, missing_hint)),
        LockState::Stale { .. } => Err(error_with_hint(STALE_LOCK, stale_hint)),
    }
}

/// Writes data a caller parses (shell code, JSON) to stdout: the only place
/// commands print to stdout.
pub(crate) fn print_data(text: &str) -> Result<()> {
    use anyhow::Context as _;
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .context("cannot write to stdout")
}

pub fn dispatch(command: Command, settings: &Settings, ui: &Ui) -> Result<ExitCode> {
    let ctx = Context { settings, ui };
    match command {
        Command::Init => init::run(&ctx),
        Command::Lock(args) => lock::run(&ctx, &args),
        Command::Update(args) => update::run(&ctx, &args),
        Command::Materialise(args) => materialise::run(&ctx, &args),
        Command::Env(EnvCommand::Enter(args)) => env::enter(&ctx, &args),
        Command::Env(EnvCommand::Print(args)) => env::print(&ctx, &args),
        Command::Exec(args) => exec::run(&ctx, &args),
        Command::Status(args) => status::run(&ctx, &args),
        Command::Direnv(args) => direnv::run(&ctx, &args),
        Command::Doctor => doctor::run(&ctx),
        Command::Ci(args) => ci::run(&ctx, &args),
        Command::ToolchainFile(args) => toolchain_file::run(&ctx, &args),
        Command::Cache(CacheCommand::Push(args)) => cache::push(&ctx, &args),
    }
}

/// What every command gets: the resolved settings and the output channel.
pub struct Context<'a> {
    pub settings: &'a Settings,
    pub ui: &'a Ui,
}

impl<'a> Context<'a> {
    /// The project, or an error telling how to create one.
    pub fn project(&self) -> Result<Project> {
        match &self.settings.project_root {
            Some(root) => Ok(Project::new(root.value.clone())),
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
        let nix = Nix::find(self.settings.nix_bin_dir.value.as_deref()).hint(
            "install Nix (https://nixos.org/download), or point CRATE_ENV_NIX_BIN_DIR at its bin directory",
        )?;
        let verbosity = self.ui.verbosity();
        Ok(nix.observe(move |event| report(verbosity, spinner, event)))
    }

    /// Takes `.crate-env/lock`, telling the user if they have to wait.
    pub fn lock_state(&self, project: &Project) -> Result<StateLock> {
        let state_dir = project.state_dir();
        let lock = StateLock::acquire(&state_dir, || {
            self.ui
                .info("waiting for another crate-env to finish (.crate-env/lock)…")
        })?;
        write_state_gitignore(&state_dir);
        Ok(lock)
    }
}

/// `.crate-env/` ignores itself, so it stays out of git even without the
/// entry `init` adds to the project's `.gitignore`.
fn write_state_gitignore(state_dir: &std::path::Path) {
    let path = state_dir.join(".gitignore");
    if !path.exists() {
        // Best effort: failing to write it must not stop the real work.
        let _ = crate::fsutil::atomic_write(&path, b"*\n");
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
