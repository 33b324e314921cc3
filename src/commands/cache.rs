//! Binary caches: `crate-env cache push URI` copies the environment's
//! closure to a Nix binary cache (`nix copy`, signed with the user's key),
//! and `nixConfig` in crate-env.nix names the caches (`substituters`,
//! `trusted-public-keys`) that `materialise` passes to Nix. Nix's own cache
//! format and signatures throughout (docs/ci.md).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use serde::Deserialize;

use super::materialise::{ensure, LockPolicy};
use super::Context;
use crate::cli::CachePushArgs;
use crate::errors::{error_with_hint, ExitCode, HintExt};
use crate::nix::Nix;
use crate::nixlib;
use crate::project::Project;

pub fn push(ctx: &Context<'_>, args: &CachePushArgs) -> Result<ExitCode> {
    let project = ctx.project()?;
    ensure(ctx, &project, LockPolicy::Frozen)?;
    let env_root = project.gcroot("env");
    let out = std::fs::read_link(&env_root)
        .with_context(|| format!("cannot read the GC root {}", env_root.display()))
        .hint("run `crate-env materialise`")?;
    let uri = match &args.secret_key {
        Some(key) => {
            let key = std::path::absolute(key)
                .with_context(|| format!("cannot find {}", key.display()))?;
            if !key.is_file() {
                return Err(error_with_hint(
                    format!("secret key {} does not exist", key.display()),
                    "create one with `nix-store --generate-binary-cache-key NAME secret.key public.key`",
                ));
            }
            with_query(&args.uri, "secret-key", &key.to_string_lossy())
        }
        None => {
            ctx.ui.warn("pushing unsigned paths: consumers must trust them some other way (pass --secret-key FILE to sign)");
            args.uri.clone()
        }
    };
    let spinner = ctx.ui.spinner("pushing to the binary cache");
    let nix = ctx.nix(&spinner)?;
    let closure = nix.closure(&out)?;
    nix.copy_to(&uri, std::slice::from_ref(&out))
        .with_context(|| format!("cannot copy the environment to {}", args.uri))?;
    drop(nix);
    spinner.finish();
    ctx.ui.info(format!(
        "pushed the environment ({} store paths, {}) to {}",
        closure.len(),
        out.display(),
        args.uri
    ));
    Ok(ExitCode::SUCCESS)
}

/// `URI?…&NAME=VALUE` (Nix store URIs take settings as query parameters).
fn with_query(uri: &str, name: &str, value: &str) -> String {
    let separator = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{separator}{name}={value}")
}

#[derive(Debug, Default, Deserialize)]
struct NixConfig {
    #[serde(default)]
    substituters: Vec<String>,
    #[serde(default, rename = "trusted-public-keys")]
    trusted_public_keys: Vec<String>,
}

/// Reads `nixConfig` from crate-env.nix and passes it to every later Nix
/// command as `--option extra-substituters …` and
/// `--option extra-trusted-public-keys …` (added to nix.conf's). Only evaluated when a crate-env.nix
/// mentions `nixConfig`, so other projects pay no extra Nix call.
pub(super) fn apply_nix_config(
    ctx: &Context<'_>,
    project: &Project,
    nix: &mut Nix<'_>,
    lock_text: &str,
) -> Result<()> {
    if !mentions_nix_config(&project.config_files()) {
        return Ok(());
    }
    let lib = nixlib::extract(&project.lib_parent_dir())?;
    let config_json = super::materialise::config_files_json(project);
    let value = nix
        .eval_json(
            &lib,
            "nixConfig",
            &[
                ("lock", lock_text),
                ("configFiles", &config_json),
                ("system", &ctx.settings.system.value),
            ],
        )
        .context("cannot evaluate nixConfig in crate-env.nix")?;
    let config: NixConfig = serde_json::from_value(value)
        .context("crate-env's Nix library returned an unexpected `nixConfig`")?;
    nix.set_options(options(&config));
    Ok(())
}

fn options(config: &NixConfig) -> Vec<(String, String)> {
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
    fn query_parameters_are_appended() {
        assert_eq!(
            with_query("file:///c", "secret-key", "/k"),
            "file:///c?secret-key=/k"
        );
        assert_eq!(
            with_query("file:///c?compression=zstd", "secret-key", "/k"),
            "file:///c?compression=zstd&secret-key=/k"
        );
    }

    #[test]
    fn options_from_nix_config() {
        let config = NixConfig {
            substituters: vec!["file:///a".into(), "https://b".into()],
            trusted_public_keys: vec!["a:x".into()],
        };
        let options = options(&config);
        assert!(options.contains(&("extra-substituters".into(), "file:///a https://b".into())));
        assert!(options.contains(&("extra-trusted-public-keys".into(), "a:x".into())));
        assert!(super::options(&NixConfig::default()).is_empty());
    }
}
