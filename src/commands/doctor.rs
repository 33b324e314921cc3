//! `crate-env doctor`: the compatibility checks of DESIGN.md, each printed as
//! ok / problem (with what differs and what to change) / skipped. Exit 1 on
//! any problem. `crate-env ci` runs the same checks.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use super::materialise::{ensure, LockPolicy};
use super::{Context, LockState, MISSING_LOCK};
use crate::checks::{self, Check, ExpectedToolchain, LlvmTool, RustcInfo};
use crate::envcache::CachedEnv;
use crate::errors::{error_with_hint, ExitCode};
use crate::lock::Lock;
use crate::project::Project;
use crate::toolchain_file::ToolchainFile;

pub fn run(ctx: &Context<'_>) -> Result<ExitCode> {
    let project = ctx.project()?;
    let checks = collect(ctx, &project)?;
    report(ctx, &checks)?;
    Ok(ExitCode::SUCCESS)
}

/// Prints every check; an error naming the problems if there are any.
pub(super) fn report(ctx: &Context<'_>, checks: &[Check]) -> Result<()> {
    for check in checks {
        let line = format!("{:<20} {}", check.name, check.message);
        match check.status {
            checks::Status::Ok => ctx.ui.ok(line),
            checks::Status::Skipped => ctx.ui.skipped(line),
            checks::Status::Problem => {
                let fix = check.fix.as_deref().unwrap_or("");
                ctx.ui.problem(format!("{line}\n{:<20} fix: {fix}", ""));
            }
        }
    }
    let problems: Vec<&str> = checks
        .iter()
        .filter(|c| c.is_problem())
        .map(|c| c.name)
        .collect();
    if problems.is_empty() {
        return Ok(());
    }
    Err(error_with_hint(
        format!(
            "{} check(s) found drift: {}",
            problems.len(),
            problems.join(", ")
        ),
        "change what each `fix:` line above says, then run `crate-env doctor` again",
    ))
}

/// Runs every check. The environment is materialised (never touching the
/// lock) only when the lock is fresh; with a missing or stale lock the
/// checks that need it are skipped.
pub(super) fn collect(ctx: &Context<'_>, project: &Project) -> Result<Vec<Check>> {
    let mut checks = Vec::new();
    let (lock, fresh) = match super::lock_state(project)? {
        LockState::Missing => {
            checks.push(Check::problem(
                "lock",
                MISSING_LOCK,
                "run `crate-env lock --nixpkgs SPEC --rust-overlay SPEC` and commit crate-env.lock",
            ));
            (None, false)
        }
        LockState::Stale { lock, stamp } => {
            checks.push(Check::problem(
                "lock",
                format!(
                    "crate-env.lock is stale: it was locked from {} {}, crate-env.nix is now {}",
                    lock.config.files.join(", "),
                    short_hash(&lock.config.hash),
                    short_hash(&stamp.hash)
                ),
                "run `crate-env lock` and commit crate-env.lock",
            ));
            (Some(lock), false)
        }
        LockState::Fresh { lock, .. } => {
            checks.push(Check::ok(
                "lock",
                "crate-env.lock is fresh for crate-env.nix",
            ));
            (Some(lock), true)
        }
    };
    let stable = lock.as_ref().and_then(|l| l.toolchains.stable.clone());
    match lock.as_ref().filter(|_| fresh) {
        Some(lock) => {
            let env = ensure(ctx, project, LockPolicy::Frozen)?.env;
            environment_checks(&mut checks, lock, &env, &project.root);
            checks.push(toolchain_file_check(ctx, project, lock)?);
        }
        None => {
            checks.push(Check::skipped(
                "environment",
                "rustc, nightly, llvm and wasm-bindgen not checked: the lock is not fresh",
            ));
        }
    }
    let cargo_lock = checks::read_cargo_lock(&project.root)?;
    match &stable {
        Some(stable) => {
            let members = checks::workspace_members(&project.root)?;
            checks.push(checks::check_rust_versions(stable, &members));
            checks.push(checks::check_cargo_lock_format(stable, cargo_lock.as_ref()));
        }
        None => checks.push(Check::skipped(
            "cargo",
            "rust-version and Cargo.lock not checked: no stable is locked",
        )),
    }
    if !fresh {
        if let (Some(file), Some(stable)) = (ToolchainFile::read_in(&project.root)?, &stable) {
            // Without a fresh lock only the channel can be compared.
            let channel = file.toolchain.channel.clone().unwrap_or_default();
            if &channel != stable {
                checks.push(Check::problem(
                    "rust-toolchain.toml",
                    format!("rust-toolchain.toml names {channel}, the lock pins {stable}"),
                    "run `crate-env lock`, then `crate-env toolchain-file`",
                ));
            }
        }
    }
    Ok(checks)
}

fn short_hash(hash: &str) -> &str {
    let hex = hash.strip_prefix("sha256:").unwrap_or(hash);
    &hex[..hex.len().min(12)]
}

fn environment_checks(checks: &mut Vec<Check>, lock: &Lock, env: &CachedEnv, root: &Path) {
    let path = env_var(env, "PATH").unwrap_or_default();
    let stable = lock.toolchains.stable.as_deref().unwrap_or("");
    let rustc = env.env.stable.join("bin/rustc");
    let info = match checks::probe(&rustc, &["-vV"], Some(&path)) {
        Ok(text) => RustcInfo::parse(&text),
        Err(err) => {
            checks.push(Check::problem(
                "rustc",
                format!("{err:#}"),
                "run `crate-env materialise` to rebuild the environment",
            ));
            RustcInfo::default()
        }
    };
    if !info.release.is_empty() {
        checks.push(checks::check_rustc(stable, &info));
    }
    if let (Some(date), Some(nightly)) = (&lock.toolchains.nightly, &env.env.nightly) {
        let nightly_rustc = nightly.join("bin/rustc");
        match checks::probe(&nightly_rustc, &["-vV"], Some(&path)) {
            Ok(text) => checks.push(checks::check_nightly(date, &RustcInfo::parse(&text))),
            Err(err) => checks.push(Check::problem(
                "nightly",
                format!("{err:#}"),
                "run `crate-env materialise` to rebuild the environment",
            )),
        }
    }
    let tools: Vec<LlvmTool> = llvm_tools(env, &path)
        .into_iter()
        .map(|tool| {
            // llvm-profdata before LLVM 17 answers --version only after a subcommand.
            let major = [&["--version"][..], &["merge", "--version"][..]]
                .iter()
                .find_map(|args| {
                    checks::probe(&tool, args, Some(&path))
                        .ok()
                        .and_then(|out| checks::llvm_major_from_version_output(&out))
                });
            LlvmTool { path: tool, major }
        })
        .collect();
    checks.push(checks::check_llvm(&info.release, info.llvm_major(), &tools));
    let cargo_lock = checks::read_cargo_lock(root).ok().flatten();
    let cli = checks::find_on_path(&path, "wasm-bindgen")
        .into_iter()
        .next();
    let version = cli.as_ref().map(|cli| {
        checks::probe(cli, &["--version"], Some(&path))
            .ok()
            .and_then(|out| checks::wasm_bindgen_version(&out))
    });
    checks.push(checks::check_wasm_bindgen(
        cargo_lock.as_ref(),
        cli.as_deref()
            .map(|p| (p, version.as_ref().and_then(|v| v.as_deref()))),
    ));
}

/// `$LLVM_COV`, `$LLVM_PROFDATA`, and every `llvm-cov`/`llvm-profdata` on
/// the environment's PATH (e.g. from `pkgs.llvmPackages_N.llvm`).
fn llvm_tools(env: &CachedEnv, path: &str) -> Vec<PathBuf> {
    let mut tools: Vec<PathBuf> = ["LLVM_COV", "LLVM_PROFDATA"]
        .iter()
        .filter_map(|name| env_var(env, name).map(PathBuf::from))
        .filter(|p| p.is_file())
        .collect();
    for name in ["llvm-cov", "llvm-profdata"] {
        for found in checks::find_on_path(path, name) {
            if !tools.contains(&found) {
                tools.push(found);
            }
        }
    }
    tools
}

fn env_var(env: &CachedEnv, name: &str) -> Option<String> {
    env.env
        .vars
        .get(name)
        .and_then(|v| v.as_str())
        .map(str::to_owned)
}

/// rust-toolchain.toml against the lock and what crate-env.nix asks for
/// (evaluated only when the file exists).
fn toolchain_file_check(ctx: &Context<'_>, project: &Project, lock: &Lock) -> Result<Check> {
    let file = ToolchainFile::read_in(&project.root)?;
    if file.is_none() {
        return Ok(checks::check_toolchain_file(None, &placeholder()));
    }
    let expected = super::toolchain_file::expected(ctx, project, lock)
        .context("cannot evaluate crate-env.nix to compare rust-toolchain.toml")?;
    Ok(checks::check_toolchain_file(file.as_ref(), &expected))
}

fn placeholder() -> ExpectedToolchain {
    ExpectedToolchain {
        stable: String::new(),
        nightly: None,
        profile: String::new(),
        components: vec![],
        targets: vec![],
    }
}
