//! The environment as direnv and the proxies need it: served from the cache
//! when the inputs' contents are unchanged, materialised (with progress on
//! stderr) when they changed, and when that fails the last good environment
//! with the error, remembered so the same broken inputs are not evaluated
//! again until they change. See docs/activation.md.

use std::time::SystemTime;

use anyhow::{Context as _, Result};

use super::materialise::{current_key, ensure, LockPolicy};
use super::Context;
use crate::activate::proxy_dir;
use crate::direnv::STAMP_MARGIN;
use crate::envcache::CachedEnv;
use crate::errors::describe;
use crate::fsutil::StateLock;
use crate::project::Project;
use crate::proxy;
use crate::staleness::{FailedRecord, FreshStamp};

pub struct Activation {
    pub env: CachedEnv,
    /// Why this is the last good environment rather than one for the current
    /// inputs (the error, Nix's text included); `None` when fresh.
    pub stale: Option<String>,
}

/// How [`activate`] may get a fresh environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Materialise when the inputs changed.
    Materialise,
    /// Never start Nix: a stale cache is used with a warning (`CRATE_ENV_OFFLINE=1`).
    Offline,
}

/// See the module docs. `Err` only when there is no environment at all.
pub fn activate(ctx: &Context<'_>, project: &Project, mode: Mode) -> Result<Activation> {
    if let Some(env) = stamped_fresh(project) {
        return Ok(Activation { env, stale: None });
    }
    let read_at = SystemTime::now() - STAMP_MARGIN;
    let key = current_key(ctx, project)?;
    // An unreadable cache is a miss, as in `materialise`.
    let cached = CachedEnv::read(&project.env_cache()).ok().flatten();
    if let (Some(env), Some(key)) = (&cached, &key) {
        if env.is_fresh(key) {
            stamp_fresh(project, key, read_at);
            return Ok(Activation {
                env: env.clone(),
                stale: None,
            });
        }
    }
    let failed = FailedRecord::read(&project.state_dir()).filter(|r| Some(&r.key) == key.as_ref());
    if let Some(failed) = failed {
        let error = format!(
            "{}\n(not evaluated again until the inputs change; `crate-env materialise` retries)",
            failed.error
        );
        return last_good(cached, error);
    }
    if mode == Mode::Offline {
        let why = format!(
            "the inputs changed since the environment was materialised, and {}=1 keeps Nix from running",
            proxy::OFFLINE_VAR
        );
        return last_good(cached, why);
    }
    materialise(ctx, project, key, cached)
}

/// Materialises; on failure remembers `key` as failed and falls back to `cached`.
fn materialise(
    ctx: &Context<'_>,
    project: &Project,
    key: Option<String>,
    cached: Option<CachedEnv>,
) -> Result<Activation> {
    let state_dir = project.state_dir();
    ctx.ui.info(format!(
        "crate-env: materialising the environment of {}…",
        project.root.display()
    ));
    let err = match ensure(ctx, project, LockPolicy::Relock) {
        Ok(outcome) => {
            if FailedRecord::path(&state_dir).exists() {
                let _state = ctx.lock_state(project)?;
                FailedRecord::clear(&state_dir)?;
            }
            return Ok(Activation {
                env: outcome.env,
                stale: None,
            });
        }
        Err(err) => err,
    };
    let error = error_text(&err);
    // Remembered only when there is a last good environment to serve instead:
    // without one nothing works anyway, and the failure may be transient (a
    // fetch, a busy store), so the next prompt or proxy call tries again.
    if let (Some(key), Some(_)) = (key, &cached) {
        let _state = ctx.lock_state(project)?;
        let record = FailedRecord {
            key,
            error: error.clone(),
        };
        record.write(&state_dir)?;
    }
    match cached {
        Some(_) => last_good(cached, error),
        None => Err(err),
    }
}

/// Best effort (never waits for the lock): the next call then skips hashing.
fn stamp_fresh(project: &Project, key: &str, read_at: SystemTime) {
    let state_dir = project.state_dir();
    if let (Some(_state), Some(stamp)) = (StateLock::try_acquire(&state_dir), FreshStamp::new(key))
    {
        let _ = stamp.write(&state_dir, read_at);
    }
}

/// The cached environment, if `.crate-env/fresh` vouches for it (no input
/// changed since its key was last compared by content).
pub fn stamped_fresh(project: &Project) -> Option<CachedEnv> {
    let key = FreshStamp::check(&project.state_dir(), &watched_inputs(project))?;
    let cached = CachedEnv::read(&project.env_cache()).ok()??;
    cached.is_fresh(&key).then_some(cached)
}

/// Every crate-env.nix involved, and the lock: what the cache key reads.
/// The lock comes last (`direnv export` re-watches it after a re-lock).
pub fn watched_inputs(project: &Project) -> Vec<std::path::PathBuf> {
    let mut files = project.config_files();
    files.push(project.lock_file());
    files
}

fn last_good(cached: Option<CachedEnv>, why: String) -> Result<Activation> {
    let env = cached.with_context(|| format!("no environment was ever materialised\n{why}"))?;
    Ok(Activation {
        env,
        stale: Some(why),
    })
}

/// The error as `main` prints it: message, `caused by:` lines (Nix's own
/// text, with file:line:column), hint.
pub fn error_text(err: &anyhow::Error) -> String {
    let (message, causes, hint) = describe(err);
    let mut text = message;
    for cause in causes {
        text.push_str(&format!("\ncaused by: {}", cause.trim_end()));
    }
    if let Some(hint) = hint {
        text.push_str(&format!("\nhint: {hint}"));
    }
    text
}

/// The warning shown with a stale environment.
pub fn stale_warning(why: &str) -> String {
    format!(
        "crate-env: cannot materialise the environment; the last good one stays active ({}=1)\n{why}",
        proxy::STALE_VAR
    )
}

/// Makes `.crate-env/bin` hold one proxy per tool of `env`, linked to the
/// running crate-env; a no-op (one small read) when it already does.
pub fn sync_proxies(ctx: &Context<'_>, project: &Project, env: &CachedEnv) -> Result<()> {
    let exe = std::env::current_exe().context("cannot find the crate-env executable")?;
    let names = proxy::link_names(&env.env);
    let bin = proxy_dir(&project.root);
    if proxy::links_current(&bin, &exe, &names) {
        return Ok(());
    }
    let _state = ctx.lock_state(project)?;
    proxy::install_links(&bin, &exe, &names)
        .with_context(|| format!("cannot write the proxies in {}", bin.display()))
}
