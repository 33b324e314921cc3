//! Every check for a project, as `doctor` and `ci` run them. The
//! environment is materialised (never touching the lock) only when the lock
//! is fresh; with a missing or stale lock the checks that need it are
//! skipped.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use crate::checks::cargo::{read_cargo_lock, workspace_members};
use crate::checks::probes::{
    find_on_path, llvm_major_from_version_output, probe, wasm_bindgen_version, RustcInfo,
};
use crate::checks::rules::{
    check_cargo_lock_format, check_llvm, check_nightly, check_rust_versions, check_rustc,
    check_toolchain_file, check_wasm_bindgen, LlvmTool,
};
use crate::checks::Check;
use crate::cli::context::Context;
use crate::environment::{ensure, RelockPolicy};
use crate::locking::expected_toolchain;
use crate::project::env_cache::CachedEnv;
use crate::project::lockfile::{freshness, stale_lock_message, Freshness, Lockfile, MISSING_LOCK};
use crate::project::toolchain_file::ToolchainFile;
use crate::project::Project;

const REBUILD: &str = "run `crate-env materialise` to rebuild the environment";

/// Every check of the workspace `project` is in: the root's (below), then
/// each member's lock and environment checks, labelled with the member.
pub fn collect_workspace(ctx: &Context<'_>, project: &Project) -> Result<Vec<Check>> {
    let mut checks = Vec::new();
    for env in project.workspace() {
        if env.is_root() {
            checks.extend(collect(ctx, &env)?);
            continue;
        }
        let found = collect_member(ctx, &env)
            .with_context(|| format!("cannot check member {}", env.member))?;
        checks.extend(found.into_iter().map(|c| c.in_member(&env.member)));
    }
    Ok(checks)
}

/// A member's own checks: its lock entry and its environment (the Cargo
/// files and rust-toolchain.toml are the root's).
fn collect_member(ctx: &Context<'_>, project: &Project) -> Result<Vec<Check>> {
    let mut checks = Vec::new();
    let (lock, fresh) = lock_check(&mut checks, project)?;
    match lock.as_ref().filter(|_| fresh) {
        Some(lock) => {
            let env = ensure(ctx, project, RelockPolicy::Frozen)?.env;
            environment_checks(&mut checks, lock, &env, &project.root);
        }
        None => checks.push(Check::skipped(
            "environment",
            "rustc, nightly, llvm and wasm-bindgen not checked: the lock is not fresh",
        )),
    }
    Ok(checks)
}

/// The root's checks; see the module docs.
pub fn collect(ctx: &Context<'_>, project: &Project) -> Result<Vec<Check>> {
    let mut checks = Vec::new();
    let (lock, fresh) = lock_check(&mut checks, project)?;
    let stable = lock.as_ref().and_then(|l| l.toolchains.stable.clone());
    match lock.as_ref().filter(|_| fresh) {
        Some(lock) => {
            let env = ensure(ctx, project, RelockPolicy::Frozen)?.env;
            environment_checks(&mut checks, lock, &env, &project.root);
            checks.push(toolchain_file_check(ctx, project, lock)?);
        }
        None => checks.push(Check::skipped(
            "environment",
            "rustc, nightly, llvm and wasm-bindgen not checked: the lock is not fresh",
        )),
    }
    let cargo_lock = read_cargo_lock(&project.root)?;
    match &stable {
        Some(stable) => {
            let members = workspace_members(&project.root)?;
            checks.push(check_rust_versions(stable, &members));
            checks.push(check_cargo_lock_format(stable, cargo_lock.as_ref()));
        }
        None => checks.push(Check::skipped(
            "cargo",
            "rust-version and Cargo.lock not checked: no stable is locked",
        )),
    }
    if let (false, Some(stable)) = (fresh, &stable) {
        checks.extend(channel_check(project, stable)?);
    }
    Ok(checks)
}

/// The lock's own check; returns the lock (if readable) and whether it is fresh.
fn lock_check(checks: &mut Vec<Check>, project: &Project) -> Result<(Option<Lockfile>, bool)> {
    Ok(match freshness(project)? {
        Freshness::Missing => {
            checks.push(Check::problem(
                "lock",
                MISSING_LOCK,
                "run `crate-env lock --nixpkgs SPEC --rust-overlay SPEC` and commit crate-env.lock",
            ));
            (None, false)
        }
        Freshness::Stale {
            lock,
            locked,
            stamp,
        } => {
            let was = match &locked {
                Some(locked) => format!(
                    "it was locked from {} {}",
                    locked.files.join(", "),
                    short_hash(&locked.hash)
                ),
                None => format!("member {} is not in it", project.member),
            };
            checks.push(Check::problem(
                "lock",
                format!(
                    "{}: {was}, {} is now {}",
                    stale_lock_message(project),
                    stamp.files.join(", "),
                    short_hash(&stamp.hash)
                ),
                "run `crate-env lock` and commit crate-env.lock",
            ));
            (lock.view(&project.member).or(Some(lock)), false)
        }
        Freshness::Fresh { lock, .. } => {
            checks.push(Check::ok(
                "lock",
                "crate-env.lock is fresh for crate-env.nix",
            ));
            (Some(lock), true)
        }
    })
}

/// Without a fresh lock only rust-toolchain.toml's channel can be compared.
fn channel_check(project: &Project, stable: &str) -> Result<Option<Check>> {
    let Some(file) = ToolchainFile::read_in(&project.root)? else {
        return Ok(None);
    };
    let channel = file.toolchain.channel.clone().unwrap_or_default();
    Ok((channel != stable).then(|| {
        Check::problem(
            "rust-toolchain.toml",
            format!("rust-toolchain.toml names {channel}, the lock pins {stable}"),
            "run `crate-env lock`, then `crate-env toolchain-file`",
        )
    }))
}

fn short_hash(hash: &str) -> &str {
    let hex = hash.strip_prefix("sha256:").unwrap_or(hash);
    &hex[..hex.len().min(12)]
}

fn environment_checks(checks: &mut Vec<Check>, lock: &Lockfile, env: &CachedEnv, root: &Path) {
    let path = env_var(env, "PATH").unwrap_or_default();
    let stable = lock.toolchains.stable.as_deref().unwrap_or("");
    let info = match probe(&env.env.stable.join("bin/rustc"), &["-vV"], Some(&path)) {
        Ok(text) => RustcInfo::parse(&text),
        Err(err) => {
            checks.push(Check::problem("rustc", format!("{err:#}"), REBUILD));
            RustcInfo::default()
        }
    };
    if !info.release.is_empty() {
        checks.push(check_rustc(stable, &info));
    }
    if let (Some(date), Some(nightly)) = (&lock.toolchains.nightly, &env.env.nightly) {
        match probe(&nightly.join("bin/rustc"), &["-vV"], Some(&path)) {
            Ok(text) => checks.push(check_nightly(date, &RustcInfo::parse(&text))),
            Err(err) => checks.push(Check::problem("nightly", format!("{err:#}"), REBUILD)),
        }
    }
    let tools: Vec<LlvmTool> = llvm_tools(env, &path)
        .into_iter()
        .map(|tool| LlvmTool {
            major: llvm_major(&tool, &path),
            path: tool,
        })
        .collect();
    checks.push(check_llvm(&info.release, info.llvm_major(), &tools));
    checks.push(wasm_bindgen_check(root, &path));
}

/// The LLVM major a coverage tool reports; llvm-profdata before LLVM 17
/// answers `--version` only after a subcommand.
fn llvm_major(tool: &Path, path: &str) -> Option<u32> {
    [&["--version"][..], &["merge", "--version"][..]]
        .iter()
        .find_map(|args| {
            probe(tool, args, Some(path))
                .ok()
                .and_then(|out| llvm_major_from_version_output(&out))
        })
}

fn wasm_bindgen_check(root: &Path, path: &str) -> Check {
    let cargo_lock = read_cargo_lock(root).ok().flatten();
    let cli = find_on_path(path, "wasm-bindgen").into_iter().next();
    let version = cli.as_ref().and_then(|cli| {
        probe(cli, &["--version"], Some(path))
            .ok()
            .and_then(|out| wasm_bindgen_version(&out))
    });
    check_wasm_bindgen(
        cargo_lock.as_ref(),
        cli.as_deref().map(|p| (p, version.as_deref())),
    )
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
        for found in find_on_path(path, name) {
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
fn toolchain_file_check(ctx: &Context<'_>, project: &Project, lock: &Lockfile) -> Result<Check> {
    let Some(file) = ToolchainFile::read_in(&project.root)? else {
        return Ok(Check::skipped(
            "rust-toolchain.toml",
            "no rust-toolchain.toml",
        ));
    };
    let expected = expected_toolchain(ctx, project, lock)
        .context("cannot evaluate crate-env.nix to compare rust-toolchain.toml")?;
    Ok(check_toolchain_file(Some(&file), &expected))
}
