//! One thin file per subcommand: parse the arguments, call the core, report
//! to the user (through [`Ui`], and `report` for what several commands
//! report the same way), wrapping core errors with anyhow context and
//! hints. A command never imports another command.

mod allow;
mod build;
mod cache;
mod ci;
mod deny;
mod direnv;
mod doctor;
mod env;
mod exec;
mod gc;
mod init;
mod lock;
mod materialise;
mod status;
mod toolchain_file;
mod update;

use anyhow::Result;

use crate::cli::args::{CacheCommand, Command, EnvCommand};
use crate::cli::context::Context;
use crate::cli::errors::ExitCode;
use crate::cli::settings::Settings;
use crate::cli::ui::Ui;

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
        Command::Allow => allow::run(&ctx),
        Command::Deny => deny::run(&ctx),
        Command::Gc(args) => gc::run(&ctx, &args),
        Command::Build(args) => build::run(&ctx, &args),
    }
}
