//! Resolves command-line flags, environment variables and files into one
//! [`Settings`] value before any command runs, remembering where each choice
//! came from (shown by `crate-env status`), like rustup's `ActiveSource`.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use crate::cli::args::GlobalArgs;
use crate::project;

pub const ENV_GITHUB_GIT_BASE: &str = "CRATE_ENV_GITHUB_GIT_BASE";
pub const ENV_GITHUB_ARCHIVE_BASE: &str = "CRATE_ENV_GITHUB_ARCHIVE_BASE";
pub const ENV_NIX_BIN_DIR: &str = "CRATE_ENV_NIX_BIN_DIR";
pub const ENV_STATE_DIR: &str = "CRATE_ENV_STATE_DIR";
pub const ENV_TRUST_ALL: &str = "CRATE_ENV_TRUST_ALL";
/// The per-user list of trusted directory prefixes, under the config home.
pub const TRUSTED_PREFIXES_FILE: &str = "crate-env/trusted-prefixes";
pub const DEFAULT_GITHUB_BASE: &str = "https://github.com";

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "kebab-case")]
pub enum Source {
    /// A command-line flag, e.g. `--directory`.
    Flag(String),
    /// An environment variable.
    Env(String),
    /// A file found on disk (e.g. the nearest crate-env.nix).
    File(PathBuf),
    /// Computed from the running machine.
    Host,
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag(name) => write!(f, "flag {name}"),
            Source::Env(name) => write!(f, "environment variable {name}"),
            Source::File(path) => write!(f, "file {}", path.display()),
            Source::Host => f.write_str("this machine"),
            Source::Default => f.write_str("default"),
        }
    }
}

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Setting<T> {
    pub value: T,
    pub source: Source,
}

impl<T> Setting<T> {
    fn new(value: T, source: Source) -> Self {
        Setting { value, source }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verbosity {
    Quiet,
    Normal,
    Verbose,
    /// `-vv`: also Nix's full build output.
    Trace,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    /// Where the search for the project starts (`-C` or the current directory).
    pub start_dir: Setting<PathBuf>,
    /// The nearest directory at or above `start_dir` holding a crate-env.nix.
    pub project_root: Option<Setting<PathBuf>>,
    pub verbosity: Setting<Verbosity>,
    pub color: Setting<bool>,
    /// Nix system double, e.g. `x86_64-linux`.
    pub system: Setting<String>,
    pub github_git_base: Setting<String>,
    pub github_archive_base: Setting<String>,
    /// A directory holding `nix-build` & co, instead of a `PATH` search.
    pub nix_bin_dir: Setting<Option<PathBuf>>,
    /// The user's crate-env state (never in a repository): the registry of
    /// materialised projects, trust records. `None` without HOME or XDG_STATE_HOME.
    pub state_home: Setting<Option<PathBuf>>,
    /// `CRATE_ENV_TRUST_ALL=1`: implicit activation evaluates any project
    /// (CI containers). docs/trust.md.
    pub trust_all: Setting<bool>,
    /// Directories whose projects are the user's own code: implicit
    /// activation evaluates them without `crate-env allow` (direnv's
    /// `whitelist.prefix`).
    pub trusted_prefixes: Setting<Vec<PathBuf>>,
}

/// Read access to the environment, so resolution is testable without
/// touching the real process environment.
pub trait Environment {
    fn var(&self, name: &str) -> Option<String>;
    fn current_dir(&self) -> std::io::Result<PathBuf>;
}

/// The real process environment.
pub struct ProcessEnv;

impl Environment for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
    fn current_dir(&self) -> std::io::Result<PathBuf> {
        std::env::current_dir()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot determine the current directory")]
    CurrentDir(#[source] std::io::Error),
    #[error("directory {path} does not exist")]
    MissingDirectory { path: PathBuf },
    #[error("environment variable {name} is set but empty")]
    EmptyVar { name: &'static str },
    #[error("cannot read {path}")]
    ReadFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: `{entry}` is not an absolute directory (write /abs/path or ~/path, one per line)")]
    RelativePrefix {
        path: PathBuf,
        line: usize,
        entry: String,
    },
}

impl Settings {
    pub fn resolve(args: &GlobalArgs, env: &dyn Environment) -> Result<Settings, SettingsError> {
        let start_dir = resolve_start_dir(args, env)?;
        let project_root = project::find_root(&start_dir.value)
            .map(|root| Setting::new(root.clone(), Source::File(project::config_path(&root))));
        Ok(Settings {
            start_dir,
            project_root,
            verbosity: resolve_verbosity(args),
            color: resolve_color(env),
            system: Setting::new(host_system(), Source::Host),
            github_git_base: github_base(env, ENV_GITHUB_GIT_BASE)?,
            github_archive_base: github_base(env, ENV_GITHUB_ARCHIVE_BASE)?,
            nix_bin_dir: resolve_nix_bin_dir(env)?,
            state_home: resolve_state_home(env),
            trust_all: resolve_trust_all(env),
            trusted_prefixes: resolve_trusted_prefixes(env)?,
        })
    }
}

fn resolve_start_dir(
    args: &GlobalArgs,
    env: &dyn Environment,
) -> Result<Setting<PathBuf>, SettingsError> {
    let cwd = env.current_dir().map_err(SettingsError::CurrentDir)?;
    let Some(dir) = &args.directory else {
        return Ok(Setting::new(cwd, Source::Default));
    };
    let dir = cwd.join(dir);
    let dir = dir
        .canonicalize()
        .map_err(|_| SettingsError::MissingDirectory { path: dir.clone() })?;
    Ok(Setting::new(dir, Source::Flag("--directory".into())))
}

fn resolve_verbosity(args: &GlobalArgs) -> Setting<Verbosity> {
    match (args.quiet, args.verbose) {
        (true, _) => Setting::new(Verbosity::Quiet, Source::Flag("--quiet".into())),
        (false, 0) => Setting::new(Verbosity::Normal, Source::Default),
        (false, 1) => Setting::new(Verbosity::Verbose, Source::Flag("--verbose".into())),
        (false, _) => Setting::new(Verbosity::Trace, Source::Flag("--verbose".into())),
    }
}

/// <https://no-color.org>: any non-empty NO_COLOR disables color.
fn resolve_color(env: &dyn Environment) -> Setting<bool> {
    match env.var("NO_COLOR") {
        Some(v) if !v.is_empty() => Setting::new(false, Source::Env("NO_COLOR".into())),
        _ => Setting::new(true, Source::Default),
    }
}

fn github_base(
    env: &dyn Environment,
    name: &'static str,
) -> Result<Setting<String>, SettingsError> {
    match env.var(name) {
        Some(v) if v.is_empty() => Err(SettingsError::EmptyVar { name }),
        Some(v) => Ok(Setting::new(
            v.trim_end_matches('/').to_owned(),
            Source::Env(name.into()),
        )),
        None => Ok(Setting::new(
            DEFAULT_GITHUB_BASE.to_owned(),
            Source::Default,
        )),
    }
}

fn resolve_nix_bin_dir(env: &dyn Environment) -> Result<Setting<Option<PathBuf>>, SettingsError> {
    match env.var(ENV_NIX_BIN_DIR) {
        Some(v) if v.is_empty() => Err(SettingsError::EmptyVar {
            name: ENV_NIX_BIN_DIR,
        }),
        Some(v) => Ok(Setting::new(
            Some(PathBuf::from(v)),
            Source::Env(ENV_NIX_BIN_DIR.into()),
        )),
        None => Ok(Setting::new(None, Source::Default)),
    }
}

/// `CRATE_ENV_STATE_DIR`, else `$XDG_STATE_HOME/crate-env`, else
/// `$HOME/.local/state/crate-env` (the XDG base directory default). Empty
/// values count as unset, as the XDG spec says.
fn resolve_state_home(env: &dyn Environment) -> Setting<Option<PathBuf>> {
    let set = |name: &str| env.var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = set(ENV_STATE_DIR) {
        return Setting::new(Some(dir), Source::Env(ENV_STATE_DIR.into()));
    }
    if let Some(xdg) = set("XDG_STATE_HOME") {
        return Setting::new(
            Some(xdg.join("crate-env")),
            Source::Env("XDG_STATE_HOME".into()),
        );
    }
    let home = set("HOME").map(|h| h.join(".local/state/crate-env"));
    Setting::new(home, Source::Default)
}

/// `CRATE_ENV_TRUST_ALL=1` (or `true`) trusts every project.
fn resolve_trust_all(env: &dyn Environment) -> Setting<bool> {
    match env.var(ENV_TRUST_ALL) {
        Some(v) => Setting::new(
            matches!(v.as_str(), "1" | "true" | "yes"),
            Source::Env(ENV_TRUST_ALL.into()),
        ),
        None => Setting::new(false, Source::Default),
    }
}

/// `$XDG_CONFIG_HOME/crate-env/trusted-prefixes` (else `~/.config/…`): one
/// absolute directory per line, `~/` for HOME, `#` comments.
fn resolve_trusted_prefixes(env: &dyn Environment) -> Result<Setting<Vec<PathBuf>>, SettingsError> {
    let set = |name: &str| env.var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let home = set("HOME");
    let config_home = set("XDG_CONFIG_HOME").or_else(|| home.as_ref().map(|h| h.join(".config")));
    let Some(path) = config_home.map(|c| c.join(TRUSTED_PREFIXES_FILE)) else {
        return Ok(Setting::new(Vec::new(), Source::Default));
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Setting::new(Vec::new(), Source::Default))
        }
        Err(source) => return Err(SettingsError::ReadFile { path, source }),
    };
    let prefixes = parse_prefixes(&text, home.as_deref(), &path)?;
    Ok(Setting::new(prefixes, Source::File(path)))
}

fn parse_prefixes(
    text: &str,
    home: Option<&std::path::Path>,
    path: &std::path::Path,
) -> Result<Vec<PathBuf>, SettingsError> {
    let mut prefixes = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let entry = line
            .split_once('#')
            .map_or(line, |(before, _)| before)
            .trim();
        if entry.is_empty() {
            continue;
        }
        let dir = match (entry, home) {
            ("~", Some(home)) => home.to_path_buf(),
            (_, Some(home)) if entry.starts_with("~/") => home.join(&entry[2..]),
            _ => PathBuf::from(entry),
        };
        if !dir.is_absolute() {
            return Err(SettingsError::RelativePrefix {
                path: path.to_owned(),
                line: i + 1,
                entry: entry.to_owned(),
            });
        }
        prefixes.push(dir);
    }
    Ok(prefixes)
}

/// The Nix system double of this machine, e.g. `x86_64-linux`, `aarch64-darwin`.
pub fn host_system() -> String {
    nix_system(std::env::consts::ARCH, std::env::consts::OS)
}

fn nix_system(arch: &str, os: &str) -> String {
    let arch = match arch {
        "x86" => "i686",
        "powerpc64" if cfg!(target_endian = "little") => "powerpc64le",
        other => other,
    };
    let os = match os {
        "macos" => "darwin",
        other => other,
    };
    format!("{arch}-{os}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::path::Path;

    struct FakeEnv {
        vars: HashMap<&'static str, &'static str>,
        cwd: PathBuf,
    }

    impl Environment for FakeEnv {
        fn var(&self, name: &str) -> Option<String> {
            self.vars.get(name).map(|v| v.to_string())
        }
        fn current_dir(&self) -> std::io::Result<PathBuf> {
            Ok(self.cwd.clone())
        }
    }

    fn fake(vars: &[(&'static str, &'static str)], cwd: &Path) -> FakeEnv {
        FakeEnv {
            vars: vars.iter().copied().collect(),
            cwd: cwd.to_path_buf(),
        }
    }

    #[test]
    fn defaults_when_nothing_is_set() {
        let dir = tempfile::tempdir().unwrap();
        let s = Settings::resolve(&GlobalArgs::default(), &fake(&[], dir.path())).unwrap();
        assert_eq!(
            s.start_dir,
            Setting::new(dir.path().to_path_buf(), Source::Default)
        );
        assert_eq!(s.project_root, None);
        assert_eq!(s.github_git_base.value, "https://github.com");
        assert_eq!(s.github_git_base.source, Source::Default);
        assert_eq!(s.verbosity.value, Verbosity::Normal);
        assert!(s.color.value);
        assert_eq!(s.nix_bin_dir.value, None);
        assert_eq!(s.system.source, Source::Host);
    }

    #[test]
    fn environment_and_flags_are_recorded_as_sources() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir(root.join("sub")).unwrap();
        std::fs::write(root.join("crate-env.nix"), "{ }").unwrap();
        let env = fake(
            &[
                ("CRATE_ENV_GITHUB_GIT_BASE", "http://127.0.0.1:1/"),
                ("NO_COLOR", "1"),
                ("CRATE_ENV_NIX_BIN_DIR", "/opt/nix/bin"),
            ],
            Path::new("/"),
        );
        let args = GlobalArgs {
            directory: Some(root.join("sub")),
            quiet: false,
            verbose: 2,
        };
        let s = Settings::resolve(&args, &env).unwrap();
        assert_eq!(s.start_dir.source, Source::Flag("--directory".into()));
        let project_root = s.project_root.unwrap();
        assert_eq!(project_root.value, root);
        assert_eq!(
            project_root.source,
            Source::File(root.join("crate-env.nix"))
        );
        assert_eq!(s.github_git_base.value, "http://127.0.0.1:1");
        assert_eq!(
            s.github_git_base.source,
            Source::Env("CRATE_ENV_GITHUB_GIT_BASE".into())
        );
        assert_eq!(s.github_archive_base.source, Source::Default);
        assert_eq!(s.color, Setting::new(false, Source::Env("NO_COLOR".into())));
        assert_eq!(s.verbosity.value, Verbosity::Trace);
        assert_eq!(s.nix_bin_dir.value, Some(PathBuf::from("/opt/nix/bin")));
    }

    #[test]
    fn state_home_follows_xdg() {
        let at = |vars: &[(&'static str, &'static str)]| {
            resolve_state_home(&fake(vars, Path::new("/"))).value
        };
        let p = |s: &str| Some(PathBuf::from(s));
        assert_eq!(at(&[("HOME", "/h")]), p("/h/.local/state/crate-env"));
        assert_eq!(
            at(&[("HOME", "/h"), ("XDG_STATE_HOME", "/x")]),
            p("/x/crate-env")
        );
        assert_eq!(
            at(&[("XDG_STATE_HOME", ""), ("HOME", "/h")]),
            p("/h/.local/state/crate-env")
        );
        assert_eq!(
            at(&[("CRATE_ENV_STATE_DIR", "/s"), ("XDG_STATE_HOME", "/x")]),
            p("/s")
        );
        assert_eq!(at(&[]), None);
    }

    #[test]
    fn trust_settings() {
        let dir = tempfile::tempdir().unwrap();
        let home: &'static str = Box::leak(dir.path().display().to_string().into_boxed_str());
        let env = fake(
            &[("HOME", home), ("CRATE_ENV_TRUST_ALL", "1")],
            Path::new("/"),
        );
        assert!(resolve_trust_all(&env).value);
        assert!(!resolve_trust_all(&fake(&[], Path::new("/"))).value);
        let none = resolve_trusted_prefixes(&env).unwrap();
        assert_eq!(none, Setting::new(vec![], Source::Default));
        let file = dir.path().join(".config").join(TRUSTED_PREFIXES_FILE);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, "# mine\n~/src\n\n/srv/code  # comment\n").unwrap();
        let got = resolve_trusted_prefixes(&env).unwrap();
        assert_eq!(
            got.value,
            [dir.path().join("src"), PathBuf::from("/srv/code")]
        );
        assert_eq!(got.source, Source::File(file.clone()));
        std::fs::write(&file, "/ok\nsrc\n").unwrap();
        let err = resolve_trusted_prefixes(&env).unwrap_err().to_string();
        assert!(err.contains("trusted-prefixes:2: `src`"), "{err}");
    }

    #[test]
    fn empty_no_color_keeps_color() {
        let env = fake(&[("NO_COLOR", "")], Path::new("/"));
        assert!(resolve_color(&env).value);
    }

    #[test]
    fn missing_directory_flag_is_an_error() {
        let args = GlobalArgs {
            directory: Some(PathBuf::from("/definitely/not/here")),
            ..GlobalArgs::default()
        };
        let err = Settings::resolve(&args, &fake(&[], Path::new("/"))).unwrap_err();
        assert!(err.to_string().contains("/definitely/not/here"));
    }

    #[test]
    fn nix_system_names() {
        assert_eq!(nix_system("x86_64", "linux"), "x86_64-linux");
        assert_eq!(nix_system("aarch64", "macos"), "aarch64-darwin");
        assert_eq!(nix_system("x86", "linux"), "i686-linux");
    }
}
