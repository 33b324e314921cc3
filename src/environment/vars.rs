//! The variables to export for a cached environment: the environment's own
//! variables, with the caller's `PATH` kept after the environment's, and the
//! project's proxies (`.crate-env/bin`) in front of both; and running a
//! program with them.

use std::ffi::OsString;

use crate::cli::errors::{ExitCode, RunError};
use crate::project::env_cache::CachedEnv;
use crate::project::Project;

pub const ROOT_VAR: &str = "CRATE_ENV_ROOT";

/// Every variable of the environment as is, except `PATH`, which is the
/// member's proxies (`<root>/.crate-env/bin`, or `…/members/<name>/bin`), the
/// environment's PATH, then the caller's PATH (entries already in front are
/// not repeated, so activating twice does not grow PATH); plus
/// `CRATE_ENV_ROOT`: the member's directory (proxies started from outside
/// the project, e.g. by cargo in a registry crate, find the member by it).
pub fn activation_vars(
    env: &CachedEnv,
    project: &Project,
    caller_path: Option<&str>,
) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = env
        .vars()
        .into_iter()
        .map(|(name, value)| {
            if name == "PATH" {
                let proxies = project.proxy_dir();
                let ours = format!("{}:{value}", proxies.display());
                let joined = join_path(&ours, caller_path.unwrap_or(""));
                (name, joined)
            } else {
                (name, value)
            }
        })
        .collect();
    vars.retain(|(name, _)| name != ROOT_VAR);
    let dir = project.dir();
    vars.push((ROOT_VAR.to_owned(), dir.to_string_lossy().into_owned()));
    vars
}

/// The caller's PATH, kept after the environment's.
pub fn caller_path() -> Option<String> {
    std::env::var("PATH").ok().filter(|p| !p.is_empty())
}

/// Replaces this process with `argv` in the environment `vars` (on Unix;
/// elsewhere runs it and passes its exit code on). Returns only on error.
pub fn exec_in(vars: &[(String, String)], argv: &[OsString]) -> anyhow::Result<ExitCode> {
    let (program, rest) = argv.split_first().expect("clap requires a command");
    let mut command = std::process::Command::new(program);
    // With PATH set on the Command, std looks the program up in the new PATH.
    command.args(rest).envs(vars.iter().map(|(k, v)| (k, v)));
    let run_error = |source| RunError {
        program: program.to_string_lossy().into_owned(),
        source,
    };
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        Err(run_error(command.exec()).into())
    }
    #[cfg(not(unix))]
    {
        let status = command.status().map_err(run_error)?;
        Ok(ExitCode(status.code().unwrap_or(1)))
    }
}

fn join_path(env_path: &str, caller_path: &str) -> String {
    let ours: Vec<&str> = env_path.split(':').filter(|e| !e.is_empty()).collect();
    let theirs = caller_path
        .split(':')
        .filter(|e| !e.is_empty() && !ours.contains(e));
    ours.iter()
        .copied()
        .chain(theirs)
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::env_cache::parse_store_env;
    use std::path::Path;

    fn env() -> CachedEnv {
        let text = r#"{"vars":{"CC":"gcc","PATH":"/nix/store/a/bin:/nix/store/b/bin"},"stable":"/","sources":{"nixpkgs":"/n","rust-overlay":"/r"}}"#;
        CachedEnv {
            env: parse_store_env(text, Path::new("env.json")).unwrap(),
            key: "k".into(),
            materialised: 0,
        }
    }

    fn get<'a>(vars: &'a [(String, String)], name: &str) -> &'a str {
        &vars.iter().find(|(n, _)| n == name).unwrap().1
    }

    #[test]
    fn caller_path_follows_env_path() {
        let vars = activation_vars(&env(), &Project::new("/p".into()), Some("/usr/bin:/bin"));
        assert_eq!(
            get(&vars, "PATH"),
            "/p/.crate-env/bin:/nix/store/a/bin:/nix/store/b/bin:/usr/bin:/bin"
        );
        assert_eq!(get(&vars, "CC"), "gcc");
        assert_eq!(
            vars.last().unwrap(),
            &("CRATE_ENV_ROOT".into(), "/p".into())
        );
    }

    #[test]
    fn empty_caller_path_is_omitted() {
        for caller in [None, Some("")] {
            let vars = activation_vars(&env(), &Project::new("/p".into()), caller);
            assert_eq!(
                get(&vars, "PATH"),
                "/p/.crate-env/bin:/nix/store/a/bin:/nix/store/b/bin"
            );
        }
    }

    #[test]
    fn activating_twice_does_not_grow_path() {
        let once = activation_vars(&env(), &Project::new("/p".into()), Some("/bin"));
        let twice = activation_vars(&env(), &Project::new("/p".into()), Some(get(&once, "PATH")));
        assert_eq!(get(&once, "PATH"), get(&twice, "PATH"));
    }

    #[test]
    fn a_members_proxies_and_root_var_are_its_own() {
        let member = Project::with_member("/p".into(), "wasm".into());
        let vars = activation_vars(&env(), &member, None);
        assert!(get(&vars, "PATH").starts_with("/p/.crate-env/members/wasm/bin:"));
        assert_eq!(get(&vars, "CRATE_ENV_ROOT"), "/p/wasm");
    }
}
