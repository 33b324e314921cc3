//! Picks the toolchains to lock from what the project asks for and what the
//! pinned rust-overlay offers.
//!
//! The skeleton accepts exact versions only; `"stable"`, `"1.75"` and a
//! nightly `"auto"` get resolved here later (see DESIGN.md).

use std::cmp::Ordering;

use crate::lock::Toolchains;
use crate::request::{Available, Request};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("rust.channel = \"{channel}\" is not a stable version the pinned rust-overlay has (it has {})", summarise(.available))]
    StableNotAvailable {
        channel: String,
        available: Vec<String>,
    },
    #[error("rust.channel = \"{channel}\" is not an exact version; this crate-env only locks exact versions such as \"{}\"", .newest.as_deref().unwrap_or("1.75.0"))]
    StableNotExact {
        channel: String,
        newest: Option<String>,
    },
    #[error("nightly.date = \"{date}\" is not a nightly the pinned rust-overlay has (it has {})", summarise(.available))]
    NightlyNotAvailable {
        date: String,
        available: Vec<String>,
    },
}

impl ResolveError {
    /// What the user can do about it.
    pub fn hint(&self) -> String {
        const NEWER_OVERLAY: &str =
            "lock another rust-overlay with `crate-env lock --rust-overlay SPEC`";
        match self {
            ResolveError::StableNotAvailable { available, .. } => match newest_version(available) {
                Some(newest) => format!(
                    "set rust.channel in crate-env.nix to an available version, e.g. \"{newest}\", or {NEWER_OVERLAY}"
                ),
                None => format!("the pinned rust-overlay has no stable toolchains; {NEWER_OVERLAY}"),
            },
            ResolveError::StableNotExact { newest, .. } => format!(
                "set rust.channel in crate-env.nix to an exact version such as \"{}\"",
                newest.as_deref().unwrap_or("1.75.0")
            ),
            ResolveError::NightlyNotAvailable { .. } => {
                format!("set nightly.date in crate-env.nix to an available date, or {NEWER_OVERLAY}")
            }
        }
    }
}

pub fn resolve_toolchains(request: &Request) -> Result<Toolchains, ResolveError> {
    let stable = resolve_stable(&request.rust.channel, &request.available)?;
    let nightly = request
        .nightly
        .as_ref()
        .map(|n| resolve_nightly(&n.date, &request.available))
        .transpose()?;
    Ok(Toolchains {
        stable: Some(stable),
        nightly,
    })
}

fn resolve_stable(channel: &str, available: &Available) -> Result<String, ResolveError> {
    if available.stable.iter().any(|v| v == channel) {
        return Ok(channel.to_owned());
    }
    if parse_version(channel).is_some_and(|v| v.len() == 3) {
        return Err(ResolveError::StableNotAvailable {
            channel: channel.to_owned(),
            available: sorted_versions(&available.stable),
        });
    }
    Err(ResolveError::StableNotExact {
        channel: channel.to_owned(),
        newest: newest_version(&available.stable),
    })
}

fn resolve_nightly(date: &str, available: &Available) -> Result<String, ResolveError> {
    if available.nightly.iter().any(|d| d == date) {
        Ok(date.to_owned())
    } else {
        let mut dates = available.nightly.clone();
        dates.sort();
        Err(ResolveError::NightlyNotAvailable {
            date: date.to_owned(),
            available: dates,
        })
    }
}

fn parse_version(version: &str) -> Option<Vec<u64>> {
    version.split('.').map(|p| p.parse().ok()).collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{NightlyRequest, RustRequest};

    fn request(channel: &str, nightly: Option<&str>) -> Request {
        Request {
            rust: RustRequest {
                channel: channel.into(),
                profile: None,
                components: vec![],
                targets: vec![],
            },
            coverage: false,
            nightly: nightly.map(|d| NightlyRequest {
                date: d.into(),
                components: vec![],
                targets: vec![],
            }),
            packages: vec![],
            available: Available {
                stable: vec!["1.9.0".into(), "1.10.0".into(), "1.95.0".into()],
                nightly: vec!["2026-05-19".into(), "2026-01-01".into()],
            },
        }
    }

    #[test]
    fn exact_versions_resolve() {
        let t = resolve_toolchains(&request("1.95.0", Some("2026-05-19"))).unwrap();
        assert_eq!(t.stable.as_deref(), Some("1.95.0"));
        assert_eq!(t.nightly.as_deref(), Some("2026-05-19"));
        let t = resolve_toolchains(&request("1.10.0", None)).unwrap();
        assert_eq!(t.nightly, None);
    }

    #[test]
    fn missing_stable_lists_available_sorted() {
        let err = resolve_toolchains(&request("1.75.0", None)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "rust.channel = \"1.75.0\" is not a stable version the pinned rust-overlay has (it has 1.9.0, 1.10.0, 1.95.0)"
        );
        assert!(err.hint().contains("\"1.95.0\""), "{}", err.hint());
    }

    #[test]
    fn inexact_channels_are_not_resolved_yet() {
        for channel in ["stable", "1.95", "beta"] {
            let err = resolve_toolchains(&request(channel, None)).unwrap_err();
            assert!(
                matches!(err, ResolveError::StableNotExact { .. }),
                "{channel}"
            );
            assert!(err.to_string().contains("\"1.95.0\""), "{err}");
        }
    }

    #[test]
    fn missing_nightly_is_an_error() {
        let err = resolve_toolchains(&request("1.95.0", Some("2020-01-01"))).unwrap_err();
        assert!(err.to_string().contains("2026-01-01, 2026-05-19"), "{err}");
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
