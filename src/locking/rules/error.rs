//! Why a request cannot be resolved, with the message naming what is
//! available and [`ResolveError::hint`] saying what to change.

use std::fmt;

use crate::versions::newest_release;

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
    /// Several unknown names, all reported in one run.
    #[error("{}", unknown_names(.0))]
    UnknownNames(Vec<UnknownName>),
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
                match newest_release(available) {
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
            ResolveError::UnknownNames(_) => {
                "fix every name above in crate-env.nix (each `did you mean` is the closest valid name)".into()
            }
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

/// One line per unknown name with its suggestion, then each field's valid names once.
fn unknown_names(all: &[UnknownName]) -> String {
    let mut text = format!(
        "crate-env.nix asks for {} names the pinned toolchains do not have:",
        all.len()
    );
    for u in all {
        text.push_str(&format!(
            "\n  {}: `{}` is not a {} of {}",
            u.field, u.name, u.kind, u.toolchain
        ));
        if let Some(s) = &u.suggestion {
            text.push_str(&format!(" (did you mean `{s}`?)"));
        }
    }
    let mut shown: Vec<(&str, &str)> = Vec::new();
    for u in all {
        if !shown.contains(&(u.field.as_str(), u.toolchain.as_str())) {
            shown.push((u.field.as_str(), u.toolchain.as_str()));
            text.push_str(&format!(
                "\navailable {}s of {} ({}): {}",
                u.kind,
                u.toolchain,
                u.field,
                u.valid.join(", ")
            ));
        }
    }
    text
}

/// "1.93.0, 1.94.0, 1.95.0" or, for long lists, the oldest and the newest few.
pub(super) fn summarise(items: &[String]) -> String {
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

pub(super) fn skipped_summary(skipped: &[Skipped]) -> String {
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
