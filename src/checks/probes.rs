//! Facts from the materialised tools: running them with the environment's
//! PATH and reading their version output.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::versions::parse_lenient;

/// What `rustc -vV` reports.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RustcInfo {
    pub release: String,
    pub commit_date: Option<String>,
    pub llvm_version: Option<String>,
}

impl RustcInfo {
    pub fn parse(text: &str) -> RustcInfo {
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().to_owned())
        };
        RustcInfo {
            release: field("release:").unwrap_or_default(),
            commit_date: field("commit-date:").filter(|d| d != "unknown"),
            llvm_version: field("LLVM version:"),
        }
    }

    pub fn llvm_major(&self) -> Option<u32> {
        self.llvm_version.as_deref().and_then(major_of)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("cannot run `{command}`")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed: {stderr}")]
    Failed { command: String, stderr: String },
}

/// Runs `program args…` with `path` as PATH and returns stdout (+ stderr,
/// for tools that print their version there).
pub fn probe(program: &Path, args: &[&str], path: Option<&str>) -> Result<String, ProbeError> {
    let command = format!("{} {}", program.display(), args.join(" "));
    let mut cmd = Command::new(program);
    cmd.args(args).stdin(Stdio::null());
    if let Some(path) = path {
        cmd.env("PATH", path);
    }
    let out = cmd.output().map_err(|source| ProbeError::Spawn {
        command: command.clone(),
        source,
    })?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        return Err(ProbeError::Failed {
            command,
            stderr: stderr.trim().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned() + &stderr)
}

/// `LLVM version 16.0.6` (llvm-cov/llvm-profdata `--version`; distributions
/// prefix it: `Debian LLVM version 22.1.8`, `Homebrew LLVM version …`) → 16.
pub fn llvm_major_from_version_output(text: &str) -> Option<u32> {
    text.lines().find_map(|l| {
        let (_, rest) = l.split_once("LLVM version")?;
        major_of(rest.trim())
    })
}

/// `wasm-bindgen 0.2.100` → `0.2.100`.
pub fn wasm_bindgen_version(text: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.trim().strip_prefix("wasm-bindgen "))
        .and_then(|v| v.split_whitespace().next())
        .map(str::to_owned)
}

/// `16.0.6` (or `16.0.6 (optimized)`) → 16.
fn major_of(version: &str) -> Option<u32> {
    let word = version.split_whitespace().next()?;
    u32::try_from(parse_lenient(word)?.major).ok()
}

/// Executables named `name` in the directories of a PATH value, in PATH order.
pub fn find_on_path(path: &str, name: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = Vec::new();
    if let Ok(all) = which::which_in_all(name, Some(path), "/") {
        for candidate in all {
            if !found.contains(&candidate) {
                found.push(candidate);
            }
        }
    }
    found
}
