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

mod error;
#[cfg(test)]
mod tests;

use std::cmp::Ordering;

use error::skipped_summary;
pub use error::{MissingNightly, NameKind, ResolveError, Skipped, UnknownName};

use crate::nix::request::{NightlyRequest, Request, ToolchainInfo};
use crate::project::lockfile::Toolchains;
use crate::versions::{compare_releases, newest_release, parse_date, parse_minor, parse_release};

/// A Rust minor is released six weeks after master branched for its beta.
pub const TRAIN_DAYS: i64 = 42;

/// The first stable whose channel manifest has the short name `llvm-tools`.
const LLVM_TOOLS_SHORT_NAME_SINCE: (u64, u64) = (1, 67);

/// How many nightlies around a missing date an error names, per side.
const NEAREST: usize = 2;

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
    // Every unknown name, stable's and the nightly's, is reported in one run.
    let mut unknown = unknown_names(
        NameKind::Component,
        field,
        &stable_name,
        &stable_components,
        &stable_info.components,
        Some(&stable),
    );
    unknown.extend(unknown_names(
        NameKind::Target,
        "rust.targets",
        &stable_name,
        &request.rust.targets,
        &stable_info.targets,
        None,
    ));
    let nightly = match resolve_nightly(request, &stable) {
        Ok(nightly) => nightly,
        Err(ResolveError::UnknownName(one)) => {
            unknown.push(*one);
            None
        }
        Err(ResolveError::UnknownNames(more)) => {
            unknown.extend(more);
            None
        }
        Err(err) if unknown.is_empty() => return Err(err),
        Err(_) => None,
    };
    names_error(unknown)?;
    let nightly = nightly.map(|(date, why)| {
        reasons.push(why);
        date
    });
    Ok(Resolution {
        toolchains: Toolchains {
            stable: Some(stable),
            nightly,
        },
        reasons,
    })
}

/// The nightly to lock and why, if one is requested.
fn resolve_nightly(
    request: &Request,
    stable: &str,
) -> Result<Option<(String, String)>, ResolveError> {
    Ok(match &request.nightly {
        None => None,
        Some(n) if n.date == "auto" => Some(resolve_auto_nightly(request, stable)?),
        Some(n) => {
            let date = resolve_exact_nightly(request, &n.date)?;
            let why = format!("nightly {date}: as nightly.date says");
            Some((date, why))
        }
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
    if channel == "stable" {
        return newest_release(available)
            .map(|v| {
                let why = format!("stable {v}: the newest stable the pinned rust-overlay has");
                (v, why)
            })
            .ok_or_else(|| ResolveError::NoStableForMinor {
                channel: channel.into(),
                available: vec![],
            });
    }
    if parse_release(channel).is_some() {
        if available.iter().any(|v| v == channel) {
            let why = format!("stable {channel}: as rust.channel says");
            return Ok((channel.to_owned(), why));
        }
        return Err(ResolveError::StableNotAvailable {
            channel: channel.into(),
            available: sorted_versions(available),
        });
    }
    let Some(minor) = parse_minor(channel) else {
        return Err(ResolveError::InvalidChannel {
            channel: channel.into(),
            newest: newest_release(available),
        });
    };
    let matching: Vec<String> = available
        .iter()
        .filter(|v| minor_of(v) == Some(minor))
        .cloned()
        .collect();
    newest_release(&matching)
        .map(|v| {
            let why = format!("stable {v}: the newest {channel}.x the pinned rust-overlay has");
            (v, why)
        })
        .ok_or_else(|| ResolveError::NoStableForMinor {
            channel: channel.into(),
            available: sorted_versions(available),
        })
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
    let mut unknown = unknown_names(
        NameKind::Component,
        "nightly.components",
        &name,
        &nightly.components,
        &info.components,
        None,
    );
    unknown.extend(unknown_names(
        NameKind::Target,
        "nightly.targets",
        &name,
        &nightly.targets,
        &info.targets,
        None,
    ));
    names_error(unknown)?;
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
        .min_by(|a, b| compare_releases(a.0, b.0))
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
    let minor = stable.rsplit_once('.').map_or(stable, |(minor, _)| minor);
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
    check_candidate_names(nightly, &candidates, &point)?;
    let wanted: Vec<String> = nightly
        .targets
        .iter()
        .chain(&nightly.components)
        .cloned()
        .collect();
    let mut skipped = Vec::new();
    for (date, info) in candidates {
        let missing = missing_from(nightly, info);
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

/// A name no candidate has at all is a typo, not a reason to skip.
fn check_candidate_names(
    nightly: &NightlyRequest,
    candidates: &[(&String, &ToolchainInfo)],
    point: &str,
) -> Result<(), ResolveError> {
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
    let mut unknown = unknown_names(
        NameKind::Component,
        "nightly.components",
        &any,
        &nightly.components,
        &union(|i| &i.components),
        None,
    );
    unknown.extend(unknown_names(
        NameKind::Target,
        "nightly.targets",
        &any,
        &nightly.targets,
        &union(|i| &i.targets),
        None,
    ));
    names_error(unknown)
}

/// The requested targets, then components, that `info` lacks.
fn missing_from(nightly: &NightlyRequest, info: &ToolchainInfo) -> Vec<String> {
    let targets = nightly.targets.iter().filter(|t| !info.targets.contains(t));
    let components = nightly
        .components
        .iter()
        .filter(|c| !info.components.contains(c));
    targets.chain(components).cloned().collect()
}

/// Every requested name that is not in `valid`, each with the closest valid
/// name.
fn unknown_names(
    kind: NameKind,
    field: &str,
    toolchain: &str,
    requested: &[String],
    valid: &[String],
    version: Option<&str>,
) -> Vec<UnknownName> {
    let mut sorted = valid.to_vec();
    sorted.sort();
    requested
        .iter()
        .filter(|n| !valid.contains(n))
        .map(|name| {
            let (suggestion, note) = suggest(name, valid, version);
            UnknownName {
                kind,
                field: field.into(),
                name: name.clone(),
                toolchain: toolchain.into(),
                valid: sorted.clone(),
                suggestion,
                note,
            }
        })
        .collect()
}

/// No unknown name: fine; one: [`ResolveError::UnknownName`]; more: all of
/// them in [`ResolveError::UnknownNames`].
fn names_error(mut unknown: Vec<UnknownName>) -> Result<(), ResolveError> {
    match unknown.len() {
        0 => Ok(()),
        1 => Err(ResolveError::UnknownName(Box::new(unknown.remove(0)))),
        _ => Err(ResolveError::UnknownNames(unknown)),
    }
}

/// The closest valid name, if one is close enough to be a typo; and for
/// `llvm-tools` on a toolchain older than 1.67, its old name.
pub fn suggest(
    name: &str,
    valid: &[String],
    version: Option<&str>,
) -> (Option<String>, Option<String>) {
    if name == "llvm-tools" && valid.iter().any(|v| v == "llvm-tools-preview") {
        let since = format!(
            "{}.{}",
            LLVM_TOOLS_SHORT_NAME_SINCE.0, LLVM_TOOLS_SHORT_NAME_SINCE.1
        );
        let old = version
            .and_then(minor_of)
            .is_some_and(|v| v < LLVM_TOOLS_SHORT_NAME_SINCE);
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

/// `1.94.1` → `1.94`.
fn minor_of(version: &str) -> Option<(u64, u64)> {
    parse_release(version).map(|v| (v.major, v.minor))
}

fn sorted_versions(versions: &[String]) -> Vec<String> {
    let mut sorted = versions.to_vec();
    sorted.sort_by(|a, b| compare_releases(a, b));
    sorted
}
