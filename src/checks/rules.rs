//! The decisions: each check is a pure function from facts to a [`Check`].

use std::path::{Path, PathBuf};

use crate::checks::cargo::{CargoLock, Member};
use crate::checks::probes::RustcInfo;
use crate::checks::Check;
use crate::project::toolchain_file::{ExpectedToolchain, ToolchainFile};
use crate::versions::{parse_date, parse_lenient};

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
    let matches = match (parse_date(date), parse_date(commit)) {
        (Some(d), Some(c)) => c == d || Some(c) == d.yesterday().ok(),
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
    let Some(pinned) = parse_lenient(stable) else {
        return Check::skipped(
            "rust-version",
            format!("cannot compare with stable {stable}"),
        );
    };
    let above: Vec<String> = members
        .iter()
        .filter_map(|m| {
            let wanted = m.rust_version.as_deref()?;
            (parse_lenient(wanted)? > pinned).then(|| format!("{} needs {wanted}", m.name))
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
fn cargo_reading(version: i64) -> Option<semver::Version> {
    match version {
        ..=2 => Some(semver::Version::new(1, 0, 0)),
        3 => Some(semver::Version::new(1, 53, 0)),
        4 => Some(semver::Version::new(1, 78, 0)),
        _ => None,
    }
}

/// The pinned cargo can read Cargo.lock's format.
pub fn check_cargo_lock_format(stable: &str, lock: Option<&CargoLock>) -> Check {
    let Some(lock) = lock else {
        return Check::skipped("cargo-lock", "no Cargo.lock");
    };
    let version = lock.version.unwrap_or(1);
    let pinned = parse_lenient(stable);
    match (cargo_reading(version), pinned) {
        (Some(needed), Some(pinned)) if pinned >= needed => Check::ok(
            "cargo-lock",
            format!("Cargo.lock version {version} is readable by cargo {stable}"),
        ),
        (Some(needed), _) => Check::problem(
            "cargo-lock",
            format!("Cargo.lock version {version} needs cargo {needed} or newer; the pinned cargo is {stable}"),
            format!("raise rust.channel in crate-env.nix to {needed} or newer, or regenerate Cargo.lock with cargo {stable}"),
        ),
        (None, _) => Check::problem(
            "cargo-lock",
            format!("Cargo.lock version {version} is newer than any format this crate-env knows; cargo {stable} cannot read it"),
            "raise rust.channel in crate-env.nix, or regenerate Cargo.lock with the pinned cargo",
        ),
    }
}

/// rust-toolchain.toml names the pinned channel, components and targets.
pub fn check_toolchain_file(file: Option<&ToolchainFile>, expected: &ExpectedToolchain) -> Check {
    let Some(file) = file else {
        return Check::skipped("rust-toolchain.toml", "no rust-toolchain.toml");
    };
    let differences = file.differences(expected);
    if differences.is_empty() {
        Check::ok(
            "rust-toolchain.toml",
            format!("rust-toolchain.toml names {}, as the lock", file.channel()),
        )
    } else {
        Check::problem(
            "rust-toolchain.toml",
            format!("rust-toolchain.toml drifted: {}", differences.join("; ")),
            "run `crate-env toolchain-file` to rewrite it from the lock, or change crate-env.nix to match it and run `crate-env lock`",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::probes::{llvm_major_from_version_output, wasm_bindgen_version};
    use crate::checks::Status;

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
        info.commit_date = Some("2024-02-29".into());
        assert!(!check_nightly("2024-03-01", &info).is_problem());
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
}
