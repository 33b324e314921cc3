//! `crate-env materialise`, and the "make sure the environment is there"
//! step that `env` and `exec` share.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result};

use super::{Context, LockState, MISSING_LOCK, STALE_LOCK};
use crate::cli::MaterialiseArgs;
use crate::envcache::{cache_key, parse_store_env, CachedEnv, KeyInputs};
use crate::errors::{describe, error_with_hint, ExitCode};
use crate::nix::Nix;
use crate::nixlib;
use crate::project::Project;

/// What may happen to crate-env.lock on the way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockPolicy {
    /// Never touch the lock: a missing or stale lock is an error.
    Frozen,
    /// Re-resolve toolchains against the pinned inputs when crate-env.nix
    /// changed (like cargo updating Cargo.lock); inputs never move.
    Relock,
}

pub fn run(ctx: &Context<'_>, args: &MaterialiseArgs) -> Result<ExitCode> {
    let project = ctx.project()?;
    let policy = if args.frozen {
        LockPolicy::Frozen
    } else {
        LockPolicy::Relock
    };
    let outcome = ensure(ctx, &project, policy)?;
    if outcome.built {
        ctx.ui.info(format!(
            "materialised the environment (rooted in {})",
            project.display(&project.gcroots_dir())
        ));
    } else {
        ctx.ui.info("environment is up to date");
    }
    Ok(ExitCode::SUCCESS)
}

pub struct Materialised {
    pub env: CachedEnv,
    /// False on a cache hit.
    pub built: bool,
}

/// The environment for the current lock and config. A cache hit reads
/// `.crate-env/env.json` only and starts no Nix process.
pub fn ensure(ctx: &Context<'_>, project: &Project, policy: LockPolicy) -> Result<Materialised> {
    let outcome = ensure_env(ctx, project, policy)?;
    // Proxies in .crate-env/bin follow the environment (no Nix involved).
    super::activation::sync_proxies(ctx, project, &outcome.env)?;
    Ok(outcome)
}

fn ensure_env(ctx: &Context<'_>, project: &Project, policy: LockPolicy) -> Result<Materialised> {
    if let Some(env) = cache_hit(ctx, project)? {
        return Ok(Materialised { env, built: false });
    }
    let _state = ctx.lock_state(project)?;
    // Another crate-env may have materialised while we waited for the lock.
    if let Some(env) = cache_hit(ctx, project)? {
        return Ok(Materialised { env, built: false });
    }
    let spinner = ctx.ui.spinner("materialising");
    let mut nix = ctx.nix(&spinner)?;
    let lock_text = fresh_lock_text(ctx, project, &nix, policy)?;
    // Binary caches named in crate-env.nix (`nixConfig`), for the build.
    super::cache::apply_nix_config(ctx, project, &mut nix, &lock_text)?;
    let env = build(ctx, project, &nix, &lock_text)?;
    Ok(Materialised { env, built: true })
}

/// Like [`ensure`] with [`LockPolicy::Relock`], but when that fails and a
/// last good environment exists, warns and returns that one instead.
pub fn ensure_or_last_good(ctx: &Context<'_>, project: &Project) -> Result<CachedEnv> {
    let err = match ensure(ctx, project, LockPolicy::Relock) {
        Ok(outcome) => return Ok(outcome.env),
        Err(err) => err,
    };
    match CachedEnv::read(&project.env_cache()) {
        Ok(Some(last_good)) => {
            let (message, causes, _) = describe(&err);
            let mut text = format!("{message}\n");
            for cause in causes {
                text.push_str(&format!("caused by: {cause}\n"));
            }
            text.push_str("using the last good environment instead");
            ctx.ui.warn(text);
            Ok(last_good)
        }
        _ => Err(err),
    }
}

/// The cached environment, if it was built for exactly the current inputs.
fn cache_hit(ctx: &Context<'_>, project: &Project) -> Result<Option<CachedEnv>> {
    let Some(key) = current_key(ctx, project)? else {
        return Ok(None);
    };
    // An unreadable cache is just a miss: it gets rebuilt and replaced.
    let cached = CachedEnv::read(&project.env_cache()).ok().flatten();
    Ok(cached.filter(|env| env.is_fresh(&key)))
}

/// The cache key for the files as they are now; `None` without a lock.
pub fn current_key(ctx: &Context<'_>, project: &Project) -> Result<Option<String>> {
    let lock_bytes = match std::fs::read(project.lock_file()) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).context("cannot read crate-env.lock"),
    };
    let config_files = read_config_files(project)?;
    Ok(Some(cache_key(&KeyInputs {
        lib_hash: &nixlib::lib_hash(),
        system: &ctx.settings.system.value,
        lock_bytes: &lock_bytes,
        config_files: &config_files,
    })))
}

fn read_config_files(project: &Project) -> Result<Vec<(PathBuf, Vec<u8>)>> {
    project
        .config_files()
        .into_iter()
        .map(|path| {
            let bytes =
                std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            Ok((path, bytes))
        })
        .collect()
}

/// The text of a lock that is fresh for crate-env.nix, re-locking first if
/// the policy allows. The caller holds the state lock.
fn fresh_lock_text(
    ctx: &Context<'_>,
    project: &Project,
    nix: &Nix<'_>,
    policy: LockPolicy,
) -> Result<String> {
    let lock = match super::lock_state(project)? {
        LockState::Fresh { text, .. } => return Ok(text),
        LockState::Missing => {
            return Err(error_with_hint(
                MISSING_LOCK,
                "run `crate-env lock --nixpkgs SPEC --rust-overlay SPEC`",
            ))
        }
        LockState::Stale { .. } if policy == LockPolicy::Frozen => {
            return Err(error_with_hint(
                STALE_LOCK,
                "run `crate-env lock` (--frozen never changes the lock)",
            ))
        }
        LockState::Stale { lock, .. } => lock,
    };
    let relocked = super::lock::resolve_lock(ctx, project, nix, lock.inputs.clone())
        .context("cannot update crate-env.lock for the changed crate-env.nix")?;
    super::lock::write_lock(project, &relocked, Some(&lock))?;
    ctx.ui.info(format!(
        "updated crate-env.lock for the changed crate-env.nix ({})",
        super::lock::toolchain_summary(&relocked.toolchains)
    ));
    Ok(relocked.to_text())
}

/// Builds the environment, roots it and caches it. The caller holds the
/// state lock. On failure nothing in `.crate-env/env.json` changes.
fn build(
    ctx: &Context<'_>,
    project: &Project,
    nix: &Nix<'_>,
    lock_text: &str,
) -> Result<CachedEnv> {
    let lib = nixlib::extract(&project.lib_parent_dir())?;
    std::fs::create_dir_all(project.gcroots_dir())
        .with_context(|| format!("cannot create {}", project.gcroots_dir().display()))?;
    let config_json = config_files_json(project);
    // The key of what Nix is about to read: an edit during the build makes
    // the next run see a different key instead of a wrongly fresh cache.
    let key = current_key(ctx, project)?.context("crate-env.lock disappeared")?;
    let out = nix
        .build(
            &lib,
            "env",
            &[
                ("lock", lock_text),
                ("configFiles", &config_json),
                ("system", &ctx.settings.system.value),
            ],
            &project.gcroot("env"),
        )
        .context("cannot build the environment")?;
    let env_json = out.join("env.json");
    let text = std::fs::read_to_string(&env_json)
        .with_context(|| format!("cannot read {}", env_json.display()))?;
    let env = parse_store_env(&text, &env_json)?;
    add_named_roots(project, nix, &env)?;
    let cached = CachedEnv {
        env,
        key,
        materialised: unix_now(),
    };
    cached.write(&project.env_cache())?;
    Ok(cached)
}

/// Roots for the parts `status` shows; `env` alone already keeps everything.
fn add_named_roots(
    project: &Project,
    nix: &Nix<'_>,
    env: &crate::envcache::StoreEnv,
) -> Result<()> {
    let roots = [
        ("stable", Some(&env.stable)),
        ("nightly", env.nightly.as_ref()),
        ("nixpkgs", Some(&env.sources.nixpkgs)),
        ("rust-overlay", Some(&env.sources.rust_overlay)),
    ];
    for (name, target) in roots {
        let link = project.gcroot(name);
        match target {
            Some(target) => nix
                .add_root(target, &link)
                .with_context(|| format!("cannot register GC root {}", link.display()))?,
            None => remove_if_exists(&link)?,
        }
    }
    Ok(())
}

fn remove_if_exists(path: &std::path::Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("cannot remove {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// `configFiles` for the Nix library: a JSON list of absolute paths.
pub fn config_files_json(project: &Project) -> String {
    let paths: Vec<String> = project
        .config_files()
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    serde_json::to_string(&paths).expect("strings serialise")
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
