//! The command line (clap derive). Parsing only: values are interpreted in
//! `settings` and `commands`.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::shell::Format;

#[derive(Debug, Parser)]
#[command(
    name = "crate-env",
    version,
    about = "A reproducible, pinned Rust toolchain for your project, through Nix"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Default, Args)]
pub struct GlobalArgs {
    /// Run as if started in DIR (the project is the nearest directory upwards with a crate-env.nix)
    #[arg(short = 'C', long = "directory", global = true, value_name = "DIR")]
    pub directory: Option<PathBuf>,
    /// Print only errors and warnings
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more: the Nix commands run and their output (repeat for more)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented crate-env.nix, .envrc, and ignore .crate-env/
    Init,
    /// Resolve inputs and toolchains into crate-env.lock
    Lock(LockArgs),
    /// Build what the lock names, register GC roots, cache the environment
    #[command(alias = "materialize")]
    Materialise(MaterialiseArgs),
    /// Enter or print the environment
    #[command(subcommand)]
    Env(EnvCommand),
    /// Run a command in the environment
    Exec(ExecArgs),
    /// Show what is pinned, materialised and rooted, and where settings come from
    Status(StatusArgs),
}

#[derive(Debug, Args)]
pub struct LockArgs {
    /// Where nixpkgs comes from: github:OWNER/REPO/REF, a tarball URL, or git+URL
    #[arg(long, value_name = "SPEC")]
    pub nixpkgs: Option<String>,
    /// Where rust-overlay comes from: github:OWNER/REPO/REF, a tarball URL, or git+URL
    #[arg(long = "rust-overlay", value_name = "SPEC")]
    pub rust_overlay: Option<String>,
    /// Do not write: fail if crate-env.lock is stale for the current crate-env.nix
    #[arg(long, conflicts_with_all = ["nixpkgs", "rust_overlay"])]
    pub check: bool,
}

#[derive(Debug, Args)]
pub struct MaterialiseArgs {
    /// Never touch crate-env.lock: fail if it is missing or stale
    #[arg(long)]
    pub frozen: bool,
}

#[derive(Debug, Subcommand)]
pub enum EnvCommand {
    /// Start a shell (or run CMD) inside the environment; the shellHook runs first
    Enter(EnterArgs),
    /// Print the environment for another tool (stdout)
    Print(PrintArgs),
}

#[derive(Debug, Args)]
pub struct EnterArgs {
    /// Command to run instead of an interactive shell
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

#[derive(Debug, Args)]
pub struct PrintArgs {
    /// Output format
    #[arg(long, value_enum)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The command and its arguments
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print machine-readable JSON on stdout instead of the human summary on stderr
    #[arg(long)]
    pub json: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn exec_takes_everything_after_double_dash() {
        let cli = Cli::parse_from(["crate-env", "-C", "x", "exec", "--", "cargo", "-V"]);
        match cli.command {
            Command::Exec(args) => assert_eq!(args.command, ["cargo", "-V"]),
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(cli.global.directory, Some(PathBuf::from("x")));
    }
}
