//! What the Nix library's `request` attribute reports: the project's wishes,
//! normalised, and what the pinned rust-overlay offers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub rust: RustRequest,
    #[serde(default)]
    pub coverage: bool,
    #[serde(default)]
    pub nightly: Option<NightlyRequest>,
    #[serde(default)]
    pub packages: Vec<String>,
    pub available: Available,
    /// The host's rust target (`x86_64-unknown-linux-gnu`).
    #[serde(default)]
    pub host: Option<String>,
    /// Release date, components and targets of the candidate toolchains.
    #[serde(default)]
    pub details: Details,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RustRequest {
    pub channel: String,
    #[serde(default)]
    pub profile: Option<String>,
    #[serde(default)]
    pub components: Vec<String>,
    #[serde(default)]
    pub targets: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NightlyRequest {
    pub date: String,
    #[serde(default)]
    pub components: Vec<String>,
    #[serde(default)]
    pub targets: Vec<String>,
}

/// Toolchains the pinned rust-overlay has.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Available {
    #[serde(default)]
    pub stable: Vec<String>,
    #[serde(default)]
    pub nightly: Vec<String>,
}

/// What the Nix library reports about the toolchains resolution may pick:
/// the stables of the requested minor (of the newest minor for `"stable"`),
/// and the requested nightly date or, for `"auto"`, every nightly older than
/// those stables' newest release.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Details {
    #[serde(default)]
    pub stable: BTreeMap<String, ToolchainInfo>,
    #[serde(default)]
    pub nightly: BTreeMap<String, ToolchainInfo>,
}

/// One toolchain as rust-overlay offers it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolchainInfo {
    /// The channel manifest's date (`_manifest.date`): a stable's release date.
    #[serde(default)]
    pub date: Option<String>,
    /// Components for the host target, aliases included (`attrNames _components.<host>`).
    #[serde(default)]
    pub components: Vec<String>,
    /// Targets with any component (`attrNames _components`).
    #[serde(default)]
    pub targets: Vec<String>,
}

impl Request {
    pub fn from_json(value: serde_json::Value) -> Result<Request, serde_json::Error> {
        serde_json::from_value(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_shape() {
        let value = serde_json::json!({
            "rust": { "channel": "1.95.0", "profile": "default", "components": [], "targets": [] },
            "coverage": false,
            "nightly": { "date": "2026-05-19", "components": ["rust-src"], "targets": [] },
            "packages": ["binaryen-108"],
            "available": { "stable": ["1.94.0", "1.95.0"], "nightly": ["2026-05-19"] },
            "host": "x86_64-unknown-linux-gnu",
            "details": {
                "stable": { "1.95.0": { "date": "2026-04-16", "components": ["rustc"], "targets": ["x86_64-unknown-linux-gnu"] } },
                "nightly": {}
            }
        });
        let request = Request::from_json(value).unwrap();
        assert_eq!(request.rust.channel, "1.95.0");
        assert_eq!(request.nightly.unwrap().date, "2026-05-19");
        assert_eq!(request.available.stable.len(), 2);
        assert_eq!(
            request.details.stable["1.95.0"].date.as_deref(),
            Some("2026-04-16")
        );
    }
}
