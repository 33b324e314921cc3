//! `crate-env build` (issue 10), end to end on real Nix: vendored crates
//! fetched from crates.io, the pinned toolchains of the stand-in channels,
//! two layers, build-std for wasm, tests inside the build, a binary cache.

mod build_support;
mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::RwLock;

use build_support::{
    app_main, cargo_lock, git_dependency, stdout, unique, write_workspace, ANYHOW, ITOA,
};
use common::{assert_success, channels, stderr, Project};

/// The binary-cache test deletes store paths: it runs alone (write lock),
/// the other tests of this binary share the read lock.
static STORE: RwLock<()> = RwLock::new(());

fn stable() -> &'static str {
    channels().get("stable")
}

fn native_project(extra: &str) -> Project {
    Project::locked(&format!(
        "rust.channel = \"{}\";\n  packages = [ pkgs.pkg-config pkgs.zlib ];\n{extra}",
        stable()
    ))
}

fn build(p: &Project, args: &[&str]) -> Output {
    let mut all = vec!["-v", "build"];
    all.extend_from_slice(args);
    p.run(&all)
}

/// The one output path `build` printed.
fn output_path(out: &Output) -> PathBuf {
    let text = stdout(out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "stdout must hold only the output path: {text:?}"
    );
    assert!(lines[0].starts_with("/nix/store/"), "{text}");
    PathBuf::from(lines[0])
}

/// The dependency layer the last build used.
fn deps_layer(p: &Project) -> PathBuf {
    link(p, ".crate-env/gcroots/builds/default/out-2/deps")
}

fn link(p: &Project, rel: &str) -> PathBuf {
    fs::read_link(p.root.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// `Compiling NAME vX` lines of dependencies: vendored crates carry no path,
/// std's crates a store path; workspace crates their path in the build dir.
fn dependencies_compiled(log: &str) -> Vec<String> {
    log.lines()
        .map(str::trim)
        .filter(|l| l.starts_with("Compiling "))
        .filter(|l| !l.contains(" (") || l.contains(" (/nix/store/"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn build_runs_binaries_made_with_the_pinned_rustc_and_native_libraries() {
    let _store = STORE.read().unwrap();
    let p = native_project("");
    write_workspace(&p, &unique());
    p.write("junk.scratch", "ignored by .gitignore\n");
    let out = build(&p, &[]);
    assert_success(&out, "crate-env build");
    let output = output_path(&out);
    assert_eq!(link(&p, "result-default"), output);
    assert_eq!(link(&p, ".crate-env/gcroots/builds/default/out"), output);
    assert!(deps_layer(&p).exists());
    let err = stderr(&out);
    assert!(err.contains("built default:"), "{err}");
    assert!(!err.contains("cargo-auditable"), "{err}");

    let run = Command::new(output.join("bin/app")).output().unwrap();
    assert_success(&run, "the built app");
    let printed = stdout(&run);
    let exec = p.run(&["exec", "--", "rustc", "-vV"]);
    assert_success(&exec, "crate-env exec -- rustc -vV");
    let pinned = stdout(&exec);
    assert!(
        pinned.contains(&format!("release: {}", stable())),
        "{pinned}"
    );
    assert!(
        printed.starts_with(pinned.trim_end()),
        "built with\n{printed}\nbut the environment has\n{pinned}"
    );
    assert!(printed.contains("zlib 1."), "{printed}");

    // `status` lists the build; the sources left out what .gitignore ignores.
    let status = p.run(&["status", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["project"]["builds"][0]["name"], "default");
    let source = fs::read_to_string(p.root.join(".crate-env/build/args.json")).unwrap();
    assert!(!source.contains("junk.scratch"), "{source}");
    assert!(source.contains("app/src/main.rs"), "{source}");
}

#[test]
fn editing_a_workspace_source_rebuilds_no_dependency() {
    let _store = STORE.read().unwrap();
    let p = native_project("");
    write_workspace(&p, &unique());
    let first = build(&p, &[]);
    assert_success(&first, "first build");
    let deps = deps_layer(&p);
    let output = output_path(&first);

    let marker = unique();
    p.write("app/src/main.rs", &app_main(&marker));
    // A description is no dependency section either.
    let manifest = p.read("app/Cargo.toml");
    p.write(
        "app/Cargo.toml",
        &manifest.replace(
            "edition = \"2021\"\n",
            &format!("edition = \"2021\"\ndescription = \"{marker}\"\n"),
        ),
    );
    let second = build(&p, &[]);
    assert_success(&second, "build after an edit");
    let log = stderr(&second);
    assert_eq!(deps_layer(&p), deps, "{log}");
    assert_eq!(dependencies_compiled(&log), [] as [String; 0], "{log}");
    assert!(
        log.contains("Compiling app v0.1.0 ("),
        "the workspace was not rebuilt: {log}"
    );
    assert!(
        log.contains("0 dependency crates compiled; dependency layer reused"),
        "{log}"
    );
    let rebuilt = output_path(&second);
    assert_ne!(rebuilt, output);
    let run = Command::new(rebuilt.join("bin/app")).output().unwrap();
    assert!(stdout(&run).contains(&marker), "{}", stdout(&run));

    // A compile error is shown as the compiler gives it.
    p.write("util/src/lib.rs", "pub fn format(n: u64) -> String { n }\n");
    let out = p.run(&["build"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("error[E0308]: mismatched types"), "{err}");
    assert!(err.contains("util/src/lib.rs:1:"), "{err}");
}

#[test]
fn a_wasm_build_uses_build_std_offline_and_post_build() {
    let _store = STORE.read().unwrap();
    let p = Project::locked(&format!(
        r#"rust.channel = "{stable}";
  nightly = {{ date = "{nightly}"; components = [ "rust-src" ]; targets = [ "wasm32-unknown-unknown" ]; }};
  packages = [ pkgs.binaryen ];
  builds.wasm = {{
    toolchain = "nightly";
    target = "wasm32-unknown-unknown";
    buildStd = [ "std" "panic_abort" ];
    postBuild = "wasm-opt -Oz $out/lib/app_wasm.wasm -o $out/lib/app_wasm.opt.wasm";
  }};"#,
        stable = stable(),
        nightly = channels().get("nightly"),
    ));
    p.write(
        "Cargo.toml",
        "[package]\nname = \"app-wasm\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[lib]\ncrate-type = [\"cdylib\"]\n",
    );
    let marker = unique().len() as i32; // changes nothing but keeps the build honest
    p.write(
        "src/lib.rs",
        &format!(
            "#[no_mangle]\npub extern \"C\" fn add(a: i32, b: i32) -> i32 {{\n    \
             let v: Vec<i32> = vec![a, b, {marker} - {marker}];\n    v.iter().sum()\n}}\n"
        ),
    );
    p.write("Cargo.lock", &cargo_lock(&[("app-wasm", &[])], &[]));
    let lock = p.read("Cargo.lock");
    assert!(!lock.contains("compiler_builtins") && !lock.contains("hashbrown"));

    let out = build(&p, &["wasm"]);
    assert_success(&out, "crate-env build wasm");
    let output = output_path(&out);
    assert_eq!(link(&p, "result-wasm"), output);
    let wasm = output.join("lib/app_wasm.opt.wasm");
    assert!(wasm.is_file(), "postBuild wrote no {}", wasm.display());
    assert!(output.join("lib/app_wasm.wasm").is_file());
    let node = Command::new("node")
        .arg("-e")
        .arg(
            "const fs = require('fs');\
             WebAssembly.instantiate(fs.readFileSync(process.argv[1]))\
             .then(({ instance }) => console.log(instance.exports.add(2, 40)))",
        )
        .arg(&wasm)
        .output()
        .unwrap();
    assert_success(&node, "node");
    assert_eq!(stdout(&node).trim(), "42");
}

#[test]
fn check_runs_the_tests_inside_the_build_and_a_failing_test_fails_it() {
    let _store = STORE.read().unwrap();
    let p = native_project("  builds.tested = { check = true; package = \"util\"; };");
    write_workspace(&p, &unique());
    let marker = unique();
    p.write(
        "util/tests/marker.rs",
        &format!("#[test]\nfn marker() {{ assert!(!\"{marker}\".is_empty()); }}\n"),
    );
    let out = build(&p, &["tested"]);
    assert_success(&out, "crate-env build tested");
    let log = stderr(&out);
    assert!(log.contains("test marker ... ok"), "{log}");
    assert!(log.contains("test tests::formats ... ok"), "{log}");

    p.write(
        "util/tests/marker.rs",
        &format!(
            "#[test]\nfn marker() {{ assert_eq!(1 + 1, 3, \"deliberately broken {marker}\"); }}\n"
        ),
    );
    let out = p.run(&["build", "tested"]);
    assert!(!out.status.success(), "a failing test passed the build");
    let err = stderr(&out);
    assert!(
        err.contains(&format!("deliberately broken {marker}")),
        "{err}"
    );
    assert!(err.contains("build `tested` failed"), "{err}");
}

fn assert_nothing_written(p: &Project) {
    let results: Vec<_> = fs::read_dir(&p.root)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("result"))
        .collect();
    assert!(results.is_empty(), "{results:?}");
    let roots = p.root.join(".crate-env/gcroots/builds");
    let rooted: Vec<_> = fs::read_dir(&roots)
        .map(|d| d.filter_map(Result::ok).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(rooted.is_empty(), "{rooted:?}");
}

fn fails(p: &Project, args: &[&str]) -> String {
    let out = p.run(args);
    assert!(!out.status.success(), "crate-env {args:?} succeeded");
    assert_eq!(stdout(&out), "", "a failed build printed output paths");
    stderr(&out)
}

#[test]
fn an_unknown_field_in_a_build_is_named() {
    let _store = STORE.read().unwrap();
    let p = native_project("");
    write_workspace(&p, "bad");
    // crate-env.nix is checked as a whole (with every other problem), by the
    // re-lock `build` starts with.
    p.write_config(&format!(
        "rust.channel = \"{}\";\n  builds.typo = {{ tagret = \"wasm32-unknown-unknown\"; }};",
        stable()
    ));
    let err = fails(&p, &["build"]);
    assert!(
        err.contains("builds.typo: unknown field(s) tagret"),
        "{err}"
    );
    assert!(err.contains("known fields: toolchain"), "{err}");
    assert_nothing_written(&p);
}

#[test]
fn an_unknown_build_name_lists_the_builds() {
    let _store = STORE.read().unwrap();
    let p = native_project("  builds.app = { package = \"app\"; };");
    write_workspace(&p, "bad");
    let err = fails(&p, &["build", "nope"]);
    assert!(
        err.contains("unknown build `nope`; crate-env.nix has: app, default"),
        "{err}"
    );
    assert_nothing_written(&p);
}

#[test]
fn a_cargo_lock_out_of_date_says_cargo_update() {
    let _store = STORE.read().unwrap();
    let p = native_project("");
    write_workspace(&p, "bad");
    p.write(
        "util/Cargo.toml",
        "[package]\nname = \"util\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [dependencies]\nitoa = \"1\"\nryu = \"1\"\n",
    );
    let err = fails(&p, &["build"]);
    assert!(err.contains("Cargo.lock is out of date with"), "{err}");
    assert!(err.contains("util/Cargo.toml: dependency `ryu`"), "{err}");
    assert!(
        err.contains("cargo update") && err.contains("cargo generate-lockfile"),
        "{err}"
    );
    assert_nothing_written(&p);
}

#[test]
fn a_tampered_checksum_is_a_cargo_lock_checksum_mismatch() {
    let _store = STORE.read().unwrap();
    let p = native_project("");
    write_workspace(&p, "bad");
    let digits: String = unique().chars().filter(char::is_ascii_digit).collect();
    let tampered = format!("{digits:0>64}");
    p.write(
        "Cargo.lock",
        &p.read("Cargo.lock").replace(ITOA.2, &tampered),
    );
    let err = fails(&p, &["build"]);
    assert!(
        err.contains(&format!(
            "Cargo.lock checksum mismatch for itoa 1.0.18: Cargo.lock says {tampered}"
        )),
        "{err}"
    );
    assert!(
        err.contains(ITOA.2),
        "the real checksum is not shown: {err}"
    );
    assert_nothing_written(&p);
}

fn nix_store(p: &Project, args: &[&str]) -> Output {
    p.command("nix-store").args(args).output().unwrap()
}

fn query(p: &Project, args: &[&str]) -> Vec<String> {
    let out = nix_store(p, args);
    assert_success(&out, &format!("nix-store {}", args.join(" ")));
    stdout(&out).lines().map(str::to_owned).collect()
}

/// Deletes `paths` and whatever of their closures nothing else keeps alive.
fn delete_until_stuck(p: &Project, mut doomed: Vec<String>) {
    loop {
        let before = doomed.len();
        doomed.retain(|path| !nix_store(p, &["--delete", path]).status.success());
        if doomed.len() == before {
            break;
        }
    }
}

/// A signing key pair in `dir`: (secret key file, public key).
fn cache_key(p: &Project, dir: &Path) -> (PathBuf, String) {
    let (sk, pk) = (dir.join("sk"), dir.join("pk"));
    let name = format!("crate-env-build-test-{}", unique());
    let out = nix_store(
        p,
        &[
            "--generate-binary-cache-key",
            &name,
            sk.to_str().unwrap(),
            pk.to_str().unwrap(),
        ],
    );
    assert_success(&out, "generate-binary-cache-key");
    (sk, fs::read_to_string(&pk).unwrap().trim().to_owned())
}

#[test]
fn builds_are_substituted_from_a_pushed_cache() {
    let _store = STORE.write().unwrap_or_else(|e| e.into_inner());
    let keys = tempfile::tempdir().unwrap();
    let cache_dir = keys.path().join("cache");
    let mut p = Project::new();
    let (sk, public_key) = cache_key(&p, keys.path());
    let uri = format!("file://{}", cache_dir.display());
    // A unique variable: a dependency layer and output no other test shares.
    p.write_config(&format!(
        r#"rust.channel = "{stable}";
  packages = [ pkgs.pkg-config pkgs.zlib ];
  env.CACHE_TEST = "{unique}";
  nixConfig = {{ substituters = [ "{uri}" ]; trusted-public-keys = [ "{public_key}" ]; }};"#,
        stable = stable(),
        unique = unique(),
    ));
    p.lock();
    write_workspace(&p, &unique());
    let out = build(&p, &[]);
    assert_success(&out, "build");
    let output = output_path(&out);
    let deps = deps_layer(&p);
    let crates = link(&p, ".crate-env/gcroots/builds/default/out-2/crates");
    let push = p.run(&["cache", "push", &uri, "--secret-key", sk.to_str().unwrap()]);
    assert_success(&push, "cache push");
    let inputs = link(&p, ".crate-env/gcroots/builds/default/out-2");
    for path in [&output, &deps, &crates, &inputs] {
        let narinfo = cache_dir.join(format!("{}.narinfo", store_hash(path)));
        assert!(narinfo.is_file(), "{} was not pushed", path.display());
    }

    let mut doomed = vec![
        output.display().to_string(),
        inputs.display().to_string(),
        deps.display().to_string(),
    ];
    doomed.extend(query(
        &p,
        &["--query", "--requisites", crates.to_str().unwrap()],
    ));
    fs::remove_dir_all(p.root.join(".crate-env/gcroots/builds")).unwrap();
    fs::remove_file(p.root.join("result-default")).unwrap();
    delete_until_stuck(&p, doomed);
    assert!(
        !output.exists() && !deps.exists(),
        "the build is still in the store"
    );

    // Building is disabled: only substitution can bring the paths back.
    p.set_env("NIX_CONFIG", "max-jobs = 0\nnarinfo-cache-negative-ttl = 0");
    p.set_env(
        "XDG_CACHE_HOME",
        p.home.join("fresh-cache").to_str().unwrap(),
    );
    let out = build(&p, &[]);
    assert_success(&out, "build from the binary cache with max-jobs = 0");
    assert_eq!(output_path(&out), output);
    assert!(output.join("bin/app").is_file() && deps.exists());
}

fn store_hash(path: &Path) -> String {
    let base = path.file_name().unwrap().to_str().unwrap();
    base.split('-').next().unwrap().to_owned()
}

#[test]
fn git_dependencies_are_fetched_at_their_locked_rev() {
    let _store = STORE.read().unwrap();
    let p = native_project("");
    let marker = unique();
    write_workspace(&p, &marker);
    let (url, rev) = git_dependency(&p, &marker);
    p.write(
        "util/Cargo.toml",
        &format!(
            "[package]\nname = \"util\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
             [dependencies]\nitoa = \"1\"\ngd = {{ git = \"{url}\", branch = \"main\" }}\n"
        ),
    );
    p.write(
        "util/src/lib.rs",
        "pub fn format(n: u64) -> String {\n    format!(\"{} {}\", itoa::Buffer::new().format(n), gd::hello())\n}\n",
    );
    let lock = cargo_lock(
        &[("app", &["anyhow", "util"]), ("util", &["gd", "itoa"])],
        &[ANYHOW, ITOA],
    );
    p.write(
        "Cargo.lock",
        &format!(
            "{lock}\n[[package]]\nname = \"gd\"\nversion = \"0.2.0\"\n\
             source = \"git+{url}?branch=main#{rev}\"\n"
        ),
    );
    let out = build(&p, &[]);
    assert_success(&out, "build with a git dependency");
    let run = Command::new(output_path(&out).join("bin/app"))
        .output()
        .unwrap();
    assert!(
        stdout(&run).contains(&format!("42 hello from git {marker}")),
        "{}",
        stdout(&run)
    );
}
