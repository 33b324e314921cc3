//! direnv integration: the `use_crate_env` function (`shell/use_crate_env.bash`)
//! and the state file `.crate-env/direnv.bash` it applies without starting
//! any process on a cache hit. Rendering only; the `direnv` command decides
//! what goes in and writes it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::shell::{is_valid_name, quote_posix};

const FUNCTION: &str = include_str!("../../shell/use_crate_env.bash");

/// The state is stamped this long before the inputs were read: file
/// timestamps are coarse (a kernel tick), so an edit just after the read
/// could otherwise carry the very same mtime and go unnoticed. Costs at
/// most one extra content comparison (no Nix) right after an edit.
pub const STAMP_MARGIN: Duration = Duration::from_millis(100);

#[derive(Debug, thiserror::Error)]
pub enum DirenvError {
    #[error("`{0}` is not a valid environment variable name")]
    InvalidName(String),
    #[error("the value of {0} contains a NUL byte, which no environment can hold")]
    NulInValue(String),
}

/// `use_crate_env`, calling `exe` when an input changed (or `crate-env`
/// from PATH if `exe` is gone, e.g. after an upgrade moved it).
pub fn function_text(exe: &Path) -> String {
    FUNCTION.replace("@CRATE_ENV_EXE@", &quote_posix(&exe.to_string_lossy()))
}

/// Where direnv loads libraries from, as its stdlib computes it:
/// `$DIRENV_CONFIG`, else `${XDG_CONFIG_HOME:-$HOME/.config}/direnv`, + `/lib`.
pub fn lib_dir(
    direnv_config: Option<PathBuf>,
    xdg_config_home: Option<PathBuf>,
    home: Option<PathBuf>,
) -> Option<PathBuf> {
    let non_empty = |p: Option<PathBuf>| p.filter(|p| !p.as_os_str().is_empty());
    let config = non_empty(direnv_config)
        .or_else(|| non_empty(xdg_config_home).map(|x| x.join("direnv")))
        .or_else(|| non_empty(home).map(|h| h.join(".config/direnv")))?;
    Some(config.join("lib"))
}

/// What `.crate-env/direnv.bash` holds.
pub struct State<'a> {
    /// Files whose change (newer than the state) sends `use_crate_env` to crate-env.
    pub files: &'a [PathBuf],
    /// One per file: carries that file's mtime as it was read, so a file whose
    /// mtime moved at all (also backwards: `touch -d`, `cp -p`) is a change.
    pub stamps: &'a [PathBuf],
    /// Paths the exports need (the toolchain): gone (garbage-collected) is stale too.
    pub requires: &'a [PathBuf],
    /// DIRENV_WATCHES as direnv passed it in, and with our files added.
    pub watches_in: &'a str,
    pub watches_out: &'a str,
    /// Exported as is, except `PATH`, which gets the caller's PATH appended.
    pub vars: &'a [(String, String)],
    /// Printed on stderr at every load (a stale environment's reason).
    pub warning: Option<&'a str>,
}

/// Bash defining `__crate_env_state`, `__crate_env_files`, `__crate_env_stamps`,
/// `__crate_env_requires`, `__crate_env_watches_in` and the function
/// `__crate_env_apply`. Sourcing
/// it runs nothing; every value is single-quoted.
pub fn render_state(state: &State<'_>) -> Result<String, DirenvError> {
    let mut out = String::from(
        "# Written by `crate-env direnv export` for use_crate_env; do not edit.\n\
         __crate_env_state=1\n",
    );
    for (name, paths) in [
        ("files", state.files),
        ("stamps", state.stamps),
        ("requires", state.requires),
    ] {
        out.push_str(&format!("__crate_env_{name}=({})\n", quoted_paths(paths)));
    }
    out.push_str(&format!(
        "__crate_env_watches_in={}\n",
        quote_posix(state.watches_in)
    ));
    out.push_str("__crate_env_apply() {\n");
    for (name, value) in state.vars {
        if !is_valid_name(name) {
            return Err(DirenvError::InvalidName(name.clone()));
        }
        if value.contains('\0') {
            return Err(DirenvError::NulInValue(name.clone()));
        }
        let value = quote_posix(value);
        if name == "PATH" {
            out.push_str(&format!("  export PATH={value}\"${{PATH:+:$PATH}}\"\n"));
        } else {
            out.push_str(&format!("  export {name}={value}\n"));
        }
    }
    if let Some(warning) = state.warning {
        out.push_str(&format!("  printf '%s\\n' {} >&2\n", quote_posix(warning)));
    }
    out.push_str(&format!(
        "  export DIRENV_WATCHES={}\n}}\n",
        quote_posix(state.watches_out)
    ));
    Ok(out)
}

fn quoted_paths(paths: &[PathBuf]) -> String {
    let quoted: Vec<String> = paths
        .iter()
        .map(|f| quote_posix(&f.to_string_lossy()))
        .collect();
    quoted.join(" ")
}

/// What `use_crate_env` evaluates when there is no environment at all (the
/// first load failed): only the watches, so that fixing crate-env.nix or the
/// lock reloads direnv instead of waiting for `direnv reload`.
pub fn render_watches_only(watches_out: &str) -> String {
    format!("export DIRENV_WATCHES={}\n", quote_posix(watches_out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn lib_dir_follows_direnv_stdlib() {
        let p = |s: &str| Some(PathBuf::from(s));
        assert_eq!(lib_dir(p("/d"), p("/x"), p("/h")), p("/d/lib"));
        assert_eq!(lib_dir(None, p("/x"), p("/h")), p("/x/direnv/lib"));
        assert_eq!(lib_dir(p(""), p(""), p("/h")), p("/h/.config/direnv/lib"));
        assert_eq!(lib_dir(None, None, None), None);
    }

    #[test]
    fn function_calls_the_given_binary_quoted() {
        let text = function_text(Path::new("/opt/it's here/crate-env"));
        assert!(text.contains(r"local __ce_exe='/opt/it'\''s here/crate-env'"));
        assert!(!text.contains("@CRATE_ENV_EXE@"));
    }

    #[test]
    fn state_applies_exports_and_keeps_caller_path_without_running_values() {
        let dir = tempfile::tempdir().unwrap();
        let vars = vec![
            (
                "PATH".to_string(),
                "/p/.crate-env/bin:/nix/store/x/bin".to_string(),
            ),
            (
                "NASTY".to_string(),
                "$(touch pwned) `id` it's\nnew".to_string(),
            ),
        ];
        let files = vec![dir.path().join("crate-env.nix")];
        let text = render_state(&State {
            files: &files,
            stamps: &[],
            requires: &[],
            watches_in: "in",
            watches_out: "out'",
            vars: &vars,
            warning: Some("crate-env: it's stale"),
        })
        .unwrap();
        let state = dir.path().join("direnv.bash");
        std::fs::write(&state, text).unwrap();
        let script = format!(
            "source {}; [[ $__crate_env_state == 1 ]] || exit 9; \
             printf '%s|' \"${{__crate_env_files[@]}}\" \"$__crate_env_watches_in\"; \
             __crate_env_apply; printf '%s|%s|%s' \"$PATH\" \"$NASTY\" \"$DIRENV_WATCHES\"",
            quote_posix(&state.to_string_lossy())
        );
        let out = Command::new("bash")
            .arg("-c")
            .arg(script)
            .current_dir(dir.path())
            .env("PATH", "/usr/bin:/bin")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            format!(
                "{}|in|/p/.crate-env/bin:/nix/store/x/bin:/usr/bin:/bin|$(touch pwned) `id` it's\nnew|out'",
                files[0].display()
            )
        );
        assert_eq!(
            String::from_utf8(out.stderr).unwrap(),
            "crate-env: it's stale\n"
        );
        assert!(!dir.path().join("pwned").exists());
    }

    #[test]
    fn invalid_names_are_refused() {
        let vars = vec![("A B".to_string(), "x".to_string())];
        let state = State {
            files: &[],
            stamps: &[],
            requires: &[],
            watches_in: "",
            watches_out: "",
            vars: &vars,
            warning: None,
        };
        assert!(render_state(&state).is_err());
    }
}
