//! GC roots of builds, under the member's `gcroots/builds/NAME/`
//! (`.crate-env/gcroots/…` for the root, `.crate-env/members/<name>/gcroots/…`): `out` (the
//! output) and `out-2` (the build's inputs: links to its dependency layer and
//! to every fetched `.crate`), as one `nix-build` names them; and
//! `gcroots/build-toolchains/TOOLCHAIN` (a toolchain realised for
//! `buildStd`). They keep a rebuild cheap after `nix-collect-garbage`, and
//! tell `status` and `cache push` what was built.

use std::path::PathBuf;

use serde::Serialize;

use crate::project::fsutil::FsError;
use crate::project::Project;

pub fn dir(project: &Project) -> PathBuf {
    project.gcroots_dir().join("builds")
}

/// `.crate-env/gcroots/builds/NAME`.
pub fn build_dir(project: &Project, name: &str) -> PathBuf {
    dir(project).join(name)
}

pub fn create_dir(path: &std::path::Path) -> Result<(), FsError> {
    std::fs::create_dir_all(path).map_err(|source| FsError::Write {
        path: path.to_path_buf(),
        source,
    })
}

pub fn output(project: &Project, name: &str) -> PathBuf {
    build_dir(project, name).join("out")
}

/// The second attribute of the build's `nix-build`: its inputs.
pub fn inputs(project: &Project, name: &str) -> PathBuf {
    build_dir(project, name).join("out-2")
}

/// The dependency layer behind the inputs root.
pub fn deps(project: &Project, name: &str) -> Option<PathBuf> {
    std::fs::read_link(inputs(project, name).join("deps")).ok()
}

pub fn toolchains_dir(project: &Project) -> PathBuf {
    project.gcroots_dir().join("build-toolchains")
}

pub fn toolchain(project: &Project, toolchain: &str) -> PathBuf {
    toolchains_dir(project).join(toolchain)
}

/// A build whose output is rooted, for `status`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RootedBuild {
    pub name: String,
    pub output: Option<PathBuf>,
    pub deps: Option<PathBuf>,
    /// Whether the output is still in the store.
    pub valid: bool,
}

/// Every build with a root directory, by name.
pub fn builds(project: &Project) -> Vec<RootedBuild> {
    let Ok(read) = std::fs::read_dir(dir(project)) else {
        return vec![];
    };
    let mut names: Vec<String> = read
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let output = std::fs::read_link(output(project, &name)).ok();
            RootedBuild {
                valid: output.as_deref().is_some_and(|o| o.exists()),
                deps: deps(project, &name),
                output,
                name,
            }
        })
        .collect()
}

/// Every store path a build root points at (outputs, their inputs,
/// toolchains), for `cache push`: their closures hold the dependency layers,
/// the vendor directories and the fetched crates.
pub fn store_paths(project: &Project) -> Vec<PathBuf> {
    let per_build = builds(project)
        .into_iter()
        .flat_map(|b| [output(project, &b.name), inputs(project, &b.name)]);
    let toolchains = std::fs::read_dir(toolchains_dir(project))
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path());
    per_build
        .chain(toolchains)
        .filter_map(|link| std::fs::read_link(link).ok())
        .filter(|target| target.exists())
        .collect()
}
