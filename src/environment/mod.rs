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
    freshness, stale_lock_message, toolchain_summary, write_if_changed, Freshness, Lockfile,
    Toolchains, MISSING_LOCK,
};
use crate::project::{registry, Project, GC_ROOTS};
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
    registry::mark_activated(&project.state_dir());
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

/// One environment of a workspace as `status` shows it: files only, no Nix.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvState {
    /// The member's path; `""` for the root.
    pub member: String,
    pub config_files: Vec<PathBuf>,
    /// What the lock pins for it (`None`: no lock, or no entry).
    pub toolchains: Option<Toolchains>,
    /// The lock's entry matches its crate-env.nix files (`None`: no readable lock).
    pub lock_fresh: Option<bool>,
    /// Unix time of the build of its cached environment, if any.
    pub materialised: Option<u64>,
    /// The cached environment is for the current inputs (a cache hit).
    pub fresh: bool,
}

/// See [`EnvState`].
pub fn env_state(project: &Project, system: &str) -> EnvState {
    let (toolchains, lock_fresh) = match freshness(project) {
        Ok(Freshness::Fresh { lock, .. }) => (Some(lock.toolchains), Some(true)),
        Ok(Freshness::Stale { lock, .. }) => (
            lock.view(&project.member).map(|v| v.toolchains),
            Some(false),
        ),
        Ok(Freshness::Missing) | Err(_) => (None, None),
    };
    let cached = CachedEnv::read(&project.env_cache()).ok().flatten();
    let key = current_key(project, system).ok().flatten();
    EnvState {
        member: project.member.clone(),
        config_files: project.config_files(),
        toolchains,
        lock_fresh,
        materialised: cached.as_ref().map(|c| c.materialised),
        fresh: matches!((&cached, &key), (Some(c), Some(k)) if c.is_fresh(k)),
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

/// The cache key for the member's files as they are now (its view of the
/// lock, every crate-env.nix involved, the embedded library, the system);
/// `None` without a lock.
pub fn current_key(project: &Project, system: &str) -> Result<Option<String>, std::io::Error> {
    let lock_bytes = match fs_err::read(project.lock_file()) {
        Ok(bytes) => lock_view_bytes(project, bytes),
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

/// The member's view of the lock ([`Lockfile::view`]): other members'
/// entries are not part of its key. A lock that does not parse, or lacks
/// the member, is hashed as it is (a miss, and the build says why).
fn lock_view_bytes(project: &Project, bytes: Vec<u8>) -> Vec<u8> {
    let view = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|text| Lockfile::parse(text, &project.lock_file()).ok())
        .and_then(|lock| lock.view(&project.member));
    match view {
        Some(view) => view.to_text().into_bytes(),
        None => bytes,
    }
}

/// The text of the member's view of a lock that is fresh for its
/// crate-env.nix files, re-locking the member first if the policy allows
/// (other members' entries stay as they are). The caller holds the state lock.
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
                stale_lock_message(project),
                "run `crate-env lock` (--frozen never changes the lock)",
            ))
        }
        Freshness::Stale { lock, .. } => lock,
    };
    let relocked = resolve_lock(ctx, project, nix, lock.inputs.clone())
        .context("cannot update crate-env.lock for the changed crate-env.nix")?;
    let mut whole = lock.clone();
    whole.set_member(&project.member, &relocked);
    // The re-lock is crate-env's own write: an approved state stays approved.
    // Done before the state lock is released, so a proxy waiting on it never
    // sees the new lock without the record that covers it.
    let before = trust::fingerprint(project)?;
    write_if_changed(project, &whole, Some(&lock))?;
    if let Err(err) = trust::follow_relock(ctx.settings, project, &before) {
        ctx.ui
            .warn(format!("crate-env: {}", render_summary(&err.into(), false)));
    }
    let whose = if project.is_root() {
        String::new()
    } else {
        format!(" of member {}", project.member)
    };
    ctx.ui.info(format!(
        "updated crate-env.lock for the changed crate-env.nix{whose} ({})",
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
    // Retired only once the new one is cached: a failed build or cache write
    // leaves everything below `.crate-env/` as it was.
    let previous = CachedEnv::read(&project.env_cache()).ok().flatten();
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
    let retired = retire(project, nix, previous, &cached.key)?;
    nix.add_root(&out, &project.gcroot("env"))
        .context("cannot register the GC root of the environment")?;
    add_named_roots(project, nix, &cached.env)?;
    let _ = fs_err::remove_file(&pending);
    settle_generations(project, &cached.key, retired, &out)?;
    if let Some(state_home) = &ctx.settings.state_home.value {
        registry::register(state_home, &project.root, cached.materialised)?;
    }
    Ok(cached)
}

/// `.crate-env/…/generations/<first 16 hex of the key>`.
pub fn generation_dir(project: &Project, key: &str) -> PathBuf {
    project.generations_dir().join(&key[..key.len().min(16)])
}

/// The generation now in use is no longer a past one; nor is one whose
/// environment is the very same store path (an edit of a comment).
fn settle_generations(
    project: &Project,
    key: &str,
    retired: Option<PathBuf>,
    out: &std::path::Path,
) -> Result<()> {
    remove_dir_if_present(&generation_dir(project, key))?;
    if let Some(retired) =
        retired.filter(|d| fs_err::read_link(d.join("env")).ok().as_deref() == Some(out))
    {
        remove_dir_if_present(&retired)?;
    }
    Ok(())
}

/// When another environment replaces the one in use, its roots are
/// registered again under `generations/<key>` (with its env.json), so that
/// `nix-collect-garbage` keeps it until `crate-env gc` drops it
/// (docs/workspaces.md#generations). Returns the generation's directory.
fn retire(
    project: &Project,
    nix: &Nix<'_>,
    previous: Option<CachedEnv>,
    new_key: &str,
) -> Result<Option<PathBuf>> {
    let Some(old) = previous else {
        return Ok(None);
    };
    if old.key == new_key {
        return Ok(None);
    }
    let dir = generation_dir(project, &old.key);
    fs_err::create_dir_all(&dir)?;
    for name in GC_ROOTS {
        let Ok(target) = std::fs::read_link(project.gcroot(name)) else {
            continue;
        };
        if target.exists() {
            nix.add_root(&target, &dir.join(name)).with_context(|| {
                format!("cannot keep the previous environment in {}", dir.display())
            })?;
        }
    }
    old.write(&dir.join("env.json"))?;
    Ok(Some(dir))
}

fn remove_dir_if_present(dir: &std::path::Path) -> Result<()> {
    match fs_err::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
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
