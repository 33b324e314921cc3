//! crate-env: a reproducible, pinned Rust toolchain for a project, through Nix.
//!
//! Layering (docs/architecture.md has the module map): `cli` turns the command
//! line and the process environment into settings; `commands` holds one thin
//! file per subcommand; the pipelines live in core modules named for what
//! they are (`locking`, `environment`, `checks`), on top of `project` (the
//! files on disk), `inputs`, `nix` (the only place that starts Nix) and
//! `shell`. Core modules return typed errors; commands add context and hints.

mod build;
mod checks;
mod cli;
mod commands;
mod environment;
mod gc;
mod inputs;
mod locking;
mod nix;
mod project;
mod proxy_mode;
mod report;
mod shell;
mod trust;
mod versions;

pub use cli::args::Cli;
pub use cli::errors::{exit_code_of, render_report, ExitCode};
pub use environment::proxies::proxy_name;

/// Runs one parsed command line; returns the process exit code on success.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let settings = cli::settings::Settings::resolve(&cli.global, &cli::settings::ProcessEnv)?;
    let ui = cli::ui::Ui::new(&settings);
    commands::dispatch(cli.command, &settings, &ui)
}

/// Proxy mode (`.crate-env/bin/cargo` & co, see `environment::proxies`): runs
/// the pinned `name` in the project's environment; returns only on error.
pub fn run_proxy(name: &str, args: Vec<std::ffi::OsString>) -> anyhow::Result<ExitCode> {
    proxy_mode::run(name, args)
}
