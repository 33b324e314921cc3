//! The compatibility checks of `crate-env doctor` and `crate-env ci`
//! (DESIGN.md, "What doctor and ci check"). Each check is a pure function
//! from facts to a [`Check`]; the probes that gather facts (running
//! `rustc -vV`, `llvm-cov --version`, `wasm-bindgen --version`, reading
//! Cargo manifests) are separate, so the decisions are unit-tested.
//! Nothing here prints.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Serialize;

use crate::toolchain_file::ToolchainFile;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Problem,
    /// Not applicable here (no Cargo.lock, no wasm-bindgen, …).
    Skipped,
}

/// The outcome of one check: what was found and, for a problem, what to change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    pub message: String,
    pub fix: Option<String>,
}

impl Check {
    pub fn ok(name: &'static str, message: impl Into<String>) -> Check {
        Check {
            name,
            status: Status::Ok,
            message: message.into(),
            fix: None,
        }
    }
    pub fn skipped(name: &'static str, message: impl Into<String>) -> Check {
        Check {
            name,
            status: Status::Skipped,
            message: message.into(),
            fix: None,
        }
    }
    pub fn problem(
        name: &'static str,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check {
            name,
            status: Status::Problem,
            message: message.into(),
            fix: Some(fix.into()),
        }
    }
    pub fn is_problem(&self) -> bool {
        self.status == Status::Problem
    }
}

// --- probes ------------------------------------------------------------------

/// What `rustc -vV` reports.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RustcInfo {
    pub release: String,
    pub commit_date: Option<String>,
    pub llvm_version: Option<String>,
}

impl RustcInfo {
    pub fn parse(text: &str) -> RustcInfo {
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().to_owned())
        };
        RustcInfo {
            release: field("release:").unwrap_or_default(),
            commit_date: field("commit-date:").filter(|d| d != "unknown"),
            llvm_version: field("LLVM version:"),
        }
    }

    pub fn llvm_major(&self) -> Option<u32> {
        self.llvm_version.as_deref().and_then(major_of)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("cannot run `{command}`")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed: {stderr}")]
    Failed { command: String, stderr: String },
}

/// Runs `program args…` with `path` as PATH and returns stdout (+ stderr,
/// for tools that print their version there).
pub fn probe(program: &Path, args: &[&str], path: Option<&str>) -> Result<String, ProbeError> {
    let command = format!("{} {}", program.display(), args.join(" "));
    let mut cmd = Command::new(program);
    cmd.args(args).stdin(Stdio::null());
    if let Some(path) = path {
        cmd.env("PATH", path);
    }
    let out = cmd.output().map_err(|source| ProbeError::Spawn {
        command: command.clone(),
        source,
    })?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        return Err(ProbeError::Failed {
            command,
            stderr: stderr.trim().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned() + &stderr)
}

/// `LLVM version 16.0.6` (llvm-cov/llvm-profdata `--version`; distributions
/// prefix it: `Debian LLVM version 22.1.8`, `Homebrew LLVM version …`) → 16.
pub fn llvm_major_from_version_output(text: &str) -> Option<u32> {
    text.lines().find_map(|l| {
        let (_, rest) = l.split_once("LLVM version")?;
        major_of(rest.trim())
    })
}

/// `wasm-bindgen 0.2.100` → `0.2.100`.
pub fn wasm_bindgen_version(text: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.trim().strip_prefix("wasm-bindgen "))
        .and_then(|v| v.split_whitespace().next())
        .map(str::to_owned)
}

fn major_of(version: &str) -> Option<u32> {
    version.split(['.', '-', ' ']).next()?.parse().ok()
}

/// Files named `name` in the directories of a PATH value, in PATH order.
pub fn find_on_path(path: &str, name: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = Vec::new();
    for dir in path.split(':').filter(|d| !d.is_empty()) {
        let candidate = Path::new(dir).join(name);
        if candidate.is_file() && !found.contains(&candidate) {
            found.push(candidate);
        }
    }
    found
}

// --- Cargo ---------------------------------------------------------------------

/// A workspace member with its `rust-version`, if it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    pub manifest: PathBuf,
    pub rust_version: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CargoError {
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
}

fn read_toml(path: &Path) -> Result<toml::Table, CargoError> {
    let text = std::fs::read_to_string(path).map_err(|source| CargoError::Read {
        path: path.to_owned(),
        source,
    })?;
    text.parse::<toml::Table>().map_err(|e| CargoError::Parse {
        path: path.to_owned(),
        message: e.to_string().trim_end().to_owned(),
    })
}

/// The packages of the Cargo workspace rooted at `root/Cargo.toml`: the root
/// package and every `[workspace] members` entry (exact paths and `dir/*`
/// globs), minus `exclude`. `rust-version.workspace = true` takes
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

fn expand_member(root: &Path, pattern: &str) -> Vec<PathBuf> {
    match pattern.strip_suffix("/*") {
        Some(parent) if !parent.contains('*') => {
            let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join(parent))
                .map(|entries| {
                    entries
                        .filter_map(|e| e.ok())
                        .map(|e| e.path())
                        .filter(|p| p.is_dir())
                        .collect()
                })
                .unwrap_or_default();
            dirs.sort();
            dirs
        }
        _ => vec![root.join(pattern)],
    }
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

// --- versions ----------------------------------------------------------------

/// `1.75`, `1.75.0` → (1, 75, 0); pre-release suffixes are ignored.
pub fn parse_version(text: &str) -> Option<(u64, u64, u64)> {
    let core = text.trim().split(['-', '+']).next()?;
    let mut parts = core.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().map_or(Some(0), |p| p.parse().ok())?;
    let patch = parts.next().map_or(Some(0), |p| p.parse().ok())?;
    Some((major, minor, patch))
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date (proleptic Gregorian).
pub fn days_of(date: &str) -> Option<i64> {
    let mut parts = date.split('-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let d: i64 = parts.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

// --- the checks ----------------------------------------------------------------

/// The materialised stable reports the locked release.
pub fn check_rustc(locked: &str, info: &RustcInfo) -> Check {
    if info.release == locked {
        Check::ok("rustc", format!("rustc {} as locked", info.release))
    } else {
        Check::problem(
            "rustc",
            format!(
                "the materialised rustc reports {} but crate-env.lock pins {locked}",
                if info.release.is_empty() { "no release" } else { &info.release }
            ),
            "run `crate-env materialise` to rebuild the environment; if it persists, the pinned rust-overlay maps this version to another toolchain",
        )
    }
}

/// A nightly named DATE is built from the commit of DATE or the day before
/// (rust-overlay names nightlies by their manifest date, one day after
/// rustc's `commit-date`).
pub fn check_nightly(date: &str, info: &RustcInfo) -> Check {
    let Some(commit) = info.commit_date.as_deref() else {
        return Check::problem(
            "nightly",
            format!("the nightly pinned as {date} reports no commit-date"),
            "run `crate-env materialise` to rebuild the environment",
        );
    };
    let matches = match (days_of(date), days_of(commit)) {
        (Some(d), Some(c)) => c == d || c == d - 1,
        _ => false,
    };
    if matches {
        Check::ok(
            "nightly",
            format!(
                "nightly {date} (rustc {}, commit-date {commit})",
                info.release
            ),
        )
    } else {
        Check::problem(
            "nightly",
            format!("the nightly pinned as {date} reports commit-date {commit}"),
            format!("the pinned rust-overlay's nightly.{date} is another build; re-lock with `crate-env lock` or pick another nightly.date"),
        )
    }
}

/// A coverage tool and the LLVM major its `--version` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LlvmTool {
    pub path: PathBuf,
    pub major: Option<u32>,
}

/// Every coverage tool reads what rustc's LLVM writes only if the majors match.
pub fn check_llvm(rustc_release: &str, rustc_major: Option<u32>, tools: &[LlvmTool]) -> Check {
    if tools.is_empty() {
        return Check::skipped("llvm", "no llvm-cov or llvm-profdata in the environment");
    }
    let Some(major) = rustc_major else {
        return Check::problem(
            "llvm",
            format!("rustc {rustc_release} reports no LLVM version"),
            "run `crate-env materialise` to rebuild the environment",
        );
    };
    let wrong: Vec<&LlvmTool> = tools.iter().filter(|t| t.major != Some(major)).collect();
    if wrong.is_empty() {
        return Check::ok(
            "llvm",
            format!(
                "{} coverage tool(s) use LLVM {major}, as rustc {rustc_release} does",
                tools.len()
            ),
        );
    }
    let list = wrong
        .iter()
        .map(|t| match t.major {
            Some(m) => format!("{} is LLVM {m}", t.path.display()),
            None => format!("{} reports no LLVM version", t.path.display()),
        })
        .collect::<Vec<_>>()
        .join("; ");
    Check::problem(
        "llvm",
        format!("rustc {rustc_release} uses LLVM {major}, but {list}; these tools cannot read the .profraw/.profdata rustc's instrumentation writes"),
        format!("use the llvm-tools of the pinned rustc (`coverage = true;` in crate-env.nix, $LLVM_COV/$LLVM_PROFDATA) or pkgs.llvmPackages_{major} instead of the mismatched package in `packages`"),
    )
}

/// `wasm-bindgen --version` equals the wasm-bindgen crate in Cargo.lock.
pub fn check_wasm_bindgen(lock: Option<&CargoLock>, cli: Option<(&Path, Option<&str>)>) -> Check {
    let locked = lock.map(|l| l.wasm_bindgen.as_slice()).unwrap_or_default();
    let Some((path, version)) = cli else {
        return Check::skipped("wasm-bindgen", "no wasm-bindgen in the environment");
    };
    if locked.is_empty() {
        return Check::skipped("wasm-bindgen", "Cargo.lock has no wasm-bindgen crate");
    }
    let Some(version) = version else {
        return Check::problem(
            "wasm-bindgen",
            format!("`{} --version` reports no version", path.display()),
            "check the wasm-bindgen-cli package in crate-env.nix",
        );
    };
    if locked.iter().all(|v| v == version) {
        return Check::ok(
            "wasm-bindgen",
            format!("wasm-bindgen {version} in Cargo.lock and in the environment"),
        );
    }
    Check::problem(
        "wasm-bindgen",
        format!(
            "Cargo.lock has wasm-bindgen {} but the environment's wasm-bindgen ({}) is {version}; wasm-bindgen refuses modules built with another version",
            locked.join(", "),
            path.display()
        ),
        format!(
            "pin the crate with `cargo update -p wasm-bindgen --precise {version}`, or put a wasm-bindgen-cli {} in `packages`",
            locked[0]
        ),
    )
}

/// Every member's `rust-version` is at most the pinned stable.
pub fn check_rust_versions(stable: &str, members: &[Member]) -> Check {
    if members.is_empty() {
        return Check::skipped("rust-version", "no Cargo.toml at the project root");
    }
    let Some(pinned) = parse_version(stable) else {
        return Check::skipped(
            "rust-version",
            format!("cannot compare with stable {stable}"),
        );
    };
    let above: Vec<String> = members
        .iter()
        .filter_map(|m| {
            let wanted = m.rust_version.as_deref()?;
            (parse_version(wanted)? > pinned).then(|| format!("{} needs {wanted}", m.name))
        })
        .collect();
    if above.is_empty() {
        return Check::ok(
            "rust-version",
            format!("{} workspace crate(s) build with {stable}", members.len()),
        );
    }
    Check::problem(
        "rust-version",
        format!("the pinned stable is {stable}, but {}", above.join(", ")),
        "raise rust.channel in crate-env.nix (then `crate-env lock`), or lower the crate's rust-version",
    )
}

/// The first cargo that reads each Cargo.lock format version.
fn cargo_reading(version: i64) -> Option<(u64, u64, u64)> {
    match version {
        ..=2 => Some((1, 0, 0)),
        3 => Some((1, 53, 0)),
        4 => Some((1, 78, 0)),
        _ => None,
    }
}

/// The pinned cargo can read Cargo.lock's format.
pub fn check_cargo_lock_format(stable: &str, lock: Option<&CargoLock>) -> Check {
    let Some(lock) = lock else {
        return Check::skipped("cargo-lock", "no Cargo.lock");
    };
    let version = lock.version.unwrap_or(1);
    let pinned = parse_version(stable);
    match (cargo_reading(version), pinned) {
        (Some(needed), Some(pinned)) if pinned >= needed => Check::ok(
            "cargo-lock",
            format!("Cargo.lock version {version} is readable by cargo {stable}"),
        ),
        (Some((a, b, c)), _) => Check::problem(
            "cargo-lock",
            format!("Cargo.lock version {version} needs cargo {a}.{b}.{c} or newer; the pinned cargo is {stable}"),
            format!("raise rust.channel in crate-env.nix to {a}.{b}.{c} or newer, or regenerate Cargo.lock with cargo {stable}"),
        ),
        (None, _) => Check::problem(
            "cargo-lock",
            format!("Cargo.lock version {version} is newer than any format this crate-env knows; cargo {stable} cannot read it"),
            "raise rust.channel in crate-env.nix, or regenerate Cargo.lock with the pinned cargo",
        ),
    }
}

/// What rust-toolchain.toml must say for the lock and crate-env.nix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedToolchain {
    pub stable: String,
    pub nightly: Option<String>,
    pub profile: String,
    pub components: Vec<String>,
    pub targets: Vec<String>,
}

/// rustup names some components with and some without `-preview`.
fn component_key(name: &str) -> String {
    name.strip_suffix("-preview").unwrap_or(name).to_owned()
}

/// rust-toolchain.toml names the pinned channel, components and targets.
pub fn check_toolchain_file(file: Option<&ToolchainFile>, expected: &ExpectedToolchain) -> Check {
    let Some(file) = file else {
        return Check::skipped("rust-toolchain.toml", "no rust-toolchain.toml");
    };
    let section = &file.toolchain;
    let mut differences = Vec::new();
    let channel = section.channel.as_deref().unwrap_or("(none)");
    let nightly_channel = expected.nightly.as_ref().map(|d| format!("nightly-{d}"));
    if channel != expected.stable && Some(channel) != nightly_channel.as_deref() {
        differences.push(format!(
            "channel is {channel}, the lock pins {}",
            expected.stable
        ));
    }
    let have: BTreeSet<String> = section
        .components
        .iter()
        .map(|c| component_key(c))
        .collect();
    let want: BTreeSet<String> = expected
        .components
        .iter()
        .map(|c| component_key(c))
        .collect();
    if have != want {
        differences.push(format!(
            "components are [{}], crate-env.nix asks for [{}]",
            have.into_iter().collect::<Vec<_>>().join(", "),
            want.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    let have: BTreeSet<&String> = section.targets.iter().collect();
    let want: BTreeSet<&String> = expected.targets.iter().collect();
    if have != want {
        differences.push(format!(
            "targets are [{}], crate-env.nix asks for [{}]",
            have.into_iter().cloned().collect::<Vec<_>>().join(", "),
            want.into_iter().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    if differences.is_empty() {
        Check::ok(
            "rust-toolchain.toml",
            format!("rust-toolchain.toml names {channel}, as the lock"),
        )
    } else {
        Check::problem(
            "rust-toolchain.toml",
            format!("rust-toolchain.toml drifted: {}", differences.join("; ")),
            "run `crate-env toolchain-file` to rewrite it from the lock, or change crate-env.nix to match it and run `crate-env lock`",
        )
    }
}

/// The text `crate-env toolchain-file` writes.
pub fn render_toolchain_file(expected: &ExpectedToolchain) -> String {
    let list = |items: &[String]| {
        items
            .iter()
            .map(|i| format!("{:?}", i))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "# Generated by `crate-env toolchain-file` from crate-env.lock, for rustup users and\n\
         # editors. Edit crate-env.nix instead and run `crate-env toolchain-file` again.\n\
         [toolchain]\n\
         channel = {:?}\n\
         components = [{}]\n\
         targets = [{}]\n\
         profile = {:?}\n",
        expected.stable,
        list(&expected.components),
        list(&expected.targets),
        expected.profile
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const VV: &str = "rustc 1.95.0 (abc 2026-04-14)\nbinary: rustc\ncommit-hash: abc\ncommit-date: 2026-04-14\nhost: x86_64-unknown-linux-gnu\nrelease: 1.95.0\nLLVM version: 22.1.2\n";

    #[test]
    fn parses_rustc_vv() {
        let info = RustcInfo::parse(VV);
        assert_eq!(info.release, "1.95.0");
        assert_eq!(info.commit_date.as_deref(), Some("2026-04-14"));
        assert_eq!(info.llvm_major(), Some(22));
        assert!(!check_rustc("1.95.0", &info).is_problem());
        let c = check_rustc("1.94.0", &info);
        assert!(c.is_problem() && c.message.contains("1.94.0") && c.message.contains("1.95.0"));
    }

    #[test]
    fn nightly_date_is_commit_date_or_the_day_after() {
        let mut info = RustcInfo::parse(VV);
        info.commit_date = Some("2026-02-28".into());
        assert!(!check_nightly("2026-03-01", &info).is_problem());
        assert!(!check_nightly("2026-02-28", &info).is_problem());
        assert!(check_nightly("2026-03-02", &info).is_problem());
        assert_eq!(days_of("1970-01-01"), Some(0));
        assert_eq!(days_of("2000-03-01"), Some(11017));
    }

    #[test]
    fn llvm_versions() {
        let out = "LLVM (http://llvm.org/):\n  LLVM version 16.0.6\n  Optimized build.\n";
        assert_eq!(llvm_major_from_version_output(out), Some(16));
        let debian = "Debian LLVM version 22.1.8\n  Optimized build.\n";
        assert_eq!(llvm_major_from_version_output(debian), Some(22));
        let tools = [
            LlvmTool {
                path: "/a/llvm-cov".into(),
                major: Some(22),
            },
            LlvmTool {
                path: "/b/llvm-profdata".into(),
                major: Some(16),
            },
        ];
        let c = check_llvm("1.95.0", Some(22), &tools);
        assert!(c.is_problem());
        assert!(
            c.message.contains("/b/llvm-profdata is LLVM 16"),
            "{}",
            c.message
        );
        assert!(!c.message.contains("/a/llvm-cov"), "{}", c.message);
        assert!(!check_llvm("1.95.0", Some(22), &tools[..1]).is_problem());
        assert_eq!(check_llvm("1.95.0", Some(22), &[]).status, Status::Skipped);
    }

    #[test]
    fn wasm_bindgen() {
        assert_eq!(
            wasm_bindgen_version("wasm-bindgen 0.2.100\n").as_deref(),
            Some("0.2.100")
        );
        let lock = CargoLock {
            version: Some(4),
            wasm_bindgen: vec!["0.2.99".into()],
        };
        let c = check_wasm_bindgen(
            Some(&lock),
            Some((Path::new("/x/wasm-bindgen"), Some("0.2.100"))),
        );
        assert!(c.is_problem() && c.message.contains("0.2.99") && c.message.contains("0.2.100"));
        assert!(c.fix.unwrap().contains("--precise 0.2.100"));
        let ok = CargoLock {
            version: Some(4),
            wasm_bindgen: vec!["0.2.100".into()],
        };
        assert!(
            !check_wasm_bindgen(Some(&ok), Some((Path::new("/x"), Some("0.2.100")))).is_problem()
        );
        assert_eq!(
            check_wasm_bindgen(Some(&lock), None).status,
            Status::Skipped
        );
    }

    #[test]
    fn versions_compare_numerically() {
        assert_eq!(parse_version("1.75"), Some((1, 75, 0)));
        assert_eq!(parse_version("1.97.0-nightly"), Some((1, 97, 0)));
        assert!(parse_version("1.100") > parse_version("1.95.0"));
        let member = |v: &str| Member {
            name: "a".into(),
            manifest: "Cargo.toml".into(),
            rust_version: Some(v.into()),
        };
        assert!(check_rust_versions("1.95.0", &[member("1.96")]).is_problem());
        assert!(!check_rust_versions("1.95.0", &[member("1.95")]).is_problem());
    }

    #[test]
    fn cargo_lock_formats() {
        let lock = |v| CargoLock {
            version: v,
            wasm_bindgen: vec![],
        };
        assert!(!check_cargo_lock_format("1.95.0", Some(&lock(Some(4)))).is_problem());
        assert!(check_cargo_lock_format("1.75.0", Some(&lock(Some(4)))).is_problem());
        assert!(!check_cargo_lock_format("1.75.0", Some(&lock(Some(3)))).is_problem());
        assert!(!check_cargo_lock_format("1.20.0", Some(&lock(None))).is_problem());
        assert!(check_cargo_lock_format("1.95.0", Some(&lock(Some(9)))).is_problem());
    }

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

    #[test]
    fn toolchain_file_round_trips_and_detects_drift() {
        let expected = ExpectedToolchain {
            stable: "1.95.0".into(),
            nightly: None,
            profile: "default".into(),
            components: vec!["rust-src".into(), "llvm-tools-preview".into()],
            targets: vec!["wasm32-unknown-unknown".into()],
        };
        let text = render_toolchain_file(&expected);
        let file = ToolchainFile::parse(&text, Path::new("t")).unwrap();
        assert!(!check_toolchain_file(Some(&file), &expected).is_problem());
        let other =
            ToolchainFile::parse(&text.replace("1.95.0", "1.75.0"), Path::new("t")).unwrap();
        let c = check_toolchain_file(Some(&other), &expected);
        assert!(
            c.is_problem() && c.message.contains("channel is 1.75.0"),
            "{}",
            c.message
        );
        let fewer = ToolchainFile::parse(
            "[toolchain]\nchannel = \"1.95.0\"\ncomponents = [\"rust-src\", \"llvm-tools\"]\n",
            Path::new("t"),
        )
        .unwrap();
        let c = check_toolchain_file(Some(&fewer), &expected);
        assert!(
            c.message.contains("targets") && !c.message.contains("components"),
            "{}",
            c.message
        );
    }
}
