//! A project on disk: its root, config files and every path of the
//! `.crate-env/` layout (docs/architecture.md), and the files in it.

pub mod env_cache;
pub mod fsutil;
pub mod lockfile;
pub mod registry;
pub mod state;
pub mod template;
pub mod toolchain_file;
pub mod workspace;

use std::path::{Path, PathBuf};

use crate::nix::library::{ExtractError, Library};

pub const CONFIG_FILE: &str = "crate-env.nix";
pub const LOCK_FILE: &str = "crate-env.lock";
pub const STATE_DIR: &str = ".crate-env";
/// The line `init` adds to `.gitignore`.
pub const GITIGNORE_ENTRY: &str = ".crate-env/";

/// The GC roots crate-env registers, in the order `status` shows them.
pub const GC_ROOTS: [&str; 5] = ["env", "stable", "nightly", "nixpkgs", "rust-overlay"];

/// The workspace root of `start`: the outermost directory at or above the
/// nearest crate-env.nix that has one (a crate-env.lock ends the walk; see
/// [`workspace::discover`]).
pub fn find_root(start: &Path) -> Option<PathBuf> {
    workspace::discover(start).map(|(root, _)| root)
}

pub fn config_path(root: &Path) -> PathBuf {
    root.join(CONFIG_FILE)
}

/// One environment of a workspace: the root's, or a member's (a directory
/// below the root with its own crate-env.nix). The lock and `.crate-env/`
/// are the root's; a member's state lives in `.crate-env/members/<name>/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// The workspace root: crate-env.lock, `.crate-env/`.
    pub root: PathBuf,
    /// The member's directory relative to the root, `/`-separated; `""` for the root.
    pub member: String,
}

impl Project {
    /// The root's own environment.
    pub fn new(root: PathBuf) -> Project {
        Project {
            root,
            member: String::new(),
        }
    }

    pub fn with_member(root: PathBuf, member: String) -> Project {
        Project { root, member }
    }

    /// The environment of the directory `start` (see [`workspace::discover`]).
    pub fn discover(start: &Path) -> Option<Project> {
        workspace::discover(start).map(|(root, member)| Project { root, member })
    }

    /// Every environment of the workspace: the root's first, then each member's.
    pub fn workspace(&self) -> Vec<Project> {
        let mut all = vec![Project::new(self.root.clone())];
        all.extend(
            workspace::members(&self.root)
                .into_iter()
                .map(|member| Project::with_member(self.root.clone(), member)),
        );
        all
    }

    pub fn is_root(&self) -> bool {
        self.member.is_empty()
    }

    /// How messages name this environment: the member's path, `.` for the root.
    pub fn label(&self) -> &str {
        if self.is_root() {
            "."
        } else {
            &self.member
        }
    }

    /// The member's directory (the root's for the root).
    pub fn dir(&self) -> PathBuf {
        if self.is_root() {
            self.root.clone()
        } else {
            self.root.join(&self.member)
        }
    }

    /// Every crate-env.nix involved in this environment, absolute, outermost
    /// first: what the Nix library merges, what the cache key and the lock's
    /// stamp read, what direnv watches (and trust records hash).
    pub fn config_files(&self) -> Vec<PathBuf> {
        workspace::config_chain(&self.root, &self.member)
    }

    pub fn lock_file(&self) -> PathBuf {
        self.root.join(LOCK_FILE)
    }

    pub fn state_dir(&self) -> PathBuf {
        self.root.join(STATE_DIR)
    }

    /// This environment's own state: `.crate-env/` for the root,
    /// `.crate-env/members/<name>/` for a member ([`workspace::state_name`]).
    pub fn env_dir(&self) -> PathBuf {
        if self.is_root() {
            self.state_dir()
        } else {
            self.members_dir().join(workspace::state_name(&self.member))
        }
    }

    /// `.crate-env/members`: every member's state.
    pub fn members_dir(&self) -> PathBuf {
        self.state_dir().join("members")
    }

    pub fn env_cache(&self) -> PathBuf {
        self.env_dir().join("env.json")
    }

    /// The roots of the environment in use.
    pub fn gcroots_dir(&self) -> PathBuf {
        self.env_dir().join("gcroots")
    }

    /// Roots of environments this one used before (docs/workspaces.md#garbage-collection), one
    /// directory per cache key prefix.
    pub fn generations_dir(&self) -> PathBuf {
        self.env_dir().join("generations")
    }

    pub fn gcroot(&self, name: &str) -> PathBuf {
        self.gcroots_dir().join(name)
    }

    pub fn lib_parent_dir(&self) -> PathBuf {
        self.state_dir().join("lib")
    }

    /// `.crate-env/bin`: the proxies, first on the environment's PATH so that
    /// `cargo +nightly` works wherever the environment is applied.
    pub fn proxy_dir(&self) -> PathBuf {
        self.env_dir().join("bin")
    }

    /// `.crate-env/direnv.bash`: the state `use_crate_env` sources.
    pub fn direnv_state(&self) -> PathBuf {
        self.env_dir().join("direnv.bash")
    }

    /// One empty file per watched file, carrying the mtime that file had when
    /// `direnv export` read it (`use_crate_env` compares them with -nt/-ot).
    pub fn direnv_stamps(&self, count: usize) -> Vec<PathBuf> {
        let dir = self.env_dir().join("direnv-stamps");
        (0..count).map(|i| dir.join(i.to_string())).collect()
    }

    /// Every crate-env.nix involved, and the lock: what the cache key reads
    /// (direnv watches them; trust records hash them). The lock comes last (`direnv export` re-watches it after a re-lock).
    pub fn watched_files(&self) -> Vec<PathBuf> {
        let mut files = self.config_files();
        files.push(self.lock_file());
        files
    }

    /// The Nix library, extracted into `.crate-env/lib`, for this project's
    /// crate-env.nix files on `system`. The caller holds the state lock.
    pub fn library(&self, system: &str) -> Result<Library, ExtractError> {
        Library::extract(&self.lib_parent_dir(), &self.config_files(), system)
    }

    /// Shown in messages: a path relative to the project root.
    pub fn display(&self, path: &Path) -> String {
        path.strip_prefix(&self.root)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| path.display().to_string())
    }
}

/// Adds `.crate-env/` to the `.gitignore` text unless an equivalent line is
/// there; `None` if nothing needs to change.
pub fn gitignore_with_state_dir(existing: Option<&str>) -> Option<String> {
    let existing = existing.unwrap_or("");
    let already = existing.lines().map(str::trim).any(|line| {
        matches!(
            line,
            ".crate-env" | ".crate-env/" | "/.crate-env" | "/.crate-env/"
        )
    });
    if already {
        return None;
    }
    let mut text = existing.to_owned();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(GITIGNORE_ENTRY);
    text.push('\n');
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_nearest_config_upwards() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join(CONFIG_FILE), "{}").unwrap();
        assert_eq!(find_root(&root.join("a/b")), Some(root.to_path_buf()));
        // A member's root is the outermost; a lock makes a root of its own.
        std::fs::write(root.join("a").join(CONFIG_FILE), "{}").unwrap();
        assert_eq!(find_root(&root.join("a/b")), Some(root.to_path_buf()));
        std::fs::write(root.join("a").join(LOCK_FILE), "{}").unwrap();
        assert_eq!(find_root(&root.join("a/b")), Some(root.join("a")));
    }

    #[test]
    fn no_config_no_root() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(find_root(dir.path()), None);
    }

    #[test]
    fn gitignore_gets_the_entry_once() {
        assert_eq!(gitignore_with_state_dir(None).unwrap(), ".crate-env/\n");
        assert_eq!(
            gitignore_with_state_dir(Some("/target")).unwrap(),
            "/target\n.crate-env/\n"
        );
        assert_eq!(
            gitignore_with_state_dir(Some("/target\n.crate-env/\n")),
            None
        );
        assert_eq!(gitignore_with_state_dir(Some("/.crate-env\n")), None);
    }

    #[test]
    fn layout() {
        let p = Project::new(PathBuf::from("/p"));
        assert_eq!(p.gcroot("env"), Path::new("/p/.crate-env/gcroots/env"));
        assert_eq!(p.env_cache(), Path::new("/p/.crate-env/env.json"));
        assert_eq!(p.lock_file(), Path::new("/p/crate-env.lock"));
        assert_eq!(p.display(&p.lock_file()), "crate-env.lock");
        let m = Project::with_member(PathBuf::from("/p"), "crates/py".into());
        assert_eq!(
            m.env_cache(),
            Path::new("/p/.crate-env/members/crates%2Fpy/env.json")
        );
        assert_eq!(m.lock_file(), Path::new("/p/crate-env.lock"));
        assert_eq!(m.dir(), Path::new("/p/crates/py"));
    }
}
