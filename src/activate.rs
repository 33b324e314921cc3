//! The variables to export for a cached environment: the environment's own
//! variables, with the caller's `PATH` kept after the environment's, and the
//! project's proxies (`.crate-env/bin`) in front of both.

use std::path::Path;

use crate::envcache::CachedEnv;

pub const ROOT_VAR: &str = "CRATE_ENV_ROOT";

/// Every variable of the environment as is, except `PATH`, which is
/// `<root>/.crate-env/bin`, the environment's PATH, then the caller's PATH
/// (entries already in front are not repeated, so activating twice does not
/// grow PATH); plus `CRATE_ENV_ROOT`.
pub fn activation_vars(
    env: &CachedEnv,
    root: &Path,
    caller_path: Option<&str>,
) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = env
        .vars()
        .into_iter()
        .map(|(name, value)| {
            if name == "PATH" {
                let ours = format!("{}:{value}", proxy_dir(root).display());
                let joined = join_path(&ours, caller_path.unwrap_or(""));
                (name, joined)
            } else {
                (name, value)
            }
        })
        .collect();
    vars.retain(|(name, _)| name != ROOT_VAR);
    vars.push((ROOT_VAR.to_owned(), root.to_string_lossy().into_owned()));
    vars
}

/// `.crate-env/bin`: the proxies, first on the environment's PATH so that
/// `cargo +nightly` works wherever the environment is applied.
pub fn proxy_dir(root: &Path) -> std::path::PathBuf {
    root.join(crate::project::STATE_DIR).join("bin")
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
    use crate::envcache::parse_store_env;

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
        let vars = activation_vars(&env(), Path::new("/p"), Some("/usr/bin:/bin"));
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
            let vars = activation_vars(&env(), Path::new("/p"), caller);
            assert_eq!(
                get(&vars, "PATH"),
                "/p/.crate-env/bin:/nix/store/a/bin:/nix/store/b/bin"
            );
        }
    }

    #[test]
    fn activating_twice_does_not_grow_path() {
        let once = activation_vars(&env(), Path::new("/p"), Some("/bin"));
        let twice = activation_vars(&env(), Path::new("/p"), Some(get(&once, "PATH")));
        assert_eq!(get(&once, "PATH"), get(&twice, "PATH"));
    }
}
