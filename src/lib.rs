//! crate-env: a reproducible, pinned Rust toolchain for a project, through Nix.
//!
//! Layering: `commands` (one file per subcommand, anyhow + user-facing output
//! through [`ui`]) sits on top of core modules that never print and return
//! typed errors (`lock`, `spec`, `inputs`, `nix`, `envcache`, `shell`, ...).

pub mod activate;
pub mod cli;
pub mod commands;
pub mod envcache;
pub mod errors;
pub mod fsutil;
pub mod inputs;
pub mod lock;
pub mod nix;
pub mod nixlib;
pub mod project;
pub mod request;
pub mod resolve;
pub mod settings;
pub mod shell;
pub mod spec;
pub mod sri;
pub mod template;
pub mod toolchain_file;
pub mod ui;

pub use errors::{ExitCode, Hint, HintExt};

/// Runs one parsed command line; returns the process exit code on success.
pub fn run(cli: cli::Cli) -> anyhow::Result<ExitCode> {
    let settings = settings::Settings::resolve(&cli.global, &settings::ProcessEnv)?;
    let ui = ui::Ui::new(&settings);
    commands::dispatch(cli.command, &settings, &ui)
}
