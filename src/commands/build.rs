//! `crate-env build [NAME…] [--out-link PATH]`: hermetic Nix builds of
//! `builds.NAME` (docs/build.md). Output store paths on stdout, one a line;
//! progress (the crate being compiled) on stderr; `-v` streams the build log.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::{print_data, Context};
use crate::build::log::BuildLog;
use crate::build::{self, BuildError, Builder, Built, LibArgs, Plan};
use crate::cli::BuildArgs;
use crate::errors::{ExitCode, Hint, HintExt};
use crate::nix::{Event, Nix};
use crate::nixlib;
use crate::settings::Verbosity;
use crate::ui::{Spinner, Ui};

/// Overrides where registry crates are downloaded from (cargo's `dl` syntax).
const MIRROR_VAR: &str = "CRATE_ENV_CRATES_MIRROR";

pub fn run(ctx: &Context<'_>, args: &BuildArgs) -> Result<ExitCode> {
    let project = ctx.project()?;
    // Checks that need no Nix come first: a bad Cargo.lock writes nothing.
    let prepared = build::prepare(&project.root).map_err(hinted)?;
    let (_, lock_text) = super::fresh_lock(
        &project,
        "run `crate-env lock --nixpkgs SPEC --rust-overlay SPEC`",
        "run `crate-env lock` (or `crate-env materialise`, which re-locks)",
    )?;
    let _state = ctx.lock_state(&project)?;
    let lib = nixlib::extract(&project.lib_parent_dir())?;
    let config_json = build::config_files_json(&project);
    let log = BuildLog::default();
    let spinner = ctx.ui.spinner("evaluating builds");
    let mut nix = Nix::find(ctx.settings.nix_bin_dir.value.as_deref())
        .hint("install Nix (https://nixos.org/download), or point CRATE_ENV_NIX_BIN_DIR at its bin directory")?
        .observe(|event| observe(ctx.ui.verbosity(), &spinner, &log, event));
    let lib_args = LibArgs {
        lib: &lib,
        lock: &lock_text,
        config_files: &config_json,
        system: &ctx.settings.system.value,
    };
    let info = build::info(&nix, &lib_args, &project).map_err(hinted)?;
    let names = build::select(&info, &args.names).map_err(hinted)?;
    nix.set_options(info.nix_options.clone());
    let crate_url = crate_url();
    let out_link =
        |name: &str| link_for(&project.root, args.out_link.as_deref(), name, names.len());
    let plan = Plan {
        prepared: &prepared,
        info: &info,
        names: &names,
        crate_url: &crate_url,
        out_link: &out_link,
    };
    let builder = Builder {
        nix: &nix,
        args: lib_args,
        project: &project,
        log: &log,
    };
    let built = builder
        .build_all(
            &plan,
            &|name, step| spinner.set_message(format!("{name}: {step}")),
            &|built| report(ctx.ui, &spinner, &log, built),
        )
        .map_err(hinted)?;
    drop(nix);
    spinner.finish();
    print_data(
        &built
            .iter()
            .map(|b| format!("{}\n", b.out.display()))
            .collect::<String>(),
    )?;
    Ok(ExitCode::SUCCESS)
}

/// `CRATE_ENV_CRATES_MIRROR`, else crates.io's download URL.
fn crate_url() -> String {
    std::env::var(MIRROR_VAR)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| build::DEFAULT_CRATE_URL.to_owned())
}

/// `result-NAME` in the project, or `--out-link PATH` (`PATH-NAME` when
/// several builds run).
fn link_for(root: &Path, given: Option<&Path>, name: &str, count: usize) -> PathBuf {
    match given {
        Some(path) if count == 1 => path.to_path_buf(),
        Some(path) => PathBuf::from(format!("{}-{name}", path.display())),
        None => root.join(format!("result-{name}")),
    }
}

/// One line per finished build (hidden by `-q`).
fn report(ui: &Ui, spinner: &Spinner, log: &BuildLog, built: &Built) {
    if ui.verbosity() >= Verbosity::Normal {
        spinner.println(summary(log, &built.name, &built.out));
    }
}

/// `built NAME: N workspace crates compiled, M dependencies (…)`.
fn summary(log: &BuildLog, name: &str, out: &Path) -> String {
    let layers = log.layers();
    let find = |drv: String| layers.iter().rev().find(|l| l.derivation == drv);
    let deps = match find(format!("crate-env-build-{name}-deps")) {
        Some(layer) => format!(
            "dependency layer built ({} crates compiled)",
            layer.compiled.len()
        ),
        None => "dependency layer reused".to_owned(),
    };
    let workspace = match find(format!("crate-env-build-{name}")) {
        Some(layer) => format!(
            "{} workspace crates and {} dependency crates compiled",
            layer.workspace_compiled(),
            layer.dependencies_compiled()
        ),
        None => "output reused".to_owned(),
    };
    format!("built {name}: {workspace}; {deps} ({})", out.display())
}

fn observe(verbosity: Verbosity, spinner: &Spinner, log: &BuildLog, event: Event<'_>) {
    match event {
        Event::Command(line) if verbosity >= Verbosity::Verbose => {
            spinner.println(format!("+ {line}"))
        }
        Event::Building(drv) => {
            log.start(drv);
            spinner.set_message(format!("building {drv}"));
        }
        Event::Fetching(what) => spinner.set_message(format!("fetching {what}")),
        Event::Output(line) => {
            if let Some((crate_, n)) = log.record(line) {
                spinner.set_message(format!("compiling crate {n} ({})", crate_.name));
            }
            if verbosity >= Verbosity::Verbose {
                spinner.println(line);
            }
        }
        _ => {}
    }
}

/// The error with what to do about it.
fn hinted(err: BuildError) -> anyhow::Error {
    let hint = match &err {
        BuildError::NoCargoLock { .. } => Some("run `cargo generate-lockfile`".to_owned()),
        BuildError::StaleCargoLock { .. } => Some(
            "run `cargo update` (or `cargo generate-lockfile`) and build again: \
             builds run cargo --frozen"
                .to_owned(),
        ),
        BuildError::UnknownBuild { .. } => Some(
            "`crate-env build` with no name builds `default`; add `builds.NAME = { … };` \
             to crate-env.nix for others (docs/build.md)"
                .to_owned(),
        ),
        BuildError::ChecksumMismatch { name, .. } => Some(format!(
            "Cargo.lock's checksum for {name} is not what the registry serves: restore \
             Cargo.lock from version control, or run `cargo update -p {name}`"
        )),
        BuildError::Failed { excerpt, .. } if excerpt.contains("--frozen") => {
            Some("run `cargo update` (or `cargo generate-lockfile`) and build again".to_owned())
        }
        BuildError::NoStdLock { .. } => {
            Some("add \"rust-src\" to the toolchain's components in crate-env.nix".to_owned())
        }
        _ => None,
    };
    let err = anyhow::Error::from(err);
    match hint {
        Some(hint) => err.context(Hint(hint)),
        None => err,
    }
}
