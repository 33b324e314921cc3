//! Garbage collection of crate-env's own GC roots (docs/workspaces.md#garbage-collection): which roots
//! of a project the current lock and config no longer use, which registered
//! projects are gone or untouched, how much the store can free once they are
//! dropped, and dropping them. Never deletes a store path: that stays
//! `nix-collect-garbage`'s job.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::build;
use crate::nix::library::lib_hash;
use crate::nix::{Nix, NixError};
use crate::project::env_cache::CachedEnv;
use crate::project::fsutil::{FsError, StateLock};
use crate::project::registry::{self, RegistryError};
use crate::project::workspace::{self, member_of_state_name};
use crate::project::{Project, STATE_DIR};

/// Why something is removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// A member's environment from before its last change.
    OldGeneration { member: String },
    /// A member whose crate-env.nix is gone.
    GoneMember { member: String },
    /// A Nix library another crate-env version extracted.
    OldLibrary,
    /// Every environment of a project not activated for `days` days.
    Untouched { days: u64 },
    /// A registered project that no longer exists.
    GoneProject,
    /// The roots of a build the member's crate-env.nix no longer declares.
    UndeclaredBuild { member: String, build: String },
    /// A toolchain realised for `buildStd` that the member's environment no
    /// longer uses (the lock moved on).
    OldBuildToolchain { member: String },
}

/// One file or directory to remove, and the GC roots (link → store path) in it.
#[derive(Debug, Clone)]
pub struct Removal {
    pub project: PathBuf,
    pub path: PathBuf,
    pub reason: Reason,
    pub roots: Vec<(PathBuf, PathBuf)>,
}

/// What `gc` does: the removals, and the registry entries to forget.
#[derive(Debug, Default)]
pub struct Plan {
    pub removals: Vec<Removal>,
    /// (registry entry file, project root).
    pub forget: Vec<(PathBuf, PathBuf)>,
}

#[derive(Debug, thiserror::Error)]
pub enum GcError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Lock(#[from] FsError),
    #[error("cannot remove {path}")]
    Remove {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot compute what the store can free")]
    Nix(#[from] NixError),
}

/// What the store can free once the plan's roots are gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Freeable {
    pub paths: usize,
    pub bytes: u64,
}

/// The roots of the workspace at `root` that the current lock and config no
/// longer use: each environment's past generations, the state of members
/// that are gone, libraries of other crate-env versions, roots of builds no
/// longer declared (see [`stale_builds`]). The environment each member uses
/// now, and the roots of every build still declared, are never in it.
pub fn plan_project(root: &Path, system: &str) -> Vec<Removal> {
    let mut removals = Vec::new();
    let state = root.join(STATE_DIR);
    let mut add = |path: PathBuf, reason: Reason| {
        let roots = roots_in(&path);
        removals.push(Removal {
            project: root.to_owned(),
            path,
            reason,
            roots,
        });
    };
    for (member, env_dir) in env_dirs(root) {
        if !member_exists(root, &member) {
            add(env_dir, Reason::GoneMember { member });
            continue;
        }
        for generation in past_generations(&env_dir) {
            let member = member.clone();
            add(generation, Reason::OldGeneration { member });
        }
        let project = Project::with_member(root.to_owned(), member);
        for (path, reason) in stale_builds(&project, &env_dir, system) {
            add(path, reason);
        }
    }
    let current_lib = lib_hash();
    for dir in subdirs(&state.join("lib")) {
        if dir.file_name().is_some_and(|n| *n != *current_lib) {
            add(dir, Reason::OldLibrary);
        }
    }
    removals
}

/// Every registered project: the gone ones are forgotten (and their roots
/// removed if their directory is still there); the others get
/// [`plan_project`], and with `older_than`, when not activated for that long
/// (and not `current`), every environment's roots and cache too.
pub fn plan_all(
    state_home: &Path,
    older_than: Option<u64>,
    current: Option<&Path>,
    now: SystemTime,
    system: &str,
) -> Result<Plan, GcError> {
    let mut plan = Plan::default();
    for (file, entry) in registry::entries(state_home)? {
        let root = entry.root;
        if !root.join(crate::project::CONFIG_FILE).is_file() {
            plan.removals.extend(everything(&root, Reason::GoneProject));
            plan.forget.push((file, root));
            continue;
        }
        let mut own = plan_project(&root, system);
        let since = registry::last_activated(&root.join(STATE_DIR))
            .unwrap_or_else(|| SystemTime::UNIX_EPOCH + Duration::from_secs(entry.registered));
        let idle = now.duration_since(since).unwrap_or_default();
        let untouched = older_than.filter(|days| idle >= Duration::from_secs(days * 86_400));
        if let (Some(days), false) = (untouched, current == Some(root.as_path())) {
            own.retain(|r| !matches!(r.reason, Reason::OldGeneration { .. }));
            let covered: Vec<PathBuf> = own.iter().map(|r| r.path.clone()).collect();
            own.extend(
                everything(&root, Reason::Untouched { days })
                    .into_iter()
                    .filter(|r| !covered.iter().any(|c| r.path.starts_with(c))),
            );
        }
        plan.removals.extend(own);
    }
    Ok(plan)
}

/// How much the store can free once the plan's roots are gone: the store
/// paths their closures hold that no other root's closure holds.
pub fn freeable(nix: &Nix<'_>, plan: &Plan) -> Result<Freeable, GcError> {
    let dropped: Vec<PathBuf> = plan
        .removals
        .iter()
        .flat_map(|r| r.roots.iter().map(|(_, target)| target.clone()))
        .filter(|t| t.exists())
        .collect();
    if dropped.is_empty() {
        return Ok(Freeable { paths: 0, bytes: 0 });
    }
    let removed = |link: &Path| plan.removals.iter().any(|r| link.starts_with(&r.path));
    let kept: Vec<PathBuf> = nix
        .gc_roots()?
        .into_iter()
        .filter(|(link, target)| !removed(link) && target.exists())
        .map(|(_, target)| target)
        .collect();
    let live = nix.requisites(&kept)?;
    let dead: Vec<PathBuf> = nix
        .requisites(&dropped)?
        .into_iter()
        .filter(|p| !live.contains(p))
        .collect();
    Ok(Freeable {
        paths: dead.len(),
        bytes: nix.total_size(&dead)?,
    })
}

/// Removes what the plan names, each project's part under its state lock,
/// and forgets the registry entries.
pub fn apply(plan: &Plan, state_home: Option<&Path>) -> Result<(), GcError> {
    let projects: BTreeSet<&Path> = plan.removals.iter().map(|r| r.project.as_path()).collect();
    for project in projects {
        let state = project.join(STATE_DIR);
        let _lock = state.is_dir().then(|| StateLock::acquire(&state, || {}));
        let _lock = _lock.transpose()?;
        for removal in plan.removals.iter().filter(|r| r.project == project) {
            remove(&removal.path)?;
        }
    }
    if let Some(state_home) = state_home {
        for (file, _) in &plan.forget {
            registry::forget(state_home, file)?;
        }
    }
    Ok(())
}

fn remove(path: &Path) -> Result<(), GcError> {
    let result = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    };
    result.map_err(|source| GcError::Remove {
        path: path.to_owned(),
        source,
    })
}

/// A member's build roots (docs/build.md#garbage-collection):
/// `gcroots/builds/NAME` when NAME is not among the builds that the last
/// `crate-env build` evaluated for the current crate-env.nix files and lock
/// (when those changed since, nothing is known and every build root stays:
/// gc never evaluates crate-env.nix); `gcroots/build-toolchains/T` when the
/// environment's toolchain `T` is another store path now.
fn stale_builds(project: &Project, env_dir: &Path, system: &str) -> Vec<(PathBuf, Reason)> {
    let member = project.member.clone();
    let mut stale = Vec::new();
    if let Some(declared) = build::declared(project, system) {
        for dir in subdirs(&build::roots::dir(project)) {
            let name = dir.file_name().unwrap_or_default().to_string_lossy();
            if !declared.iter().any(|d| *d == name) {
                let build = name.into_owned();
                let member = member.clone();
                stale.push((dir, Reason::UndeclaredBuild { member, build }));
            }
        }
    }
    let Some(env) = CachedEnv::read(&env_dir.join("env.json")).ok().flatten() else {
        return stale;
    };
    for toolchain in subdirs_and_links(&build::roots::toolchains_dir(project)) {
        let name = toolchain.file_name().unwrap_or_default().to_string_lossy();
        let current = match &*name {
            "stable" => Some(&env.env.stable),
            "nightly" => env.env.nightly.as_ref(),
            _ => None,
        };
        if std::fs::read_link(&toolchain).ok().as_ref() != current {
            let member = member.clone();
            stale.push((toolchain, Reason::OldBuildToolchain { member }));
        }
    }
    stale
}

/// The root's state dir and every member's, with the member they belong to.
fn env_dirs(root: &Path) -> Vec<(String, PathBuf)> {
    let project = Project::new(root.to_owned());
    let mut dirs = vec![(String::new(), project.env_dir())];
    for dir in subdirs(&project.members_dir()) {
        if let Some(name) = dir.file_name() {
            dirs.push((member_of_state_name(&name.to_string_lossy()), dir));
        }
    }
    dirs
}

/// Whether `member` is still a member of the workspace at `root`.
fn member_exists(root: &Path, member: &str) -> bool {
    member.is_empty()
        || workspace::discover(&root.join(member)).is_some_and(|(r, m)| r == root && m == member)
}

/// `generations/*` of an environment, except the one it uses now.
fn past_generations(env_dir: &Path) -> Vec<PathBuf> {
    let current = CachedEnv::read(&env_dir.join("env.json"))
        .ok()
        .flatten()
        .map(|env| env.key);
    subdirs(&env_dir.join("generations"))
        .into_iter()
        .filter(|dir| {
            let name = dir.file_name().unwrap_or_default().to_string_lossy();
            current
                .as_deref()
                .is_none_or(|key| !key.starts_with(&*name))
        })
        .collect()
}

/// Every environment of a project (roots, generations, caches, shortcuts),
/// so that the next activation materialises again; the proxies stay.
fn everything(root: &Path, reason: Reason) -> Vec<Removal> {
    let mut removals = Vec::new();
    for (_, env_dir) in env_dirs(root) {
        for name in [
            "gcroots",
            "generations",
            "env.json",
            "fresh",
            "direnv.bash",
            "failed.json",
        ] {
            let path = env_dir.join(name);
            if std::fs::symlink_metadata(&path).is_ok() {
                removals.push(Removal {
                    project: root.to_owned(),
                    roots: roots_in(&path),
                    path,
                    reason: reason.clone(),
                });
            }
        }
    }
    removals
}

/// The GC roots (symlinks into the store) at or below `path`, skipping the
/// proxies in `bin/`.
fn roots_in(path: &Path) -> Vec<(PathBuf, PathBuf)> {
    let mut roots = Vec::new();
    if let Ok(target) = std::fs::read_link(path) {
        if target.is_absolute() {
            roots.push((path.to_owned(), target));
        }
        return roots;
    }
    for dir in subdirs_and_links(path) {
        if dir.file_name().is_some_and(|n| n != "bin") {
            roots.extend(roots_in(&dir));
        }
    }
    roots.sort();
    roots
}

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    found.sort();
    found
}

fn subdirs_and_links(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir() || t.is_symlink()))
        .map(|e| e.path())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn env_json(key: &str) -> String {
        format!(
            r#"{{"vars":{{}},"stable":"/","sources":{{"nixpkgs":"/n","rust-overlay":"/r"}},"key":"{key}","materialised":0}}"#
        )
    }

    #[test]
    fn past_generations_gone_members_and_old_libraries() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(&root.join("crate-env.nix"), "{ }");
        write(&root.join("wasm/crate-env.nix"), "{ }");
        let state = root.join(".crate-env");
        write(&state.join("env.json"), &env_json("aaaa1111bbbb2222cccc"));
        for gen in ["aaaa1111bbbb2222", "dddd3333eeee4444"] {
            let gen_dir = state.join("generations").join(gen);
            std::fs::create_dir_all(&gen_dir).unwrap();
            symlink("/nix/store/x-env", gen_dir.join("env")).unwrap();
        }
        std::fs::create_dir_all(state.join("members/wasm/generations/ffff")).unwrap();
        std::fs::create_dir_all(state.join("members/py/gcroots")).unwrap();
        symlink("/nix/store/y-rust", state.join("members/py/gcroots/stable")).unwrap();
        std::fs::create_dir_all(state.join("lib/0123456789abcdef")).unwrap();
        std::fs::create_dir_all(state.join("lib").join(lib_hash())).unwrap();
        let plan = plan_project(root, "x86_64-linux");
        let got: Vec<(PathBuf, Reason)> = plan
            .iter()
            .map(|r| {
                (
                    r.path.strip_prefix(root).unwrap().to_owned(),
                    r.reason.clone(),
                )
            })
            .collect();
        let gen = |m: &str| Reason::OldGeneration { member: m.into() };
        assert_eq!(
            got,
            [
                (".crate-env/generations/dddd3333eeee4444".into(), gen("")),
                (
                    ".crate-env/members/py".into(),
                    Reason::GoneMember {
                        member: "py".into()
                    }
                ),
                (
                    ".crate-env/members/wasm/generations/ffff".into(),
                    gen("wasm")
                ),
                (".crate-env/lib/0123456789abcdef".into(), Reason::OldLibrary),
            ]
        );
        assert_eq!(plan[0].roots.len(), 1);
        assert_eq!(plan[1].roots[0].1, Path::new("/nix/store/y-rust"));
    }
}
