//! Workspaces (docs/workspaces.md): which crate-env.nix files make up the
//! environment of a directory, where the workspace root is, and which
//! members a workspace has.
//!
//! The member of a directory is the nearest directory at or above it with a
//! crate-env.nix. Its parents' crate-env.nix files, up to the outermost,
//! merge into it; the outermost holds the lock. A directory whose
//! crate-env.nix has a crate-env.lock next to it is always a root: the walk
//! stops there, so a project checked out inside another stays its own.

use std::path::{Path, PathBuf};

use crate::project::{config_path, LOCK_FILE};

/// Directories never searched for members: build output, state, VCS data.
const SKIPPED_DIRS: [&str; 3] = ["target", "node_modules", "result"];
/// How deep below the root members are looked for.
const MAX_DEPTH: usize = 8;

/// The workspace root and the member (its directory relative to the root,
/// `/`-separated, `""` for the root itself) of `start`.
pub fn discover(start: &Path) -> Option<(PathBuf, String)> {
    let nearest = start.ancestors().find(|dir| config_path(dir).is_file())?;
    let mut root = nearest;
    if !nearest.join(LOCK_FILE).is_file() {
        for dir in nearest.ancestors().skip(1) {
            if config_path(dir).is_file() {
                root = dir;
                if dir.join(LOCK_FILE).is_file() {
                    break;
                }
            }
        }
    }
    let member = relative_name(root, nearest);
    Some((root.to_path_buf(), member))
}

/// `dir` relative to `root`, `/`-separated (`""` when equal).
pub fn relative_name(root: &Path, dir: &Path) -> String {
    let relative = dir.strip_prefix(root).unwrap_or(dir);
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// The crate-env.nix files that make up `member`'s environment, outermost
/// first: the root's, each directory's on the way down that has one, and
/// the member's own.
pub fn config_chain(root: &Path, member: &str) -> Vec<PathBuf> {
    let mut files = vec![config_path(root)];
    let mut dir = root.to_path_buf();
    for part in member.split('/').filter(|p| !p.is_empty()) {
        dir.push(part);
        let file = config_path(&dir);
        if file.is_file() {
            files.push(file);
        }
    }
    files
}

/// Every member below `root` (not the root itself), sorted: directories
/// with a crate-env.nix, skipping hidden directories, `target`,
/// `node_modules`, `result*`, symlinks, and nested projects (a directory
/// with its own crate-env.lock).
pub fn members(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    walk(root, root, 0, &mut found);
    found.sort();
    found
}

fn walk(root: &Path, dir: &Path, depth: usize, found: &mut Vec<String>) {
    if depth >= MAX_DEPTH {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if !is_dir || name.starts_with('.') || skipped(&name) {
            continue;
        }
        let path = entry.path();
        if path.join(LOCK_FILE).is_file() {
            continue;
        }
        if config_path(&path).is_file() {
            found.push(relative_name(root, &path));
        }
        walk(root, &path, depth + 1, found);
    }
}

fn skipped(name: &str) -> bool {
    SKIPPED_DIRS.contains(&name) || name.starts_with("result")
}

/// The directory name of a member's state under `.crate-env/members/`: one
/// path component, `%` and `/` escaped (`crates/py` → `crates%2Fpy`), so that
/// no member's state directory is inside another's. `use_crate_env` computes
/// the same name in bash.
pub fn state_name(member: &str) -> String {
    member.replace('%', "%25").replace('/', "%2F")
}

/// The member a state directory name stands for ([`state_name`] reversed).
pub fn member_of_state_name(name: &str) -> String {
    name.replace("%2F", "/").replace("%25", "%")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn tree(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for file in files {
            let path = dir.path().join(file);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, "{ }").unwrap();
        }
        dir
    }

    #[test]
    fn nearest_member_merges_up_to_the_outermost() {
        let t = tree(&["crate-env.nix", "crates/wasm/crate-env.nix", "crates/x.rs"]);
        let root = t.path();
        let (r, m) = discover(&root.join("crates/wasm/src/deep")).unwrap();
        assert_eq!((r.as_path(), m.as_str()), (root, "crates/wasm"));
        let (r, m) = discover(&root.join("crates")).unwrap();
        assert_eq!((r.as_path(), m.as_str()), (root, ""));
        assert_eq!(
            config_chain(root, "crates/wasm"),
            [
                root.join("crate-env.nix"),
                root.join("crates/wasm/crate-env.nix")
            ]
        );
    }

    #[test]
    fn a_lock_makes_a_root() {
        let t = tree(&[
            "crate-env.nix",
            "a/crate-env.nix",
            "a/crate-env.lock",
            "a/b/crate-env.nix",
            "c/crate-env.nix",
        ]);
        let root = t.path();
        let (r, m) = discover(&root.join("a/b")).unwrap();
        assert_eq!((r, m.as_str()), (root.join("a"), "b"));
        assert_eq!(members(root), ["c"]);
        assert_eq!(members(&root.join("a")), ["b"]);
    }

    #[test]
    fn members_skip_hidden_and_build_dirs() {
        let t = tree(&[
            "crate-env.nix",
            "wasm/crate-env.nix",
            "py/crate-env.nix",
            "py/inner/crate-env.nix",
            ".git/crate-env.nix",
            "target/x/crate-env.nix",
            "result-app/crate-env.nix",
        ]);
        assert_eq!(members(t.path()), ["py", "py/inner", "wasm"]);
    }

    #[test]
    fn state_names_are_one_component_and_reversible() {
        for member in ["wasm", "crates/py", "odd%2Fname"] {
            let name = state_name(member);
            assert!(!name.contains('/'));
            assert_eq!(member_of_state_name(&name), member);
        }
    }
}
