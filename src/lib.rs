//! crate-env: a reproducible, pinned Rust toolchain for a project, through Nix.
//!
//! Layering: `commands` (one file per subcommand, anyhow + user-facing output
//! through [`ui`]) sits on top of core modules that never print and return
//! typed errors (`lock`, `spec`, `inputs`, `nix`, `envcache`, `shell`, ...).

pub mod activate;
pub mod checks;
pub mod cli;
pub mod commands;
pub mod direnv;
pub mod envcache;
pub mod errors;
pub mod flakelock;
pub mod fsutil;
pub mod inputs;
pub mod lock;
pub mod nix;
pub mod nixlib;
pub mod project;
pub mod proxy;
pub mod request;
pub mod resolve;
pub mod settings;
pub mod shell;
pub mod snapshot;
pub mod spec;
pub mod sri;
pub mod staleness;
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

/// Proxy mode (`.crate-env/bin/cargo` & co, see [`proxy`]): runs the pinned
/// `name` in the project's environment; returns only on error.
pub fn run_proxy(name: &str, args: Vec<std::ffi::OsString>) -> anyhow::Result<ExitCode> {
    commands::proxy::run(name, args)
}
