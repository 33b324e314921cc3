//! Trust: implicit activation (a proxy started by an editor, `use crate_env`
//! on `cd`) evaluates a project's crate-env.nix only in a state the user
//! approved. Commands a person types approve what they evaluate
//! ([`approve`]); `crate-env allow` / `deny` decide explicitly; records live
//! in the user's state directory ([`record::Store`]), never in the
//! repository. `CRATE_ENV_TRUST_ALL=1` and the trusted prefixes trust
//! without records. See docs/trust.md.

pub mod record;

use std::path::{Path, PathBuf};

use crate::cli::settings::Settings;
use crate::project::fsutil::{FsError, StateLock};
use crate::project::state::FreshStamp;
use crate::project::Project;
use record::{Decision, Fingerprint, Record, Store};

#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Fs(#[from] FsError),
    #[error("no user state directory (neither CRATE_ENV_STATE_DIR, XDG_STATE_HOME nor HOME is set), so crate-env cannot record trust")]
    NoStateHome,
    #[error("implicit activation is turned off for {root} (`crate-env deny`)")]
    Denied { root: PathBuf },
    #[error("{}", not_allowed(.root, .changed))]
    NotAllowed {
        root: PathBuf,
        changed: Vec<PathBuf>,
    },
}

/// Why a project is trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Basis {
    /// `crate-env allow` or an explicit command approved these very contents.
    Record,
    /// `CRATE_ENV_TRUST_ALL=1`.
    TrustAll,
    /// The project is under this trusted prefix.
    Prefix(PathBuf),
}

/// What implicit activation may do with the project's current contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Trusted(Basis),
    /// `crate-env deny`: no implicit activation at all.
    Denied,
    /// Approved once; these files changed since.
    Changed(Vec<PathBuf>),
    /// Never approved.
    Unknown,
}

/// The project's record file, if there is a user state directory; direnv
/// watches it, so `crate-env allow` reloads the shell at the next prompt.
pub fn record_path(settings: &Settings, project: &Project) -> Option<PathBuf> {
    let state_home = settings.state_home.value.as_deref()?;
    Some(Store::new(state_home).path(&project.root))
}

fn read_record(settings: &Settings, project: &Project) -> Result<Option<Record>, TrustError> {
    match settings.state_home.value.as_deref() {
        Some(state_home) => Store::new(state_home).read(&project.root),
        None => Ok(None),
    }
}

fn store(settings: &Settings) -> Result<Store, TrustError> {
    let state_home = settings.state_home.value.as_deref();
    state_home.map(Store::new).ok_or(TrustError::NoStateHome)
}

/// The trusted prefix the project is under, if any.
fn prefix_of(settings: &Settings, root: &Path) -> Option<PathBuf> {
    settings
        .trusted_prefixes
        .value
        .iter()
        .find(|prefix| root.starts_with(prefix))
        .cloned()
}

/// Trusted without a record (`CRATE_ENV_TRUST_ALL`, a trusted prefix).
fn policy_basis(settings: &Settings, root: &Path) -> Option<Basis> {
    if settings.trust_all.value {
        return Some(Basis::TrustAll);
    }
    prefix_of(settings, root).map(Basis::Prefix)
}

/// `Err(Denied)` if the user ran `crate-env deny` for the project: one small
/// read, no hashing.
pub fn check_not_denied(settings: &Settings, project: &Project) -> Result<(), TrustError> {
    match read_record(settings, project)? {
        Some(r) if r.decision == Decision::Denied => Err(TrustError::Denied {
            root: project.root.clone(),
        }),
        _ => Ok(()),
    }
}

/// The current contents of every file trust covers: every crate-env.nix of
/// the workspace (each member's) and the lock, so one approval covers the
/// project and a change anywhere in it needs another.
pub fn fingerprint(project: &Project) -> Result<Fingerprint, TrustError> {
    let mut files: Vec<PathBuf> = project
        .workspace()
        .iter()
        .flat_map(Project::config_files)
        .collect();
    files.sort();
    files.dedup();
    files.push(project.lock_file());
    Fingerprint::of(&files)
}

/// What implicit activation may do with `current` (see [`Verdict`]). A
/// denial wins over the trusted prefixes and `CRATE_ENV_TRUST_ALL`.
pub fn verdict(
    settings: &Settings,
    project: &Project,
    current: &Fingerprint,
) -> Result<Verdict, TrustError> {
    let record = read_record(settings, project)?;
    if record
        .as_ref()
        .is_some_and(|r| r.decision == Decision::Denied)
    {
        return Ok(Verdict::Denied);
    }
    if let Some(basis) = policy_basis(settings, &project.root) {
        return Ok(Verdict::Trusted(basis));
    }
    Ok(match record {
        Some(r) if r.allows(current) => Verdict::Trusted(Basis::Record),
        Some(r) => Verdict::Changed(current.changed_since(&r.files)),
        None => Verdict::Unknown,
    })
}

/// Implicit activation's gate: `Ok` when `current` may be evaluated, else
/// the error saying why not and what to run.
pub fn gate(
    settings: &Settings,
    project: &Project,
    current: &Fingerprint,
) -> Result<(), TrustError> {
    let root = project.root.clone();
    match verdict(settings, project, current)? {
        Verdict::Trusted(_) => Ok(()),
        Verdict::Denied => Err(TrustError::Denied { root }),
        Verdict::Changed(changed) => Err(TrustError::NotAllowed { root, changed }),
        Verdict::Unknown => Err(TrustError::NotAllowed {
            root,
            changed: Vec::new(),
        }),
    }
}

fn not_allowed(root: &Path, changed: &[PathBuf]) -> String {
    if changed.is_empty() {
        return format!(
            "{} has not been allowed: proxies and direnv evaluate only a crate-env.nix you approved; run `crate-env allow` there",
            root.display()
        );
    }
    let names: Vec<String> = changed
        .iter()
        .map(|p| p.strip_prefix(root).unwrap_or(p).display().to_string())
        .collect();
    format!(
        "{} changed since you allowed {} (a `git pull`, an edit): nothing is evaluated implicitly until you run `crate-env allow` there",
        names.join(", "),
        root.display()
    )
}

/// What [`approve`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approval {
    /// Already approved (or trusted by policy): nothing written.
    Unchanged,
    /// Recorded; `first` when the project had no record before.
    Recorded { first: bool },
    /// `crate-env deny` stays in force: explicit commands never lift it.
    StillDenied,
}

/// A command a person typed is about to evaluate the project: record its
/// current contents as approved, unless it is denied or trusted by policy.
pub fn approve(settings: &Settings, project: &Project) -> Result<Approval, TrustError> {
    if policy_basis(settings, &project.root).is_some() {
        return Ok(Approval::Unchanged);
    }
    let store = store(settings)?;
    let old = store.read(&project.root)?;
    if old.as_ref().is_some_and(|r| r.decision == Decision::Denied) {
        return Ok(Approval::StillDenied);
    }
    let record = Record::new(&project.root, Decision::Allowed, &fingerprint(project)?);
    Ok(match store.write(&record)? {
        true => Approval::Recorded {
            first: old.is_none(),
        },
        false => Approval::Unchanged,
    })
}

/// `crate-env allow`: approves the current contents (lifting a denial).
/// Returns the record and whether it changed anything.
pub fn allow(settings: &Settings, project: &Project) -> Result<(Record, bool), TrustError> {
    let record = Record::new(&project.root, Decision::Allowed, &fingerprint(project)?);
    let changed = store(settings)?.write(&record)?;
    Ok((record, changed))
}

/// `crate-env deny`: turns implicit activation off, and drops the shortcuts
/// (`.crate-env/fresh`, `direnv.bash`) that would serve the cache without
/// asking. Returns whether the record changed.
pub fn deny(settings: &Settings, project: &Project) -> Result<bool, TrustError> {
    let record = Record::new(&project.root, Decision::Denied, &fingerprint(project)?);
    let changed = store(settings)?.write(&record)?;
    let state_dir = project.state_dir();
    if state_dir.is_dir() {
        let _lock = StateLock::acquire(&state_dir, || {})?;
        let members = project.workspace();
        let shortcuts = members
            .iter()
            .flat_map(|m| [FreshStamp::path(&m.env_dir()), m.direnv_state()]);
        for shortcut in shortcuts {
            match std::fs::remove_file(&shortcut) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(FsError::Write {
                        path: shortcut,
                        source: e,
                    }
                    .into())
                }
                _ => {}
            }
        }
    }
    Ok(changed)
}

/// After implicit activation materialised the approved `before`: when only
/// the lock changed since (crate-env's own re-lock), the record follows it,
/// so the next call is not refused for crate-env's own write.
pub fn follow_relock(
    settings: &Settings,
    project: &Project,
    before: &Fingerprint,
) -> Result<(), TrustError> {
    let Some(state_home) = settings.state_home.value.as_deref() else {
        return Ok(());
    };
    let store = Store::new(state_home);
    let after = fingerprint(project)?;
    let lock = project.lock_file();
    let only_lock = after
        .changed_since(&before.files)
        .iter()
        .all(|p| *p == lock);
    match store.read(&project.root)? {
        Some(r) if only_lock && r.allows(before) && !r.allows(&after) => {
            store.write(&Record::new(&project.root, Decision::Allowed, &after))?;
        }
        _ => {}
    }
    Ok(())
}
