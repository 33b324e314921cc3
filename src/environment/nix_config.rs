//! `nixConfig` in crate-env.nix: the binary caches (`substituters`,
//! `trusted-public-keys`) and remote `builders` that `materialise` and
//! `build` pass to Nix. Nix's own cache format and signatures throughout
//! (docs/ci.md, docs/build.md). The one mapping from `nixConfig` to
//! `--option`s ([`options`]).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};

use crate::cli::context::Context;
use crate::nix::Nix;
use crate::project::Project;

/// `nixConfig` as the Nix library validated it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NixConfig {
    #[serde(default)]
    substituters: Vec<String>,
    #[serde(default, rename = "trusted-public-keys")]
    trusted_public_keys: Vec<String>,
    /// Remote builders, nix.conf syntax (docs/build.md).
    #[serde(default)]
    builders: Vec<String>,
}

/// Reads `nixConfig` from crate-env.nix and passes it to every later Nix
/// command as `--option extra-substituters …`,
/// `--option extra-trusted-public-keys …` (added to nix.conf's) and
/// `--option builders …`. Only evaluated when a crate-env.nix
/// mentions `nixConfig`, so other projects pay no extra Nix call.
pub fn apply(
    ctx: &Context<'_>,
    project: &Project,
    nix: &mut Nix<'_>,
    lock_text: &str,
) -> Result<()> {
    if !mentions_nix_config(&project.config_files()) {
        return Ok(());
    }
    let library = project.library(&ctx.settings.system.value)?;
    let value = library
        .eval(nix, "nixConfig", lock_text)
        .context("cannot evaluate nixConfig in crate-env.nix")?;
    let config: NixConfig = serde_json::from_value(value)
        .context("crate-env's Nix library returned an unexpected `nixConfig`")?;
    nix.set_options(options(&config));
    Ok(())
}

/// `--option NAME VALUE` pairs for `config`.
pub fn options(config: &NixConfig) -> Vec<(String, String)> {
    let mut options = Vec::new();
    if !config.substituters.is_empty() {
        // `extra-`: added to nix.conf's caches (cache.nixos.org stays).
        options.push(("extra-substituters".into(), config.substituters.join(" ")));
    }
    if !config.trusted_public_keys.is_empty() {
        options.push((
            "extra-trusted-public-keys".into(),
            config.trusted_public_keys.join(" "),
        ));
    }
    if !config.builders.is_empty() {
        // nix.conf's `builders`: entries separated by `;`.
        options.push(("builders".into(), config.builders.join(" ; ")));
    }
    options
}

fn mentions_nix_config(files: &[PathBuf]) -> bool {
    files.iter().any(|f| contains(f, "nixConfig"))
}

fn contains(file: &Path, needle: &str) -> bool {
    std::fs::read_to_string(file).is_ok_and(|text| text.contains(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_from_nix_config() {
        let config = NixConfig {
            substituters: vec!["file:///a".into(), "https://b".into()],
            trusted_public_keys: vec!["a:x".into()],
            builders: vec!["ssh://a x86_64-linux".into(), "ssh://b".into()],
        };
        let options = options(&config);
        assert!(options.contains(&("extra-substituters".into(), "file:///a https://b".into())));
        assert!(options.contains(&("extra-trusted-public-keys".into(), "a:x".into())));
        assert!(options.contains(&("builders".into(), "ssh://a x86_64-linux ; ssh://b".into())));
        assert!(super::options(&NixConfig::default()).is_empty());
    }
}
