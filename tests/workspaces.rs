//! Workspaces (issue 11): members with their own crate-env.nix, merged into
//! their parents', one lock at the root, an environment per member picked
//! from the working directory (exec, proxies, real direnv), and `ci`
//! verifying every member.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use common::{assert_success, channel_line, channels, stable, stderr, NixCounter, Project, Prompt};

const WASM: &str = "wasm32-unknown-unknown";

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `member/crate-env.nix` holding `body`.
fn write_member(p: &Project, member: &str, body: &str) {
    p.write(
        &format!("{member}/crate-env.nix"),
        &format!("{{ pkgs, ... }}:\n{{\n{body}\n}}\n"),
    );
}

/// The wasm member: the pinned nightly with wasm32 and rust-src, binaryen.
fn wasm_member_body() -> String {
    format!(
        "nightly = {{ date = \"{}\"; targets = [ \"{WASM}\" ]; components = [ \"rust-src\" ]; }};\n  packages = [ pkgs.binaryen ];",
        channels().get("nightly")
    )
}

/// A workspace: root crate-env.nix (stable, coverage) and `wasm/`'s, locked.
fn wasm_workspace() -> Project {
    let p = Project::new();
    p.write_config(&format!("{}\n  coverage = true;", channel_line()));
    write_member(&p, "wasm", &wasm_member_body());
    p.lock();
    p
}

/// `crate-env ARGS…` run in `dir` (relative to the root).
fn run_in(p: &Project, dir: &str, args: &[&str]) -> Output {
    p.crate_env()
        .current_dir(p.root.join(dir))
        .args(args)
        .output()
        .unwrap()
}

/// `crate-env exec -- sh -c SCRIPT` in `dir`.
fn sh_in(p: &Project, dir: &str, script: &str) -> Output {
    run_in(p, dir, &["exec", "--", "sh", "-c", script])
}

const APP_BUILD_RS: &str = r#"
fn main() {
    let rustc = std::env::var("RUSTC").unwrap();
    let v = std::process::Command::new(&rustc).arg("-V").output().unwrap();
    println!("cargo:rustc-env=BUILT_WITH={}", String::from_utf8(v.stdout).unwrap().trim());
}
"#;

/// A cargo workspace: `app` (a binary recording the rustc that built it) at
/// the root, `wasm/` a cdylib for wasm32.
fn cargo_workspace(p: &Project) {
    p.write(
        "Cargo.toml",
        "[workspace]\nmembers = [\"app\", \"wasm\"]\nresolver = \"2\"\n",
    );
    let package = |name: &str| {
        format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n")
    };
    p.write("app/Cargo.toml", &package("app"));
    p.write("app/build.rs", APP_BUILD_RS);
    p.write(
        "app/src/main.rs",
        "fn main() { println!(\"{}\", env!(\"BUILT_WITH\")); }\n",
    );
    p.write(
        "wasm/Cargo.toml",
        &format!(
            "{}\n[lib]\ncrate-type = [\"cdylib\"]\n",
            package("wasm_mod")
        ),
    );
    p.write(
        "wasm/src/lib.rs",
        "#[no_mangle]\npub extern \"C\" fn add(a: i32, b: i32) -> i32 { a + b }\n",
    );
}

/// The first `wasm-opt` in the environment's own part of PATH (the proxies
/// and store paths, not the caller's: the host may have a binaryen too).
fn env_wasm_opt(p: &Project, dir: &str) -> Option<PathBuf> {
    let out = run_in(p, dir, &["env", "print", "--format", "json"]);
    assert_success(&out, "env print");
    let vars: BTreeMap<String, String> = serde_json::from_slice(&out.stdout).unwrap();
    let ours = |d: &Path| d.starts_with(&p.root) || d.starts_with("/nix/store");
    std::env::split_paths(&vars["PATH"])
        .filter(|d| ours(d))
        .map(|d| d.join("wasm-opt"))
        .find(|f| f.exists())
}

/// The root's proxy `name`, started from `dir` in a plain shell.
fn proxy_in(p: &Project, dir: &str, name: &str) -> Command {
    let mut cmd = p.command(p.root.join(".crate-env/bin").join(name));
    cmd.current_dir(p.root.join(dir));
    cmd
}

#[test]
fn each_member_gets_its_own_toolchain_and_packages() {
    let mut p = wasm_workspace();
    let lock: serde_json::Value = serde_json::from_str(&p.read("crate-env.lock")).unwrap();
    assert_eq!(lock["toolchains"]["nightly"], serde_json::Value::Null);
    assert_eq!(
        lock["members"]["wasm"]["toolchains"]["nightly"],
        channels().get("nightly")
    );
    assert_eq!(
        lock["members"]["wasm"]["config"]["files"],
        serde_json::json!(["crate-env.nix", "wasm/crate-env.nix"])
    );
    assert_success(&p.run(&["materialise", "--all"]), "materialise --all");
    cargo_workspace(&p);
    let nix = NixCounter::install(&mut p);

    // The root: the stable builds, wasm-opt is not there, coverage is (inherited by nobody else).
    let out = proxy_in(&p, "", "cargo")
        .args(["build", "--quiet", "-p", "app"])
        .output()
        .unwrap();
    assert_success(&out, "cargo build -p app at the root");
    let app = Command::new(p.root.join("target/debug/app"))
        .output()
        .unwrap();
    assert!(
        stdout(&app).starts_with(&format!("rustc {} ", stable())),
        "{}",
        stdout(&app)
    );
    assert_eq!(
        env_wasm_opt(&p, ""),
        None,
        "wasm-opt in the root's environment"
    );
    assert!(!p.root.join(".crate-env/bin/wasm-opt").exists());

    // wasm/src: the root's own proxy picks wasm/'s environment from the directory.
    let out = proxy_in(&p, "wasm/src", "cargo")
        .args(["+nightly", "build", "--quiet", "--target", WASM])
        .args(["-Z", "build-std=std,panic_abort"])
        .output()
        .unwrap();
    assert_success(&out, "cargo +nightly build -Z build-std in wasm/src");
    let module = p.root.join(format!("target/{WASM}/debug/wasm_mod.wasm"));
    let bytes = fs::read(&module).unwrap_or_else(|e| panic!("{}: {e}", module.display()));
    assert!(bytes.starts_with(b"\0asm"), "not a wasm module");
    let out = sh_in(&p, "wasm/src", "command -v wasm-opt && wasm-opt --version");
    assert_success(&out, "wasm-opt in wasm/");
    let text = stdout(&out);
    let member_bin = p.root.join(".crate-env/members/wasm/bin/wasm-opt");
    assert!(
        text.starts_with(&member_bin.display().to_string()),
        "{text}"
    );
    assert_eq!(env_wasm_opt(&p, "wasm"), Some(member_bin));
    assert_eq!(nix.calls(), [] as [String; 0], "a cache hit started Nix");
}

#[test]
fn editing_one_member_rebuilds_only_its_environment() {
    let mut p = Project::new();
    p.write_config(&format!("{}\n  env.WHO = \"root\";", channel_line()));
    write_member(&p, "wasm", "env.WHO = \"wasm\";");
    p.lock();
    assert_success(&p.run(&["materialise", "--all"]), "materialise --all");
    let nix = NixCounter::install(&mut p);
    let root_cache = p.read(".crate-env/env.json");

    write_member(&p, "wasm", "env.WHO = \"wasm, edited\";");
    let out = sh_in(&p, "wasm", "printf %s \"$WHO\"");
    assert_success(&out, "exec in wasm/ after the edit");
    assert_eq!(stdout(&out), "wasm, edited");
    let after_wasm = nix.calls().len();
    assert!(after_wasm > 0, "the edit was not evaluated");
    let lock: serde_json::Value = serde_json::from_str(&p.read("crate-env.lock")).unwrap();
    assert!(lock["members"]["wasm"]["config"]["hash"].is_string());

    // The root: a cache hit (its view of the lock did not change), 0 Nix processes.
    let out = sh_in(&p, "", "printf %s \"$WHO\"");
    assert_success(&out, "exec at the root");
    assert_eq!(stdout(&out), "root");
    let out = proxy_in(&p, "", "rustc").arg("-V").output().unwrap();
    assert_success(&out, "the root's rustc proxy");
    let out = run_in(&p, "", &["materialise"]);
    assert_success(&out, "materialise at the root");
    assert!(stderr(&out).contains("up to date"), "{}", stderr(&out));
    assert_eq!(nix.calls().len(), after_wasm, "{:?}", nix.calls());
    assert_eq!(p.read(".crate-env/env.json"), root_cache);
    let status = run_in(&p, "wasm", &["status", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let members = &status["project"]["members"];
    assert_eq!(members[1]["member"], "wasm");
    assert_eq!(members[0]["fresh"], true);
    assert_eq!(members[1]["fresh"], true);
}

/// `wasm-opt` resolves to the member's proxy (the host may have one too).
fn has_wasm_opt(prompt: &Prompt<'_>) -> bool {
    let out = prompt
        .command("sh")
        .args(["-c", "command -v wasm-opt"])
        .output();
    stdout(&out.unwrap()).starts_with(&prompt.p.root.display().to_string())
}

#[test]
fn direnv_switches_member_environments_on_cd() {
    let mut p = wasm_workspace();
    assert_success(&p.run(&["materialise", "--all"]), "materialise --all");
    p.write("wasm/src/lib.rs", "");
    let nix = NixCounter::install(&mut p);
    let mut prompt = Prompt::without_envrc(&p);
    for dir in ["", "wasm"] {
        prompt.allow_envrc(dir);
    }
    let root = p.root.display().to_string();
    let wasm = p.root.join("wasm").display().to_string();
    for round in 0..2 {
        prompt.cd("");
        let (_, err) = prompt.load();
        assert_eq!(prompt.var("CRATE_ENV_ROOT"), Some(root.as_str()), "{err}");
        assert!(
            !has_wasm_opt(&prompt),
            "round {round}: wasm-opt at the root"
        );
        prompt.cd("wasm/src");
        let (_, err) = prompt.load();
        assert_eq!(prompt.var("CRATE_ENV_ROOT"), Some(wasm.as_str()), "{err}");
        assert!(prompt.var("CRATE_ENV_NIGHTLY").is_some(), "{err}");
        assert!(has_wasm_opt(&prompt), "round {round}: no wasm-opt in wasm/");
    }
    prompt.cd("");
    prompt.load();
    assert_eq!(prompt.var("CRATE_ENV_NIGHTLY"), None);
    assert_eq!(nix.calls(), [] as [String; 0], "a load started Nix");
    let stamp = p.root.join(".crate-env/members/wasm/direnv.bash");
    assert!(stamp.is_file(), "wasm's direnv state is its own");
    let activated = fs::metadata(p.root.join(".crate-env/activated"))
        .and_then(|m| m.modified())
        .unwrap();
    assert!(SystemTime::now().duration_since(activated).unwrap() < Duration::from_secs(60));
}

fn ci(p: &Project) -> Output {
    p.crate_env()
        .args(["ci", "--emit", "shell"])
        .output()
        .unwrap()
}

#[test]
fn ci_verifies_every_member_and_names_the_one_that_drifted() {
    let p = wasm_workspace();
    let out = ci(&p);
    assert_success(&out, "ci");
    let err = stderr(&out);
    assert!(err.contains("wasm: nightly"), "{err}");
    assert!(err.contains("wasm: rustc"), "{err}");
    assert!(stdout(&out).contains("CRATE_ENV_ROOT="), "{}", stdout(&out));

    // Only the member changed: ci fails (1) naming it, and writes no lock.
    let lock = p.read("crate-env.lock");
    write_member(
        &p,
        "wasm",
        &format!("{}\n  env.X = \"1\";", wasm_member_body()),
    );
    let out = ci(&p);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("stale for member wasm"),
        "{}",
        stderr(&out)
    );
    let out = p.run(&["lock", "--check"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("member wasm"), "{}", stderr(&out));
    assert_eq!(p.read("crate-env.lock"), lock, "ci wrote the lock");

    // The root changed: every member inherits it, each is named.
    p.lock();
    p.write_config(&format!("{}\n  coverage = false;", channel_line()));
    let out = ci(&p);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("crate-env.nix changed") && err.contains("member wasm"),
        "{err}"
    );
    old_locks_without_members_still_work(&p);
}

/// A lock written before workspaces (no `members`) reads as before.
fn old_locks_without_members_still_work(p: &Project) {
    fs::remove_file(p.root.join("wasm/crate-env.nix")).unwrap();
    p.lock();
    let text = p.read("crate-env.lock");
    assert!(!text.contains("\"members\""), "{text}");
    assert_success(&p.run(&["lock", "--check"]), "lock --check");
    assert_success(&ci(p), "ci without members");
    assert!(Path::new(&p.root.join(".crate-env/env.json")).is_file());
}
