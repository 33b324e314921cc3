//! Proxies: `.crate-env/bin/cargo`, `rustc`, ... are symlinks to the
//! crate-env binary, which looks at argv[0] (as rustup does), applies the
//! project's cached environment and execs the pinned binary.
//!
//! This is the core: which names are proxies, which toolchain a call
//! selects, where the pinned binary lives, and the links themselves. It
//! never prints and never starts Nix; `proxy_mode` drives it.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::cli::context::Context;
use crate::project::env_cache::{CachedEnv, StoreEnv};
use crate::project::fsutil::{atomic_write, FsError};
use crate::project::{self, Project};

/// The toolchain's own tools; each always gets a proxy (rustup's list, plus
/// the coverage tools crate-env exports).
pub const TOOLCHAIN_PROXIES: &[&str] = &[
    "cargo",
    "rustc",
    "rustdoc",
    "rustfmt",
    "cargo-fmt",
    "cargo-clippy",
    "clippy-driver",
    "rust-analyzer",
    "rust-gdb",
    "rust-lldb",
    "llvm-cov",
    "llvm-profdata",
];

/// Set by a proxy called with `+stable`/`+nightly`, so that the tools it
/// starts (cargo running `rustc`) use the same toolchain, like rustup's
/// `RUSTUP_TOOLCHAIN`.
pub const TOOLCHAIN_VAR: &str = "CRATE_ENV_TOOLCHAIN";
/// `1`: a proxy never materialises; a stale cache is used with a warning.
pub const OFFLINE_VAR: &str = "CRATE_ENV_OFFLINE";
/// Set (to `1`) when the applied environment is the last good one.
pub const STALE_VAR: &str = "CRATE_ENV_STALE";

/// Written last into `.crate-env/bin`: what the links were made for.
const STAMP_FILE: &str = ".proxies";

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("crate-env's `{name}` proxy: no crate-env.nix in {} or any parent directory", cwd.display())]
    NoProject { name: String, cwd: PathBuf },
    #[error(
        "`+{0}` is not a toolchain of this project (crate-env pins one stable and one nightly)"
    )]
    UnknownToolchain(String),
    #[error("`{value}` in {TOOLCHAIN_VAR} is not a toolchain (expected stable or nightly)")]
    BadToolchainVar { value: String },
    #[error("this project pins no nightly toolchain")]
    NoNightly,
    #[error("the pinned {toolchain} toolchain has no `{name}`")]
    NotInToolchain { name: String, toolchain: Toolchain },
    #[error("`{name}` is not a binary of this project's environment")]
    NotInEnvironment { name: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Toolchain {
    Stable,
    Nightly,
}

impl Toolchain {
    pub fn name(self) -> &'static str {
        match self {
            Toolchain::Stable => "stable",
            Toolchain::Nightly => "nightly",
        }
    }

    fn parse(name: &str) -> Option<Toolchain> {
        match name {
            "stable" => Some(Toolchain::Stable),
            "nightly" => Some(Toolchain::Nightly),
            _ => None,
        }
    }
}

impl std::fmt::Display for Toolchain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The proxy an argv[0] names, or `None` when crate-env runs as itself
/// (any file name starting with `crate-env`, e.g. `crate-env`, `crate-env.exe`).
pub fn proxy_name(argv0: &OsStr) -> Option<String> {
    let name = Path::new(argv0).file_name()?.to_str()?;
    let name = name.strip_suffix(".exe").unwrap_or(name);
    (!name.is_empty() && !name.starts_with("crate-env")).then(|| name.to_owned())
}

/// The toolchain a call selects: a leading `+stable`/`+nightly` argument
/// (removed from `args`), else `CRATE_ENV_TOOLCHAIN`, else stable. The flag
/// is true when the argument chose it (the caller then sets the variable).
pub fn select_toolchain(
    args: &mut Vec<OsString>,
    inherited: Option<&OsStr>,
) -> Result<(Toolchain, bool), ProxyError> {
    let plus = args
        .first()
        .and_then(|a| a.to_str())
        .and_then(|a| a.strip_prefix('+'))
        .map(str::to_owned);
    if let Some(name) = plus {
        let toolchain =
            Toolchain::parse(&name).ok_or_else(|| ProxyError::UnknownToolchain(name.clone()))?;
        args.remove(0);
        return Ok((toolchain, true));
    }
    match inherited.filter(|v| !v.is_empty()) {
        None => Ok((Toolchain::Stable, false)),
        Some(value) => {
            let value = value.to_string_lossy();
            Toolchain::parse(&value).map(|t| (t, false)).ok_or_else(|| {
                ProxyError::BadToolchainVar {
                    value: value.into_owned(),
                }
            })
        }
    }
}

/// The project (and member) of the working directory; outside any, the
/// active environment's (`CRATE_ENV_ROOT`, the member's directory, set
/// wherever the environment is applied, so a build script cargo runs from a
/// registry crate's directory still reaches the pinned rustc). Never a guess
/// beyond that.
///
/// Inside a workspace, the active environment wins when it is a member at or
/// below the working directory's: cargo runs rustc from the workspace root,
/// and `cargo +nightly build` in `wasm/` must get wasm's rustc there. A
/// working directory in another (or a deeper) member picks that member.
pub fn find_project(
    name: &str,
    cwd: &Path,
    active_root: Option<&OsStr>,
) -> Result<Project, ProxyError> {
    let active = active_root
        .filter(|r| !r.is_empty())
        .map(PathBuf::from)
        .filter(|r| project::config_path(r).is_file())
        .and_then(|dir| Project::discover(&dir).filter(|p| p.dir() == dir));
    match (Project::discover(cwd), active) {
        (Some(here), Some(active)) if active.root == here.root && is_within(&active, &here) => {
            Ok(active)
        }
        (Some(here), _) => Ok(here),
        (None, Some(active)) => Ok(active),
        (None, None) => Err(ProxyError::NoProject {
            name: name.to_owned(),
            cwd: cwd.to_owned(),
        }),
    }
}

/// `inner` is `outer` or a member below it.
fn is_within(inner: &Project, outer: &Project) -> bool {
    outer.is_root()
        || inner.member == outer.member
        || inner
            .member
            .strip_prefix(&outer.member)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The pinned binary `name` for `toolchain`. Stable: the environment's PATH
/// (the stable toolchain and `packages`), then the toolchain's
/// `lib/rustlib/*/bin` (llvm-tools). Nightly: the nightly's own directories;
/// only names that are not toolchain tools fall back to the environment's
/// PATH, so a nightly tool is never silently replaced by the stable one.
pub fn find_binary(
    name: &str,
    toolchain: Toolchain,
    env: &StoreEnv,
) -> Result<PathBuf, ProxyError> {
    let env_path: Vec<PathBuf> = env
        .vars
        .get("PATH")
        .and_then(|v| v.as_str())
        .map(|p| std::env::split_paths(p).collect())
        .unwrap_or_default();
    let is_tool = TOOLCHAIN_PROXIES.contains(&name);
    let found = match toolchain {
        Toolchain::Stable => {
            search(name, &env_path).or_else(|| search(name, &toolchain_dirs(&env.stable)))
        }
        Toolchain::Nightly => {
            let nightly = env.nightly.as_ref().ok_or(ProxyError::NoNightly)?;
            let mut dirs = vec![nightly.join("bin")];
            dirs.extend(toolchain_dirs(nightly).into_iter().skip(1));
            search(name, &dirs).or_else(|| (!is_tool).then(|| search(name, &env_path)).flatten())
        }
    };
    found.ok_or_else(|| {
        if is_tool {
            ProxyError::NotInToolchain {
                name: name.to_owned(),
                toolchain,
            }
        } else {
            ProxyError::NotInEnvironment {
                name: name.to_owned(),
            }
        }
    })
}

/// `<toolchain>/bin`, then every `<toolchain>/lib/rustlib/<target>/bin`.
fn toolchain_dirs(toolchain: &Path) -> Vec<PathBuf> {
    let mut dirs = vec![toolchain.join("bin")];
    if let Ok(entries) = std::fs::read_dir(toolchain.join("lib/rustlib")) {
        let mut targets: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path().join("bin"))
            .collect();
        targets.sort();
        dirs.extend(targets);
    }
    dirs
}

/// The first executable `name` in `dirs`.
fn search(name: &str, dirs: &[PathBuf]) -> Option<PathBuf> {
    let path = std::env::join_paths(dirs).ok()?;
    which::which_in(name, Some(path), "/").ok()
}

/// The names `.crate-env/bin` holds: the toolchain's tools and every binary
/// of the user's `packages`, sorted, without duplicates.
pub fn link_names(env: &StoreEnv) -> Vec<String> {
    let mut names: Vec<String> = TOOLCHAIN_PROXIES.iter().map(|s| s.to_string()).collect();
    for package in &env.packages {
        let Ok(entries) = std::fs::read_dir(package.join("bin")) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            // Hidden files are wrappers' internals; `crate-env*` would be the CLI.
            if !name.starts_with('.') && proxy_name(OsStr::new(&name)).is_some() {
                names.push(name);
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

/// Makes `.crate-env/bin` hold one proxy per tool of `env`, linked to the
/// running crate-env; a no-op (one small read) when it already does.
pub fn sync(ctx: &Context<'_>, project: &Project, env: &CachedEnv) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("cannot find the crate-env executable")?;
    let names = link_names(&env.env);
    let bin = project.proxy_dir();
    if links_current(&bin, &exe, &names) {
        return Ok(());
    }
    let _state = ctx.state_lock(project)?;
    install_links(&bin, &exe, &names)
        .with_context(|| format!("cannot write the proxies in {}", bin.display()))
}

/// What `.crate-env/bin/.proxies` says when the links in `bin_dir` point at
/// `exe` and are exactly `names`.
pub fn stamp_text(exe: &Path, names: &[String]) -> String {
    let mut text = format!("{}\n", exe.display());
    for name in names {
        text.push_str(name);
        text.push('\n');
    }
    text
}

/// True when the links already are what [`install_links`] would write.
pub fn links_current(bin_dir: &Path, exe: &Path, names: &[String]) -> bool {
    std::fs::read_to_string(bin_dir.join(STAMP_FILE)).is_ok_and(|t| t == stamp_text(exe, names))
}

/// Makes `bin_dir` hold exactly one symlink to `exe` per name. Each link is
/// created under a temporary name and renamed into place, so a proxy running
/// meanwhile finds either the old link or the new one; names no longer
/// wanted are removed; the stamp is written last. The caller holds the
/// state lock.
pub fn install_links(bin_dir: &Path, exe: &Path, names: &[String]) -> Result<(), FsError> {
    let write_error = |path: &Path| {
        let path = path.to_owned();
        move |source| FsError::Write { path, source }
    };
    std::fs::create_dir_all(bin_dir).map_err(write_error(bin_dir))?;
    for name in names {
        let link = bin_dir.join(name);
        if std::fs::read_link(&link).is_ok_and(|target| target == exe) {
            continue;
        }
        let temp = bin_dir.join(format!(".tmp-{name}-{}", std::process::id()));
        let _ = std::fs::remove_file(&temp);
        symlink(exe, &temp).map_err(write_error(&link))?;
        std::fs::rename(&temp, &link).map_err(write_error(&link))?;
    }
    let entries = std::fs::read_dir(bin_dir).map_err(write_error(bin_dir))?;
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name != STAMP_FILE && !names.contains(&name) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    atomic_write(&bin_dir.join(STAMP_FILE), stamp_text(exe, names).as_bytes())
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(not(unix))]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::fs::copy(target, link).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::env_cache::parse_store_env;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn argv0_names_a_proxy_unless_it_is_crate_env() {
        assert_eq!(
            proxy_name(OsStr::new("/p/.crate-env/bin/cargo")).as_deref(),
            Some("cargo")
        );
        assert_eq!(proxy_name(OsStr::new("rustc")).as_deref(), Some("rustc"));
        assert_eq!(
            proxy_name(OsStr::new("cargo.exe")).as_deref(),
            Some("cargo")
        );
        for cli in [
            "crate-env",
            "/usr/bin/crate-env",
            "crate-env.exe",
            "crate-env-0.1",
            "",
        ] {
            assert_eq!(proxy_name(OsStr::new(cli)), None, "{cli}");
        }
    }

    #[test]
    fn plus_argument_selects_and_is_removed() {
        let mut a = args(&["+nightly", "build", "+stable"]);
        assert_eq!(
            select_toolchain(&mut a, None).unwrap(),
            (Toolchain::Nightly, true)
        );
        assert_eq!(a, args(&["build", "+stable"]));
        let mut a = args(&["+stable"]);
        let inherited = Some(OsStr::new("nightly"));
        assert_eq!(
            select_toolchain(&mut a, inherited).unwrap(),
            (Toolchain::Stable, true)
        );
        assert!(a.is_empty());
    }

    #[test]
    fn inherited_toolchain_applies_without_plus() {
        let mut a = args(&["build"]);
        let got = select_toolchain(&mut a, Some(OsStr::new("nightly"))).unwrap();
        assert_eq!(got, (Toolchain::Nightly, false));
        assert_eq!(a, args(&["build"]));
        assert_eq!(
            select_toolchain(&mut a, Some(OsStr::new(""))).unwrap().0,
            Toolchain::Stable
        );
        assert_eq!(
            select_toolchain(&mut vec![], None).unwrap().0,
            Toolchain::Stable
        );
    }

    #[test]
    fn unknown_toolchains_are_errors_not_fallbacks() {
        let mut a = args(&["+1.70.0", "build"]);
        let err = select_toolchain(&mut a, None).unwrap_err();
        assert!(err.to_string().contains("+1.70.0"), "{err}");
        assert_eq!(a.len(), 2);
        let err = select_toolchain(&mut args(&[]), Some(OsStr::new("beta"))).unwrap_err();
        assert!(err.to_string().contains("beta"), "{err}");
    }

    fn exe(dir: &Path, rel: &str) -> PathBuf {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "#!/bin/sh\n").unwrap();
        crate::project::fsutil::set_mode(&path, 0o755).unwrap();
        path
    }

    fn store_env(dir: &Path, nightly: bool) -> StoreEnv {
        let d = dir.display();
        let nightly = if nightly {
            format!("\"{d}/nightly\"")
        } else {
            "null".into()
        };
        let text = format!(
            r#"{{"vars":{{"PATH":"{d}/cc/bin:{d}/stable/bin:{d}/pkg/bin"}},"stable":"{d}/stable","nightly":{nightly},
               "sources":{{"nixpkgs":"/n","rust-overlay":"/r"}},"packages":["{d}/pkg"]}}"#
        );
        parse_store_env(&text, Path::new("env.json")).unwrap()
    }

    #[test]
    fn finds_stable_tools_llvm_tools_and_package_binaries() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let rustc = exe(d, "stable/bin/rustc");
        let cov = exe(
            d,
            "stable/lib/rustlib/x86_64-unknown-linux-gnu/bin/llvm-cov",
        );
        let pc = exe(d, "pkg/bin/pkg-config");
        exe(d, "nightly/bin/rustc");
        std::fs::write(d.join("stable/bin/rustfmt"), "not executable").unwrap();
        let env = store_env(d, true);
        assert_eq!(
            find_binary("rustc", Toolchain::Stable, &env).unwrap(),
            rustc
        );
        assert_eq!(
            find_binary("llvm-cov", Toolchain::Stable, &env).unwrap(),
            cov
        );
        assert_eq!(
            find_binary("pkg-config", Toolchain::Stable, &env).unwrap(),
            pc
        );
        let err = find_binary("rustfmt", Toolchain::Stable, &env).unwrap_err();
        assert!(matches!(err, ProxyError::NotInToolchain { .. }), "{err}");
        let err = find_binary("nope", Toolchain::Stable, &env).unwrap_err();
        assert!(matches!(err, ProxyError::NotInEnvironment { .. }), "{err}");
    }

    #[test]
    fn nightly_never_falls_back_to_stable_tools() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        exe(d, "stable/bin/cargo");
        exe(d, "stable/bin/rustc");
        let nightly_rustc = exe(d, "nightly/bin/rustc");
        let pc = exe(d, "pkg/bin/pkg-config");
        let env = store_env(d, true);
        assert_eq!(
            find_binary("rustc", Toolchain::Nightly, &env).unwrap(),
            nightly_rustc
        );
        assert_eq!(
            find_binary("pkg-config", Toolchain::Nightly, &env).unwrap(),
            pc
        );
        let err = find_binary("cargo", Toolchain::Nightly, &env).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the pinned nightly toolchain has no `cargo`"
        );
        let err = find_binary("rustc", Toolchain::Nightly, &store_env(d, false)).unwrap_err();
        assert!(matches!(err, ProxyError::NoNightly));
    }

    #[test]
    fn links_cover_tools_and_packages_and_are_replaced_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        exe(d, "pkg/bin/pkg-config");
        exe(d, "pkg/bin/.pkg-config-wrapped");
        exe(d, "pkg/bin/cargo");
        let env = store_env(d, false);
        let names = link_names(&env);
        assert!(names.contains(&"pkg-config".to_string()));
        assert!(names.contains(&"rust-analyzer".to_string()));
        assert!(!names.iter().any(|n| n.starts_with('.')));
        assert_eq!(names.iter().filter(|n| *n == "cargo").count(), 1);

        let bin = d.join("proj/.crate-env/bin");
        let exe_a = exe(d, "a/crate-env");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::write(bin.join("stale-tool"), "").unwrap();
        assert!(!links_current(&bin, &exe_a, &names));
        install_links(&bin, &exe_a, &names).unwrap();
        assert!(links_current(&bin, &exe_a, &names));
        assert_eq!(std::fs::read_link(bin.join("cargo")).unwrap(), exe_a);
        assert!(!bin.join("stale-tool").exists());

        let exe_b = exe(d, "b/crate-env");
        assert!(!links_current(&bin, &exe_b, &names));
        install_links(&bin, &exe_b, &names).unwrap();
        assert_eq!(std::fs::read_link(bin.join("rustc")).unwrap(), exe_b);
        let leftovers: Vec<_> = std::fs::read_dir(&bin)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.') && n != STAMP_FILE)
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn project_from_cwd_then_active_root_else_error() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("p/sub")).unwrap();
        std::fs::write(d.join("p/crate-env.nix"), "{}").unwrap();
        std::fs::create_dir_all(d.join("elsewhere")).unwrap();
        let root = d.join("p");
        let found = |cwd: &str, active: Option<&OsStr>| {
            find_project("cargo", &d.join(cwd), active).map(|p| (p.root, p.member))
        };
        assert_eq!(found("p/sub", None).unwrap(), (root.clone(), "".into()));
        let active = Some(root.as_os_str());
        assert_eq!(
            found("elsewhere", active).unwrap(),
            (root.clone(), "".into())
        );
        let err = find_project("cargo", &d.join("elsewhere"), None).unwrap_err();
        assert!(err.to_string().contains("no crate-env.nix"), "{err}");
        let bogus = Some(OsStr::new("/nonexistent/project"));
        assert!(find_project("cargo", &d.join("elsewhere"), bogus).is_err());
    }

    #[test]
    fn members_from_cwd_or_the_active_member_below_it() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for m in ["", "wasm/", "py/"] {
            std::fs::create_dir_all(d.join(format!("{m}src"))).unwrap();
            std::fs::write(d.join(format!("{m}crate-env.nix")), "{}").unwrap();
        }
        let member = |cwd: &str, active: Option<&str>| {
            let active = active.map(|a| d.join(a).into_os_string());
            find_project("cargo", &d.join(cwd), active.as_deref())
                .unwrap()
                .member
        };
        assert_eq!(member("wasm/src", None), "wasm");
        assert_eq!(member("src", None), "");
        // cargo in wasm/ runs rustc from the workspace root: wasm's stays.
        assert_eq!(member("", Some("wasm")), "wasm");
        // Another member, or a deeper one, is the working directory's.
        assert_eq!(member("py/src", Some("wasm")), "py");
        assert_eq!(member("wasm", Some("")), "wasm");
    }
}
