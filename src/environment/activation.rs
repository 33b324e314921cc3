//! The environment as direnv and the proxies need it: served from the cache
//! when the inputs' contents are unchanged, materialised (with progress on
//! stderr) when they changed, and when that fails the last good environment
//! with the error, remembered so the same broken inputs are not evaluated
//! again until they change. See docs/activation.md.

use std::time::SystemTime;

use anyhow::{Context as _, Result};

use crate::cli::context::Context;
use crate::cli::errors::{render_summary, HintExt};
use crate::environment::proxies::{OFFLINE_VAR, STALE_VAR};
use crate::environment::{current_key, ensure, RelockPolicy};
use crate::project::env_cache::CachedEnv;
use crate::project::fsutil::StateLock;
use crate::project::state::{FailedRecord, FreshStamp};
use crate::project::Project;
use crate::shell::direnv::STAMP_MARGIN;
use crate::trust::{self, TrustError};

pub struct Activation {
    pub env: CachedEnv,
    /// Why this is the last good environment rather than one for the current
    /// inputs (the error, Nix's text included); `None` when fresh.
    pub stale: Option<String>,
    /// The inputs changed to a state the user has not approved (docs/trust.md):
    /// nothing was evaluated, and no shortcut may serve this result.
    pub untrusted: bool,
}

impl Activation {
    pub fn fresh(env: CachedEnv) -> Activation {
        Activation {
            env,
            stale: None,
            untrusted: false,
        }
    }
}

/// How [`activate`] may get a fresh environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Materialise when the inputs changed.
    Materialise,
    /// Never start Nix: a stale cache is used with a warning (`CRATE_ENV_OFFLINE=1`).
    Offline,
}

impl Mode {
    /// `CRATE_ENV_OFFLINE=1` keeps Nix from running.
    pub fn from_env() -> Mode {
        if std::env::var_os(OFFLINE_VAR).is_some_and(|v| v == "1") {
            Mode::Offline
        } else {
            Mode::Materialise
        }
    }
}

/// See the module docs. `Err` only when there is no environment at all, or
/// when the project is denied (docs/trust.md) and the caller is not `inside`
/// an environment a typed command (`exec`, `env enter`) set up.
pub fn activate(
    ctx: &Context<'_>,
    project: &Project,
    mode: Mode,
    inside: bool,
) -> Result<Activation> {
    // The activation stamp (gc --older-than) is the callers': `use_crate_env`
    // touches it before `direnv export`, proxy mode before calling this, and
    // `ensure` when it materialises.
    if let Some(env) = stamped_fresh(project) {
        return Ok(Activation::fresh(env));
    }
    let denied = trust::check_not_denied(ctx.settings, project);
    let allowed = denied.is_ok();
    if !inside {
        denied.map_err(with_trust_hint)?;
    }
    let read_at = SystemTime::now() - STAMP_MARGIN;
    let key = current_key(project, &ctx.settings.system.value)?;
    // An unreadable cache is a miss, as in `materialise`.
    let cached = CachedEnv::read(&project.env_cache()).ok().flatten();
    if let (Some(env), Some(key)) = (&cached, &key) {
        if env.is_fresh(key) {
            if allowed {
                stamp_fresh(project, key, read_at);
            }
            return Ok(Activation::fresh(env.clone()));
        }
    }
    // The slow path, where crate-env would evaluate: only an approved state.
    if let Err(err) = gate(ctx, project)? {
        return untrusted(cached, err);
    }
    let failed = FailedRecord::read(&project.env_dir()).filter(|r| Some(&r.key) == key.as_ref());
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
            OFFLINE_VAR
        );
        return last_good(cached, why);
    }
    materialise(ctx, project, key, cached)
}

/// Whether the current inputs may be evaluated. A refusal is checked once
/// more after any crate-env that holds the state lock is done: it may be
/// re-locking an approved state right now (and moves the record with it).
fn gate(ctx: &Context<'_>, project: &Project) -> Result<Result<(), TrustError>> {
    if trust::gate(ctx.settings, project, &trust::fingerprint(project)?).is_ok() {
        return Ok(Ok(()));
    }
    let _state = ctx.state_lock(project)?;
    Ok(trust::gate(
        ctx.settings,
        project,
        &trust::fingerprint(project)?,
    ))
}

/// The last good environment, with why the current inputs were not
/// evaluated; without one, the error.
fn untrusted(cached: Option<CachedEnv>, err: TrustError) -> Result<Activation> {
    match (cached, &err) {
        (Some(env), TrustError::NotAllowed { .. }) => Ok(Activation {
            env,
            stale: Some(err.to_string()),
            untrusted: true,
        }),
        _ => Err(with_trust_hint(err)),
    }
}

fn with_trust_hint(err: TrustError) -> anyhow::Error {
    let hint = match &err {
        TrustError::Denied { .. } => {
            "run `crate-env allow` to turn it on again, or use explicit commands (`crate-env exec`, `env enter`)"
        }
        TrustError::NotAllowed { .. } => {
            "read the change (e.g. `git diff`), then run `crate-env allow`; explicit commands such as `crate-env materialise` approve too"
        }
        _ => "check the user state directory (`crate-env status` shows it)",
    };
    Err::<(), _>(err).hint(hint).unwrap_err()
}

/// Materialises; on failure remembers `key` as failed and falls back to `cached`.
fn materialise(
    ctx: &Context<'_>,
    project: &Project,
    key: Option<String>,
    cached: Option<CachedEnv>,
) -> Result<Activation> {
    let state_dir = project.env_dir();
    ctx.ui.info(format!(
        "crate-env: materialising the environment of {}…",
        project.dir().display()
    ));
    let err = match ensure(ctx, project, RelockPolicy::Relock) {
        Ok(outcome) => {
            if FailedRecord::path(&state_dir).exists() {
                let _state = ctx.state_lock(project)?;
                FailedRecord::clear(&state_dir)?;
            }
            return Ok(Activation::fresh(outcome.env));
        }
        Err(err) => err,
    };
    let error = render_summary(&err, true);
    // Remembered only when there is a last good environment to serve instead:
    // without one nothing works anyway, and the failure may be transient (a
    // fetch, a busy store), so the next prompt or proxy call tries again.
    if let (Some(key), Some(_)) = (key, &cached) {
        let _state = ctx.state_lock(project)?;
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
    let lock = StateLock::try_acquire(&project.state_dir());
    if let (Some(_state), Some(stamp)) = (lock, FreshStamp::new(key)) {
        let _ = stamp.write(&project.env_dir(), read_at);
    }
}

/// The cached environment, if `.crate-env/fresh` vouches for it (no input
/// changed since its key was last compared by content).
pub fn stamped_fresh(project: &Project) -> Option<CachedEnv> {
    let key = FreshStamp::check(&project.env_dir(), &project.watched_files())?;
    let cached = CachedEnv::read(&project.env_cache()).ok()??;
    cached.is_fresh(&key).then_some(cached)
}

fn last_good(cached: Option<CachedEnv>, why: String) -> Result<Activation> {
    let env = cached.with_context(|| format!("no environment was ever materialised\n{why}"))?;
    Ok(Activation {
        env,
        stale: Some(why),
        untrusted: false,
    })
}

/// The warning shown with a stale environment.
pub fn stale_warning(why: &str) -> String {
    format!(
        "crate-env: cannot materialise the environment; the last good one stays active ({}=1)\n{why}",
        STALE_VAR
    )
}
