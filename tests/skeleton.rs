//! Walking skeleton, end to end on real Nix: init, lock, materialise, and the
//! environment through exec / env print / env enter.

mod common;

use common::{
    assert_success, channel_line, channels, nix_string, stable, stderr, NixCounter, Project,
};
use std::fs;
use std::process::Command;

#[test]
fn lock_records_revs_and_sri_hashes_and_check_detects_edits() {
    let p = Project::new();
    assert_success(&p.run(&["init"]), "init");
    assert!(p.read("crate-env.nix").contains("rust"));
    assert!(p
        .read(".gitignore")
        .lines()
        .any(|l| l.trim() == ".crate-env/"));
    assert!(p.read(".envrc").contains("use crate_env"));

    p.write_config(&channel_line());
    p.lock();
    let lock: serde_json::Value = serde_json::from_str(&p.read("crate-env.lock")).unwrap();
    assert_eq!(lock["version"], 1);
    for input in ["nixpkgs", "rust-overlay"] {
        let i = &lock["inputs"][input];
        let rev = i["rev"]
            .as_str()
            .unwrap_or_else(|| panic!("{input} has no rev: {i}"));
        assert_eq!(rev.len(), 40, "{input} rev {rev}");
        assert!(rev.chars().all(|c| c.is_ascii_hexdigit()));
        let nar = i["narHash"].as_str().unwrap();
        assert!(
            nar.starts_with("sha256-") && nar.len() == 51,
            "{input} narHash {nar}"
        );
        assert!(i["lastModified"].as_u64().unwrap() > 1_000_000_000);
    }
    assert_eq!(lock["inputs"]["nixpkgs"]["type"], "tarball");
    assert_eq!(lock["inputs"]["rust-overlay"]["type"], "git");
    assert_eq!(lock["toolchains"]["stable"], stable());
    assert!(p.read("crate-env.lock").ends_with("}\n"));

    assert_success(&p.run(&["lock", "--check"]), "lock --check on a fresh lock");

    p.write_config(&format!("{}\n  env.EDITED = \"yes\";", channel_line()));
    let out = p.run(&["lock", "--check"]);
    assert!(
        !out.status.success(),
        "lock --check passed on an edited crate-env.nix"
    );
    let err = stderr(&out);
    assert!(
        err.contains("stale") && err.contains("crate-env.nix"),
        "{err}"
    );
}

fn write_crate(p: &Project, name: &str) {
    p.write(
        "Cargo.toml",
        &format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n"),
    );
}

#[test]
fn materialised_env_pins_rustc_and_links_a_native_library_through_pkg_config() {
    let p = Project::locked(&format!(
        "{}\n  packages = [ pkgs.pkg-config pkgs.zlib ];",
        channel_line()
    ));
    assert_success(&p.run(&["materialise"]), "materialise");

    let vv = p.sh("rustc -vV");
    assert!(vv.contains(&format!("release: {}", stable())), "{vv}");
    // rustc resolves to the project's proxy, which execs the pinned store rustc.
    let which = p.sh("command -v rustc");
    let proxy = p.root.join(".crate-env/bin/rustc");
    assert_eq!(
        which.trim_end(),
        proxy.display().to_string(),
        "rustc comes from {which}"
    );
    let sysroot = p.sh("rustc --print sysroot");
    assert!(
        sysroot.starts_with("/nix/store/"),
        "rustc runs from {sysroot}"
    );

    // The setup hook of pkg-config, not the host, makes zlib visible.
    let env = p.env_json();
    let pc_path = env
        .get("PKG_CONFIG_PATH")
        .expect("PKG_CONFIG_PATH exported");
    assert!(
        pc_path.contains("zlib") && pc_path.contains("/lib/pkgconfig"),
        "{pc_path}"
    );
    let out = p.run(&[
        "exec",
        "--",
        "sh",
        "-c",
        "unset PKG_CONFIG_PATH; pkg-config --exists zlib",
    ]);
    assert!(
        !out.status.success(),
        "zlib found without the setup hook's PKG_CONFIG_PATH"
    );

    common::write_zlib_crate(&p, "linkz");
    let run = p.sh("cargo run --quiet");
    let expected = format!("rustc {} ", stable());
    assert!(
        run.starts_with(&expected) && run.contains(" linked zlib 1."),
        "{run}"
    );
}

#[test]
fn coverage_tools_from_the_environment_report_on_the_crate() {
    let p = Project::locked(&format!("{}\n  coverage = true;", channel_line()));
    assert_success(&p.run(&["materialise"]), "materialise");
    let env = p.env_json();
    for var in ["LLVM_COV", "LLVM_PROFDATA"] {
        let v = env.get(var).unwrap_or_else(|| panic!("{var} not exported"));
        assert!(v.starts_with("/nix/store/"), "{var}={v}");
    }

    write_crate(&p, "covered");
    p.write(
        "src/lib.rs",
        "pub fn double(x: i32) -> i32 { x * 2 }\n\
         #[cfg(test)] mod tests { #[test] fn doubles() { assert_eq!(super::double(2), 4); } }\n",
    );
    p.sh(
        "RUSTFLAGS='-C instrument-coverage' LLVM_PROFILE_FILE=\"$PWD/prof/%p-%m.profraw\" \
         cargo test --quiet --lib",
    );
    let report = p.sh(r#"set -e
        "$LLVM_PROFDATA" merge -sparse prof/*.profraw -o merged.profdata
        bin=$(find target/debug/deps -maxdepth 1 -type f -perm -u+x -name 'covered-*' | head -n1)
        "$LLVM_COV" report --instr-profile merged.profdata --object "$bin""#);
    assert!(report.contains("src/lib.rs"), "{report}");
    assert!(report.contains("TOTAL"), "{report}");
}

#[test]
fn pinned_nightly_is_reachable_and_accepts_unstable_flags() {
    let nightly = channels().get("nightly");
    let p = Project::locked(&format!(
        "{}\n  nightly = {{ date = \"{nightly}\"; }};",
        channel_line()
    ));
    let lock: serde_json::Value = serde_json::from_str(&p.read("crate-env.lock")).unwrap();
    assert_eq!(lock["toolchains"]["nightly"], nightly);
    assert_success(&p.run(&["materialise"]), "materialise");

    let vv = p.sh("\"$CRATE_ENV_NIGHTLY/bin/rustc\" -vV");
    assert!(vv.contains("-nightly"), "{vv}");
    // A stable compiler refuses -Z flags; the nightly (or bootstrap) one takes them.
    p.sh("\"$CRATE_ENV_NIGHTLY/bin/rustc\" -Z unstable-options --print target-list >/dev/null");
    // The stable stays first on PATH.
    let vv = p.sh("rustc -vV");
    assert!(vv.contains(&format!("release: {}", stable())), "{vv}");
}

#[test]
fn cache_hit_starts_no_nix_process() {
    let mut p = Project::locked(&channel_line());
    let nix = NixCounter::install(&mut p);
    assert_success(&p.run(&["materialise"]), "first materialise");
    let first = nix.calls().len();
    assert!(first > 0, "the first materialise must build through Nix");

    assert_success(&p.run(&["materialise"]), "second materialise");
    p.env_json();
    for format in ["bash", "zsh", "fish"] {
        assert_success(&p.run(&["env", "print", "--format", format]), format);
    }
    p.sh("rustc --version");
    assert_eq!(
        nix.calls()[first..],
        [] as [String; 0],
        "cache hits started Nix"
    );

    // A content change is a miss: Nix runs again.
    p.write_config(&format!("{}\n  env.CHANGED = \"1\";", channel_line()));
    p.lock();
    let before = nix.calls().len();
    assert_success(&p.run(&["materialise"]), "materialise after a change");
    assert!(nix.calls().len() > before);
    assert_eq!(p.env_json().get("CHANGED").map(String::as_str), Some("1"));
}

/// Values that break naive quoting in at least one of the shells.
const NASTY: &[(&str, &str)] = &[
    ("SINGLE", "it's"),
    ("DOUBLE", "say \"hi\""),
    ("DOLLAR", "$HOME and ${HOME} and $(touch injected-subst)"),
    ("BACKTICK", "`touch injected-backtick`"),
    ("BACKSLASH", "a\\b\\\\c\\'"),
    ("NEWLINE", "line one\nline two\n"),
    ("FISHY", "(touch injected-fish) ; echo x"),
    ("UNICODE", "größe ✓"),
    ("EMPTY", ""),
];

#[test]
fn env_print_sourced_by_real_shells_matches_json() {
    let env_attrs: String = NASTY
        .iter()
        .map(|(k, v)| format!("    {k} = {};\n", nix_string(v)))
        .collect();
    let p = Project::locked(&format!(
        "{}\n  packages = [ pkgs.pkg-config pkgs.zlib ];\n  env = {{\n{env_attrs}  }};",
        channel_line()
    ));
    let expected = p.env_json();
    for (k, v) in NASTY {
        assert_eq!(
            expected.get(*k).map(String::as_str),
            Some(*v),
            "json value of {k}"
        );
    }
    for (shell, got) in common::env_loaded_by_real_shells(&p) {
        for (k, v) in &expected {
            assert_eq!(got.get(k), Some(v), "{shell}: variable {k}");
        }
    }
    for f in ["injected-subst", "injected-backtick", "injected-fish"] {
        assert!(!p.root.join(f).exists(), "a value ran a command: {f}");
    }
}

#[test]
fn env_enter_runs_shell_hook_and_passes_exit_code() {
    let p = Project::locked(&format!(
        "{}\n  shellHook = ''export HOOKED=from-hook'';",
        channel_line()
    ));
    let out = p.run(&[
        "env",
        "enter",
        "--",
        "sh",
        "-c",
        "echo \"$HOOKED\"; rustc --version; exit 7",
    ]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("from-hook\n"), "{stdout}");
    assert!(stdout.contains(&format!("rustc {}", stable())), "{stdout}");
    // exec never runs the shellHook.
    assert_eq!(p.sh("echo \"${HOOKED:-unset}\""), "unset\n");
}

#[test]
fn syntax_error_quotes_nix_and_keeps_lock_and_last_good_cache() {
    let p = Project::locked(&channel_line());
    assert_success(&p.run(&["materialise"]), "materialise");
    let lock_before = p.read("crate-env.lock");
    let cache_before = p.read(".crate-env/env.json");

    p.write(
        "crate-env.nix",
        "{ pkgs, ... }:\n{\n  rust.channel = \"1.95.0\"\n  coverage = true;\n}\n",
    );
    for args in [&["materialise"][..], &["lock"][..]] {
        let out = p.run(args);
        assert!(
            !out.status.success(),
            "{args:?} succeeded on a syntax error"
        );
        let err = stderr(&out);
        assert!(err.contains("syntax error"), "{args:?}: {err}");
        assert!(
            err.contains("crate-env.nix:4"),
            "{args:?} does not name file and line: {err}"
        );
        assert_eq!(
            p.read("crate-env.lock"),
            lock_before,
            "{args:?} touched the lock"
        );
        assert_eq!(
            p.read(".crate-env/env.json"),
            cache_before,
            "{args:?} touched the cache"
        );
    }
    // The last good environment is still served, with a warning.
    let out = p.run(&["env", "print", "--format", "json"]);
    assert_success(&out, "env print with a broken crate-env.nix");
    assert!(stderr(&out).contains("syntax error"), "{}", stderr(&out));
    leaves_no_temp_files(&p);
}

#[test]
fn concurrent_materialise_runs_leave_one_consistent_cache() {
    let mut p = Project::locked(&channel_line());
    let nix = NixCounter::install(&mut p);
    let children: Vec<_> = (0..3)
        .map(|_| p.crate_env().arg("materialise").spawn().unwrap())
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    // One build served every caller: the others waited for the state lock
    // and found its cache.
    let builds: Vec<String> = nix
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("nix-build "))
        .collect();
    assert_eq!(builds.len(), 1, "{builds:#?}");
    let cache: serde_json::Value = serde_json::from_str(&p.read(".crate-env/env.json")).unwrap();
    assert!(cache["vars"]["PATH"]
        .as_str()
        .unwrap()
        .contains("/nix/store/"));
    serde_json::from_str::<serde_json::Value>(&p.read("crate-env.lock")).unwrap();
    leaves_no_temp_files(&p);
}

/// No temporary file of an atomic write (`.crate-env-tmp*`), of the Nix
/// library's extraction (`.tmp-lib*`) or of a proxy link (`.tmp-*`) is left
/// in the project or anywhere in `.crate-env/`.
fn leaves_no_temp_files(p: &Project) {
    let state = p.root.join(".crate-env");
    let dirs = [
        p.root.clone(),
        state.clone(),
        state.join("lib"),
        state.join("bin"),
        state.join("gcroots"),
    ];
    for dir in dirs.iter().filter(|d| d.is_dir()) {
        for entry in fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            assert!(
                !name.starts_with(".crate-env-tmp") && !name.starts_with(".tmp"),
                "temp file left behind in {}: {name}",
                dir.display()
            );
        }
    }
}

#[test]
fn gc_roots_cover_toolchains_env_and_sources() {
    let p = Project::locked(&channel_line());
    assert_success(&p.run(&["materialise"]), "materialise");
    for root in ["env", "stable", "nixpkgs", "rust-overlay"] {
        let link = p.root.join(".crate-env/gcroots").join(root);
        let target = fs::read_link(&link).unwrap_or_else(|_| panic!("no GC root {root}"));
        assert!(
            target.starts_with("/nix/store/"),
            "{root} -> {}",
            target.display()
        );
        let out = Command::new("nix-store")
            .args(["--query", "--roots"])
            .arg(&target)
            .env("NIX_USER_CONF_FILES", channels().get("nix-conf"))
            .output()
            .unwrap();
        let roots = String::from_utf8_lossy(&out.stdout);
        assert!(
            roots.contains(&link.display().to_string()),
            "{root}: {roots}"
        );
    }
}
