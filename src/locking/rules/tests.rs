//! The rules against a request that mirrors the stand-in overlay's master.

use super::error::summarise;
use super::*;
use crate::nix::request::{Available, Details, NightlyRequest, RustRequest};

fn tc(date: &str, components: &[&str], targets: &[&str]) -> ToolchainInfo {
    ToolchainInfo {
        date: Some(date.into()),
        components: components.iter().map(|s| s.to_string()).collect(),
        targets: targets.iter().map(|s| s.to_string()).collect(),
    }
}

const HOST: &str = "x86_64-unknown-linux-gnu";
const WASM: &str = "wasm32-unknown-unknown";

const STABLE_COMPONENTS: [&str; 7] = [
    "cargo",
    "clippy",
    "clippy-preview",
    "llvm-tools",
    "llvm-tools-preview",
    "rust-src",
    "rustc",
];

/// Mirrors the stand-in overlay's master.
fn request(channel: &str, nightly: Option<(&str, &[&str], &[&str])>) -> Request {
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
                .map(|(v, d)| (v.to_string(), tc(d, &STABLE_COMPONENTS, &[HOST])))
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
fn every_typo_is_reported_at_once() {
    let mut r = request(
        "stable",
        Some(("auto", &["rust-scr"], &["wasm32-unknown-unknwon"])),
    );
    r.rust.components = vec!["clipy".into(), "cargo".into(), "zzz".into()];
    r.rust.targets = vec!["x86_64-unknown-linux-gnux".into()];
    let err = resolve_toolchains(&r).unwrap_err();
    let text = err.to_string();
    for part in [
        "asks for 5 names",
        "rust.components: `clipy` is not a component of stable 1.95.0 (did you mean `clippy`?)",
        "rust.components: `zzz` is not a component",
        "rust.targets: `x86_64-unknown-linux-gnux` is not a target",
        "nightly.components: `rust-scr`",
        "nightly.targets: `wasm32-unknown-unknwon` is not a target of any nightly before",
        "(did you mean `wasm32-unknown-unknown`?)",
    ] {
        assert!(text.contains(part), "no `{part}` in:\n{text}");
    }
    assert!(err.hint().contains("fix every name"), "{}", err.hint());
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
