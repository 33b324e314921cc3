//! Picks the toolchains to lock from what the project asks for and what the
//! pinned rust-overlay offers (the Nix library's `request`), and explains the
//! choice. Rules: docs/resolution.md.
//!
//! * `rust.channel`: `"1.75.0"` (exact), `"1.75"` (newest 1.75.x) or
//!   `"stable"` (newest).
//! * `nightly.date`: `"YYYY-MM-DD"` (exact) or `"auto"`: the newest nightly
//!   older than the stable's branch point (its minor's release date minus the
//!   six-week train) that has every requested target and component.
//! * Every requested component and target must exist in the toolchain;
//!   unknown names get a "did you mean".

use std::cmp::Ordering;
use std::fmt;

use crate::lock::Toolchains;
use crate::request::{Request, ToolchainInfo};

/// A Rust minor is released six weeks after master branched for its beta.
pub const TRAIN_DAYS: i64 = 42;

/// The first stable whose channel manifest has the short name `llvm-tools`.
const LLVM_TOOLS_SHORT_NAME_SINCE: [u64; 2] = [1, 67];

/// How many nightlies around a missing date an error names, per side.
const NEAREST: usize = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    Component,
    Target,
}

impl fmt::Display for NameKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NameKind::Component => "component",
            NameKind::Target => "target",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("rust.channel = \"{channel}\" is not a stable version the pinned rust-overlay has (it has {})", summarise(.available))]
    StableNotAvailable {
        channel: String,
        available: Vec<String>,
    },
    #[error("rust.channel = \"{channel}\": the pinned rust-overlay has no {channel}.x stable (it has {})", summarise(.available))]
    NoStableForMinor {
        channel: String,
        available: Vec<String>,
    },
    #[error("rust.channel = \"{channel}\" is not a channel crate-env understands (expected an exact version such as \"1.75.0\", a minor such as \"1.75\", or \"stable\")")]
    InvalidChannel {
        channel: String,
        newest: Option<String>,
    },
    #[error("nightly.date = \"{date}\" is neither a date YYYY-MM-DD nor \"auto\"")]
    InvalidNightlyDate { date: String },
    #[error("{0}")]
    NightlyNotAvailable(Box<MissingNightly>),
    #[error("{0}")]
    UnknownName(Box<UnknownName>),
    #[error("nightly.date = \"auto\": no nightly before {branch_point} (the branch point of {stable}) has {}{}", .wanted.join(", "), skipped_summary(.skipped))]
    NoNightlyFits {
        stable: String,
        branch_point: String,
        wanted: Vec<String>,
        skipped: Vec<Skipped>,
    },
    #[error("crate-env's Nix library reported no details about {toolchain}")]
    NoDetails { toolchain: String },
}

/// A nightly date the pinned overlay does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", nightly_not_available(.date, .before, .after, .available_count, .oldest, .newest))]
pub struct MissingNightly {
    pub date: String,
    /// The nearest dates the overlay has before and after `date`.
    pub before: Vec<String>,
    pub after: Vec<String>,
    pub available_count: usize,
    pub oldest: Option<String>,
    pub newest: Option<String>,
}

/// A component or target the toolchain does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: `{name}` is not a {kind} of {toolchain}\navailable {kind}s: {}", .valid.join(", "))]
pub struct UnknownName {
    pub kind: NameKind,
    /// Where in crate-env.nix: `rust.components`, `nightly.targets`, ...
    pub field: String,
    pub name: String,
    /// `stable 1.95.0`, `nightly 2026-02-19`, `any nightly before 2026-03-05`
    pub toolchain: String,
    pub valid: Vec<String>,
    pub suggestion: Option<String>,
    /// Why the suggestion (llvm-tools' rename).
    pub note: Option<String>,
}

/// A nightly `auto` passed over, and what it lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub date: String,
    pub missing: Vec<String>,
}

impl ResolveError {
    /// What the user can do about it.
    pub fn hint(&self) -> String {
        const NEWER_OVERLAY: &str =
            "lock another rust-overlay with `crate-env lock --rust-overlay SPEC`";
        match self {
            ResolveError::StableNotAvailable { available, .. }
            | ResolveError::NoStableForMinor { available, .. } => {
                match newest_version(available) {
                    Some(newest) => format!(
                        "set rust.channel in crate-env.nix to an available version, e.g. \"{newest}\", or {NEWER_OVERLAY}"
                    ),
                    None => format!(
                        "the pinned rust-overlay has no stable toolchains; {NEWER_OVERLAY}"
                    ),
                }
            }
            ResolveError::InvalidChannel { newest, .. } => format!(
                "set rust.channel to \"stable\" or a version such as \"{}\"; a nightly goes in `nightly.date`",
                newest.as_deref().unwrap_or("1.75.0")
            ),
            ResolveError::InvalidNightlyDate { .. } => {
                "set nightly.date to a date such as \"2026-02-19\", or \"auto\"".into()
            }
            ResolveError::NightlyNotAvailable(missing) => {
                let MissingNightly { date, newest, .. } = &**missing;
                if newest.as_deref().is_some_and(|newest| date.as_str() > newest) {
                    "the pinned rust-overlay is older than that nightly: run `crate-env update rust-overlay`".into()
                } else if self.is_pruned() {
                    format!(
                        "pin a rust-overlay revision that still has it, e.g. the `snapshot/*` tag after {date}: \
                         `crate-env lock --rust-overlay github:oxalica/rust-overlay/snapshot/YYYY-MM-DD`"
                    )
                } else {
                    "set nightly.date in crate-env.nix to one of the nearest dates, or to \"auto\"".into()
                }
            }
            ResolveError::UnknownName(unknown) => match (&unknown.suggestion, &unknown.note) {
                (Some(s), Some(note)) => format!("did you mean `{s}`? ({note})"),
                (Some(s), None) => format!("did you mean `{s}`?"),
                (None, _) => "use one of the names listed above, or remove it".into(),
            },
            ResolveError::NoNightlyFits { .. } => format!(
                "drop what no nightly has from nightly.targets/components, pin nightly.date, or {NEWER_OVERLAY}"
            ),
            ResolveError::NoDetails { .. } => "run `crate-env lock` again; if it persists, this is a bug in crate-env".into(),
        }
    }

    /// A nightly older than anything the overlay has: rust-overlay purged it.
    pub fn is_pruned(&self) -> bool {
        matches!(self, ResolveError::NightlyNotAvailable(m) if m.oldest.as_ref().is_some_and(|oldest| &m.date < oldest))
    }
}

/// The toolchains to lock and, one line each, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    pub toolchains: Toolchains,
    pub reasons: Vec<String>,
}

pub fn resolve_toolchains(request: &Request) -> Result<Resolution, ResolveError> {
    let mut reasons = Vec::new();
    let (stable, why) = resolve_stable(request)?;
    reasons.push(why);
    let stable_info = info(request, Channel::Stable, &stable)?;
    let mut stable_components = request.rust.components.clone();
    if request.coverage && !stable_components.iter().any(|c| c == "llvm-tools-preview") {
        stable_components.push("llvm-tools-preview".into());
    }
    let stable_name = format!("stable {stable}");
    let field = if request.coverage {
        "rust.components (or coverage = true)"
    } else {
        "rust.components"
    };
    check_names(
        NameKind::Component,
        field,
        &stable_name,
        &stable_components,
        &stable_info.components,
        Some(&stable),
    )?;
    check_names(
        NameKind::Target,
        "rust.targets",
        &stable_name,
        &request.rust.targets,
        &stable_info.targets,
        None,
    )?;
    let nightly = match &request.nightly {
        None => None,
        Some(n) if n.date == "auto" => {
            let (date, why) = resolve_auto_nightly(request, &stable)?;
            reasons.push(why);
            Some(date)
        }
        Some(n) => {
            let date = resolve_exact_nightly(request, &n.date)?;
            reasons.push(format!("nightly {date}: as nightly.date says"));
            Some(date)
        }
    };
    Ok(Resolution {
        toolchains: Toolchains {
            stable: Some(stable),
            nightly,
        },
        reasons,
    })
}

#[derive(Clone, Copy)]
enum Channel {
    Stable,
    Nightly,
}

fn info<'r>(
    request: &'r Request,
    channel: Channel,
    name: &str,
) -> Result<&'r ToolchainInfo, ResolveError> {
    let (map, label) = match channel {
        Channel::Stable => (&request.details.stable, "stable"),
        Channel::Nightly => (&request.details.nightly, "nightly"),
    };
    map.get(name).ok_or_else(|| ResolveError::NoDetails {
        toolchain: format!("{label} {name}"),
    })
}

/// The stable version and why it was picked.
fn resolve_stable(request: &Request) -> Result<(String, String), ResolveError> {
    let channel = request.rust.channel.as_str();
    let available = &request.available.stable;
    let sorted = || sorted_versions(available);
    if channel == "stable" {
        return newest_version(available)
            .map(|v| {
                (
                    v.clone(),
                    format!("stable {v}: the newest stable the pinned rust-overlay has"),
                )
            })
            .ok_or_else(|| ResolveError::NoStableForMinor {
                channel: channel.into(),
                available: vec![],
            });
    }
    match parse_version(channel).as_deref() {
        Some([_, _, _]) => {
            if available.iter().any(|v| v == channel) {
                Ok((
                    channel.to_owned(),
                    format!("stable {channel}: as rust.channel says"),
                ))
            } else {
                Err(ResolveError::StableNotAvailable {
                    channel: channel.into(),
                    available: sorted(),
                })
            }
        }
        Some([major, minor]) => {
            let matching: Vec<String> = available
                .iter()
                .filter(|v| {
                    parse_version(v)
                        .is_some_and(|p| p.len() == 3 && p[0] == *major && p[1] == *minor)
                })
                .cloned()
                .collect();
            newest_version(&matching)
                .map(|v| {
                    let why =
                        format!("stable {v}: the newest {channel}.x the pinned rust-overlay has");
                    (v, why)
                })
                .ok_or_else(|| ResolveError::NoStableForMinor {
                    channel: channel.into(),
                    available: sorted(),
                })
        }
        _ => Err(ResolveError::InvalidChannel {
            channel: channel.into(),
            newest: newest_version(available),
        }),
    }
}

fn resolve_exact_nightly(request: &Request, date: &str) -> Result<String, ResolveError> {
    if parse_date(date).is_none() {
        return Err(ResolveError::InvalidNightlyDate { date: date.into() });
    }
    let mut dates = request.available.nightly.clone();
    dates.sort();
    if !dates.iter().any(|d| d == date) {
        let split = dates.partition_point(|d| d.as_str() < date);
        return Err(ResolveError::NightlyNotAvailable(Box::new(
            MissingNightly {
                date: date.into(),
                before: dates[split.saturating_sub(NEAREST)..split].to_vec(),
                after: dates[split..(split + NEAREST).min(dates.len())].to_vec(),
                available_count: dates.len(),
                oldest: dates.first().cloned(),
                newest: dates.last().cloned(),
            },
        )));
    }
    let nightly = request.nightly.as_ref().expect("a nightly was requested");
    let info = info(request, Channel::Nightly, date)?;
    let name = format!("nightly {date}");
    check_names(
        NameKind::Component,
        "nightly.components",
        &name,
        &nightly.components,
        &info.components,
        None,
    )?;
    check_names(
        NameKind::Target,
        "nightly.targets",
        &name,
        &nightly.targets,
        &info.targets,
        None,
    )?;
    Ok(date.to_owned())
}

/// The day master branched for `stable`'s minor: the release date of X.Y.0
/// (else of the oldest X.Y.z the overlay has) minus the six-week train.
pub fn branch_point(request: &Request, stable: &str) -> Result<(String, String), ResolveError> {
    let minor = minor_of(stable);
    let first = request
        .details
        .stable
        .iter()
        .filter(|(v, info)| minor_of(v) == minor && info.date.is_some())
        .min_by(|a, b| compare_versions(a.0, b.0))
        .ok_or_else(|| ResolveError::NoDetails {
            toolchain: format!("the release date of stable {stable}"),
        })?;
    let released = first.1.date.clone().expect("filtered on date");
    let date = parse_date(&released).ok_or_else(|| ResolveError::NoDetails {
        toolchain: format!("the release date of stable {} (`{released}`)", first.0),
    })?;
    let point = date
        .checked_sub(jiff::Span::new().days(TRAIN_DAYS))
        .expect("a stable release is far from the minimum date");
    let why = format!(
        "{minor}'s branch point {point} ({} released {released}, minus the six-week train)",
        first.0
    );
    Ok((point.to_string(), why))
}

fn resolve_auto_nightly(request: &Request, stable: &str) -> Result<(String, String), ResolveError> {
    let nightly = request.nightly.as_ref().expect("a nightly was requested");
    let (point, point_why) = branch_point(request, stable)?;
    let candidates: Vec<(&String, &ToolchainInfo)> = request
        .details
        .nightly
        .iter()
        .rev()
        .filter(|(d, _)| d.as_str() < point.as_str())
        .collect();
    // A name no candidate has at all is a typo, not a reason to skip.
    let any = format!("any nightly before {point}");
    let union = |pick: fn(&ToolchainInfo) -> &Vec<String>| {
        let mut all: Vec<String> = candidates
            .iter()
            .flat_map(|(_, i)| pick(i).clone())
            .collect();
        all.sort();
        all.dedup();
        all
    };
    check_names(
        NameKind::Component,
        "nightly.components",
        &any,
        &nightly.components,
        &union(|i| &i.components),
        None,
    )?;
    check_names(
        NameKind::Target,
        "nightly.targets",
        &any,
        &nightly.targets,
        &union(|i| &i.targets),
        None,
    )?;
    let wanted: Vec<String> = nightly
        .targets
        .iter()
        .chain(&nightly.components)
        .cloned()
        .collect();
    let mut skipped = Vec::new();
    for (date, info) in candidates {
        let missing: Vec<String> = nightly
            .targets
            .iter()
            .filter(|t| !info.targets.contains(t))
            .chain(
                nightly
                    .components
                    .iter()
                    .filter(|c| !info.components.contains(c)),
            )
            .cloned()
            .collect();
        if missing.is_empty() {
            let with = if wanted.is_empty() {
                String::new()
            } else {
                format!(" with {}", wanted.join(", "))
            };
            let why = format!(
                "nightly {date}: the newest nightly before {point_why}{with}{}",
                skipped_summary(&skipped)
            );
            return Ok((date.clone(), why));
        }
        skipped.push(Skipped {
            date: date.clone(),
            missing,
        });
    }
    Err(ResolveError::NoNightlyFits {
        stable: stable.into(),
        branch_point: point,
        wanted,
        skipped,
    })
}

/// Every requested name must be in `valid`; else an error with the closest
/// valid name.
fn check_names(
    kind: NameKind,
    field: &str,
    toolchain: &str,
    requested: &[String],
    valid: &[String],
    version: Option<&str>,
) -> Result<(), ResolveError> {
    let Some(name) = requested.iter().find(|n| !valid.contains(n)) else {
        return Ok(());
    };
    let (suggestion, note) = suggest(name, valid, version);
    let mut valid = valid.to_vec();
    valid.sort();
    Err(ResolveError::UnknownName(Box::new(UnknownName {
        kind,
        field: field.into(),
        name: name.clone(),
        toolchain: toolchain.into(),
        valid,
        suggestion,
        note,
    })))
}

/// The closest valid name, if one is close enough to be a typo; and for
/// `llvm-tools` on a toolchain older than 1.67, its old name.
pub fn suggest(
    name: &str,
    valid: &[String],
    version: Option<&str>,
) -> (Option<String>, Option<String>) {
    if name == "llvm-tools" && valid.iter().any(|v| v == "llvm-tools-preview") {
        let since = LLVM_TOOLS_SHORT_NAME_SINCE.map(|p| p.to_string()).join(".");
        let old = version
            .and_then(parse_version)
            .is_some_and(|v| v[..2] < LLVM_TOOLS_SHORT_NAME_SINCE[..]);
        let note = if old {
            format!("the short name `llvm-tools` exists only from Rust {since}; older toolchains call it `llvm-tools-preview`")
        } else {
            "this toolchain calls it `llvm-tools-preview`".into()
        };
        return (Some("llvm-tools-preview".into()), Some(note));
    }
    let best = valid
        .iter()
        .map(|v| (strsim::jaro_winkler(name, v), v))
        .filter(|(score, _)| *score >= 0.85)
        .max_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(Ordering::Equal));
    (best.map(|(_, v)| v.clone()), None)
}

fn parse_date(date: &str) -> Option<jiff::civil::Date> {
    if date.len() != 10 {
        return None;
    }
    date.parse().ok()
}

fn parse_version(version: &str) -> Option<Vec<u64>> {
    version.split('.').map(|p| p.parse().ok()).collect()
}

/// `1.94.1` → `1.94`.
fn minor_of(version: &str) -> String {
    version.split('.').take(2).collect::<Vec<_>>().join(".")
}

fn compare_versions(a: &str, b: &str) -> Ordering {
    match (parse_version(a), parse_version(b)) {
        (Some(a), Some(b)) => a.cmp(&b),
        _ => a.cmp(b),
    }
}

fn sorted_versions(versions: &[String]) -> Vec<String> {
    let mut sorted = versions.to_vec();
    sorted.sort_by(|a, b| compare_versions(a, b));
    sorted
}

fn newest_version(versions: &[String]) -> Option<String> {
    versions
        .iter()
        .filter(|v| parse_version(v).is_some())
        .max_by(|a, b| compare_versions(a, b))
        .cloned()
}

/// "1.93.0, 1.94.0, 1.95.0" or, for long lists, the oldest and the newest few.
fn summarise(items: &[String]) -> String {
    match items.len() {
        0 => "none".into(),
        n if n <= 8 => items.join(", "),
        n => format!(
            "{}, …, {} ({n} in all)",
            items[0],
            items[n - 5..].join(", ")
        ),
    }
}

fn skipped_summary(skipped: &[Skipped]) -> String {
    const SHOWN: usize = 4;
    if skipped.is_empty() {
        return String::new();
    }
    let mut parts: Vec<String> = skipped
        .iter()
        .take(SHOWN)
        .map(|s| format!("{} (lacks {})", s.date, s.missing.join(", ")))
        .collect();
    if skipped.len() > SHOWN {
        parts.push(format!("and {} older", skipped.len() - SHOWN));
    }
    format!("; skipped {}", parts.join(", "))
}

fn nightly_not_available(
    date: &str,
    before: &[String],
    after: &[String],
    count: &usize,
    oldest: &Option<String>,
    newest: &Option<String>,
) -> String {
    let mut text =
        format!("nightly.date = \"{date}\" is not a nightly the pinned rust-overlay has");
    let nearest: Vec<&String> = before.iter().chain(after).collect();
    if nearest.is_empty() {
        text.push_str(" (it has no nightlies)");
        return text;
    }
    text.push_str(&format!(
        "\nnearest dates it has: {}",
        nearest
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    if let (Some(oldest), Some(newest)) = (oldest, newest) {
        text.push_str(&format!(
            " (it has {count} nightlies, {oldest} to {newest})"
        ));
        if date < oldest.as_str() {
            text.push_str(
                "\nrust-overlay keeps nightly manifests only from January of the previous year: \
                 older ones are purged, and the commit before each purge is tagged `snapshot/<date>`",
            );
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{Available, Details, NightlyRequest, RustRequest};

    fn tc(date: &str, components: &[&str], targets: &[&str]) -> ToolchainInfo {
        ToolchainInfo {
            date: Some(date.into()),
            components: components.iter().map(|s| s.to_string()).collect(),
            targets: targets.iter().map(|s| s.to_string()).collect(),
        }
    }

    const HOST: &str = "x86_64-unknown-linux-gnu";
    const WASM: &str = "wasm32-unknown-unknown";

    /// Mirrors the stand-in overlay's master.
    fn request(channel: &str, nightly: Option<(&str, &[&str], &[&str])>) -> Request {
        let stable_components = [
            "cargo",
            "clippy",
            "clippy-preview",
            "llvm-tools",
            "llvm-tools-preview",
            "rust-src",
            "rustc",
        ];
        let stables = [
            ("1.93.0", "2026-01-22"),
            ("1.94.0", "2026-03-05"),
            ("1.94.1", "2026-03-26"),
            ("1.95.0", "2026-04-16"),
        ];
        let nightlies: [(&str, &[&str], &[&str]); 7] = [
            ("2026-01-15", &["rustc", "rust-src"], &[HOST, WASM]),
            ("2026-02-05", &["rustc", "clippy"], &[HOST]),
            ("2026-02-19", &["rustc", "rust-src"], &[HOST, WASM]),
            ("2026-02-26", &["rustc", "rust-src"], &[HOST]),
            ("2026-03-03", &["rustc", "clippy"], &[HOST]),
            ("2026-03-12", &["rustc", "rust-src"], &[HOST, WASM]),
            ("2026-04-02", &["rustc"], &[HOST]),
        ];
        Request {
            rust: RustRequest {
                channel: channel.into(),
                profile: None,
                components: vec![],
                targets: vec![],
            },
            coverage: false,
            nightly: nightly.map(|(d, c, t)| NightlyRequest {
                date: d.into(),
                components: c.iter().map(|s| s.to_string()).collect(),
                targets: t.iter().map(|s| s.to_string()).collect(),
            }),
            packages: vec![],
            available: Available {
                stable: stables.iter().map(|(v, _)| v.to_string()).collect(),
                nightly: nightlies
                    .iter()
                    .map(|(d, ..)| d.to_string())
                    .chain(["2026-05-20".into()])
                    .collect(),
            },
            host: Some(HOST.into()),
            details: Details {
                stable: stables
                    .iter()
                    .map(|(v, d)| (v.to_string(), tc(d, &stable_components, &[HOST])))
                    .collect(),
                nightly: nightlies
                    .iter()
                    .map(|(d, c, t)| (d.to_string(), tc(d, c, t)))
                    .collect(),
            },
        }
    }

    fn stable_of(r: &Request) -> String {
        resolve_toolchains(r).unwrap().toolchains.stable.unwrap()
    }

    #[test]
    fn channels_resolve_to_the_newest_match() {
        assert_eq!(stable_of(&request("stable", None)), "1.95.0");
        assert_eq!(stable_of(&request("1.94", None)), "1.94.1");
        assert_eq!(stable_of(&request("1.94.0", None)), "1.94.0");
        let r = resolve_toolchains(&request("1.94", None)).unwrap();
        assert!(r.reasons[0].contains("newest 1.94.x"), "{:?}", r.reasons);
    }

    #[test]
    fn versions_compare_numerically() {
        let mut r = request("1.9", None);
        r.available.stable = vec!["1.9.0".into(), "1.10.0".into(), "1.9.2".into()];
        r.details.stable = ["1.9.0", "1.10.0", "1.9.2"]
            .iter()
            .map(|v| (v.to_string(), tc("2020-01-01", &[], &[HOST])))
            .collect();
        assert_eq!(stable_of(&r), "1.9.2");
        r.rust.channel = "stable".into();
        assert_eq!(stable_of(&r), "1.10.0");
    }

    #[test]
    fn missing_and_invalid_channels() {
        let err = resolve_toolchains(&request("1.75.0", None)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "rust.channel = \"1.75.0\" is not a stable version the pinned rust-overlay has (it has 1.93.0, 1.94.0, 1.94.1, 1.95.0)"
        );
        assert!(err.hint().contains("\"1.95.0\""), "{}", err.hint());
        let err = resolve_toolchains(&request("1.75", None)).unwrap_err();
        assert!(
            matches!(err, ResolveError::NoStableForMinor { .. }),
            "{err}"
        );
        for channel in ["beta", "nightly", "1", "1.x"] {
            let err = resolve_toolchains(&request(channel, None)).unwrap_err();
            assert!(
                matches!(err, ResolveError::InvalidChannel { .. }),
                "{channel}: {err}"
            );
        }
    }

    #[test]
    fn branch_point_is_the_minors_first_release_minus_six_weeks() {
        let r = request("stable", None);
        assert_eq!(branch_point(&r, "1.95.0").unwrap().0, "2026-03-05");
        // 1.94.1's train is 1.94.0's.
        assert_eq!(branch_point(&r, "1.94.1").unwrap().0, "2026-01-22");
    }

    #[test]
    fn auto_nightly_skips_dates_without_the_requested_target() {
        let r = request("stable", Some(("auto", &["rust-src"], &[WASM])));
        let res = resolve_toolchains(&r).unwrap();
        assert_eq!(res.toolchains.nightly.as_deref(), Some("2026-02-19"));
        let why = &res.reasons[1];
        assert!(why.contains("branch point 2026-03-05"), "{why}");
        assert!(
            why.contains("2026-02-26 (lacks wasm32-unknown-unknown)"),
            "{why}"
        );
        assert!(
            why.contains("2026-03-03 (lacks wasm32-unknown-unknown, rust-src)"),
            "{why}"
        );
        // Without requirements: simply the newest before the branch point.
        let r = request("stable", Some(("auto", &[], &[])));
        let res = resolve_toolchains(&r).unwrap();
        assert_eq!(res.toolchains.nightly.as_deref(), Some("2026-03-03"));
        // For 1.94 the branch point is earlier.
        let r = request("1.94", Some(("auto", &["rust-src"], &[WASM])));
        let res = resolve_toolchains(&r).unwrap();
        assert_eq!(res.toolchains.nightly.as_deref(), Some("2026-01-15"));
    }

    #[test]
    fn auto_nightly_with_nothing_fitting() {
        let r = request("stable", Some(("auto", &["clippy"], &[WASM])));
        let err = resolve_toolchains(&r).unwrap_err();
        assert!(matches!(err, ResolveError::NoNightlyFits { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("2026-03-03 (lacks wasm32-unknown-unknown)"),
            "{err}"
        );
        assert!(
            err.to_string().contains("2026-02-19 (lacks clippy)"),
            "{err}"
        );
    }

    #[test]
    fn exact_nightly_must_exist_and_fit() {
        let r = request("stable", Some(("2026-02-19", &["rust-src"], &[WASM])));
        assert_eq!(
            resolve_toolchains(&r)
                .unwrap()
                .toolchains
                .nightly
                .as_deref(),
            Some("2026-02-19")
        );
        let r = request("stable", Some(("2026-02-26", &[], &[WASM])));
        let err = resolve_toolchains(&r).unwrap_err();
        assert!(
            err.to_string()
                .contains("not a target of nightly 2026-02-26"),
            "{err}"
        );
        let r = request("stable", Some(("2026-2-1", &[], &[])));
        assert!(matches!(
            resolve_toolchains(&r).unwrap_err(),
            ResolveError::InvalidNightlyDate { .. }
        ));
    }

    #[test]
    fn pruned_nightly_names_the_nearest_dates() {
        let r = request("stable", Some(("2025-11-13", &[], &[])));
        let err = resolve_toolchains(&r).unwrap_err();
        assert!(err.is_pruned());
        let text = err.to_string();
        assert!(
            text.contains("nearest dates it has: 2026-01-15, 2026-02-05"),
            "{text}"
        );
        assert!(text.contains("purged"), "{text}");
        assert!(err.hint().contains("snapshot/"), "{}", err.hint());
        // A gap inside the range: both sides, no pruning story.
        let r = request("stable", Some(("2026-02-20", &[], &[])));
        let err = resolve_toolchains(&r).unwrap_err();
        assert!(!err.is_pruned());
        assert!(
            err.to_string()
                .contains("2026-02-05, 2026-02-19, 2026-02-26, 2026-03-03"),
            "{err}"
        );
        // Newer than the overlay: update it.
        let r = request("stable", Some(("2027-01-01", &[], &[])));
        assert!(resolve_toolchains(&r)
            .unwrap_err()
            .hint()
            .contains("crate-env update rust-overlay"));
    }

    #[test]
    fn typos_get_a_did_you_mean() {
        let r = request("stable", Some(("auto", &[], &["wasm32-unknown-unknwon"])));
        let err = resolve_toolchains(&r).unwrap_err();
        assert!(
            err.to_string()
                .contains("`wasm32-unknown-unknwon` is not a target"),
            "{err}"
        );
        assert!(
            err.to_string()
                .contains("wasm32-unknown-unknown, x86_64-unknown-linux-gnu"),
            "{err}"
        );
        assert_eq!(err.hint(), "did you mean `wasm32-unknown-unknown`?");
        let mut r = request("stable", None);
        r.rust.components = vec!["clipy".into()];
        let err = resolve_toolchains(&r).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("rust.components: `clipy` is not a component of stable 1.95.0"),
            "{err}"
        );
        assert_eq!(err.hint(), "did you mean `clippy`?");
        r.rust.components = vec!["zzz".into()];
        let err = resolve_toolchains(&r).unwrap_err();
        assert!(!err.hint().contains("did you mean"), "{}", err.hint());
    }

    #[test]
    fn llvm_tools_short_name_depends_on_the_version() {
        let old = ["llvm-tools-preview".to_string(), "rustc".into()];
        let (s, note) = suggest("llvm-tools", &old, Some("1.66.1"));
        assert_eq!(s.as_deref(), Some("llvm-tools-preview"));
        assert!(note.unwrap().contains("only from Rust 1.67"));
        let mut r = request("stable", None);
        r.rust.components = vec!["llvm-tools".into()];
        assert!(resolve_toolchains(&r).is_ok());
        let info = r.details.stable.get_mut("1.95.0").unwrap();
        info.components.retain(|c| c != "llvm-tools");
        let err = resolve_toolchains(&r).unwrap_err();
        assert!(
            err.hint().contains("`llvm-tools-preview`"),
            "{}",
            err.hint()
        );
    }

    #[test]
    fn coverage_needs_llvm_tools() {
        let mut r = request("stable", None);
        r.coverage = true;
        assert!(resolve_toolchains(&r).is_ok());
        r.details
            .stable
            .get_mut("1.95.0")
            .unwrap()
            .components
            .retain(|c| !c.starts_with("llvm"));
        let err = resolve_toolchains(&r).unwrap_err();
        assert!(err.to_string().contains("coverage = true"), "{err}");
    }

    #[test]
    fn long_lists_are_summarised() {
        let items: Vec<String> = (0..20).map(|i| format!("1.{i}.0")).collect();
        assert_eq!(
            summarise(&items),
            "1.0.0, …, 1.15.0, 1.16.0, 1.17.0, 1.18.0, 1.19.0 (20 in all)"
        );
    }
}
