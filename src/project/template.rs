//! The commented crate-env.nix that `init` writes.

use crate::nix::nix_string;
use crate::project::toolchain_file::ToolchainFile;

/// The starting values `init` fills in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seed {
    pub channel: String,
    pub profile: String,
    pub components: Vec<String>,
    pub targets: Vec<String>,
    /// A nightly date when rust-toolchain.toml pins `nightly-YYYY-MM-DD`.
    pub nightly_date: Option<String>,
}

impl Default for Seed {
    fn default() -> Self {
        Seed {
            channel: "stable".into(),
            profile: "default".into(),
            components: vec![],
            targets: vec![],
            nightly_date: None,
        }
    }
}

impl Seed {
    /// Takes what rust-toolchain.toml pins. A nightly channel becomes
    /// `nightly.date` (with the components and targets), the stable channel
    /// stays "stable"; profiles other than minimal/default are dropped.
    pub fn from_toolchain_file(file: &ToolchainFile) -> Seed {
        let section = &file.toolchain;
        let mut seed = Seed::default();
        if let Some(profile) = section.profile.as_deref() {
            if matches!(profile, "minimal" | "default") {
                seed.profile = profile.to_owned();
            }
        }
        match (file.nightly_date(), section.channel.as_deref()) {
            (Some(date), _) => seed.nightly_date = Some(date.to_owned()),
            (None, Some(channel)) => seed.channel = channel.to_owned(),
            (None, None) => {}
        }
        seed.components = section.components.clone();
        seed.targets = section.targets.clone();
        seed
    }
}

fn nix_list(items: &[String]) -> String {
    if items.is_empty() {
        return "[ ]".into();
    }
    let quoted: Vec<String> = items.iter().map(|i| nix_string(i)).collect();
    format!("[ {} ]", quoted.join(" "))
}

pub fn render(seed: &Seed) -> String {
    let (rust_components, rust_targets) = if seed.nightly_date.is_some() {
        (nix_list(&[]), nix_list(&[]))
    } else {
        (nix_list(&seed.components), nix_list(&seed.targets))
    };
    let nightly = match &seed.nightly_date {
        Some(date) => format!(
            "  nightly = {{\n    date = {};\n    components = {};\n    targets = {};\n  }};\n",
            nix_string(date),
            nix_list(&seed.components),
            nix_list(&seed.targets)
        ),
        None => "  # nightly = {\n  #   date = \"2023-11-09\";\n  #   components = [ \"rust-src\" ];\n  #   targets = [ \"wasm32-unknown-unknown\" ];\n  # };\n".into(),
    };
    format!(
        r#"# The development environment of this project, for crate-env.
# Every field is optional. After a change, `crate-env lock` records the exact
# toolchains in crate-env.lock (`crate-env materialise` does that too).
#
# `pkgs` is the pinned nixpkgs with the pinned rust-overlay applied.
{{ pkgs, ... }}:
{{
  rust = {{
    # "1.75.0" (exact), "1.75" (newest 1.75.x) or "stable" (newest); the lock
    # records what it resolved to.
    channel = {channel};
    # rustup profile: "minimal" or "default".
    profile = {profile};
    # Extra rustup components, e.g. [ "rust-src" "rust-analyzer" ].
    components = {rust_components};
    # Extra targets, e.g. [ "x86_64-unknown-linux-musl" ].
    targets = {rust_targets};
  }};

  # llvm-tools matching this rustc (llvm-cov, llvm-profdata), exported as
  # LLVM_COV and LLVM_PROFDATA.
  coverage = false;

  # A pinned nightly next to the stable toolchain; not on PATH (it would
  # shadow cargo), its store path is exported as CRATE_ENV_NIGHTLY, and
  # `cargo +nightly` selects it. date = "auto" picks the newest nightly older
  # than the stable's branch point that has these components and targets.
{nightly}
  # Packages from the pinned nixpkgs, e.g. [ pkgs.pkg-config pkgs.openssl ].
  packages = [ ];

  # Environment variables, e.g. {{ RUST_BACKTRACE = "1"; }}.
  env = {{ }};

  # Bash run by `crate-env env enter` (never by `crate-env exec`).
  shellHook = "";
}}
"#,
        channel = nix_string(&seed.channel),
        profile = nix_string(&seed.profile),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn default_template_mentions_every_field() {
        let text = render(&Seed::default());
        for field in [
            "rust",
            "channel",
            "profile",
            "components",
            "targets",
            "coverage",
            "nightly",
            "packages",
            "env",
            "shellHook",
        ] {
            assert!(text.contains(&format!("{field} =")), "{field}");
        }
        assert!(text.contains("channel = \"stable\";"));
    }

    #[test]
    fn seeds_from_rust_toolchain_toml() {
        let file = ToolchainFile::parse(
            "[toolchain]\nchannel = \"1.75.0\"\ncomponents = [\"rust-src\"]\ntargets = [\"wasm32-unknown-unknown\"]\nprofile = \"minimal\"\n",
            Path::new("t"),
        )
        .unwrap();
        let text = render(&Seed::from_toolchain_file(&file));
        assert!(text.contains("channel = \"1.75.0\";"), "{text}");
        assert!(text.contains("profile = \"minimal\";"), "{text}");
        assert!(text.contains("components = [ \"rust-src\" ];"), "{text}");
        assert!(
            text.contains("targets = [ \"wasm32-unknown-unknown\" ];"),
            "{text}"
        );
    }

    #[test]
    fn nightly_channels_become_a_nightly_block() {
        let file = ToolchainFile::parse(
            "[toolchain]\nchannel = \"nightly-2023-11-09\"\ncomponents = [\"rust-src\"]\nprofile = \"complete\"\n",
            Path::new("t"),
        )
        .unwrap();
        let text = render(&Seed::from_toolchain_file(&file));
        assert!(
            text.contains(
                "  nightly = {\n    date = \"2023-11-09\";\n    components = [ \"rust-src\" ];"
            ),
            "{text}"
        );
        assert!(text.contains("channel = \"stable\";"), "{text}");
        assert!(text.contains("profile = \"default\";"), "{text}");
    }
}
