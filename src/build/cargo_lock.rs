//! Is Cargo.lock up to date with the manifests? A build runs cargo with
//! `--frozen`, which would fail deep inside Nix; this finds the same problem
//! before anything is built or written, and names the manifest at fault.

use std::collections::BTreeMap;
use std::path::Path;

use semver::{Version, VersionReq};
use serde::Deserialize;

use super::workspace::Manifest;
use super::BuildError;

#[derive(Debug, Deserialize)]
struct LockFile {
    #[serde(default)]
    package: Vec<LockedPackage>,
}

#[derive(Debug, Deserialize)]
struct LockedPackage {
    name: String,
    version: String,
    #[serde(default)]
    source: Option<String>,
}

/// Versions per package name, and whether each comes from a registry.
type Locked = BTreeMap<String, Vec<(String, Option<String>)>>;

/// Reads `root/Cargo.lock` and checks it against every workspace member's
/// manifest: each member and each dependency must be locked, registry
/// dependencies at a version their requirement accepts.
pub fn check_fresh(root: &Path, manifests: &[Manifest]) -> Result<(), BuildError> {
    let path = root.join("Cargo.lock");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(BuildError::NoCargoLock {
                root: root.to_path_buf(),
            })
        }
        Err(source) => return Err(BuildError::Read { path, source }),
    };
    let lock: LockFile = toml::from_str(&text).map_err(|source| BuildError::Toml {
        path: path.clone(),
        source: Box::new(source),
    })?;
    let mut locked = Locked::new();
    for p in lock.package {
        locked
            .entry(p.name)
            .or_default()
            .push((p.version, p.source));
    }
    let workspace = manifests.iter().find(|m| m.dir.is_empty());
    let shared = workspace
        .and_then(|w| w.toml.get("workspace"))
        .and_then(|w| w.get("dependencies"))
        .and_then(toml::Value::as_table);
    for manifest in members(manifests) {
        check_manifest(manifest, shared, &locked).map_err(|problem| {
            BuildError::StaleCargoLock {
                manifest: manifest.path.clone(),
                problem,
            }
        })?;
    }
    Ok(())
}

/// The root package and the packages the root's `[workspace]` names
/// (`members` globs, minus `exclude`); without a workspace, the root package.
fn members(manifests: &[Manifest]) -> Vec<&Manifest> {
    let Some(root) = manifests.iter().find(|m| m.dir.is_empty()) else {
        return vec![];
    };
    let patterns = |key: &str| -> Vec<globset::GlobMatcher> {
        root.toml
            .get("workspace")
            .and_then(|w| w.get(key))
            .and_then(toml::Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(toml::Value::as_str)
            .filter_map(|p| globset::Glob::new(p.trim_end_matches('/')).ok())
            .map(|g| g.compile_matcher())
            .collect()
    };
    let (include, exclude) = (patterns("members"), patterns("exclude"));
    manifests
        .iter()
        .filter(|m| m.package().is_some())
        .filter(|m| {
            m.dir.is_empty()
                || (include.iter().any(|g| g.is_match(&m.dir))
                    && !exclude.iter().any(|g| g.is_match(&m.dir)))
        })
        .collect()
}

fn check_manifest(
    manifest: &Manifest,
    shared: Option<&toml::Table>,
    locked: &Locked,
) -> Result<(), String> {
    let package = manifest.package().expect("members have [package]");
    let name = package
        .get("name")
        .and_then(toml::Value::as_str)
        .unwrap_or("");
    if !locked.contains_key(name) {
        return Err(format!("package `{name}` is not in Cargo.lock"));
    }
    for (key, spec) in dependency_tables(&manifest.toml) {
        let spec = resolve_workspace_dep(key, spec, shared);
        check_dependency(key, &spec, locked)?;
    }
    Ok(())
}

/// `[dependencies]`, `[dev-dependencies]`, `[build-dependencies]`, also under
/// `[target.'cfg(…)']`.
fn dependency_tables(toml: &toml::Table) -> Vec<(&String, &toml::Value)> {
    const KINDS: [&str; 5] = [
        "dependencies",
        "dev-dependencies",
        "dev_dependencies",
        "build-dependencies",
        "build_dependencies",
    ];
    let targets = toml
        .get("target")
        .and_then(toml::Value::as_table)
        .into_iter()
        .flat_map(|t| t.values())
        .filter_map(toml::Value::as_table);
    std::iter::once(toml)
        .chain(targets)
        .flat_map(|table| KINDS.iter().filter_map(|k| table.get(*k)))
        .filter_map(toml::Value::as_table)
        .flat_map(|deps| deps.iter())
        .collect()
}

/// `dep = { workspace = true, … }` takes the rest from `[workspace.dependencies]`.
fn resolve_workspace_dep(
    key: &str,
    spec: &toml::Value,
    shared: Option<&toml::Table>,
) -> toml::Value {
    let inherits = spec.get("workspace").and_then(toml::Value::as_bool) == Some(true);
    match (inherits, shared.and_then(|s| s.get(key))) {
        (true, Some(toml::Value::String(req))) => {
            let mut table = toml::Table::new();
            table.insert("version".into(), toml::Value::String(req.clone()));
            toml::Value::Table(table)
        }
        (true, Some(base)) => base.clone(),
        _ => spec.clone(),
    }
}

fn check_dependency(key: &str, spec: &toml::Value, locked: &Locked) -> Result<(), String> {
    let name = spec
        .get("package")
        .and_then(toml::Value::as_str)
        .unwrap_or(key);
    let versions = locked
        .get(name)
        .ok_or_else(|| format!("dependency `{name}` is not in Cargo.lock"))?;
    let is_path_or_git = spec.get("path").is_some() || spec.get("git").is_some();
    let req = match spec {
        toml::Value::String(req) => Some(req.as_str()),
        _ => spec.get("version").and_then(toml::Value::as_str),
    };
    let (Some(req), false) = (req, is_path_or_git) else {
        return Ok(());
    };
    let Ok(parsed) = VersionReq::parse(req) else {
        return Ok(()); // cargo itself reports a malformed requirement
    };
    let matches = versions.iter().any(|(version, source)| {
        source.is_some() && Version::parse(version).is_ok_and(|v| parsed.matches(&v))
    });
    if matches {
        return Ok(());
    }
    let have: Vec<String> = versions
        .iter()
        .map(|(v, _)| format!("{name} {v}"))
        .collect();
    Err(format!(
        "dependency `{name} = \"{req}\"` is not satisfied by Cargo.lock (it has {})",
        have.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"
version = 4
[[package]]
name = "app"
version = "0.1.0"
dependencies = ["itoa"]
[[package]]
name = "itoa"
version = "1.0.18"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "00"
"#;

    fn check(app: &str) -> Result<(), BuildError> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Cargo.lock"), LOCK).unwrap();
        let manifests = vec![
            Manifest::parsed(
                "",
                "[workspace]\nmembers = [\"crates/*\"]\n[workspace.dependencies]\nitoa = \"1.0\"\n",
            ),
            Manifest::parsed("crates/app", app),
        ];
        check_fresh(dir.path(), &manifests)
    }

    #[test]
    fn a_fresh_lock_passes() {
        check("[package]\nname = \"app\"\n[dependencies]\nitoa = \"1\"\n").unwrap();
        check("[package]\nname = \"app\"\n[dependencies]\nitoa.workspace = true\n").unwrap();
        check("[package]\nname = \"app\"\n[target.'cfg(unix)'.dev-dependencies]\nnum = { package = \"itoa\", version = \"1.0.1\" }\n").unwrap();
    }

    #[test]
    fn missing_or_unsatisfied_dependencies_are_stale() {
        let err = check("[package]\nname = \"app\"\n[dependencies]\nitoa = \"2\"\n").unwrap_err();
        assert!(err.to_string().contains("`itoa = \"2\"`"), "{err}");
        assert!(err.to_string().contains("crates/app/Cargo.toml"), "{err}");
        let err =
            check("[package]\nname = \"app\"\n[build-dependencies]\ncc = \"1\"\n").unwrap_err();
        assert!(
            err.to_string().contains("`cc` is not in Cargo.lock"),
            "{err}"
        );
        let err = check("[package]\nname = \"renamed\"\n").unwrap_err();
        assert!(err.to_string().contains("`renamed`"), "{err}");
    }
}
