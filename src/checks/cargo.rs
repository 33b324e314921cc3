//! What the checks read from Cargo's files: the workspace members' manifests
//! and Cargo.lock.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// A workspace member with its `rust-version`, if it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    pub manifest: PathBuf,
    pub rust_version: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CargoError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
}

fn read_toml(path: &Path) -> Result<toml::Table, CargoError> {
    let text = fs_err::read_to_string(path)?;
    text.parse::<toml::Table>().map_err(|e| CargoError::Parse {
        path: path.to_owned(),
        message: e.to_string().trim_end().to_owned(),
    })
}

/// The packages of the Cargo workspace rooted at `root/Cargo.toml`: the root
/// package and every `[workspace] members` entry (paths and glob patterns),
/// minus `exclude`. `rust-version.workspace = true` takes
/// `[workspace.package] rust-version`. Empty without a Cargo.toml.
pub fn workspace_members(root: &Path) -> Result<Vec<Member>, CargoError> {
    let manifest = root.join("Cargo.toml");
    if !manifest.is_file() {
        return Ok(vec![]);
    }
    let table = read_toml(&manifest)?;
    let workspace = table.get("workspace").and_then(|w| w.as_table());
    let inherited = workspace
        .and_then(|w| w.get("package"))
        .and_then(|p| p.get("rust-version"))
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    let mut members = Vec::new();
    if let Some(member) = member_of(&table, &manifest, inherited.as_deref()) {
        members.push(member);
    }
    let strings = |key: &str| -> Vec<String> {
        workspace
            .and_then(|w| w.get(key))
            .and_then(|m| m.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let exclude: Vec<PathBuf> = strings("exclude").iter().map(|e| root.join(e)).collect();
    for pattern in strings("members") {
        for dir in expand_member(root, &pattern) {
            if exclude.contains(&dir) {
                continue;
            }
            let manifest = dir.join("Cargo.toml");
            if !manifest.is_file() {
                continue;
            }
            let table = read_toml(&manifest)?;
            if let Some(member) = member_of(&table, &manifest, inherited.as_deref()) {
                members.push(member);
            }
        }
    }
    Ok(members)
}

/// The directories a `members` entry names: cargo's members are glob
/// patterns (`crates/*`, `tools/cli-?`), relative to the workspace root.
fn expand_member(root: &Path, pattern: &str) -> Vec<PathBuf> {
    let full = root.join(pattern);
    let Ok(paths) = glob::glob(&full.to_string_lossy()) else {
        return vec![full];
    };
    let mut dirs: Vec<PathBuf> = paths
        .filter_map(Result::ok)
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn member_of(table: &toml::Table, manifest: &Path, inherited: Option<&str>) -> Option<Member> {
    let package = table.get("package")?.as_table()?;
    let name = package.get("name")?.as_str()?.to_owned();
    let rust_version = match package.get("rust-version") {
        Some(toml::Value::String(v)) => Some(v.clone()),
        Some(toml::Value::Table(t))
            if t.get("workspace").and_then(|w| w.as_bool()) == Some(true) =>
        {
            inherited.map(str::to_owned)
        }
        _ => None,
    };
    Some(Member {
        name,
        manifest: manifest.to_owned(),
        rust_version,
    })
}

/// What the checks need from Cargo.lock.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CargoLock {
    /// The top-level `version` (absent in v1/v2 locks).
    pub version: Option<i64>,
    /// Every `wasm-bindgen` package version, sorted, deduplicated.
    pub wasm_bindgen: Vec<String>,
}

/// Reads `root/Cargo.lock`; `Ok(None)` if there is none.
pub fn read_cargo_lock(root: &Path) -> Result<Option<CargoLock>, CargoError> {
    let path = root.join("Cargo.lock");
    if !path.is_file() {
        return Ok(None);
    }
    let table = read_toml(&path)?;
    let versions: BTreeSet<String> = table
        .get("package")
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
        .filter(|p| p.get("name").and_then(|n| n.as_str()) == Some("wasm-bindgen"))
        .filter_map(|p| p.get("version").and_then(|v| v.as_str()).map(str::to_owned))
        .collect();
    Ok(Some(CargoLock {
        version: table.get("version").and_then(|v| v.as_integer()),
        wasm_bindgen: versions.into_iter().collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_members_with_globs_and_inheritance() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(
            root.join("Cargo.toml"),
            "[workspace]\nmembers = [\"crates/*\", \"tool\"]\nexclude = [\"crates/skip\"]\n[workspace.package]\nrust-version = \"1.80\"\n",
        )
        .unwrap();
        for (dir, body) in [
            ("crates/a", "rust-version.workspace = true"),
            ("crates/skip", "rust-version = \"9.0\""),
            ("tool", "rust-version = \"1.99\""),
        ] {
            std::fs::create_dir_all(root.join(dir)).unwrap();
            let name = dir.rsplit('/').next().unwrap();
            std::fs::write(
                root.join(dir).join("Cargo.toml"),
                format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\n{body}\n"),
            )
            .unwrap();
        }
        let members = workspace_members(root).unwrap();
        let names: Vec<(&str, Option<&str>)> = members
            .iter()
            .map(|m| (m.name.as_str(), m.rust_version.as_deref()))
            .collect();
        assert_eq!(names, [("a", Some("1.80")), ("tool", Some("1.99"))]);
    }
}
