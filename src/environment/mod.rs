//! The environment: making sure the one for the current lock and config is
//! there ([`ensure`]: a cache hit, else a build, re-locking first if allowed),
//! keeping the last good one when that fails ([`activation`]), the variables
//! it exports ([`vars`]), the proxies in `.crate-env/bin` ([`proxies`]) and
//! the binary caches crate-env.nix names ([`nix_config`]).

pub mod activation;
pub mod nix_config;
pub mod proxies;
pub mod vars;

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result};

use crate::cli::context::Context;
use crate::cli::errors::{error_with_hint, render_summary};
use crate::locking::resolve_lock;
use crate::nix::library::lib_hash;
use crate::nix::Nix;
use crate::project::env_cache::{cache_key, parse_store_env, CachedEnv, KeyInputs, StoreEnv};
use crate::project::lockfile::{
    freshness, toolchain_summary, write_if_changed, Freshness, MISSING_LOCK, STALE_LOCK,
};
use crate::project::Project;
use crate::trust;

/// What may happen to crate-env.lock on the way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelockPolicy {
    /// Never touch the lock: a missing or stale lock is an error.
    Frozen,
    /// Re-resolve toolchains against the pinned inputs when crate-env.nix
    /// changed (like cargo updating Cargo.lock); inputs never move.
    Relock,
}

pub struct Materialised {
    pub env: CachedEnv,
    /// False on a cache hit.
    pub built: bool,
}

/// The environment for the current lock and config, its proxies in
/// `.crate-env/bin` in step. A cache hit reads `.crate-env/` only and
/// starts no Nix process.
pub fn ensure(ctx: &Context<'_>, project: &Project, policy: RelockPolicy) -> Result<Materialised> {
    let outcome = ensure_env(ctx, project, policy)?;
    // Proxies in .crate-env/bin follow the environment (no Nix involved).
    proxies::sync(ctx, project, &outcome.env)?;
    Ok(outcome)
}

fn ensure_env(ctx: &Context<'_>, project: &Project, policy: RelockPolicy) -> Result<Materialised> {
    if let Some(env) = cache_hit(ctx, project)? {
        return Ok(Materialised { env, built: false });
    }
    let _state = ctx.state_lock(project)?;
    // Another crate-env may have materialised while we waited for the lock.
    if let Some(env) = cache_hit(ctx, project)? {
        return Ok(Materialised { env, built: false });
    }
    let spinner = ctx.ui.spinner("materialising");
    let mut nix = ctx.nix(&spinner)?;
    let lock_text = fresh_lock_text(ctx, project, &nix, policy)?;
    // Binary caches named in crate-env.nix (`nixConfig`), for the build.
    nix_config::apply(ctx, project, &mut nix, &lock_text)?;
    let env = build(ctx, project, &nix, &lock_text)?;
    Ok(Materialised { env, built: true })
}

/// Like [`ensure`] with [`RelockPolicy::Relock`], but when that fails and a
/// last good environment exists, returns that one with the error.
pub fn ensure_or_last_good(
    ctx: &Context<'_>,
    project: &Project,
) -> Result<(CachedEnv, Option<anyhow::Error>)> {
    let err = match ensure(ctx, project, RelockPolicy::Relock) {
        Ok(outcome) => return Ok((outcome.env, None)),
        Err(err) => err,
    };
    match CachedEnv::read(&project.env_cache()) {
        Ok(Some(last_good)) => Ok((last_good, Some(err))),
        _ => Err(err),
    }
}

/// The cached environment, if it was built for exactly the current inputs.
fn cache_hit(ctx: &Context<'_>, project: &Project) -> Result<Option<CachedEnv>> {
    let Some(key) = current_key(project, &ctx.settings.system.value)? else {
        return Ok(None);
    };
    // An unreadable cache is just a miss: it gets rebuilt and replaced.
    let cached = CachedEnv::read(&project.env_cache()).ok().flatten();
    Ok(cached.filter(|env| env.is_fresh(&key)))
}

/// The cache key for the project's files as they are now (the lock, every
/// crate-env.nix, the embedded library, the system); `None` without a lock.
pub fn current_key(project: &Project, system: &str) -> Result<Option<String>, std::io::Error> {
    let lock_bytes = match fs_err::read(project.lock_file()) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let config_files = project
        .config_files()
        .into_iter()
        .map(|path| fs_err::read(&path).map(|bytes| (path, bytes)))
        .collect::<Result<Vec<(PathBuf, Vec<u8>)>, _>>()?;
    Ok(Some(cache_key(&KeyInputs {
        lib_hash: &lib_hash(),
        system,
        lock_bytes: &lock_bytes,
        config_files: &config_files,
    })))
}

/// The text of a lock that is fresh for crate-env.nix, re-locking first if
/// the policy allows. The caller holds the state lock.
fn fresh_lock_text(
    ctx: &Context<'_>,
    project: &Project,
    nix: &Nix<'_>,
    policy: RelockPolicy,
) -> Result<String> {
    let lock = match freshness(project)? {
        Freshness::Fresh { text, .. } => return Ok(text),
        Freshness::Missing => {
            return Err(error_with_hint(
                MISSING_LOCK,
                "run `crate-env lock --nixpkgs SPEC --rust-overlay SPEC`",
            ))
        }
        Freshness::Stale { .. } if policy == RelockPolicy::Frozen => {
            return Err(error_with_hint(
                STALE_LOCK,
                "run `crate-env lock` (--frozen never changes the lock)",
            ))
        }
        Freshness::Stale { lock, .. } => lock,
    };
    let relocked = resolve_lock(ctx, project, nix, lock.inputs.clone())
        .context("cannot update crate-env.lock for the changed crate-env.nix")?;
    // The re-lock is crate-env's own write: an approved state stays approved.
    // Done before the state lock is released, so a proxy waiting on it never
    // sees the new lock without the record that covers it.
    let before = trust::fingerprint(project)?;
    write_if_changed(project, &relocked, Some(&lock))?;
    if let Err(err) = trust::follow_relock(ctx.settings, project, &before) {
        ctx.ui
            .warn(format!("crate-env: {}", render_summary(&err.into(), false)));
    }
    ctx.ui.info(format!(
        "updated crate-env.lock for the changed crate-env.nix ({})",
        toolchain_summary(&relocked.toolchains)
    ));
    Ok(relocked.to_text())
}

/// Builds the environment, caches it and roots it. The caller holds the
/// state lock. On failure nothing in `.crate-env/env.json` or the named GC
/// roots changes: the build is rooted at `gcroots/env.new` until the cache
/// is written, so the last good environment stays rooted until then.
fn build(
    ctx: &Context<'_>,
    project: &Project,
    nix: &Nix<'_>,
    lock_text: &str,
) -> Result<CachedEnv> {
    let library = project.library(&ctx.settings.system.value)?;
    fs_err::create_dir_all(project.gcroots_dir())?;
    // The key of what Nix is about to read: an edit during the build makes
    // the next run see a different key instead of a wrongly fresh cache.
    let key =
        current_key(project, &ctx.settings.system.value)?.context("crate-env.lock disappeared")?;
    let pending = project.gcroot("env.new");
    let out = library
        .build(nix, "env", lock_text, &pending)
        .context("cannot build the environment")?;
    let env_json = out.join("env.json");
    let text = fs_err::read_to_string(&env_json)?;
    let env = parse_store_env(&text, &env_json)?;
    let cached = CachedEnv {
        env,
        key,
        materialised: unix_now(),
    };
    if let Err(err) = cached.write(&project.env_cache()) {
        let _ = fs_err::remove_file(&pending);
        return Err(err.into());
    }
    nix.add_root(&out, &project.gcroot("env"))
        .context("cannot register the GC root of the environment")?;
    add_named_roots(project, nix, &cached.env)?;
    let _ = fs_err::remove_file(&pending);
    Ok(cached)
}

/// Roots for the parts `status` shows; `env` alone already keeps everything.
fn add_named_roots(project: &Project, nix: &Nix<'_>, env: &StoreEnv) -> Result<()> {
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
            None => match fs_err::remove_file(&link) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            },
        }
    }
    Ok(())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
