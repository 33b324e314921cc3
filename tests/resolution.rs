//! Toolchain resolution at lock time (issue #3): channels, `nightly.date =
//! "auto"`, pruned nightlies and snapshot tags, typos, `update`, and the wasm
//! pipeline a project runs with the resolved nightly. Real Nix against the
//! stand-in channels (docs/nix-surface.md).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{assert_success, channels, stderr, Project};

const WASM: &str = "wasm32-unknown-unknown";

fn lock_json(p: &Project) -> serde_json::Value {
    serde_json::from_str(&p.read("crate-env.lock")).unwrap()
}

fn toolchain(p: &Project, which: &str) -> String {
    lock_json(p)["toolchains"][which]
        .as_str()
        .unwrap_or_else(|| panic!("no toolchains.{which} in\n{}", p.read("crate-env.lock")))
        .to_owned()
}

/// `git+URL?ref=master` → the same repository at `refs/tags/TAG`.
fn overlay_at_tag(tag: &str) -> String {
    let master = channels().get("rust-overlay");
    let base = master.split_once('?').unwrap().0;
    format!("{base}?ref=refs/tags/{tag}")
}

fn lock_with(p: &Project, overlay: &str) -> std::process::Output {
    p.run(&[
        "lock",
        "--nixpkgs",
        channels().get("nixpkgs"),
        "--rust-overlay",
        overlay,
    ])
}

#[test]
fn stable_and_minor_channels_resolve_against_the_pinned_overlay() {
    let c = channels();
    let p = Project::new();
    p.write_config("rust.channel = \"stable\";");
    let out = lock_with(&p, c.get("rust-overlay"));
    assert_success(&out, "lock stable");
    assert_eq!(toolchain(&p, "stable"), c.get("stable-latest"));
    assert!(
        stderr(&out).contains("the newest stable the pinned rust-overlay has"),
        "{}",
        stderr(&out)
    );

    // A minor: the newest patch release of it (1.94.1, not 1.94.0).
    p.write_config("rust.channel = \"1.94\";");
    assert_success(&p.run(&["lock"]), "lock 1.94");
    assert_eq!(toolchain(&p, "stable"), "1.94.1");

    // An older overlay pin changes what both resolve to.
    let snapshot = overlay_at_tag(c.get("rust-overlay-snapshot"));
    assert_success(&lock_with(&p, &snapshot), "lock 1.94 on the snapshot");
    assert_eq!(toolchain(&p, "stable"), "1.94.0");
    p.write_config("rust.channel = \"stable\";");
    assert_success(&p.run(&["lock"]), "lock stable on the snapshot");
    assert_eq!(toolchain(&p, "stable"), "1.94.0");

    // A minor the overlay lacks names what it has.
    p.write_config("rust.channel = \"1.75\";");
    let out = p.run(&["lock"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("no 1.75.x stable") && err.contains("1.93.0, 1.94.0"),
        "{err}"
    );
}

#[test]
fn auto_nightly_is_the_newest_before_the_branch_point_with_the_requested_target() {
    let c = channels();
    let p = Project::new();
    p.write_config(&format!(
        "rust.channel = \"stable\";\n  nightly = {{ date = \"auto\"; targets = [ \"{WASM}\" ]; components = [ \"rust-src\" ]; }};"
    ));
    p.lock();
    assert_eq!(toolchain(&p, "nightly"), c.get("nightly"));
    // `lock` explains the choice, including the dates it passed over.
    let out = p.run(&["lock"]);
    assert_success(&out, "relock");
    let err = stderr(&out);
    assert!(err.contains("branch point 2026-03-05"), "{err}");
    assert!(err.contains("1.95.0 released 2026-04-16"), "{err}");
    assert!(
        err.contains("2026-02-26 (lacks wasm32-unknown-unknown)"),
        "{err}"
    );
    assert!(
        err.contains("2026-03-03 (lacks wasm32-unknown-unknown, rust-src)"),
        "{err}"
    );

    // Nothing requested: simply the newest nightly before the branch point.
    p.write_config("rust.channel = \"stable\";\n  nightly.date = \"auto\";");
    assert_success(&p.run(&["lock"]), "lock auto without requirements");
    assert_eq!(toolchain(&p, "nightly"), "2026-03-03");

    // An older stable has an older branch point (1.94.0 released 2026-03-05).
    p.write_config(&format!(
        "rust.channel = \"1.94\";\n  nightly = {{ date = \"auto\"; targets = [ \"{WASM}\" ]; }};"
    ));
    assert_success(&p.run(&["lock"]), "lock auto for 1.94");
    assert_eq!(toolchain(&p, "nightly"), "2026-01-15");
}

/// The line after "pin it with:" in the hint.
fn suggested_command(err: &str) -> String {
    let mut lines = err.lines();
    lines
        .find(|l| l.ends_with("pin it with:"))
        .unwrap_or_else(|| panic!("no suggestion in\n{err}"));
    lines.next().unwrap().trim().to_owned()
}

/// Runs a suggested command line through sh, with this crate-env on PATH.
fn run_suggestion(p: &Project, command: &str) -> std::process::Output {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_crate-env")).parent().unwrap();
    p.command("sh")
        .args(["-c", command])
        .env("PATH", format!("{}:{}", bin_dir.display(), p.path))
        .output()
        .unwrap()
}

#[test]
fn a_pruned_nightly_names_the_nearest_dates_and_a_snapshot_that_works() {
    let c = channels();
    let pruned = c.get("nightly-pruned");
    let p = Project::new();
    p.write_config(&format!(
        "rust.channel = \"stable\";\n  nightly = {{ date = \"{pruned}\"; targets = [ \"{WASM}\" ]; components = [ \"rust-src\" ]; }};"
    ));
    let out = lock_with(&p, c.get("rust-overlay"));
    assert!(!out.status.success(), "locking a pruned nightly succeeded");
    assert!(!p.root.join("crate-env.lock").exists());
    let err = stderr(&out);
    assert!(
        err.contains("nearest dates it has: 2026-01-15, 2026-02-05"),
        "{err}"
    );
    assert!(err.contains("purged"), "{err}");
    let command = suggested_command(&err);
    let tag = c.get("rust-overlay-snapshot");
    assert_eq!(
        command,
        format!(
            "crate-env lock --nixpkgs {} --rust-overlay '{}'",
            c.get("nixpkgs"),
            overlay_at_tag(tag)
        )
    );

    let out = run_suggestion(&p, &command);
    assert_success(&out, &command);
    assert_eq!(toolchain(&p, "nightly"), pruned);
    assert_eq!(toolchain(&p, "stable"), "1.94.0");
    let spec = lock_json(&p)["inputs"]["rust-overlay"]["spec"].clone();
    assert_eq!(spec, overlay_at_tag(tag));

    // A snapshot that has the nightly but not the pinned stable: said so.
    let p = Project::new();
    p.write_config(&format!(
        "rust.channel = \"{}\";\n  nightly.date = \"{pruned}\";",
        c.get("stable")
    ));
    let out = lock_with(&p, c.get("rust-overlay"));
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains(&format!("tag `{tag}` still has nightly {pruned}, but with it: rust.channel = \"1.95.0\" is not a stable version")),
        "{err}"
    );
}

#[test]
fn a_pruned_nightly_on_a_github_spec_suggests_the_github_tag() {
    let c = channels();
    let mut p = Project::new();
    p.set_env("CRATE_ENV_GITHUB_GIT_BASE", c.get("github-base"));
    p.set_env("CRATE_ENV_GITHUB_ARCHIVE_BASE", c.get("github-base"));
    p.write_config(&format!(
        "rust.channel = \"1.94\";\n  nightly.date = \"{}\";",
        c.get("nightly-pruned")
    ));
    let out = lock_with(&p, "github:oxalica/rust-overlay/master");
    assert!(!out.status.success());
    let command = suggested_command(&stderr(&out));
    assert!(
        command.ends_with(&format!(
            " --rust-overlay github:oxalica/rust-overlay/{}",
            c.get("rust-overlay-snapshot")
        )),
        "{command}"
    );
    assert_success(&run_suggestion(&p, &command), &command);
    assert_eq!(toolchain(&p, "nightly"), c.get("nightly-pruned"));
}

#[test]
fn typos_fail_with_the_valid_names_and_a_suggestion() {
    let p = Project::new();
    p.write_config(
        "rust.channel = \"stable\";\n  nightly = { date = \"auto\"; targets = [ \"wasm32-unknown-unknwon\" ]; };",
    );
    let out = lock_with(&p, channels().get("rust-overlay"));
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("`wasm32-unknown-unknwon` is not a target"),
        "{err}"
    );
    assert!(
        err.contains("available targets: wasm32-unknown-unknown, x86_64-unknown-linux-gnu"),
        "{err}"
    );
    assert!(
        err.contains("hint: did you mean `wasm32-unknown-unknown`?"),
        "{err}"
    );
    assert!(!p.root.join("crate-env.lock").exists());

    p.write_config("rust.channel = \"stable\";\n  rust.components = [ \"clipy\" ];");
    let out = lock_with(&p, channels().get("rust-overlay"));
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("rust.components: `clipy` is not a component of stable 1.95.0"),
        "{err}"
    );
    assert!(
        err.contains("available components: cargo, clippy,"),
        "{err}"
    );
    assert!(err.contains("hint: did you mean `clippy`?"), "{err}");
}

const WASM_LIB: &str = r#"
#[no_mangle]
pub extern "C" fn add(a: i32, b: i32) -> i32 {
    // Something std-backed, so build-std has to provide it.
    let v: Vec<i32> = vec![a, b];
    v.iter().sum()
}
"#;

const WASM_CARGO_TOML: &str = r#"[package]
name = "wasmmod"
version = "0.1.0"
edition = "2021"

[lib]
crate-type = ["cdylib"]

[profile.release]
panic = "abort"
"#;

#[test]
fn the_pinned_nightly_builds_a_wasm_module_that_binaryen_shrinks() {
    let mut p = Project::new();
    // One registry download for all runs: build-std fetches std's dependencies.
    let cargo_home = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cargo-home");
    p.set_env("CARGO_HOME", cargo_home.to_str().unwrap());
    p.write_config(&format!(
        "rust.channel = \"stable\";\n  nightly = {{ date = \"auto\"; targets = [ \"{WASM}\" ]; components = [ \"rust-src\" ]; }};\n  packages = [ pkgs.binaryen pkgs.wabt ];"
    ));
    p.lock();
    assert_eq!(toolchain(&p, "nightly"), channels().get("nightly"));
    p.write("wasm/Cargo.toml", WASM_CARGO_TOML);
    p.write("wasm/src/lib.rs", WASM_LIB);
    let out = p.sh(&format!(
        "set -e; cd wasm
         cargo +nightly build --target {WASM} -Z build-std=std,panic_abort --release
         wasm=target/{WASM}/release/wasmmod.wasm
         wasm-opt -Oz \"$wasm\" -o small.wasm
         wasm-validate small.wasm
         echo \"sizes $(wc -c < \"$wasm\") $(wc -c < small.wasm)\"
         wasm2wat small.wasm | grep -c '(export \"add\"'"
    ));
    let sizes: Vec<u64> = out
        .lines()
        .find_map(|l| l.strip_prefix("sizes "))
        .unwrap_or_else(|| panic!("no sizes in {out}"))
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    assert!(
        sizes[1] < sizes[0],
        "wasm-opt -Oz did not shrink: {sizes:?}"
    );
    assert_eq!(out.lines().last(), Some("1"), "{out}");
    // And a JavaScript host can call it, where one is installed.
    let node = p.sh(
        "if command -v node >/dev/null; then
           node -e 'const m = new WebAssembly.Module(require(\"fs\").readFileSync(\"wasm/small.wasm\"));
                    console.log(new WebAssembly.Instance(m, {}).exports.add(40, 2))'
         else echo no-node; fi",
    );
    if node.trim() != "no-node" {
        assert_eq!(node.trim(), "42");
    }
}

/// A channels server of this test's own, so `advance` moves no one else's.
struct OwnChannels {
    dir: tempfile::TempDir,
    values: BTreeMap<String, String>,
}

impl OwnChannels {
    fn script() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/channels")
    }

    fn start() -> OwnChannels {
        let dir = tempfile::Builder::new()
            .prefix("own-channels-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .unwrap();
        let out = Command::new(Self::script())
            .arg("start")
            .arg(dir.path())
            .output()
            .unwrap();
        assert_success(&out, "channels start");
        let values = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        OwnChannels { dir, values }
    }

    fn get(&self, key: &str) -> &str {
        &self.values[key]
    }

    fn advance(&self) {
        let out = Command::new(Self::script())
            .arg("advance")
            .arg(self.dir.path())
            .output()
            .unwrap();
        assert_success(&out, "channels advance");
    }
}

impl Drop for OwnChannels {
    fn drop(&mut self) {
        let _ = Command::new(Self::script())
            .arg("stop")
            .arg(self.dir.path())
            .output();
    }
}

fn rev(p: &Project, input: &str) -> String {
    lock_json(p)["inputs"][input]["rev"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn update_moves_pins_forward_and_reports_old_to_new() {
    let own = OwnChannels::start();
    let p = Project::new();
    p.write_config("rust.channel = \"stable\";\n  nightly.date = \"auto\";");
    let out = p.run(&[
        "lock",
        "--nixpkgs",
        own.get("nixpkgs-git"),
        "--rust-overlay",
        own.get("rust-overlay"),
    ]);
    assert_success(&out, "lock");
    assert_eq!(toolchain(&p, "stable"), "1.95.0");
    let (old_nixpkgs, old_overlay) = (rev(&p, "nixpkgs"), rev(&p, "rust-overlay"));

    let out = p.run(&["update"]);
    assert_success(&out, "update with nothing new");
    assert!(stderr(&out).contains("is up to date"), "{}", stderr(&out));

    own.advance();
    let out = p.run(&["update", "rust-overlay"]);
    assert_success(&out, "update rust-overlay");
    let err = stderr(&out);
    let new_overlay = rev(&p, "rust-overlay");
    assert_ne!(new_overlay, old_overlay);
    assert!(
        err.contains(&format!(
            "rust-overlay  rev {} → rev {}",
            &old_overlay[..12],
            &new_overlay[..12]
        )),
        "{err}"
    );
    assert!(err.contains("stable        1.95.0 → 1.96.0"), "{err}");
    assert!(
        err.contains(&format!(
            "nixpkgs       rev {} (unchanged)",
            &old_nixpkgs[..12]
        )),
        "{err}"
    );
    assert_eq!(toolchain(&p, "stable"), "1.96.0");
    assert_eq!(rev(&p, "nixpkgs"), old_nixpkgs);
    // 1.96's branch point (2026-04-16) moves the auto nightly too.
    assert!(
        err.contains("nightly       2026-03-03 → 2026-04-02"),
        "{err}"
    );

    let out = p.run(&["update", "nixpkgs"]);
    assert_success(&out, "update nixpkgs");
    assert_ne!(rev(&p, "nixpkgs"), old_nixpkgs);
    assert!(
        stderr(&out).contains("stable        1.96.0 (unchanged)"),
        "{}",
        stderr(&out)
    );
    assert_success(&p.run(&["lock", "--check"]), "lock --check after update");
}
