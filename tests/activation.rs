//! Activation everywhere (issue 4), end to end on real Nix and real direnv:
//! `use crate_env` in an isolated HOME, and the proxies in `.crate-env/bin`
//! run from a plain shell.

mod common;

use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

use common::{assert_success, channel_line, channels, stable, stderr, NixCounter, Project, Prompt};

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// direnv only notices a watched file whose mtime (in whole seconds) changed,
/// so each simulated edit lands `secs` seconds in the future instead of
/// sleeping.
fn set_mtime_ahead(path: &Path, secs: u64) {
    let file = fs::File::options().append(true).open(path).unwrap();
    file.set_modified(SystemTime::now() + Duration::from_secs(secs))
        .unwrap();
}

#[test]
fn direnv_loads_the_pinned_env_reloads_on_edit_and_touch_does_not_evaluate() {
    let mut p = Project::locked(&channel_line());
    // The user's own edits are evaluated without `crate-env allow` (docs/trust.md).
    p.trust_as_own_code();
    let nix = NixCounter::install(&mut p);
    let mut prompt = Prompt::new(&p);

    // `direnv exec` evaluates the .envrc from scratch: the first load materialises.
    let out = prompt
        .command("direnv")
        .args(["exec", ".", "rustc", "-vV"])
        .output()
        .unwrap();
    assert_success(&out, "direnv exec . rustc -vV");
    let vv = stdout(&out);
    assert!(vv.contains(&format!("release: {}", stable())), "{vv}");
    assert!(!nix.calls().is_empty(), "the first load must materialise");

    let (changed, _) = prompt.load();
    assert!(changed);
    let vv = prompt.sh("rustc -vV");
    assert!(vv.contains(&format!("release: {}", stable())), "{vv}");
    let root = p.root.display().to_string();
    assert_eq!(prompt.var("CRATE_ENV_ROOT"), Some(root.as_str()));
    let path = prompt.var("PATH").unwrap();
    assert!(
        path.starts_with(&format!("{root}/.crate-env/bin:")),
        "{path}"
    );
    assert_eq!(prompt.var("CRATE_ENV_STALE"), None);
    // `cargo +nightly` inside direnv goes through the proxy.
    assert_eq!(
        prompt.sh("command -v cargo").trim_end(),
        format!("{root}/.crate-env/bin/cargo")
    );

    // Nothing changed: direnv does not even reload.
    let calls = nix.calls().len();
    assert!(!prompt.load().0);

    // An edit reloads and evaluates.
    p.write_config(&format!("{}\n  env.EDITED = \"yes\";", channel_line()));
    set_mtime_ahead(&p.root.join("crate-env.nix"), 2);
    let (changed, _) = prompt.load();
    assert!(changed, "editing crate-env.nix did not reload");
    assert_eq!(prompt.var("EDITED"), Some("yes"));
    assert!(nix.calls().len() > calls, "the edit was not evaluated");

    touching_the_inputs_evaluates_nothing(&p, &mut prompt, &nix);
}

/// `touch` (and a checkout rewriting the same bytes): direnv reloads, but
/// crate-env compares contents and evaluates nothing.
fn touching_the_inputs_evaluates_nothing(p: &Project, prompt: &mut Prompt<'_>, nix: &NixCounter) {
    let calls = nix.calls().len();
    set_mtime_ahead(&p.root.join("crate-env.nix"), 4);
    assert!(prompt.load().0, "direnv did not notice the touch");
    let same = p.read("crate-env.nix");
    fs::remove_file(p.root.join("crate-env.nix")).unwrap();
    p.write("crate-env.nix", &same);
    set_mtime_ahead(&p.root.join("crate-env.nix"), 6);
    prompt.load();
    set_mtime_ahead(&p.root.join("crate-env.lock"), 8);
    prompt.load();
    assert_eq!(nix.calls()[calls..], [] as [String; 0], "touch evaluated");
    assert_eq!(prompt.var("EDITED"), Some("yes"));
    assert!(!prompt.load().0, "direnv keeps reloading after a touch");
}

/// `strace -f` of one full direnv load: the programs it executes.
fn programs_run_by_a_load(p: &Project, dir: &Path) -> Vec<String> {
    let log = p.home.join("strace.log");
    let out = p
        .command("strace")
        .args(["-f", "-qq", "-e", "trace=execve", "-o"])
        .arg(&log)
        .args(["direnv", "export", "json"])
        .current_dir(dir)
        .output()
        .expect("strace (apt-get install strace)");
    assert_success(&out, "strace direnv export json");
    let text = fs::read_to_string(&log).unwrap();
    text.lines()
        .filter(|l| l.contains("execve(") && !l.contains("resumed"))
        .filter_map(|l| l.split('"').nth(1).map(str::to_owned))
        .collect()
}

#[test]
fn a_cache_hit_load_runs_no_more_programs_than_a_one_export_envrc() {
    let mut p = Project::locked(&channel_line());
    let nix = NixCounter::install(&mut p);
    let mut prompt = Prompt::new(&p);
    prompt.load_env();
    let calls = nix.calls().len();

    let plain = p.home.join("plain");
    fs::create_dir_all(&plain).unwrap();
    fs::write(plain.join(".envrc"), "export PLAIN=1\n").unwrap();
    let out = p
        .command("direnv")
        .arg("allow")
        .current_dir(&plain)
        .output()
        .unwrap();
    assert_success(&out, "direnv allow plain");

    // Right after materialising, the inputs may still be within the stamp's
    // safety margin (one content comparison); from then on, pure cache hits.
    programs_run_by_a_load(&p, &p.root);
    let ours = programs_run_by_a_load(&p, &p.root);
    let baseline = programs_run_by_a_load(&p, &plain);
    assert!(!baseline.is_empty());
    assert_eq!(
        ours, baseline,
        "use crate_env on a cache hit ran programs a one-export .envrc does not"
    );
    assert_eq!(nix.calls().len(), calls, "a cache hit started Nix");
}

#[test]
fn a_broken_config_keeps_the_last_good_env_shows_nix_error_and_is_evaluated_once() {
    let mut p = Project::locked(&channel_line());
    // The user's own edits are evaluated without `crate-env allow` (docs/trust.md).
    p.trust_as_own_code();
    let nix = NixCounter::install(&mut p);
    let mut prompt = Prompt::new(&p);
    prompt.load_env();
    assert_eq!(prompt.var("CRATE_ENV_STALE"), None);

    p.write(
        "crate-env.nix",
        &format!(
            "{{ pkgs, ... }}:\n{{\n  {}\n  coverage = true\n}}\n",
            channel_line()
        ),
    );
    set_mtime_ahead(&p.root.join("crate-env.nix"), 2);
    let calls = nix.calls().len();
    let (changed, err) = prompt.load();
    assert!(changed);
    assert!(
        nix.calls().len() > calls,
        "the broken config was not evaluated"
    );
    assert!(err.contains("syntax error"), "Nix's error is hidden: {err}");
    assert!(err.contains("crate-env.nix:5"), "no file:line in {err}");
    assert!(err.contains("CRATE_ENV_STALE=1"), "{err}");
    assert_eq!(prompt.var("CRATE_ENV_STALE"), Some("1"));
    let vv = prompt.sh("rustc -vV");
    assert!(vv.contains(&format!("release: {}", stable())), "{vv}");

    // Loads until the input changes evaluate nothing, and keep saying why.
    let calls = nix.calls().len();
    for secs in [4, 6] {
        set_mtime_ahead(&p.root.join("crate-env.nix"), secs);
        let (_, err) = prompt.load();
        assert!(err.contains("syntax error"), "{err}");
        assert_eq!(prompt.var("CRATE_ENV_STALE"), Some("1"));
    }
    // Proxies do not evaluate the same broken input either.
    let out = p
        .command(p.root.join(".crate-env/bin/rustc"))
        .arg("--version")
        .output()
        .unwrap();
    assert_success(&out, "proxy with a broken config");
    assert!(stderr(&out).contains("syntax error"), "{}", stderr(&out));
    assert_eq!(nix.calls()[calls..], [] as [String; 0], "re-evaluated");

    // Fixed: fresh again.
    p.write_config(&format!("{}\n  env.FIXED = \"1\";", channel_line()));
    set_mtime_ahead(&p.root.join("crate-env.nix"), 8);
    let (_, err) = prompt.load();
    assert!(!err.contains("syntax error"), "{err}");
    assert_eq!(prompt.var("CRATE_ENV_STALE"), None);
    assert_eq!(prompt.var("FIXED"), Some("1"));
}

#[test]
fn a_first_load_that_fails_still_watches_the_inputs_so_the_fix_reloads() {
    let p = Project::locked(&channel_line());
    // The user's own edits are evaluated without `crate-env allow` (docs/trust.md).
    p.trust_as_own_code();
    let mut prompt = Prompt::new(&p);
    p.write(
        "crate-env.nix",
        &format!(
            "{{ pkgs, ... }}:\n{{\n  {}\n  coverage = true\n}}\n",
            channel_line()
        ),
    );
    set_mtime_ahead(&p.root.join("crate-env.nix"), 2);
    let (_, err) = prompt.load();
    assert!(err.contains("syntax error"), "Nix's error is hidden: {err}");
    assert_eq!(prompt.var("CRATE_ENV_ROOT"), None, "{err}");

    // The user fixes crate-env.nix: the very next prompt loads it.
    p.write_config(&format!("{}\n  env.FIXED = \"1\";", channel_line()));
    set_mtime_ahead(&p.root.join("crate-env.nix"), 4);
    prompt.load_env();
    assert_eq!(prompt.var("FIXED"), Some("1"));
    let (changed, err) = prompt.load();
    assert!(!changed, "direnv keeps reloading after the fix: {err}");
}

#[test]
fn an_edit_whose_mtime_goes_backwards_is_loaded_once() {
    let mut p = Project::locked(&format!("{}\n  env.GEN = \"1\";", channel_line()));
    // The user's own edits are evaluated without `crate-env allow` (docs/trust.md).
    p.trust_as_own_code();
    let nix = NixCounter::install(&mut p);
    let mut prompt = Prompt::new(&p);
    prompt.load_env();
    assert_eq!(prompt.var("GEN"), Some("1"));

    // `cp -p` of an older file: new contents, an mtime in the past.
    p.write_config(&format!("{}\n  env.GEN = \"2\";", channel_line()));
    let file = fs::File::options()
        .append(true)
        .open(p.root.join("crate-env.nix"))
        .unwrap();
    file.set_modified(SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
    let (changed, err) = prompt.load();
    assert!(changed, "direnv did not notice the change: {err}");
    assert_eq!(
        prompt.var("GEN"),
        Some("2"),
        "the old environment was kept: {err}"
    );
    let calls = nix.calls().len();
    for _ in 0..2 {
        let (changed, err) = prompt.load();
        assert!(!changed, "direnv re-runs .envrc at every prompt: {err}");
    }
    assert_eq!(nix.calls().len(), calls, "a settled load started Nix");
}

const SCRIPTS: &str = r#"
    (pkgs.writeShellScriptBin "show-var" "printf '%s' \"\${!1-unset}\"")
    (pkgs.writeShellScriptBin "exit-with" "exit \"$1\"")
    (pkgs.writeShellScriptBin "kill-self" "kill -s \"$1\" $$")
"#;

fn proxy(p: &Project, name: &str) -> Command {
    p.command(p.root.join(".crate-env/bin").join(name))
}

#[test]
fn proxies_from_a_plain_shell_build_with_the_pinned_toolchain_and_packages() {
    let nightly = channels().get("nightly");
    let mut p = Project::locked(&format!(
        "{}\n  nightly.date = \"{nightly}\";\n  packages = [ pkgs.pkg-config pkgs.zlib {SCRIPTS} ];",
        channel_line()
    ));
    assert_success(&p.run(&["materialise"]), "materialise");
    let nix = NixCounter::install(&mut p);
    for name in [
        "cargo",
        "rustc",
        "rust-analyzer",
        "llvm-cov",
        "pkg-config",
        "show-var",
    ] {
        let link = p.root.join(".crate-env/bin").join(name);
        assert!(fs::symlink_metadata(&link).is_ok(), "no proxy {name}");
    }

    common::write_zlib_crate(&p, "native");
    let out = proxy(&p, "cargo")
        .args(["build", "--quiet"])
        .output()
        .unwrap();
    assert_success(&out, ".crate-env/bin/cargo build");
    let run = Command::new(p.root.join("target/debug/native"))
        .output()
        .unwrap();
    let text = stdout(&run);
    assert!(
        text.starts_with(&format!("rustc {} ", stable())) && text.contains("linked zlib 1."),
        "{text}"
    );
    assert_eq!(nix.calls(), [] as [String; 0], "a cache hit started Nix");
    the_nightly_answers_plus_nightly(&p);
    proxies_outside_a_project_fail(&p);
}

/// `+nightly`: the pinned nightly answers, for the proxy and what it runs.
fn the_nightly_answers_plus_nightly(p: &Project) {
    let out = proxy(p, "cargo")
        .args(["+nightly", "--version"])
        .output()
        .unwrap();
    assert_success(&out, "cargo +nightly --version");
    let via_proxy = stdout(&out);
    let nightly_dir = p.env_json()["CRATE_ENV_NIGHTLY"].clone();
    let direct = Command::new(format!("{nightly_dir}/bin/cargo"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(via_proxy.contains("-nightly"), "{via_proxy}");
    assert_eq!(via_proxy, stdout(&direct));
    let out = proxy(p, "rustc")
        .arg("-vV")
        .env("CRATE_ENV_TOOLCHAIN", "nightly")
        .output()
        .unwrap();
    assert!(stdout(&out).contains("-nightly"), "{}", stdout(&out));
    let out = proxy(p, "show-var")
        .args(["+nightly", "CRATE_ENV_TOOLCHAIN"])
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "nightly", "{}", stderr(&out));
    let out = proxy(p, "rustc").args(["+beta", "-V"]).output().unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("+beta"), "{}", stderr(&out));
}

/// Outside any project: an error, never another toolchain.
fn proxies_outside_a_project_fail(p: &Project) {
    let out = proxy(p, "cargo")
        .arg("--version")
        .current_dir(&p.home)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(stdout(&out), "");
    assert!(
        stderr(&out).contains("no crate-env.nix"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_stale_proxy_materialises_first_or_with_offline_uses_the_last_good_env() {
    let mut p = Project::locked(&format!("{}\n  packages = [ {SCRIPTS} ];", channel_line()));
    // The user's own edits are evaluated without `crate-env allow` (docs/trust.md).
    p.trust_as_own_code();
    assert_success(&p.run(&["materialise"]), "materialise");
    let nix = NixCounter::install(&mut p);
    let show = |p: &Project, offline: bool| {
        let mut cmd = proxy(p, "show-var");
        cmd.arg("ADDED");
        if offline {
            cmd.env("CRATE_ENV_OFFLINE", "1");
        }
        cmd.output().unwrap()
    };
    assert_eq!(stdout(&show(&p, false)), "unset");

    p.write_config(&format!(
        "{}\n  packages = [ {SCRIPTS} ];\n  env.ADDED = \"new\";",
        channel_line()
    ));
    let out = show(&p, true);
    assert_success(&out, "offline proxy");
    assert_eq!(stdout(&out), "unset");
    assert!(
        stderr(&out).contains("CRATE_ENV_OFFLINE"),
        "{}",
        stderr(&out)
    );
    assert_eq!(nix.calls(), [] as [String; 0], "offline started Nix");

    let out = show(&p, false);
    assert_success(&out, "stale proxy");
    assert_eq!(stdout(&out), "new");
    assert!(stderr(&out).contains("materialising"), "{}", stderr(&out));
    assert!(!nix.calls().is_empty());
}

#[test]
fn exit_codes_and_signals_pass_through_the_proxies() {
    let p = Project::locked(&format!("{}\n  packages = [ {SCRIPTS} ];", channel_line()));
    assert_success(&p.run(&["materialise"]), "materialise");

    let status = |args: &[&str]| {
        proxy(&p, args[0])
            .args(&args[1..])
            .stderr(Stdio::null())
            .status()
            .unwrap()
    };
    assert_eq!(status(&["exit-with", "42"]).code(), Some(42));
    assert_eq!(status(&["exit-with", "0"]).code(), Some(0));
    assert_eq!(status(&["kill-self", "TERM"]).signal(), Some(15));
    assert_eq!(status(&["kill-self", "KILL"]).signal(), Some(9));
    // The same status as the pinned rustc gives for a bad flag.
    let env = p.env_json();
    let store_rustc = env["PATH"]
        .split(':')
        .map(|d| PathBuf::from(d).join("rustc"))
        .find(|r| r.starts_with("/nix/store") && r.exists())
        .unwrap();
    let direct = Command::new(&store_rustc)
        .arg("--no-such-flag")
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status(&["rustc", "--no-such-flag"]).code(), direct.code());
    // The waiting shell sees what it would see for the real binary.
    let bin = p.root.join(".crate-env/bin");
    let script = format!(
        "'{0}/kill-self' TERM; a=$?; '{0}/exit-with' 3; b=$?; echo \"$a $b\"",
        bin.display()
    );
    let out = p.command("sh").arg("-c").arg(script).output().unwrap();
    assert_eq!(stdout(&out), "143 3\n");
    a_signal_reaches_the_rustc_the_proxy_became(&p);
}

/// exec, no fork: the proxy's pid becomes rustc itself, so a signal sent
/// to that pid reaches rustc (SIGTERM: rustc turns SIGINT into exit 1).
fn a_signal_reaches_the_rustc_the_proxy_became(p: &Project) {
    let mut child = proxy(p, "rustc")
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let exe = format!("/proc/{}/exe", child.id());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let target = fs::read_link(&exe).unwrap_or_default();
        if target.starts_with("/nix/store") {
            assert_eq!(target.file_name().unwrap(), "rustc");
            break;
        }
        assert!(Instant::now() < deadline, "the proxy never became rustc");
        std::thread::sleep(Duration::from_millis(10));
    }
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(15), "{status:?}");
}

#[test]
fn proxies_inside_the_environment_keep_the_callers_variables() {
    let p = Project::locked(&format!(
        "{}\n  packages = [ pkgs.zlib {SCRIPTS} ];\n  env.FROM_ENV = \"env\";",
        channel_line()
    ));
    assert_success(&p.run(&["materialise"]), "materialise");
    // From a plain shell the proxy applies the whole environment...
    let out = proxy(&p, "show-var").arg("FROM_ENV").output().unwrap();
    assert_eq!(stdout(&out), "env", "{}", stderr(&out));
    // ...inside it, what the user changed stays changed.
    let got = p.sh("FROM_ENV=mine show-var FROM_ENV; echo; unset FROM_ENV; show-var FROM_ENV");
    assert_eq!(got, "mine\nunset");
}
