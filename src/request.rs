//! What the Nix library's `request` attribute reports: the project's wishes,
//! normalised, and what the pinned rust-overlay offers.

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
            "available": { "stable": ["1.94.0", "1.95.0"], "nightly": ["2026-05-19"] }
        });
        let request = Request::from_json(value).unwrap();
        assert_eq!(request.rust.channel, "1.95.0");
        assert_eq!(request.nightly.unwrap().date, "2026-05-19");
        assert_eq!(request.available.stable.len(), 2);
    }
}
