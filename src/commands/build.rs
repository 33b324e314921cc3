//! `crate-env build [NAME…] [--out-link PATH]`: hermetic Nix builds of
//! `builds.NAME` (docs/build.md). Output store paths on stdout, one a line;
//! progress (the crate being compiled) on stderr; `-v` streams the build log.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use crate::build::log::BuildLog;
use crate::build::{self, BuildError, Builder, Built, LibArgs, Plan};
use crate::cli::args::BuildArgs;
use crate::cli::context::{print_data, Context};
use crate::cli::errors::{ExitCode, Hint};
use crate::cli::settings::Verbosity;
use crate::cli::ui::{Spinner, Ui};
use crate::environment::nix_config;
use crate::environment::{ensure, RelockPolicy};
use crate::nix::Event;
use crate::project::Project;
use crate::report::approve;

/// Overrides where registry crates are downloaded from (cargo's `dl` syntax).
const MIRROR_VAR: &str = "CRATE_ENV_CRATES_MIRROR";

pub fn run(ctx: &Context<'_>, args: &BuildArgs) -> Result<ExitCode> {
    let project = ctx.project()?;
    // Checks that need no Nix come first: a bad Cargo.lock writes nothing.
    let prepared = build::prepare(&project.root).map_err(hinted)?;
    // The member's environment, re-locking a stale lock as `materialise`
    // does: the builds use its toolchain (the same store path as its shell).
    ensure(ctx, &project, RelockPolicy::Relock).context("cannot materialise the environment")?;
    let _state = ctx.state_lock(&project)?;
    let lock_text = lock_text(ctx, &project)?;
    let library = project.library(&ctx.settings.system.value)?;
    let log = BuildLog::default();
    let spinner = ctx.ui.spinner("evaluating builds");
    let mut nix = ctx.nix_observed(|event| observe(ctx.ui.verbosity(), &spinner, &log, event))?;
    let lib_args = LibArgs {
        library: &library,
        lock: &lock_text,
        system: &ctx.settings.system.value,
    };
    let info = build::info(&nix, &lib_args, &project).map_err(hinted)?;
    let names = build::select(&info, &args.names).map_err(hinted)?;
    nix.set_options(nix_config::options(&info.nix_config));
    let crate_url = crate_url();
    let dir = project.dir();
    let out_link = |name: &str| link_for(&dir, args.out_link.as_deref(), name, names.len());
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
    approve(ctx, &project);
    let paths: String = built
        .iter()
        .map(|b| format!("{}\n", b.out.display()))
        .collect();
    print_data(&paths)?;
    Ok(ExitCode::SUCCESS)
}

/// The text of the member's view of the lock, fresh after `ensure`.
fn lock_text(ctx: &Context<'_>, project: &Project) -> Result<String> {
    let lock = ctx.fresh_lock(
        project,
        "run `crate-env lock --nixpkgs SPEC --rust-overlay SPEC`",
        "run `crate-env build` again (crate-env.nix changed meanwhile)",
    )?;
    Ok(lock.to_text())
}

/// `CRATE_ENV_CRATES_MIRROR`, else crates.io's download URL.
fn crate_url() -> String {
    std::env::var(MIRROR_VAR)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| build::DEFAULT_CRATE_URL.to_owned())
}

/// `result-NAME` in the member's directory, or `--out-link PATH` (`PATH-NAME` when
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
