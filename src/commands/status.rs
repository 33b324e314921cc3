//! `crate-env status`: what is pinned, materialised and rooted, and where
//! each setting comes from. Reads files only; never starts Nix.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use serde::Serialize;

use crate::build::roots::{builds as rooted_builds, RootedBuild};
use crate::cli::args::StatusArgs;
use crate::cli::context::{print_data, Context};
use crate::cli::errors::ExitCode;
use crate::cli::settings::{Setting, Settings, Source};
use crate::environment::{current_key, env_state, EnvState};
use crate::project::env_cache::CachedEnv;
use crate::project::lockfile::{
    config_stamp, pin_details, toolchain_summary, InputName, LockedInput, Lockfile, Toolchains,
};
use crate::project::{Project, GC_ROOTS};
use crate::trust::{self, Basis, Verdict};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Status<'a> {
    settings: &'a Settings,
    project: Option<ProjectStatus>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ProjectStatus {
    root: PathBuf,
    /// The member of the directory (`""`: the root).
    member: String,
    config_files: Vec<PathBuf>,
    /// The root's environment and every member's.
    members: Vec<EnvState>,
    lock: LockStatus,
    cache: CacheStatus,
    gc_roots: Vec<RootStatus>,
    /// The member's rooted outputs of `crate-env build` (docs/build.md).
    builds: Vec<RootedBuild>,
    trust: TrustStatus,
}

/// Whether proxies and direnv may evaluate the current files (docs/trust.md).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct TrustStatus {
    /// `allowed`, `changed`, `not-allowed`, `denied`, `trust-all`, `trusted-prefix`, `unknown`
    state: &'static str,
    /// Files changed since they were allowed.
    changed: Vec<PathBuf>,
    /// The trusted prefix the project is under.
    prefix: Option<PathBuf>,
    /// The record in the user state directory.
    record: Option<PathBuf>,
    error: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct LockStatus {
    path: PathBuf,
    exists: bool,
    /// Why it could not be read, if it could not.
    error: Option<String>,
    /// Resolved from the current crate-env.nix; `null` without a readable lock.
    fresh: Option<bool>,
    inputs: Vec<InputStatus>,
    toolchains: Option<Toolchains>,
}

#[derive(Debug, Serialize)]
struct InputStatus {
    name: &'static str,
    #[serde(flatten)]
    input: LockedInput,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CacheStatus {
    path: PathBuf,
    exists: bool,
    error: Option<String>,
    /// Built for the current lock and config (a cache hit starts no Nix).
    fresh: bool,
    materialised: Option<u64>,
    stable: Option<PathBuf>,
    nightly: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RootStatus {
    name: &'static str,
    path: PathBuf,
    exists: bool,
    /// Where the root points.
    target: Option<PathBuf>,
    /// Whether the target is still there.
    valid: bool,
}

pub fn run(ctx: &Context<'_>, args: &StatusArgs) -> Result<ExitCode> {
    let project = ctx.project().ok();
    let status = Status {
        settings: ctx.settings,
        project: project.map(|p| project_status(ctx, &p)).transpose()?,
    };
    if args.json {
        let mut text = serde_json::to_string_pretty(&status).context("cannot serialise status")?;
        text.push('\n');
        print_data(&text)?;
    } else {
        print_human(ctx, &status);
    }
    Ok(ExitCode::SUCCESS)
}

fn project_status(ctx: &Context<'_>, project: &Project) -> Result<ProjectStatus> {
    let lock = lock_status(project);
    let cache = cache_status(ctx, project);
    let system = &ctx.settings.system.value;
    Ok(ProjectStatus {
        root: project.root.clone(),
        member: project.member.clone(),
        config_files: project.config_files(),
        members: project
            .workspace()
            .iter()
            .map(|p| env_state(p, system))
            .collect(),
        lock,
        cache,
        gc_roots: GC_ROOTS
            .iter()
            .map(|name| root_status(project, name))
            .collect(),
        builds: rooted_builds(project),
        trust: trust_status(ctx, project),
    })
}

fn trust_status(ctx: &Context<'_>, project: &Project) -> TrustStatus {
    let mut status = TrustStatus {
        state: "unknown",
        changed: vec![],
        prefix: None,
        record: trust::record_path(ctx.settings, project),
        error: None,
    };
    let verdict = trust::fingerprint(project)
        .and_then(|current| trust::verdict(ctx.settings, project, &current));
    match verdict {
        Ok(Verdict::Trusted(Basis::Record)) => status.state = "allowed",
        Ok(Verdict::Trusted(Basis::TrustAll)) => status.state = "trust-all",
        Ok(Verdict::Trusted(Basis::Prefix(prefix))) => {
            status.state = "trusted-prefix";
            status.prefix = Some(prefix);
        }
        Ok(Verdict::Denied) => status.state = "denied",
        Ok(Verdict::Changed(changed)) => {
            status.state = "changed";
            status.changed = changed;
        }
        Ok(Verdict::Unknown) => status.state = "not-allowed",
        Err(err) => status.error = Some(err.to_string()),
    }
    status
}

fn lock_status(project: &Project) -> LockStatus {
    let path = project.lock_file();
    let mut status = LockStatus {
        exists: path.exists(),
        path: path.clone(),
        error: None,
        fresh: None,
        inputs: vec![],
        toolchains: None,
    };
    match Lockfile::read(&path) {
        Ok(Some((lock, _))) => {
            status.fresh = config_stamp(&project.root, &project.config_files())
                .ok()
                .map(|stamp| lock.is_fresh_for(&stamp));
            status.inputs = InputName::ALL
                .iter()
                .map(|&name| InputStatus {
                    name: name.as_str(),
                    input: lock.inputs.get(name).clone(),
                })
                .collect();
            status.toolchains = Some(lock.toolchains);
        }
        Ok(None) => {}
        Err(err) => status.error = Some(err.to_string()),
    }
    status
}

fn cache_status(ctx: &Context<'_>, project: &Project) -> CacheStatus {
    let path = project.env_cache();
    let mut status = CacheStatus {
        exists: path.exists(),
        path: path.clone(),
        error: None,
        fresh: false,
        materialised: None,
        stable: None,
        nightly: None,
    };
    match CachedEnv::read(&path) {
        Ok(Some(cached)) => {
            status.fresh = current_key(project, &ctx.settings.system.value)
                .ok()
                .flatten()
                .is_some_and(|key| cached.is_fresh(&key));
            status.materialised = Some(cached.materialised);
            status.stable = Some(cached.env.stable);
            status.nightly = cached.env.nightly;
        }
        Ok(None) => {}
        Err(err) => status.error = Some(err.to_string()),
    }
    status
}

fn root_status(project: &Project, name: &'static str) -> RootStatus {
    let path = project.gcroot(name);
    let target = std::fs::read_link(&path).ok();
    RootStatus {
        name,
        exists: std::fs::symlink_metadata(&path).is_ok(),
        valid: target.as_deref().is_some_and(Path::exists),
        path,
        target,
    }
}

fn print_human(ctx: &Context<'_>, status: &Status<'_>) {
    let ui = ctx.ui;
    match &status.project {
        Some(project) => print_project(ctx, project),
        None => ui.info(format!(
            "no project: no crate-env.nix in {} or above (`crate-env init` creates one)",
            status.settings.start_dir.value.display()
        )),
    }
    print_settings(ctx, status.settings);
}

fn print_settings(ctx: &Context<'_>, s: &Settings) {
    let ui = ctx.ui;
    ui.info("settings:");
    let line = |name: &str, value: String, source: &Source| {
        ui.info(format!("  {name:<20} {value}  ({source})"));
    };
    line(
        "directory",
        s.start_dir.value.display().to_string(),
        &s.start_dir.source,
    );
    if let Some(root) = &s.project_root {
        line(
            "project root",
            root.value.display().to_string(),
            &root.source,
        );
    }
    line("system", s.system.value.clone(), &s.system.source);
    line(
        "verbosity",
        format!("{:?}", s.verbosity.value).to_lowercase(),
        &s.verbosity.source,
    );
    line("color", s.color.value.to_string(), &s.color.source);
    line(
        "github git base",
        s.github_git_base.value.clone(),
        &s.github_git_base.source,
    );
    line(
        "github archive base",
        s.github_archive_base.value.clone(),
        &s.github_archive_base.source,
    );
    line(
        "nix bin dir",
        optional_path(&s.nix_bin_dir),
        &s.nix_bin_dir.source,
    );
    let state_home = s.state_home.value.as_ref();
    line(
        "user state dir",
        state_home.map_or("(none: HOME is not set)".into(), |p| {
            p.display().to_string()
        }),
        &s.state_home.source,
    );
    line(
        "trust all",
        s.trust_all.value.to_string(),
        &s.trust_all.source,
    );
    line("trusted prefixes", prefixes(s), &s.trusted_prefixes.source);
}

fn prefixes(s: &Settings) -> String {
    let prefixes: Vec<String> = (s.trusted_prefixes.value.iter())
        .map(|p| p.display().to_string())
        .collect();
    if prefixes.is_empty() {
        "(none)".to_owned()
    } else {
        prefixes.join(", ")
    }
}

fn trust_line(trust: &TrustStatus) -> String {
    let changed: Vec<String> = trust
        .changed
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    match (trust.state, &trust.error) {
        (_, Some(error)) => format!("trust: unknown ({error})"),
        ("allowed", _) => "trust: allowed (proxies and direnv evaluate the current files)".into(),
        ("trust-all", _) => "trust: every project (CRATE_ENV_TRUST_ALL=1)".into(),
        ("trusted-prefix", _) => format!(
            "trust: under trusted prefix {}",
            trust.prefix.as_deref().unwrap_or(Path::new("?")).display()
        ),
        ("denied", _) => "trust: denied, proxies and direnv are off (`crate-env allow`)".into(),
        ("changed", _) => format!(
            "trust: changed since allowed: {} (proxies and direnv keep the last good environment; `crate-env allow`)",
            changed.join(", ")
        ),
        _ => "trust: not allowed yet (`crate-env allow`, or any explicit command)".into(),
    }
}

fn optional_path(setting: &Setting<Option<PathBuf>>) -> String {
    setting
        .value
        .as_ref()
        .map_or("(search PATH)".into(), |p| p.display().to_string())
}

fn print_project(ctx: &Context<'_>, project: &ProjectStatus) {
    let ui = ctx.ui;
    ui.info(format!("project: {}", project.root.display()));
    let lock = &project.lock;
    match (&lock.error, lock.exists, lock.fresh) {
        (Some(error), _, _) => ui.info(format!("lock: unreadable: {error}")),
        (None, false, _) => ui.info("lock: none (run `crate-env lock`)"),
        (None, true, Some(false)) => {
            ui.info("lock: stale, crate-env.nix changed (run `crate-env lock`)")
        }
        (None, true, _) => ui.info("lock: up to date"),
    }
    for input in &lock.inputs {
        let pin = pin_details(&input.input, true);
        ui.info(format!("  {:<13} {} ({pin})", input.name, input.input.spec));
    }
    if let Some(toolchains) = &lock.toolchains {
        ui.info(format!(
            "  {:<13} {}",
            "toolchains",
            toolchain_summary(toolchains)
        ));
    }
    let cache = &project.cache;
    match (&cache.error, cache.exists, cache.fresh) {
        (Some(error), _, _) => ui.info(format!("environment: unreadable: {error}")),
        (None, false, _) => ui.info("environment: not materialised (run `crate-env materialise`)"),
        (None, true, true) => ui.info("environment: materialised, up to date"),
        (None, true, false) => {
            ui.info("environment: materialised for an older lock or crate-env.nix")
        }
    }
    ui.info(trust_line(&project.trust));
    if project.members.len() > 1 {
        print_members(ctx, project);
    }
    ui.info("gc roots:");
    for root in &project.gc_roots {
        let state = match (&root.target, root.valid) {
            (None, _) => "(none)".to_string(),
            (Some(target), true) => format!("-> {}", target.display()),
            (Some(target), false) => format!("-> {} (missing)", target.display()),
        };
        ui.info(format!("  {:<13} {state}", root.name));
    }
    print_builds(ctx, &project.builds);
}

fn print_builds(ctx: &Context<'_>, builds: &[RootedBuild]) {
    if builds.is_empty() {
        ctx.ui.info("builds: none (`crate-env build [NAME]`)");
        return;
    }
    ctx.ui.info("builds:");
    for build in builds {
        let target = build.output.as_deref().map(Path::display);
        let state = match (target, build.valid) {
            (Some(target), true) => format!("-> {target}"),
            (Some(target), false) => format!("-> {target} (missing)"),
            (None, _) => "(none)".to_owned(),
        };
        ctx.ui.info(format!("  {:<13} {state}", build.name));
    }
}

fn print_members(ctx: &Context<'_>, project: &ProjectStatus) {
    ctx.ui.info("members:");
    for m in &project.members {
        let here = if m.member == project.member { "*" } else { " " };
        let name = if m.member.is_empty() { "." } else { &m.member };
        let pins = m
            .toolchains
            .as_ref()
            .map_or("(not locked)".into(), toolchain_summary);
        let lock = match m.lock_fresh {
            Some(true) => "lock fresh",
            Some(false) => "lock stale",
            None => "no lock",
        };
        let env = match (m.materialised, m.fresh) {
            (None, _) => "not materialised",
            (Some(_), true) => "environment fresh",
            (Some(_), false) => "environment out of date",
        };
        ctx.ui
            .info(format!("{here} {name:<12} {pins:<36} {lock}, {env}"));
    }
}
