//! Trust (issue 12, docs/trust.md): proxies and direnv evaluate only a state
//! the user approved; a pulled change keeps the last good environment and
//! starts no Nix process until `crate-env allow`; `deny` turns implicit
//! activation off; typed commands, trusted prefixes and
//! `CRATE_ENV_TRUST_ALL=1` approve.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use common::{assert_success, channel_line, stable, stderr, NixCounter, Project, Prompt};

const SHOW_VAR: &str = r#"(pkgs.writeShellScriptBin "show-var" "printf '%s' \"\${!1-unset}\"")"#;

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn proxy(p: &Project, name: &str) -> Command {
    p.command(p.root.join(".crate-env/bin").join(name))
}

/// `show-var GEN` through the proxy: (stdout, stderr).
fn proxy_gen(p: &Project, extra_env: &[(&str, &str)]) -> (String, String) {
    let out = proxy(p, "show-var")
        .arg("GEN")
        .envs(extra_env.iter().copied())
        .output()
        .unwrap();
    assert_success(&out, "proxy show-var GEN");
    (stdout(&out), stderr(&out))
}

fn body(gen: &str) -> String {
    format!(
        "{}\n  packages = [ {SHOW_VAR} ];\n  env.GEN = \"{gen}\";",
        channel_line()
    )
}

/// A crate-env.nix whose evaluation builds a derivation (import from
/// derivation) whose builder writes `marker`, outside the store: without a
/// sandbox, evaluating it is running code.
fn writes_outside_the_store(gen: &str, marker: &Path) -> String {
    format!(
        "{}\n  env.EVIL = builtins.readFile (derivation {{\n    name = \"evil\"; system = builtins.currentSystem; builder = \"/bin/sh\";\n    args = [ \"-c\" \"echo pwned > {} ; echo evaluated > $out\" ];\n  }});",
        body(gen),
        marker.display()
    )
}

fn set_mtime_ahead(path: &Path, secs: u64) {
    let file = fs::File::options().append(true).open(path).unwrap();
    file.set_modified(SystemTime::now() + Duration::from_secs(secs))
        .unwrap();
}

fn status_json(p: &Project) -> serde_json::Value {
    let out = p.run(&["status", "--json"]);
    assert_success(&out, "status --json");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn trust_state(p: &Project) -> String {
    status_json(p)["project"]["trust"]["state"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The trust record (direnv watches it): moved ahead, as if the command ran
/// seconds after the last prompt (direnv compares whole seconds).
fn record_ahead(p: &Project, secs: u64) {
    let record = status_json(p)["project"]["trust"]["record"]
        .as_str()
        .map(PathBuf::from)
        .unwrap();
    set_mtime_ahead(&record, secs);
}

#[test]
fn a_pulled_change_is_not_evaluated_until_allow_and_the_old_toolchain_answers() {
    let mut p = Project::locked(&body("1"));
    assert_success(&p.run(&["materialise"]), "materialise");
    let nix = NixCounter::install(&mut p);
    let mut prompt = Prompt::new(&p);
    prompt.load();
    assert_eq!(prompt.var("GEN"), Some("1"));
    assert_eq!(trust_state(&p), "allowed");

    // `git pull`: a crate-env.nix whose evaluation would run a builder.
    let marker = p.home.join("pwned");
    p.write_config(&writes_outside_the_store("2", &marker));
    set_mtime_ahead(&p.root.join("crate-env.nix"), 2);
    let (changed, err) = prompt.load();
    assert!(changed, "direnv did not notice the pull: {err}");
    assert!(err.contains("crate-env allow"), "{err}");
    assert!(err.contains("crate-env.nix changed"), "{err}");
    assert_eq!(prompt.var("GEN"), Some("1"), "{err}");
    assert_eq!(prompt.var("CRATE_ENV_STALE"), Some("1"));
    let (gen, err) = proxy_gen(&p, &[]);
    assert_eq!(gen, "1");
    assert!(err.contains("crate-env allow"), "{err}");
    let out = proxy(&p, "rustc").arg("-vV").output().unwrap();
    assert_success(&out, "proxy rustc -vV");
    assert!(stdout(&out).contains(&format!("release: {}", stable())));
    assert_eq!(
        nix.calls(),
        [] as [String; 0],
        "an unapproved change ran Nix"
    );
    assert!(!marker.exists(), "the pulled crate-env.nix was evaluated");
    let status = status_json(&p);
    assert_eq!(status["project"]["trust"]["state"], "changed");
    let changed = status["project"]["trust"]["changed"].to_string();
    assert!(changed.contains("crate-env.nix"), "{changed}");

    // Approved: the next prompt evaluates it (and so runs its builder).
    let out = p.run(&["allow"]);
    assert_success(&out, "crate-env allow");
    record_ahead(&p, 4);
    let (changed, err) = prompt.load();
    assert!(changed, "`crate-env allow` did not reload direnv: {err}");
    assert_eq!(prompt.var("GEN"), Some("2"), "{err}");
    assert_eq!(prompt.var("CRATE_ENV_STALE"), None);
    assert!(
        marker.exists(),
        "the approved crate-env.nix was not evaluated"
    );
    // The implicit re-lock was crate-env's own write: still approved.
    assert_eq!(proxy_gen(&p, &[]).0, "2");
    assert_eq!(trust_state(&p), "allowed");
}

#[test]
fn a_fresh_clone_is_evaluated_by_nothing_implicit_before_approval() {
    let origin = Project::locked(&body("1"));
    let mut p = Project::new();
    let marker = p.home.join("pwned");
    p.write("crate-env.lock", &origin.read("crate-env.lock"));
    p.write_config(&writes_outside_the_store("1", &marker));
    let nix = NixCounter::install(&mut p);
    let mut prompt = Prompt::new(&p);
    let (_, err) = prompt.load();
    assert!(err.contains("has not been allowed"), "{err}");
    assert!(err.contains("crate-env allow"), "{err}");
    assert_eq!(prompt.var("CRATE_ENV_ROOT"), None);
    let out = proxy_or_fail(&p);
    assert!(stderr(&out).contains("crate-env allow"), "{}", stderr(&out));
    assert_eq!(trust_state(&p), "not-allowed");
    assert_eq!(nix.calls(), [] as [String; 0], "unapproved code ran Nix");
    assert!(!marker.exists(), "unapproved code wrote outside the store");
}

/// Proxies exist only after a materialisation: a fresh clone has none, so
/// the proxy is crate-env itself started under the name `cargo`.
fn proxy_or_fail(p: &Project) -> Output {
    let link = p.home.join("proxy/cargo");
    fs::create_dir_all(link.parent().unwrap()).unwrap();
    let _ = std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_crate-env"), &link);
    let out = p.command(&link).arg("--version").output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    out
}

#[test]
fn deny_turns_implicit_activation_off_even_on_a_cache_hit() {
    let mut p = Project::locked(&body("1"));
    assert_success(&p.run(&["materialise"]), "materialise");
    let nix = NixCounter::install(&mut p);
    let mut prompt = Prompt::new(&p);
    prompt.load();
    assert_eq!(prompt.var("GEN"), Some("1"));

    assert_success(&p.run(&["deny"]), "crate-env deny");
    assert_eq!(trust_state(&p), "denied");
    record_ahead(&p, 2);
    let (changed, err) = prompt.load();
    assert!(changed, "deny did not reload direnv: {err}");
    assert_eq!(prompt.var("GEN"), None, "direnv still activates: {err}");
    assert!(err.contains("crate-env deny"), "{err}");
    let out = proxy(&p, "show-var").arg("GEN").output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(stderr(&out).contains("crate-env allow"), "{}", stderr(&out));

    // Typed commands still work, and say that deny stays in force.
    let out = p.run(&["exec", "--", "show-var", "GEN"]);
    assert_success(&out, "exec after deny");
    assert_eq!(stdout(&out), "1");
    assert!(stderr(&out).contains("stay off"), "{}", stderr(&out));
    assert_eq!(trust_state(&p), "denied");
    assert_eq!(nix.calls(), [] as [String; 0]);

    assert_success(&p.run(&["allow"]), "crate-env allow");
    assert_eq!(proxy_gen(&p, &[]).0, "1");
}

#[test]
fn own_edits_need_allow_unless_a_typed_command_ran_or_the_code_is_trusted() {
    let mut p = Project::locked(&body("1"));
    assert_success(&p.run(&["materialise"]), "materialise");
    let nix = NixCounter::install(&mut p);

    // As direnv with an edited .envrc: the own edit asks for `crate-env allow`.
    p.write_config(&body("2"));
    let (gen, err) = proxy_gen(&p, &[]);
    assert_eq!(gen, "1");
    assert!(err.contains("crate-env allow"), "{err}");
    assert_eq!(nix.calls(), [] as [String; 0]);
    // A typed command since: approved, with a one-line notice, once.
    let out = p.run(&["materialise"]);
    assert_success(&out, "materialise after the edit");
    assert!(
        stderr(&out).contains("allowed the current crate-env.nix"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&p.run(&["materialise"])).contains("allowed"));
    assert_eq!(proxy_gen(&p, &[]).0, "2");

    // The user's own code (a trusted prefix): edits are evaluated.
    p.trust_as_own_code();
    assert_eq!(trust_state(&p), "trusted-prefix");
    p.write_config(&body("3"));
    assert_eq!(proxy_gen(&p, &[]).0, "3");
    fs::remove_file(p.home.join(".config/crate-env/trusted-prefixes")).unwrap();

    // CI containers: CRATE_ENV_TRUST_ALL=1.
    p.write_config(&body("4"));
    assert_eq!(proxy_gen(&p, &[]).0, "3");
    assert_eq!(proxy_gen(&p, &[("CRATE_ENV_TRUST_ALL", "1")]).0, "4");
    let out = p
        .crate_env()
        .arg("status")
        .env("CRATE_ENV_TRUST_ALL", "1")
        .output()
        .unwrap();
    assert!(
        stderr(&out).contains("CRATE_ENV_TRUST_ALL"),
        "{}",
        stderr(&out)
    );
}

/// `member/crate-env.nix` holding `body`.
fn write_member(p: &Project, member: &str, body: &str) {
    p.write(
        &format!("{member}/crate-env.nix"),
        &format!("{{ pkgs, ... }}:\n{{\n{body}\n}}\n"),
    );
}

/// `show-var GEN` through the root's proxy, started in `dir`.
fn proxy_gen_in(p: &Project, dir: &str) -> (String, String) {
    let out = proxy(p, "show-var")
        .arg("GEN")
        .current_dir(p.root.join(dir))
        .output()
        .unwrap();
    assert_success(&out, &format!("proxy show-var GEN in {dir}"));
    (stdout(&out), stderr(&out))
}

#[test]
fn one_approval_covers_every_member_and_a_members_change_needs_another() {
    let mut p = Project::locked(&body("root"));
    write_member(&p, "member", "env.GEN = \"member-1\";");
    assert_success(&p.run(&["materialise", "--all"]), "materialise --all");
    let nix = NixCounter::install(&mut p);
    assert_eq!(proxy_gen_in(&p, "member").0, "member-1");
    assert_eq!(proxy_gen_in(&p, ".").0, "root");

    // A pull changes only the member's file: the member's proxy keeps the
    // old environment and starts no Nix; the root's is untouched.
    write_member(&p, "member", "env.GEN = \"member-2\";");
    let (value, err) = proxy_gen_in(&p, "member");
    assert_eq!(value, "member-1", "{err}");
    assert!(err.contains("member/crate-env.nix"), "{err}");
    assert!(err.contains("crate-env allow"), "{err}");
    assert_eq!(proxy_gen_in(&p, ".").0, "root");
    assert_eq!(nix.calls(), [] as [String; 0], "evaluated before approval");

    // One `allow` at the root approves the member too.
    assert_success(&p.run(&["allow"]), "allow");
    let (value, err) = proxy_gen_in(&p, "member");
    assert_eq!(value, "member-2", "{err}");
    assert!(!nix.calls().is_empty(), "the approved change was not built");
}
