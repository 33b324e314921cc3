//! `crate-env cache push URI`: copies the environment's closure, and every
//! rooted build's (docs/build.md), to a Nix binary cache (`nix copy`, signed with the user's key). The caches a
//! project pulls from are `nixConfig` in crate-env.nix (docs/ci.md).

use anyhow::{Context as _, Result};

use crate::build::roots::store_paths;
use crate::cli::args::CachePushArgs;
use crate::cli::context::Context;
use crate::cli::errors::{error_with_hint, ExitCode, HintExt};
use crate::environment::{ensure, RelockPolicy};

pub fn push(ctx: &Context<'_>, args: &CachePushArgs) -> Result<ExitCode> {
    let project = ctx.project()?;
    ensure(ctx, &project, RelockPolicy::Frozen)?;
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
    // Builds (docs/build.md): outputs, dependency layers, fetched crates.
    let builds = store_paths(&project);
    if !builds.is_empty() {
        nix.copy_to(&uri, &builds)
            .with_context(|| format!("cannot copy the builds to {}", args.uri))?;
    }
    drop(nix);
    spinner.finish();
    ctx.ui.info(format!(
        "pushed the environment ({} store paths, {}) to {}",
        closure.len(),
        out.display(),
        args.uri
    ));
    if !builds.is_empty() {
        ctx.ui.info(format!(
            "pushed {} build roots (outputs, dependency layers, crates) and their closures",
            builds.len()
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// `URI?…&NAME=VALUE` (Nix store URIs take settings as query parameters).
fn with_query(uri: &str, name: &str, value: &str) -> String {
    let separator = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{separator}{name}={value}")
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
}
