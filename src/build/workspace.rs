//! The project as a build sees it: the files that belong to it (what git
//! would track: `.gitignore` applies; `target/`, `.crate-env/`, `result*` and
//! `.git` never belong), its Cargo manifests, and the stub target roots the
//! dependency layer compiles instead of the real sources.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::BuildError;

/// Entries at the project root that never belong to a build's sources.
fn excluded_at_root(name: &str) -> bool {
    matches!(name, "target" | ".crate-env" | ".git" | ".direnv") || name.starts_with("result")
}

/// Entries that never belong to a build's sources: those of the root, and
/// `result*` next to a workspace member's crate-env.nix (`crate-env build`
/// run there links its outputs so).
fn excluded(entry: &ignore::DirEntry) -> bool {
    let name = entry.file_name().to_string_lossy();
    match entry.depth() {
        0 => false,
        1 => excluded_at_root(&name),
        _ => {
            name.starts_with("result")
                && entry
                    .path()
                    .parent()
                    .is_some_and(|dir| dir.join(crate::project::CONFIG_FILE).is_file())
        }
    }
}

/// The files of the project, relative, `/`-separated, sorted.
pub fn list_files(root: &Path) -> Result<Vec<String>, BuildError> {
    let walk = ignore::WalkBuilder::new(root)
        .hidden(false)
        .ignore(false)
        .parents(false)
        .git_global(false)
        .git_ignore(true)
        .git_exclude(true)
        .require_git(false)
        .follow_links(false)
        .filter_entry(|entry| !excluded(entry))
        .build();
    let mut files = Vec::new();
    for entry in walk {
        let entry = entry.map_err(|source| BuildError::Walk {
            root: root.to_path_buf(),
            source,
        })?;
        let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
        if is_dir {
            continue;
        }
        if let Ok(rel) = entry.path().strip_prefix(root) {
            files.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
    files.sort();
    Ok(files)
}

/// Stub target roots, relative to the project root.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stubs {
    /// Library roots: written empty.
    pub lib: Vec<String>,
    /// Binaries, examples, tests, benches, build scripts: `fn main() {}`.
    pub main: Vec<String>,
    /// Every `Cargo.toml` (by relative path) without what cannot change a
    /// dependency's build (description, authors, keywords, ...).
    pub manifests: BTreeMap<String, String>,
    /// The crate names of the workspace's libraries (`libNAME-HASH.rlib`).
    pub lib_names: Vec<String>,
}

/// `[package]` (and `[workspace.package]`) keys that only describe the
/// package: editing them must not rebuild the dependency layer.
const DESCRIPTIVE_KEYS: [&str; 14] = [
    "description",
    "authors",
    "documentation",
    "readme",
    "homepage",
    "repository",
    "license",
    "license-file",
    "keywords",
    "categories",
    "metadata",
    "include",
    "exclude",
    "publish",
];

/// The manifest as the dependency layer sees it: descriptive keys and
/// `[badges]` dropped, everything cargo resolves or builds with kept; a build
/// script the dependencies do not need (see [`needs_build_script`]) turned
/// off, so the layer does not compile a stub of it.
pub fn stub_manifest(toml: &toml::Table) -> String {
    let mut toml = toml.clone();
    toml.remove("badges");
    if !needs_build_script(&toml) {
        if let Some(package) = toml.get_mut("package").and_then(toml::Value::as_table_mut) {
            package.insert("build".into(), toml::Value::Boolean(false));
        }
    }
    let strip = |table: Option<&mut toml::Value>| {
        if let Some(table) = table.and_then(toml::Value::as_table_mut) {
            table.retain(|key, _| !DESCRIPTIVE_KEYS.contains(&AsRef::<str>::as_ref(key)));
        }
    };
    strip(toml.get_mut("package"));
    strip(toml.get_mut("workspace").and_then(|w| w.get_mut("package")));
    toml.to_string()
}

/// A parsed `Cargo.toml` and where it is.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// Relative path of the directory ("" at the root).
    pub dir: String,
    pub path: PathBuf,
    pub toml: toml::Table,
}

impl Manifest {
    /// A manifest from its text, as if read from `dir/Cargo.toml` (tests).
    #[cfg(test)]
    pub fn parsed(dir: &str, text: &str) -> Manifest {
        Manifest {
            dir: dir.into(),
            path: PathBuf::from(format!("{dir}/Cargo.toml")),
            toml: text.parse().unwrap(),
        }
    }

    pub fn read(root: &Path, rel: &str) -> Result<Manifest, BuildError> {
        let path = root.join(rel);
        let text = std::fs::read_to_string(&path).map_err(|source| BuildError::Read {
            path: path.clone(),
            source,
        })?;
        let toml = text
            .parse::<toml::Table>()
            .map_err(|source| BuildError::Toml {
                path: path.clone(),
                source: Box::new(source),
            })?;
        let dir = rel
            .strip_suffix("Cargo.toml")
            .unwrap_or("")
            .trim_end_matches('/')
            .to_owned();
        Ok(Manifest { dir, path, toml })
    }

    pub fn package(&self) -> Option<&toml::Table> {
        self.toml.get("package").and_then(toml::Value::as_table)
    }

    /// `dir/rel`, without `./`.
    fn join(&self, rel: &str) -> String {
        let rel = rel.trim_start_matches("./");
        if self.dir.is_empty() {
            rel.to_owned()
        } else {
            format!("{}/{rel}", self.dir)
        }
    }
}

/// Every `Cargo.toml` among `files` (the workspace's and its members').
pub fn manifests(root: &Path, files: &[String]) -> Result<Vec<Manifest>, BuildError> {
    files
        .iter()
        .filter(|f| f.rsplit('/').next() == Some("Cargo.toml"))
        .map(|f| Manifest::read(root, f))
        .collect()
}

/// Where cargo looks for targets without being told (cargo's target
/// auto-discovery), relative to a package directory.
fn is_conventional_main(rel: &str) -> bool {
    let parts: Vec<&str> = rel.split('/').collect();
    match parts.as_slice() {
        ["src", "main.rs"] | ["build.rs"] => true,
        ["src", "bin", file] => file.ends_with(".rs"),
        ["src", "bin", _, "main.rs"] => true,
        [kind, file] if is_target_dir(kind) => file.ends_with(".rs"),
        [kind, _, "main.rs"] => is_target_dir(kind),
        _ => false,
    }
}

fn is_target_dir(dir: &str) -> bool {
    matches!(dir, "examples" | "tests" | "benches")
}

/// Whether the dependency layer needs the package's build script: it has
/// `[build-dependencies]` (built only for a build script) or `links`.
fn needs_build_script(toml: &toml::Table) -> bool {
    let package = toml.get("package");
    let links = package.and_then(|p| p.get("links")).is_some();
    let targets = toml
        .get("target")
        .and_then(toml::Value::as_table)
        .into_iter()
        .flat_map(|t| t.values());
    let build_deps = std::iter::once(&toml::Value::Table(toml.clone()))
        .chain(targets)
        .flat_map(|t| ["build-dependencies", "build_dependencies"].map(|k| t.get(k)))
        .flatten()
        .any(|deps| deps.as_table().is_some_and(|d| !d.is_empty()));
    package.is_some() && (links || build_deps)
}

/// Explicit `path = …` of `[[bin]]`, `[[example]]`, `[[test]]`, `[[bench]]`,
/// and `package.build`.
fn explicit_mains(manifest: &Manifest) -> Vec<String> {
    let mut paths: Vec<String> = ["bin", "example", "test", "bench"]
        .iter()
        .filter_map(|kind| manifest.toml.get(*kind).and_then(toml::Value::as_array))
        .flatten()
        .filter_map(|target| target.get("path").and_then(toml::Value::as_str))
        .map(|p| manifest.join(p))
        .collect();
    let build = manifest.package().and_then(|p| p.get("build"));
    if let Some(build) = build.and_then(toml::Value::as_str) {
        if needs_build_script(&manifest.toml) {
            paths.push(manifest.join(build));
        }
    }
    paths
}

/// `[lib] name`, or the package's name with `-` as `_`.
fn lib_name(manifest: &Manifest) -> Option<String> {
    let package = manifest.package()?.get("name")?.as_str()?;
    let explicit = manifest.toml.get("lib").and_then(|l| l.get("name"));
    Some(match explicit.and_then(toml::Value::as_str) {
        Some(name) => name.to_owned(),
        None => package.replace('-', "_"),
    })
}

/// The stub target roots of every package among `manifests`.
pub fn stubs(manifests: &[Manifest], files: &[String]) -> Stubs {
    let mut lib = BTreeSet::new();
    let mut main = BTreeSet::new();
    for manifest in manifests.iter().filter(|m| m.package().is_some()) {
        let explicit_lib = manifest
            .toml
            .get("lib")
            .and_then(|l| l.get("path"))
            .and_then(toml::Value::as_str);
        lib.insert(manifest.join(explicit_lib.unwrap_or("src/lib.rs")));
        let no_build_script = !needs_build_script(&manifest.toml)
            || manifest
                .package()
                .and_then(|p| p.get("build"))
                .and_then(toml::Value::as_bool)
                == Some(false);
        let prefix = if manifest.dir.is_empty() {
            String::new()
        } else {
            format!("{}/", manifest.dir)
        };
        for file in files {
            let Some(rel) = file.strip_prefix(&prefix) else {
                continue;
            };
            if is_conventional_main(rel) && !(no_build_script && rel == "build.rs") {
                main.insert(file.clone());
            }
        }
        main.extend(explicit_mains(manifest));
    }
    // An implicit lib root is a target only if the file exists.
    let known: BTreeSet<&String> = files.iter().collect();
    lib.retain(|l| known.contains(l) || !l.ends_with("src/lib.rs"));
    main.retain(|m| !lib.contains(m));
    Stubs {
        lib: lib.into_iter().collect(),
        main: main.into_iter().collect(),
        manifests: manifests
            .iter()
            .map(|m| (m.join("Cargo.toml"), stub_manifest(&m.toml)))
            .collect(),
        lib_names: manifests.iter().filter_map(lib_name).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stubs_cover_every_target_root_and_no_module() {
        let files: Vec<String> = [
            "Cargo.toml",
            "app/Cargo.toml",
            "app/build.rs",
            "app/src/main.rs",
            "app/src/cli.rs",
            "app/src/bin/tool.rs",
            "app/tests/it.rs",
            "util/Cargo.toml",
            "util/src/lib.rs",
            "util/src/fmt.rs",
        ]
        .map(String::from)
        .to_vec();
        let manifests = vec![
            Manifest::parsed("", "[workspace]\nmembers = [\"app\", \"util\"]\n"),
            Manifest::parsed(
                "app",
                "[package]\nname = \"app\"\n[build-dependencies]\ncc = \"1\"\n",
            ),
            Manifest::parsed(
                "util",
                "[package]\nname = \"util\"\n[[bench]]\nname = \"b\"\npath = \"perf/b.rs\"\n",
            ),
        ];
        let stubs = stubs(&manifests, &files);
        assert_eq!(stubs.lib, ["util/src/lib.rs"]);
        assert_eq!(stubs.lib_names, ["app", "util"]);
        // util has no build-dependencies: its build script is not stubbed but off.
        let util: toml::Table = stubs.manifests["util/Cargo.toml"].parse().unwrap();
        assert_eq!(util["package"]["build"].as_bool(), Some(false));
        let app: toml::Table = stubs.manifests["app/Cargo.toml"].parse().unwrap();
        assert!(app["package"].get("build").is_none());
        assert_eq!(
            stubs.main,
            [
                "app/build.rs",
                "app/src/bin/tool.rs",
                "app/src/main.rs",
                "app/tests/it.rs",
                "util/perf/b.rs"
            ]
        );
    }

    #[test]
    fn stub_manifests_keep_what_builds_and_drop_descriptions() {
        let text = "[package]\nname = \"app\"\nversion = \"0.1.0\"\ndescription = \"x\"\n\
                    authors.workspace = true\nlinks = \"z\"\n[badges]\nmaintenance = {}\n\
                    [dependencies]\nitoa = \"1\"\n[workspace.package]\nauthors = [\"a\"]\nedition = \"2021\"\n";
        let stub: toml::Table = stub_manifest(&text.parse().unwrap()).parse().unwrap();
        let package = stub["package"].as_table().unwrap();
        assert_eq!(
            package.keys().collect::<Vec<_>>(),
            ["links", "name", "version"]
        );
        assert!(stub.get("badges").is_none());
        assert_eq!(stub["dependencies"]["itoa"].as_str(), Some("1"));
        assert_eq!(stub["workspace"]["package"].as_table().unwrap().len(), 1);
    }

    #[test]
    fn files_follow_gitignore_and_skip_build_state() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for file in [
            "Cargo.toml",
            "src/main.rs",
            "target/release/app",
            ".crate-env/env.json",
            "notes.tmp",
            "sub/keep.rs",
            "src/result.rs",
        ] {
            let path = root.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "x").unwrap();
        }
        std::fs::write(root.join(".gitignore"), "*.tmp\n").unwrap();
        std::os::unix::fs::symlink("/nix/store/x", root.join("result-default")).unwrap();
        // A member's result link; a `result` file elsewhere is a source.
        std::fs::write(root.join("sub/crate-env.nix"), "{ }").unwrap();
        std::os::unix::fs::symlink("/nix/store/x", root.join("sub/result-mine")).unwrap();
        assert_eq!(
            list_files(root).unwrap(),
            [
                ".gitignore",
                "Cargo.toml",
                "src/main.rs",
                "src/result.rs",
                "sub/crate-env.nix",
                "sub/keep.rs"
            ]
        );
    }
}
