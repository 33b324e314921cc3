//! Proxy mode, crate-env's second entry point next to the subcommands:
//! crate-env started as `.crate-env/bin/<name>` (see
//! [`crate::environment::proxies`]). The common case reads `.crate-env/` only: find the
//! project, check the cache key, apply the environment and exec the pinned
//! binary, so the binary replaces this process (exit codes and signals are
//! its own). A stale cache is materialised first, with progress on stderr,
//! unless `CRATE_ENV_OFFLINE=1`.

use std::ffi::OsString;
use std::path::Path;

use anyhow::{Context as _, Result};

use crate::cli::args::GlobalArgs;
use crate::cli::context::Context;
use crate::cli::errors::{ExitCode, HintExt};
use crate::cli::settings::{ProcessEnv, Settings};
use crate::cli::ui::Ui;
use crate::environment::activation::{activate, stale_warning, stamped_fresh, Activation, Mode};
use crate::environment::proxies::{
    find_binary, find_project, select_toolchain, ProxyError, Toolchain, STALE_VAR, TOOLCHAIN_VAR,
};
use crate::environment::vars::{activation_vars, exec_in, ROOT_VAR};
use crate::project::{registry, Project};

pub fn run(name: &str, mut args: Vec<OsString>) -> Result<ExitCode> {
    let inherited = std::env::var_os(TOOLCHAIN_VAR);
    let (toolchain, chosen) =
        select_toolchain(&mut args, inherited.as_deref()).map_err(with_hint)?;
    let cwd = std::env::current_dir().context("cannot determine the current directory")?;
    let project =
        find_project(name, &cwd, std::env::var_os(ROOT_VAR).as_deref()).map_err(with_hint)?;
    registry::mark_activated(&project.state_dir());
    // The common case needs neither settings nor output: `.crate-env/fresh`
    // vouches for the cache.
    // Inside this project's environment already (direnv, `env enter`, `exec`,
    // or cargo started by a proxy): the caller's variables are the user's
    // (`CC=clang cargo build`, `unset PKG_CONFIG_PATH`), so only the binary is
    // chosen here. Anywhere else (an editor, a git hook), the whole environment.
    let inside = std::env::var_os(ROOT_VAR).is_some_and(|r| Path::new(&r) == project.dir());
    let activation = match stamped_fresh(&project) {
        Some(env) => Activation::fresh(env),
        None => activate_slowly(&project, inside)?,
    };
    let mut vars = if inside {
        Vec::new()
    } else {
        let caller_path = std::env::var("PATH").ok().filter(|p| !p.is_empty());
        activation_vars(&activation.env, &project, caller_path.as_deref())
    };
    if activation.stale.is_some() {
        vars.push((STALE_VAR.to_owned(), "1".to_owned()));
    }
    if chosen {
        vars.push((TOOLCHAIN_VAR.to_owned(), toolchain.name().to_owned()));
    }
    let program = find_binary(name, toolchain, &activation.env.env).map_err(with_hint)?;
    let mut argv = vec![program.into_os_string()];
    argv.extend(args);
    exec_in(&vars, &argv)
}

/// Compares contents, materialises if they changed (unless
/// `CRATE_ENV_OFFLINE=1`), and warns on stderr when the result is stale.
fn activate_slowly(project: &Project, inside: bool) -> Result<Activation> {
    let global = GlobalArgs {
        directory: Some(project.dir()),
        ..GlobalArgs::default()
    };
    let settings = Settings::resolve(&global, &ProcessEnv)?;
    let ui = Ui::new(&settings);
    let ctx = Context {
        settings: &settings,
        ui: &ui,
    };
    let activation = activate(&ctx, project, Mode::from_env(), inside)?;
    if let Some(why) = &activation.stale {
        ui.warn(stale_warning(why));
    }
    Ok(activation)
}

/// Each proxy error with the hint that fixes it.
fn with_hint(err: ProxyError) -> anyhow::Error {
    let hint = match &err {
        ProxyError::NoProject { .. } => {
            "run it inside a project with a crate-env.nix (`crate-env init` creates one); proxies never fall back to another toolchain".to_owned()
        }
        ProxyError::UnknownToolchain(_) | ProxyError::BadToolchainVar { .. } => {
            "use +stable or +nightly; change the pins in crate-env.nix".to_owned()
        }
        ProxyError::NoNightly => {
            "add `nightly.date = \"YYYY-MM-DD\";` to crate-env.nix".to_owned()
        }
        ProxyError::NotInToolchain { name, toolchain } => {
            let field = match toolchain {
                Toolchain::Stable => "rust.components",
                Toolchain::Nightly => "nightly.components",
            };
            format!("add the component that provides `{name}` to {field} in crate-env.nix")
        }
        ProxyError::NotInEnvironment { name } => {
            format!("add the package that provides `{name}` to packages in crate-env.nix")
        }
    };
    Err::<(), _>(err).hint(hint).unwrap_err()
}
