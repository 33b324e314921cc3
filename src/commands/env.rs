//! `crate-env env enter` and `crate-env env print`.
//!
//! `enter` replaces crate-env with the shell (or CMD), like `nix develop`,
//! so exit codes and signals pass through unchanged. The shellHook is bash
//! code (as in every Nix shell), so it always runs in bash:
//! * `$SHELL` is bash (or unset): `bash --rcfile RC -i`, RC sourcing
//!   `~/.bashrc` and then running the hook, so functions and aliases the
//!   hook defines are there in the shell;
//! * another `$SHELL`, or a CMD: `bash -c 'eval "$hook"; exec "$@"'`, so
//!   variables the hook exports reach the shell or CMD.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use crate::cli::args::{EnterArgs, PrintArgs};
use crate::cli::context::{print_data, Context};
use crate::cli::errors::ExitCode;
use crate::environment::vars::{activation_vars, caller_path, exec_in};
use crate::project::env_cache::CachedEnv;
use crate::project::Project;
use crate::report::environment_or_last_good;
use crate::shell::{quote_posix, render};

pub fn print(ctx: &Context<'_>, args: &PrintArgs) -> Result<ExitCode> {
    let project = ctx.project()?;
    let env = environment_or_last_good(ctx, &project)?;
    let vars = activation_vars(&env, &project, caller_path().as_deref());
    let text = render(&vars, args.format)?;
    print_data(&text)?;
    Ok(ExitCode::SUCCESS)
}

pub fn enter(ctx: &Context<'_>, args: &EnterArgs) -> Result<ExitCode> {
    let project = ctx.project()?;
    let env = environment_or_last_good(ctx, &project)?;
    let vars = activation_vars(&env, &project, caller_path().as_deref());
    let hook = env.env.shell_hook.as_str();
    let bash = find_bash(&vars);
    let argv = if !args.command.is_empty() {
        with_hook(&bash, hook, args.command.clone())
    } else {
        let shell = user_shell();
        if is_bash(&shell) {
            interactive_bash(Path::new(&shell), env_path(&env, &project), hook)?
        } else {
            with_hook(&bash, hook, vec![shell])
        }
    };
    exec_in(&vars, &argv)
}

/// `argv`, preceded by a bash that runs the hook first, if there is one.
fn with_hook(bash: &Path, hook: &str, argv: Vec<OsString>) -> Vec<OsString> {
    if hook.trim().is_empty() {
        return argv;
    }
    let script = r#"__crate_env_hook=$1; shift; eval "$__crate_env_hook"; unset __crate_env_hook; exec "$@""#;
    let mut full: Vec<OsString> = vec![
        bash.into(),
        "-c".into(),
        script.into(),
        "crate-env-shell-hook".into(),
        hook.into(),
    ];
    full.extend(argv);
    full
}

/// The environment's own PATH entries (without the caller's), behind the
/// proxies in `.crate-env/bin`.
fn env_path(env: &CachedEnv, project: &Project) -> Option<String> {
    env.env
        .vars
        .get("PATH")
        .and_then(|v| v.as_str())
        .filter(|p| !p.is_empty())
        .map(|p| format!("{}:{p}", project.proxy_dir().display()))
}

/// `bash --rcfile RC -i`; RC deletes itself, sources ~/.bashrc, puts the
/// environment's PATH first again (a ~/.bashrc that prepends ~/.cargo/bin
/// would otherwise shadow the pinned toolchain), then runs the hook.
fn interactive_bash(bash: &Path, env_path: Option<String>, hook: &str) -> Result<Vec<OsString>> {
    let rc = tempfile::Builder::new()
        .prefix("crate-env-rc")
        .tempfile()
        .context("cannot create the shell's rc file")?;
    let text = rcfile_text(rc.path(), env_path.as_deref(), hook);
    std::fs::write(rc.path(), text).context("cannot write the shell's rc file")?;
    // Kept: bash reads it after we are gone; it removes itself.
    let (_, path) = rc.keep().context("cannot keep the shell's rc file")?;
    Ok(vec![
        bash.into(),
        "--rcfile".into(),
        path.into(),
        "-i".into(),
    ])
}

fn rcfile_text(path: &Path, env_path: Option<&str>, hook: &str) -> String {
    let path_again = env_path
        .map(|p| format!("PATH={}${{PATH:+:$PATH}}\n", quote_posix(p)))
        .unwrap_or_default();
    format!(
        "# written by `crate-env env enter`\n\
         rm -f -- {}\n\
         if [ -f ~/.bashrc ]; then . ~/.bashrc; fi\n\
         {path_again}\
         eval {}\n",
        quote_posix(&path.to_string_lossy()),
        quote_posix(hook)
    )
}

fn user_shell() -> OsString {
    std::env::var_os("SHELL")
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "bash".into())
}

fn is_bash(shell: &OsString) -> bool {
    Path::new(shell).file_name().is_some_and(|n| n == "bash")
}

/// bash from the environment's PATH, else whatever `bash` the system has.
fn find_bash(vars: &[(String, String)]) -> PathBuf {
    let path = vars
        .iter()
        .find(|(name, _)| name == "PATH")
        .map(|(_, value)| value.clone())
        .unwrap_or_default();
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    which::which_in("bash", Some(path), cwd).unwrap_or_else(|_| PathBuf::from("bash"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    const NASTY_HOOK: &str = "export FROM_HOOK=\"it's $((1+1))\"\necho 'hook ran' >&2";

    #[test]
    fn hook_runs_before_the_command_and_exports_reach_it() {
        let argv = with_hook(
            Path::new("bash"),
            NASTY_HOOK,
            vec![
                "sh".into(),
                "-c".into(),
                "printf %s \"$FROM_HOOK\"; exit 3".into(),
            ],
        );
        let out = Command::new(&argv[0]).args(&argv[1..]).output().unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), "it's 2");
        assert_eq!(String::from_utf8(out.stderr).unwrap(), "hook ran\n");
        assert_eq!(out.status.code(), Some(3));
    }

    #[test]
    fn no_hook_no_bash() {
        let argv = with_hook(Path::new("bash"), "  \n", vec!["cargo".into()]);
        assert_eq!(argv, vec![OsString::from("cargo")]);
    }

    #[test]
    fn rcfile_removes_itself_runs_the_hook_and_keeps_env_path_first() {
        let dir = tempfile::tempdir().unwrap();
        let rc = dir.path().join("it's rc");
        let text = rcfile_text(&rc, Some("/nix/store/x-rust/bin"), NASTY_HOOK);
        std::fs::write(&rc, text).unwrap();
        // A rustup user's ~/.bashrc puts ~/.cargo/bin first.
        std::fs::write(
            dir.path().join(".bashrc"),
            "PATH=/home/u/.cargo/bin:$PATH\n",
        )
        .unwrap();
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!(
                ". {}; printf '%s|%s' \"$FROM_HOOK\" \"$PATH\"",
                quote_posix(&rc.to_string_lossy())
            ))
            .env("HOME", dir.path())
            .env("PATH", "/nix/store/x-rust/bin:/usr/bin:/bin")
            .output()
            .unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(
            stdout.starts_with("it's 2|/nix/store/x-rust/bin:/home/u/.cargo/bin:"),
            "{stdout}"
        );
        assert!(!rc.exists());
    }
}
