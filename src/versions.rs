//! Toolchain versions and dates, parsed one way everywhere: versions with
//! `semver`, dates with `jiff`.

use semver::Version;

/// An exact release `X.Y.Z` (no pre-release or build suffix), as
/// rust-overlay names stables and `rust.channel` pins them.
pub fn parse_release(text: &str) -> Option<Version> {
    let version = Version::parse(text).ok()?;
    (version.pre.is_empty() && version.build.is_empty()).then_some(version)
}

/// A minor `X.Y` (`rust.channel = "1.75"`): its major and minor.
pub fn parse_minor(text: &str) -> Option<(u64, u64)> {
    if text.matches('.').count() != 1 {
        return None;
    }
    parse_release(&format!("{text}.0")).map(|v| (v.major, v.minor))
}

/// A version as Cargo manifests and rustc write it, leniently: `1.75` is
/// 1.75.0, and a suffix (`1.97.0-nightly`) is ignored.
pub fn parse_lenient(text: &str) -> Option<Version> {
    let core = text.trim().split(['-', '+']).next()?;
    let padded = match core.matches('.').count() {
        0 => format!("{core}.0.0"),
        1 => format!("{core}.0"),
        _ => core.to_owned(),
    };
    parse_release(&padded)
}

/// Orders releases numerically (`1.10.0` after `1.9.2`); text that is not a
/// release sorts by its characters.
pub fn compare_releases(a: &str, b: &str) -> std::cmp::Ordering {
    match (parse_release(a), parse_release(b)) {
        (Some(a), Some(b)) => a.cmp(&b),
        _ => a.cmp(b),
    }
}

/// The newest of `versions` that is a release.
pub fn newest_release(versions: &[String]) -> Option<String> {
    versions
        .iter()
        .filter(|v| parse_release(v).is_some())
        .max_by(|a, b| compare_releases(a, b))
        .cloned()
}

/// A calendar date written exactly `YYYY-MM-DD` (a nightly's name).
pub fn parse_date(text: &str) -> Option<jiff::civil::Date> {
    if text.len() != 10 {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_minors_and_lenient_versions() {
        assert_eq!(parse_release("1.95.0"), Some(Version::new(1, 95, 0)));
        for bad in ["1.95", "1.95.0-beta", "stable", "1.x.0"] {
            assert_eq!(parse_release(bad), None, "{bad}");
        }
        assert_eq!(parse_minor("1.94"), Some((1, 94)));
        for bad in ["1", "1.x", "1.94.0", "beta"] {
            assert_eq!(parse_minor(bad), None, "{bad}");
        }
        assert_eq!(parse_lenient("1.75"), Some(Version::new(1, 75, 0)));
        assert_eq!(
            parse_lenient("1.97.0-nightly"),
            Some(Version::new(1, 97, 0))
        );
        assert!(parse_lenient("1.100") > parse_lenient("1.95.0"));
        assert!(compare_releases("1.10.0", "1.9.2").is_gt());
    }

    #[test]
    fn dates_are_exact() {
        assert!(parse_date("2026-02-19").is_some());
        for bad in ["2026-2-19", "2026-02-30", "latest", "+002026-02-19"] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }
}
