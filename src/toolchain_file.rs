//! Reads `rust-toolchain.toml` (rustup's format), so `init` can start from
//! the pins a project already has.

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub const TOOLCHAIN_FILE: &str = "rust-toolchain.toml";

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ToolchainFile {
    #[serde(default)]
    pub toolchain: ToolchainSection,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ToolchainSection {
    pub channel: Option<String>,
    #[serde(default)]
    pub components: Vec<String>,
    #[serde(default)]
    pub targets: Vec<String>,
    pub profile: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ToolchainFileError {
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
}

impl ToolchainFile {
    pub fn parse(text: &str, path: &Path) -> Result<ToolchainFile, ToolchainFileError> {
        toml::from_str(text).map_err(|e| ToolchainFileError::Parse {
            path: path.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })
    }

    /// Reads `rust-toolchain.toml` in `dir`; `Ok(None)` if there is none.
    pub fn read_in(dir: &Path) -> Result<Option<ToolchainFile>, ToolchainFileError> {
        let path = dir.join(TOOLCHAIN_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => ToolchainFile::parse(&text, &path).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(ToolchainFileError::Read { path, source }),
        }
    }

    /// The nightly date of a `nightly-YYYY-MM-DD` channel.
    pub fn nightly_date(&self) -> Option<&str> {
        let date = self
            .toolchain
            .channel
            .as_deref()?
            .strip_prefix("nightly-")?;
        is_date(date).then_some(date)
    }
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rustup_format() {
        let text = r#"
[toolchain]
channel = "1.75.0"
components = ["rustfmt", "clippy"]
targets = ["wasm32-unknown-unknown"]
profile = "minimal"
"#;
        let file = ToolchainFile::parse(text, Path::new("rust-toolchain.toml")).unwrap();
        assert_eq!(file.toolchain.channel.as_deref(), Some("1.75.0"));
        assert_eq!(file.toolchain.components, ["rustfmt", "clippy"]);
        assert_eq!(file.toolchain.targets, ["wasm32-unknown-unknown"]);
        assert_eq!(file.toolchain.profile.as_deref(), Some("minimal"));
        assert_eq!(file.nightly_date(), None);
    }

    #[test]
    fn minimal_and_nightly() {
        let file = ToolchainFile::parse(
            "[toolchain]\nchannel = \"nightly-2023-11-09\"\n",
            Path::new("t"),
        )
        .unwrap();
        assert_eq!(file.nightly_date(), Some("2023-11-09"));
        let file = ToolchainFile::parse("", Path::new("t")).unwrap();
        assert_eq!(file.toolchain.channel, None);
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let err = ToolchainFile::parse(
            "[toolchain]\nchannel = 1.75\n",
            Path::new("/p/rust-toolchain.toml"),
        )
        .unwrap_err();
        let message = err.to_string();
        assert!(message.starts_with("/p/rust-toolchain.toml: "), "{message}");
        assert!(message.contains("line 2"), "{message}");
    }

    #[test]
    fn missing_file_is_none() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(ToolchainFile::read_in(dir.path()).unwrap(), None);
    }
}
