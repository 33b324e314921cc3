//! Garbage collection against the real store. This binary holds one test on
//! purpose: `cargo test` runs test binaries one after another, so no other
//! test's unrooted paths are in flight while this one collects.

mod common;

use common::{assert_success, channels, NixCounter, Project};
use std::process::Command;

fn nix_store(p: &Project) -> Command {
    let mut cmd = p.command("nix-store");
    cmd.env("NIX_USER_CONF_FILES", channels().get("nix-conf"));
    cmd
}

#[test]
fn environment_survives_nix_collect_garbage_without_rebuilding() {
    let mut p = Project::locked(&format!(
        "rust.channel = \"{}\";\n  coverage = true;\n  packages = [ pkgs.pkg-config pkgs.zlib ];",
        channels().get("stable")
    ));
    assert_success(&p.run(&["materialise"]), "materialise");

    // An unrooted path, to prove the collection really ran.
    p.write("garbage.txt", "collect me\n");
    let out = nix_store(&p)
        .args(["--add", "garbage.txt"])
        .output()
        .unwrap();
    assert_success(&out, "nix-store --add");
    let garbage = String::from_utf8(out.stdout).unwrap().trim().to_string();

    let out = p.command("nix-collect-garbage").output().unwrap();
    assert_success(&out, "nix-collect-garbage");
    assert!(
        !std::path::Path::new(&garbage).exists(),
        "GC did not run: {garbage} survived"
    );

    let nix = NixCounter::install(&mut p);
    let vv = p.sh("rustc -vV");
    assert!(
        vv.contains(&format!("release: {}", channels().get("stable"))),
        "{vv}"
    );
    p.sh("\"$LLVM_COV\" --version && pkg-config --exists zlib");
    assert_success(&p.run(&["materialise"]), "materialise after GC");
    assert!(
        nix.calls().is_empty(),
        "rebuilt after GC: {:?}",
        nix.calls()
    );
    assert_success(
        &nix_store(&p)
            .arg("--verify-path")
            .arg(p.root.join(".crate-env/gcroots/env"))
            .output()
            .unwrap(),
        "env closure valid",
    );
}
