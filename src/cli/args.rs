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
    /// Move inputs to the newest revision of their ref and re-resolve the toolchains
    Update(UpdateArgs),
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
    /// Print the `use_crate_env` function for direnv (`.envrc`: `use crate_env`)
    Direnv(DirenvArgs),
    /// Check the toolchain, coverage tools, wasm-bindgen, Cargo files and the lock for drift
    Doctor,
    /// Frozen materialise, doctor's checks, then export the environment to the CI
    Ci(CiArgs),
    /// Write rust-toolchain.toml from the lock, for rustup users and editors
    ToolchainFile(ToolchainFileArgs),
    /// Share the environment through a Nix binary cache
    #[command(subcommand)]
    Cache(CacheCommand),
    /// Let proxies and direnv evaluate the current crate-env.nix files and lock
    Allow,
    /// Turn proxies and direnv off for this project (until `crate-env allow`)
    Deny,
    /// Remove GC roots the current lock and config no longer use
    Gc(GcArgs),
    /// Hermetic Nix builds of `builds.NAME` in crate-env.nix; prints the output paths
    Build(BuildArgs),
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The builds to run (names in `builds` of crate-env.nix) [default: default]
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
    /// Link the output here instead of `result-NAME` (several builds: PATH-NAME)
    #[arg(long, value_name = "PATH")]
    pub out_link: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct GcArgs {
    /// Every project crate-env materialised on this machine (the registry in the user state dir)
    #[arg(long)]
    pub all_projects: bool,
    /// With --all-projects: also drop every root of projects not activated for DAYS days
    #[arg(long, value_name = "DAYS", requires = "all_projects")]
    pub older_than: Option<u64>,
    /// Only print what would be removed
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Emit {
    /// Append to $GITHUB_PATH and $GITHUB_ENV
    Github,
    /// Write a dotenv file (see --dotenv) for GitLab's `artifacts: reports: dotenv`
    Gitlab,
    /// Print `export NAME='value';` lines on stdout
    Shell,
}

#[derive(Debug, Args)]
pub struct CiArgs {
    /// How to export the environment [default: github under GitHub Actions, gitlab under GitLab CI, else shell]
    #[arg(long, value_enum)]
    pub emit: Option<Emit>,
    /// The dotenv file `--emit gitlab` writes
    #[arg(long, value_name = "FILE", default_value = "crate-env.env")]
    pub dotenv: PathBuf,
}

#[derive(Debug, Args)]
pub struct ToolchainFileArgs {
    /// Do not write: exit 1 if rust-toolchain.toml differs from the lock
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Copy the environment's closure to a Nix binary cache (`nix copy`)
    Push(CachePushArgs),
}

#[derive(Debug, Args)]
pub struct CachePushArgs {
    /// The binary cache, e.g. file:///srv/cache or s3://bucket (Nix store URI)
    #[arg(value_name = "URI")]
    pub uri: String,
    /// Sign the paths with this key (`nix-store --generate-binary-cache-key`)
    #[arg(long, value_name = "FILE")]
    pub secret_key: Option<PathBuf>,
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
    /// Take nixpkgs and rust-overlay as pinned in a flake's flake.lock (no download)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["nixpkgs", "rust_overlay", "check"])]
    pub from_flake_lock: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The input to move [default: both]
    #[arg(value_enum, value_name = "INPUT")]
    pub input: Option<UpdateInput>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum UpdateInput {
    Nixpkgs,
    RustOverlay,
}

#[derive(Debug, Args)]
pub struct MaterialiseArgs {
    /// Never touch crate-env.lock: fail if it is missing or stale
    #[arg(long)]
    pub frozen: bool,
    /// Every workspace member's environment, not only the current directory's
    #[arg(long)]
    pub all: bool,
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
#[command(args_conflicts_with_subcommands = true)]
pub struct DirenvArgs {
    /// Write it to direnv's lib directory ($XDG_CONFIG_HOME/direnv/lib/crate-env.sh)
    #[arg(long)]
    pub install: bool,
    #[command(subcommand)]
    pub command: Option<DirenvCommand>,
}

#[derive(Debug, Subcommand)]
pub enum DirenvCommand {
    /// The environment as bash code for `use_crate_env` (run by it when an input changed)
    #[command(hide = true)]
    Export(DirenvExportArgs),
}

#[derive(Debug, Args)]
pub struct DirenvExportArgs {
    /// direnv's own binary (`$direnv` in its stdlib), used to record the watched files
    #[arg(long, value_name = "PATH")]
    pub direnv: Option<PathBuf>,
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
