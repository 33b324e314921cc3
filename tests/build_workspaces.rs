//! `crate-env build` with the rest of crate-env (docs/build.md): a member's
//! builds (its merged `builds`, its environment, its roots), re-locking a
//! stale lock, the approval a typed command gives, `gc` of build roots, and
//! every problem of `builds` reported at once.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{assert_success, channel_line, stderr, Project};

fn in_member(p: &Project, args: &[&str]) -> Output {
    p.crate_env()
        .current_dir(p.root.join("m"))
        .args(args)
        .output()
        .unwrap()
}

fn runs(bin: &Path) -> String {
    let out = Command::new(bin).output().unwrap();
    assert_success(&out, &bin.display().to_string());
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn trust_state(p: &Project) -> String {
    let out = p.run(&["status", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    status["project"]["trust"]["state"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn member_config(builds: &str) -> String {
    format!("{{ ... }}:\n{{\n  env.WHO = \"member\";\n  builds = {{ {builds} }};\n}}\n")
}

#[test]
fn a_member_builds_with_its_environment_and_gc_keeps_only_declared_builds() {
    let p = Project::locked(&format!(
        "{}\n  env.WHO = \"root\";\n  builds.shared = {{ package = \"tiny\"; }};",
        channel_line()
    ));
    common::write_tiny_crate(&p, "WHO");
    // A new member: the lock has no entry for it, so `build` re-locks.
    p.write("m/crate-env.nix", &member_config("mine = { };"));
    assert_eq!(trust_state(&p), "changed");
    let out = in_member(&p, &["build", "mine", "shared"]);
    assert_success(&out, "build in the member");
    let err = stderr(&out);
    assert!(err.contains("updated crate-env.lock"), "{err}");
    assert!(err.contains("of member m"), "{err}");
    assert_eq!(
        trust_state(&p),
        "allowed",
        "build approves what it evaluated"
    );
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(printed.lines().count(), 2, "{printed}");

    // The member's environment (env.WHO), its roots, its result links.
    let roots = p.root.join(".crate-env/members/m/gcroots/builds");
    for name in ["mine", "shared"] {
        let link = p.root.join(format!("m/result-{name}"));
        assert_eq!(runs(&link.join("bin/tiny")), "member", "{name}");
        assert_eq!(
            fs::read_link(roots.join(name).join("out")).unwrap(),
            fs::read_link(&link).unwrap()
        );
    }
    assert!(!p.root.join(".crate-env/gcroots/builds").exists());
    // The root's own build: the root's environment.
    let out = p.run(&["build", "shared"]);
    assert_success(&out, "build at the root");
    assert_eq!(runs(&p.root.join("result-shared/bin/tiny")), "root");
    // The member's result links are no sources of the root's build.
    let args = fs::read_to_string(p.root.join(".crate-env/build/args.json")).unwrap();
    assert!(args.contains("m/crate-env.nix"), "{args}");
    assert!(!args.contains("result-"), "{args}");

    // `mine` leaves the member's crate-env.nix: gc drops its roots once a
    // build evaluated the new file, and never the declared builds'.
    p.write("m/crate-env.nix", &member_config(""));
    assert_success(&in_member(&p, &["build", "shared"]), "build shared");
    let gc = in_member(&p, &["gc"]);
    assert_success(&gc, "gc");
    assert!(
        stderr(&gc).contains("build mine is no longer in member m's crate-env.nix"),
        "{}",
        stderr(&gc)
    );
    assert!(!roots.join("mine").exists());
    assert!(roots.join("shared/out").exists());
    assert!(p.root.join(".crate-env/gcroots/builds/shared/out").exists());
    assert_eq!(runs(&p.root.join("m/result-shared/bin/tiny")), "member");
}

fn assert_nothing_built(p: &Project) {
    let results: Vec<PathBuf> = fs::read_dir(&p.root)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|e| e.to_string_lossy().contains("result"))
        .collect();
    assert!(results.is_empty(), "{results:?}");
}

#[test]
fn every_problem_of_builds_is_reported_at_once_with_its_file() {
    let p = Project::locked(&channel_line());
    common::write_tiny_crate(&p, "WHO");
    // Checked with the rest of crate-env.nix: by `build`'s re-lock here.
    p.write_config(&format!(
        "{}\n  env.WHO = \"x\";\n  builds.a = {{ tagret = \"wasm32-unknown-unknown\"; check = \"yes\"; }};\n  \
         builds.b = {{ toolchain = \"nightly\"; }};\n  builds.c = {{ buildStd = [ \"std\" ]; }};",
        channel_line()
    ));
    let out = p.run(&["build", "a"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    let file = p.root.join("crate-env.nix");
    for part in [
        "5 problem(s)",
        "builds.a: unknown field(s) tagret; known fields: toolchain",
        "builds.a.check must be true or false, not the string \"yes\"",
        "builds.b uses toolchain = \"nightly\", but crate-env.nix sets no nightly",
        "builds.c.buildStd needs the stable toolchain's rust-src",
        "builds.c.buildStd needs a target",
    ] {
        assert!(err.contains(part), "{part}: {err}");
    }
    assert!(
        err.contains(&format!("{}: builds.b", file.display())),
        "{err}"
    );
    assert_nothing_built(&p);
}
