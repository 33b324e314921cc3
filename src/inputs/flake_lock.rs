//! Reads the `nixpkgs` and `rust-overlay` inputs of a flake's `flake.lock`
//! (format version 5–7) into locked inputs, without any network: the flake
//! lock already has the revision, narHash and lastModified, and the narHash
//! of a GitHub archive is exactly what `builtins.fetchTarball` checks.
//!
//! `locked` node types: `github` → a tarball of
//! `<archive-base>/OWNER/REPO/archive/REV.tar.gz` with spec
//! `github:OWNER/REPO/REF` (REF from `original`: its `ref`, else its `rev`,
//! else the locked rev), `tarball` → the URL, `git` → the git URL and rev.
//! An `indirect` original (`nixpkgs` from the registry) takes its spec from
//! `locked`, since the registry is not part of the lock.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::inputs::spec::rev_in_url;
use crate::project::lockfile::{InputName, InputType, LockedInput};

#[derive(Debug, thiserror::Error)]
pub enum FlakeLockError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("{path} is not a flake.lock: {message}")]
    Format { path: PathBuf, message: String },
    #[error("{path}: the root flake has no input `{input}` (it has: {available})")]
    MissingInput {
        path: PathBuf,
        input: String,
        available: String,
    },
    #[error("{path}: input `{input}` is locked as type `{kind}`; crate-env reads github, tarball and git inputs")]
    UnsupportedType {
        path: PathBuf,
        input: String,
        kind: String,
    },
}

/// The two inputs crate-env pins, as the flake.lock has them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlakeInputs {
    pub nixpkgs: LockedInput,
    pub rust_overlay: LockedInput,
}

/// Reads FILE and converts its `nixpkgs` and `rust-overlay` root inputs;
/// `archive_base` is where GitHub archives are fetched from.
pub fn read(path: &Path, archive_base: &str) -> Result<FlakeInputs, FlakeLockError> {
    let text = fs_err::read_to_string(path)?;
    parse(&text, path, archive_base)
}

pub fn parse(text: &str, path: &Path, archive_base: &str) -> Result<FlakeInputs, FlakeLockError> {
    let format = |message: &str| FlakeLockError::Format {
        path: path.to_owned(),
        message: message.to_owned(),
    };
    let value: Value = serde_json::from_str(text).map_err(|e| format(&e.to_string()))?;
    let nodes = value
        .get("nodes")
        .and_then(Value::as_object)
        .ok_or_else(|| format("no `nodes` object"))?;
    let root_name = value.get("root").and_then(Value::as_str).unwrap_or("root");
    let root_inputs = nodes
        .get(root_name)
        .and_then(|r| r.get("inputs"))
        .and_then(Value::as_object)
        .ok_or_else(|| format("the root node has no `inputs`"))?;
    let convert = |name: InputName| -> Result<LockedInput, FlakeLockError> {
        let missing = || FlakeLockError::MissingInput {
            path: path.to_owned(),
            input: name.as_str().to_owned(),
            available: root_inputs.keys().cloned().collect::<Vec<_>>().join(", "),
        };
        let node_name = match root_inputs.get(name.as_str()) {
            Some(Value::String(node)) => node.clone(),
            // `follows` of the root: a path of input names, resolved from the root.
            Some(Value::Array(path)) => follow(nodes, root_name, path).ok_or_else(missing)?,
            _ => return Err(missing()),
        };
        let node = nodes.get(&node_name).ok_or_else(missing)?;
        convert_node(node, name, path, archive_base)
    };
    Ok(FlakeInputs {
        nixpkgs: convert(InputName::Nixpkgs)?,
        rust_overlay: convert(InputName::RustOverlay)?,
    })
}

fn follow(nodes: &serde_json::Map<String, Value>, root: &str, path: &[Value]) -> Option<String> {
    let mut current = root.to_owned();
    for step in path {
        let inputs = nodes.get(&current)?.get("inputs")?.as_object()?;
        current = match inputs.get(step.as_str()?)? {
            Value::String(next) => next.clone(),
            Value::Array(nested) => follow(nodes, root, nested)?,
            _ => return None,
        };
    }
    Some(current)
}

/// A node's `locked` and `original` attributes, with errors naming the input.
struct Node<'a> {
    locked: &'a Value,
    original: &'a Value,
    name: InputName,
    path: &'a Path,
}

impl Node<'_> {
    fn format(&self, message: String) -> FlakeLockError {
        FlakeLockError::Format {
            path: self.path.to_owned(),
            message: format!("input `{}`: {message}", self.name.as_str()),
        }
    }

    fn field(value: &Value, key: &str) -> Option<String> {
        value.get(key).and_then(Value::as_str).map(str::to_owned)
    }

    fn required(&self, key: &str) -> Result<String, FlakeLockError> {
        Self::field(self.locked, key)
            .ok_or_else(|| self.format(format!("`locked.{key}` is missing")))
    }
}

fn convert_node(
    node: &Value,
    name: InputName,
    path: &Path,
    archive_base: &str,
) -> Result<LockedInput, FlakeLockError> {
    let node = Node {
        locked: node.get("locked").ok_or_else(|| FlakeLockError::Format {
            path: path.to_owned(),
            message: format!("input `{}`: no `locked` attributes", name.as_str()),
        })?,
        original: node.get("original").unwrap_or(&Value::Null),
        name,
        path,
    };
    let mut input = match node.required("type")?.as_str() {
        "github" => github(&node, archive_base)?,
        "tarball" => tarball(&node)?,
        "git" => git(&node)?,
        other => {
            return Err(FlakeLockError::UnsupportedType {
                path: path.to_owned(),
                input: name.as_str().to_owned(),
                kind: other.to_owned(),
            })
        }
    };
    input.nar_hash = node.required("narHash")?;
    input.last_modified = node
        .locked
        .get("lastModified")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    Ok(input)
}

/// A GitHub archive. The spec keeps what the user asked for (a branch is
/// followed by `crate-env update`); the repository comes from `locked`,
/// since an indirect original (`nixpkgs` from the registry) names none.
fn github(node: &Node<'_>, archive_base: &str) -> Result<LockedInput, FlakeLockError> {
    let owner = node.required("owner")?;
    let repo = node.required("repo")?;
    let rev = node.required("rev")?;
    let reference = Node::field(node.original, "ref")
        .or_else(|| Node::field(node.original, "rev"))
        .unwrap_or_else(|| rev.clone());
    Ok(LockedInput {
        spec: format!("github:{owner}/{repo}/{reference}"),
        kind: InputType::Tarball,
        url: format!("{archive_base}/{owner}/{repo}/archive/{rev}.tar.gz"),
        reference: None,
        rev: Some(rev),
        nar_hash: String::new(),
        last_modified: 0,
    })
}

fn tarball(node: &Node<'_>) -> Result<LockedInput, FlakeLockError> {
    let url = node.required("url")?;
    Ok(LockedInput {
        spec: Node::field(node.original, "url").unwrap_or_else(|| url.clone()),
        kind: InputType::Tarball,
        rev: rev_in_url(&url).or_else(|| Node::field(node.locked, "rev")),
        url,
        reference: None,
        nar_hash: String::new(),
        last_modified: 0,
    })
}

fn git(node: &Node<'_>) -> Result<LockedInput, FlakeLockError> {
    let url = node.required("url")?;
    let rev = node.required("rev")?;
    let reference = Node::field(node.locked, "ref");
    let query = reference
        .as_ref()
        .map(|r| format!("?ref={r}"))
        .unwrap_or_default();
    Ok(LockedInput {
        spec: format!("git+{url}{query}"),
        kind: InputType::Git,
        url,
        reference,
        rev: Some(rev),
        nar_hash: String::new(),
        last_modified: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RCL: &str = include_str!("../../tests/fixtures/rcl/flake.lock");

    #[test]
    fn reads_the_rcl_flake_lock() {
        let inputs = parse(RCL, Path::new("flake.lock"), "https://github.com").unwrap();
        let n = &inputs.nixpkgs;
        assert_eq!(
            n.rev.as_deref(),
            Some("9a9dae8f6319600fa9aebde37f340975cab4b8c0")
        );
        assert_eq!(
            n.nar_hash,
            "sha256-hL7N/ut2Xu0NaDxDMsw2HagAjgDskToGiyZOWriiLYM="
        );
        assert_eq!(n.last_modified, 1708815994);
        assert_eq!(n.kind, InputType::Tarball);
        assert_eq!(
            n.url,
            "https://github.com/NixOS/nixpkgs/archive/9a9dae8f6319600fa9aebde37f340975cab4b8c0.tar.gz"
        );
        assert_eq!(
            n.spec,
            "github:NixOS/nixpkgs/9a9dae8f6319600fa9aebde37f340975cab4b8c0"
        );
        let r = &inputs.rust_overlay;
        assert_eq!(
            r.rev.as_deref(),
            Some("10faa81b4c0135a04716cbd1649260d82b2890cd")
        );
        assert_eq!(
            r.nar_hash,
            "sha256-pcN8LAL021zdC99a9F7iEiFCI1wmrE4DpIYUgKpB/jY="
        );
        assert_eq!(
            r.spec,
            "github:oxalica/rust-overlay/10faa81b4c0135a04716cbd1649260d82b2890cd"
        );
    }

    #[test]
    fn branches_stay_in_the_spec_and_the_archive_base_is_used() {
        let text = RCL.replace(
            "\"id\": \"nixpkgs\",\n        \"rev\": \"9a9dae8f6319600fa9aebde37f340975cab4b8c0\",",
            "\"id\": \"nixpkgs\",\n        \"ref\": \"nixos-unstable\",",
        );
        let inputs = parse(&text, Path::new("f"), "http://127.0.0.1:1/github").unwrap();
        assert_eq!(inputs.nixpkgs.spec, "github:NixOS/nixpkgs/nixos-unstable");
        assert!(inputs
            .nixpkgs
            .url
            .starts_with("http://127.0.0.1:1/github/NixOS/nixpkgs/archive/"));
    }

    #[test]
    fn git_nodes_and_root_follows() {
        let text = r#"{ "nodes": {
          "ro": { "locked": { "type": "git", "url": "https://example.org/ro.git", "ref": "main",
                  "rev": "0123456789abcdef0123456789abcdef01234567", "narHash": "sha256-X", "lastModified": 5 } },
          "np": { "locked": { "type": "tarball", "url": "https://example.org/0123456789abcdef0123456789abcdef01234567.tar.gz",
                  "narHash": "sha256-Y" }, "original": { "type": "tarball", "url": "https://example.org/nixos.tar.gz" } },
          "dep": { "inputs": { "nixpkgs": "np" } },
          "root": { "inputs": { "dep": "dep", "nixpkgs": ["dep", "nixpkgs"], "rust-overlay": "ro" } } },
          "root": "root", "version": 7 }"#;
        let inputs = parse(text, Path::new("f"), "https://github.com").unwrap();
        assert_eq!(inputs.nixpkgs.spec, "https://example.org/nixos.tar.gz");
        assert_eq!(
            inputs.nixpkgs.rev.as_deref(),
            Some("0123456789abcdef0123456789abcdef01234567")
        );
        assert_eq!(inputs.rust_overlay.kind, InputType::Git);
        assert_eq!(
            inputs.rust_overlay.spec,
            "git+https://example.org/ro.git?ref=main"
        );
        assert_eq!(inputs.rust_overlay.reference.as_deref(), Some("main"));
        assert_eq!(inputs.rust_overlay.last_modified, 5);
    }

    #[test]
    fn missing_inputs_are_named() {
        let text = RCL.replace(
            "\"rust-overlay\": \"rust-overlay\"",
            "\"fenix\": \"rust-overlay\"",
        );
        let err = parse(&text, Path::new("f"), "https://github.com").unwrap_err();
        assert!(err.to_string().contains("no input `rust-overlay`"), "{err}");
        assert!(err.to_string().contains("fenix"), "{err}");
    }
}
