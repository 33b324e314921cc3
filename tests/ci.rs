//! `crate-env ci` (export for later CI steps, refusing drift) and
//! `crate-env lock --from-flake-lock` (issue 5).

mod common;

use std::path::Path;

use common::{assert_success, channel_line, channels, stable, stderr, Project};

/// Applies $GITHUB_PATH and $GITHUB_ENV the way the Actions runner does
/// before a later step: PATH lines prepended (a later line ends up first),
/// `NAME=value` and `NAME<<DELIMITER` … `DELIMITER` entries exported.
const APPLY_LIKE_THE_RUNNER: &str = r#"
set -eu
while IFS= read -r dir; do PATH="$dir:$PATH"; done < "$GH_PATH_FILE"
export PATH
exec 3< "$GH_ENV_FILE"
while IFS= read -r line <&3; do
  if [[ "$line" =~ ^([A-Za-z_][A-Za-z0-9_]*)\<\<(.+)$ ]]; then
    name=${BASH_REMATCH[1]}; delim=${BASH_REMATCH[2]}; value=; first=1
    while IFS= read -r l <&3; do
      [[ "$l" == "$delim" ]] && break
      if ((first)); then value=$l; first=0; else value+=$'\n'$l; fi
    done
    export "$name=$value"
  else
    export "${line%%=*}=${line#*=}"
  fi
done
rustc -V
printf '%s' "$MULTI" > multi.out
"#;

#[test]
fn emit_github_reaches_a_later_step() {
    let p = Project::locked(&format!(
        "rust.channel = \"{}\";\n  env.MULTI = \"first line\\nsecond 'line' $HOME\\n\";",
        stable()
    ));
    let dir = tempfile::tempdir().unwrap();
    let gh_path = dir.path().join("github_path");
    let gh_env = dir.path().join("github_env");
    std::fs::write(&gh_path, "").unwrap();
    std::fs::write(&gh_env, "EARLIER=kept\n").unwrap();
    let out = p
        .crate_env()
        .args(["ci", "--emit", "github"])
        .env("GITHUB_PATH", &gh_path)
        .env("GITHUB_ENV", &gh_env)
        .output()
        .unwrap();
    assert_success(&out, "ci --emit github");
    let env_text = std::fs::read_to_string(&gh_env).unwrap();
    assert!(
        env_text.starts_with("EARLIER=kept\n"),
        "ci must append:\n{env_text}"
    );
    assert!(env_text.contains("MULTI<<ghadelimiter_"), "{env_text}");

    // A later step: a fresh bash with only the runner's own PATH.
    let later = p
        .command("bash")
        .arg("-c")
        .arg(APPLY_LIKE_THE_RUNNER)
        .env("GH_PATH_FILE", &gh_path)
        .env("GH_ENV_FILE", &gh_env)
        .output()
        .unwrap();
    assert_success(&later, "the later step");
    let rustc = String::from_utf8_lossy(&later.stdout);
    assert!(
        rustc.contains(&format!("rustc {}", stable())),
        "later step saw {rustc}"
    );
    assert_eq!(p.read("multi.out"), "first line\nsecond 'line' $HOME\n");
}

#[test]
fn emit_shell_prints_exports_and_gitlab_writes_dotenv() {
    let p = Project::locked(&format!(
        "rust.channel = \"{}\";\n  env.FOO = \"bar baz\";",
        stable()
    ));
    let out = p.run(&["ci", "--emit", "shell"]);
    assert_success(&out, "ci --emit shell");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("export FOO='bar baz';"), "{text}");
    let run = p
        .command("bash")
        .arg("-c")
        .arg(format!("eval \"$(cat <<'EOF'\n{text}\nEOF\n)\"; rustc -V"))
        .output()
        .unwrap();
    assert_success(&run, "eval of --emit shell");
    assert!(String::from_utf8_lossy(&run.stdout).contains(stable()));

    let out = p.run(&["ci", "--emit", "gitlab", "--dotenv", "ce.env"]);
    assert_success(&out, "ci --emit gitlab");
    let dotenv = p.read("ce.env");
    assert!(dotenv.lines().any(|l| l == "FOO=bar baz"), "{dotenv}");
    assert!(dotenv.lines().any(|l| l.starts_with("PATH=")), "{dotenv}");
}

#[test]
fn a_stale_or_missing_lock_exits_1_and_is_left_untouched() {
    let p = Project::locked(&channel_line());
    p.write_config(&format!(
        "rust.channel = \"{}\";\n  env.NEW = \"1\";",
        stable()
    ));
    let before = p.read("crate-env.lock");
    let out = p.run(&["ci", "--emit", "shell"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("stale"), "{}", stderr(&out));
    assert!(out.stdout.is_empty(), "exported despite drift");
    assert_eq!(p.read("crate-env.lock"), before, "ci changed the lock");

    std::fs::remove_file(p.root.join("crate-env.lock")).unwrap();
    let out = p.run(&["ci", "--emit", "shell"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(!p.root.join("crate-env.lock").exists(), "ci wrote a lock");
}

#[test]
fn a_build_error_exits_2_and_a_usage_error_exits_2() {
    let p = Project::locked(&format!(
        "rust.channel = \"{}\";\n  packages = [ (pkgs.runCommand \"broken\" {{ }} \"echo nope; exit 3\") ];",
        stable()
    ));
    let out = p.run(&["ci", "--emit", "shell"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot materialise"),
        "{}",
        stderr(&out)
    );
    let out = p.run(&["ci", "--emit", "teletype"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn lock_from_flake_lock_records_the_flake_pins() {
    let p = Project::new();
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rcl");
    std::fs::copy(
        testdata.join("rust-toolchain.toml"),
        p.root.join("rust-toolchain.toml"),
    )
    .unwrap();
    assert_success(&p.run(&["init"]), "init");
    assert!(
        p.read("crate-env.nix").contains("1.75.0"),
        "{}",
        p.read("crate-env.nix")
    );

    // GitHub is out of reach here: point the archive base at the stand-in
    // server, which does not have these revisions (nothing is prefetched).
    let mut p = p;
    p.set_env(
        "CRATE_ENV_GITHUB_ARCHIVE_BASE",
        channels().get("github-base"),
    );
    let flake_lock = testdata.join("flake.lock");
    let out = p.run(&["lock", "--from-flake-lock", flake_lock.to_str().unwrap()]);
    assert_success(&out, "lock --from-flake-lock");
    let err = stderr(&out);
    assert!(err.contains("not verified"), "{err}");

    let lock: serde_json::Value = serde_json::from_str(&p.read("crate-env.lock")).unwrap();
    let nixpkgs = &lock["inputs"]["nixpkgs"];
    assert_eq!(nixpkgs["rev"], "9a9dae8f6319600fa9aebde37f340975cab4b8c0");
    assert_eq!(
        nixpkgs["narHash"],
        "sha256-hL7N/ut2Xu0NaDxDMsw2HagAjgDskToGiyZOWriiLYM="
    );
    assert_eq!(nixpkgs["lastModified"], 1708815994);
    assert_eq!(nixpkgs["type"], "tarball");
    assert_eq!(
        nixpkgs["spec"],
        "github:NixOS/nixpkgs/9a9dae8f6319600fa9aebde37f340975cab4b8c0"
    );
    assert!(nixpkgs["url"]
        .as_str()
        .unwrap()
        .ends_with("/NixOS/nixpkgs/archive/9a9dae8f6319600fa9aebde37f340975cab4b8c0.tar.gz"));
    let overlay = &lock["inputs"]["rust-overlay"];
    assert_eq!(overlay["rev"], "10faa81b4c0135a04716cbd1649260d82b2890cd");
    assert_eq!(
        overlay["narHash"],
        "sha256-pcN8LAL021zdC99a9F7iEiFCI1wmrE4DpIYUgKpB/jY="
    );
    assert_eq!(overlay["lastModified"], 1735525800);
    assert_eq!(lock["toolchains"]["stable"], "1.75.0");
    assert_success(
        &p.run(&["lock", "--check"]),
        "lock --check after the import",
    );
}

/// With inputs that can be fetched (the stand-ins, behind the GitHub
/// archive base), the toolchains are resolved and verified as `lock` does.
#[test]
fn lock_from_a_fetchable_flake_lock_resolves_the_toolchains() {
    let reference = Project::locked(&channel_line());
    let lock: serde_json::Value = serde_json::from_str(&reference.read("crate-env.lock")).unwrap();
    let node = |owner: &str, repo: &str, input: &str| {
        let i = &lock["inputs"][input];
        serde_json::json!({
            "locked": {
                "lastModified": i["lastModified"], "narHash": i["narHash"],
                "owner": owner, "repo": repo, "rev": i["rev"], "type": "github"
            },
            "original": { "owner": owner, "repo": repo, "ref": "master", "type": "github" }
        })
    };
    let flake_lock = serde_json::json!({
        "nodes": {
            "nixpkgs": node("nixos", "nixpkgs", "nixpkgs"),
            "rust-overlay": node("oxalica", "rust-overlay", "rust-overlay"),
            "root": { "inputs": { "nixpkgs": "nixpkgs", "rust-overlay": "rust-overlay" } }
        },
        "root": "root",
        "version": 7
    });
    let mut p = Project::new();
    p.write_config(&channel_line());
    p.write(
        "flake.lock",
        &serde_json::to_string_pretty(&flake_lock).unwrap(),
    );
    p.set_env(
        "CRATE_ENV_GITHUB_ARCHIVE_BASE",
        channels().get("github-base"),
    );
    let out = p.run(&["lock", "--from-flake-lock", "flake.lock"]);
    assert_success(&out, "lock --from-flake-lock");
    assert!(!stderr(&out).contains("not verified"), "{}", stderr(&out));
    let ours: serde_json::Value = serde_json::from_str(&p.read("crate-env.lock")).unwrap();
    assert_eq!(ours["toolchains"]["stable"], stable());
    assert_eq!(
        ours["inputs"]["rust-overlay"]["spec"],
        "github:oxalica/rust-overlay/master"
    );
    assert_eq!(
        ours["inputs"]["nixpkgs"]["narHash"],
        lock["inputs"]["nixpkgs"]["narHash"]
    );
    assert_eq!(p.sh("rustc -V").split_whitespace().nth(1), Some(stable()));
}
