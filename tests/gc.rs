//! Garbage collection against the real store: `nix-collect-garbage` never
//! breaks an environment, and `crate-env gc` (issue 11) drops exactly the
//! roots nothing uses any more. `cargo test` runs test binaries one after
//! another, and the tests here take [`COLLECTING`] in turn, so no other
//! test's unrooted paths are in flight while one collects.

mod common;

use common::{assert_success, channel_line, channels, stderr, NixCounter, Project};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

static COLLECTING: Mutex<()> = Mutex::new(());

fn nix_store(p: &Project) -> Command {
    let mut cmd = p.command("nix-store");
    cmd.env("NIX_USER_CONF_FILES", channels().get("nix-conf"));
    cmd
}

#[test]
fn environment_survives_nix_collect_garbage_without_rebuilding() {
    let _one_at_a_time = COLLECTING.lock().unwrap_or_else(|e| e.into_inner());
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

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn write_member(p: &Project, body: &str) {
    p.write(
        "wasm/crate-env.nix",
        &format!("{{ pkgs, ... }}:\n{{\n{body}\n}}\n"),
    );
}

/// `crate-env ARGS…` in `wasm/`.
fn in_wasm(p: &Project, args: &[&str]) -> Output {
    let out = p
        .crate_env()
        .current_dir(p.root.join("wasm"))
        .args(args)
        .output()
        .unwrap();
    assert_success(&out, &args.join(" "));
    out
}

/// The store paths the member's environment in use stands on.
fn member_env(p: &Project) -> (PathBuf, PathBuf) {
    let env: serde_json::Value =
        serde_json::from_str(&p.read(".crate-env/members/wasm/env.json")).unwrap();
    let out = std::fs::read_link(p.root.join(".crate-env/members/wasm/gcroots/env")).unwrap();
    (out, PathBuf::from(env["stable"].as_str().unwrap()))
}

/// Three configurations of the member, each materialised: the first pins
/// an older stable that nothing else here uses.
fn three_generations(p: &Project, tag: &str) -> Vec<(PathBuf, PathBuf)> {
    let configs = [
        format!("rust.channel = \"1.93.0\";\n  env.GEN = \"1 {tag}\";"),
        format!("rust.channel = \"1.94.0\";\n  env.GEN = \"2 {tag}\";"),
        format!("{}\n  env.GEN = \"3 {tag}\";", channel_line()),
    ];
    let mut generations = Vec::new();
    for config in configs {
        write_member(p, &config);
        in_wasm(p, &["materialise"]);
        generations.push(member_env(p));
    }
    generations
}

#[test]
fn gc_drops_stale_generations_then_gone_and_untouched_projects() {
    let _one_at_a_time = COLLECTING.lock().unwrap_or_else(|e| e.into_inner());
    let state = tempfile::tempdir().unwrap();
    let shared = state.path().display().to_string();
    let mut p = Project::locked(&channel_line());
    p.set_env("CRATE_ENV_STATE_DIR", &shared);
    assert_success(&p.run(&["materialise"]), "materialise the root");
    let tag = format!("{:?}", SystemTime::now());
    let generations = three_generations(&p, &tag);

    let out = p.run(&["gc", "--dry-run"]);
    assert_success(&out, "gc --dry-run");
    let listed = stdout(&out);
    let gens = p.root.join(".crate-env/members/wasm/generations");
    let stale_env = |i: usize| -> String { generations[i].0.display().to_string() };
    assert!(
        listed.contains(&stale_env(0)) && listed.contains(&stale_env(1)),
        "{listed}"
    );
    assert!(
        !listed.contains(&stale_env(2)),
        "the environment in use: {listed}"
    );
    assert_eq!(
        std::fs::read_dir(&gens).unwrap().count(),
        2,
        "dry run removed"
    );
    let err = stderr(&out);
    assert!(err.contains("would remove 8 GC root(s)"), "{err}");
    let bytes: u64 = err
        .rsplit_once(" bytes)")
        .and_then(|(head, _)| head.rsplit_once('(')?.1.parse().ok())
        .unwrap_or_else(|| panic!("no byte count: {err}"));
    assert!(bytes > 0, "{err}");

    let out = p.run(&["gc"]);
    assert_success(&out, "gc");
    assert_eq!(stdout(&out), listed);
    assert_eq!(std::fs::read_dir(&gens).unwrap().count(), 0);
    eprintln!("gc: {}", stderr(&out));
    // A comment changes the key, not the environment: nothing to drop later.
    let same = format!("{}\n  env.GEN = \"3 {tag}\"; # a comment", channel_line());
    write_member(&p, &same);
    in_wasm(&p, &["materialise"]);
    assert_eq!(stdout(&p.run(&["gc", "--dry-run"])), "");
    environments_still_work_without_nix(&mut p, &generations);
    all_projects(&p, &shared);
}

/// After gc, the environments in use need no Nix; after nix-collect-garbage
/// the stale generations' own paths are gone, the current ones stay.
fn environments_still_work_without_nix(p: &mut Project, generations: &[(PathBuf, PathBuf)]) {
    let other_roots = |path: &Path| -> bool {
        let out = nix_store(p)
            .args(["--query", "--roots"])
            .arg(path)
            .output()
            .unwrap();
        !stdout(&out).trim().is_empty()
    };
    let old_stable = &generations[0].1;
    let old_stable_shared = other_roots(old_stable);
    let nix = NixCounter::install(p);
    in_wasm(p, &["exec", "--", "rustc", "-V"]);
    assert_success(&p.run(&["exec", "--", "rustc", "-V"]), "exec at the root");
    assert_eq!(nix.calls(), [] as [String; 0], "gc broke an environment");
    let out = p.command("nix-collect-garbage").output().unwrap();
    assert_success(&out, "nix-collect-garbage");
    for (env, _) in &generations[..2] {
        assert!(!env.exists(), "{} survived", env.display());
    }
    if !old_stable_shared {
        assert!(!old_stable.exists(), "{} survived", old_stable.display());
    }
    assert!(generations[2].0.exists() && generations[2].1.exists());
    let vv = String::from_utf8(in_wasm(p, &["exec", "--", "rustc", "-V"]).stdout).unwrap();
    assert!(vv.contains(channels().get("stable")), "{vv}");
}

/// `--all-projects`: a deleted project is forgotten; with `--older-than`,
/// an untouched one loses its roots (and rebuilds when used again).
fn all_projects(p: &Project, shared: &str) {
    let materialised = || {
        let mut other = Project::locked(&channel_line());
        other.set_env("CRATE_ENV_STATE_DIR", shared);
        assert_success(&other.run(&["materialise"]), "materialise");
        other
    };
    let (gone, mut idle) = (materialised(), materialised());
    let registry = Path::new(shared).join("projects");
    let entries = || {
        let files = std::fs::read_dir(&registry)
            .unwrap()
            .map(|e| e.unwrap().path());
        files
            .filter(|f| f.extension().is_some_and(|x| x == "json"))
            .count()
    };
    assert_eq!(entries(), 3);
    std::fs::remove_dir_all(&gone.root).unwrap();
    let activated = idle.root.join(".crate-env/activated");
    let ten_days_ago = SystemTime::now() - Duration::from_secs(10 * 86_400);
    std::fs::File::options()
        .append(true)
        .open(&activated)
        .unwrap()
        .set_modified(ten_days_ago)
        .unwrap();

    let out = p.run(&["gc", "--all-projects", "--older-than", "30"]);
    assert_success(&out, "gc --all-projects --older-than 30");
    assert!(
        stderr(&out).contains("no longer exists"),
        "{}",
        stderr(&out)
    );
    assert_eq!(entries(), 2);
    assert!(
        idle.root.join(".crate-env/gcroots/env").exists(),
        "idle only 10 days"
    );

    untouched_project_loses_its_roots(p, &mut idle);
}

/// `--older-than 5`: the project idle for 10 days loses every root (and
/// builds again when used); the project gc runs in keeps its own.
fn untouched_project_loses_its_roots(p: &Project, idle: &mut Project) {
    let out = p.run(&["gc", "--all-projects", "--older-than", "5"]);
    assert_success(&out, "gc --all-projects --older-than 5");
    let removed = stdout(&out);
    assert!(
        removed.contains(
            &idle
                .root
                .join(".crate-env/gcroots/env")
                .display()
                .to_string()
        ),
        "{removed}"
    );
    assert!(!idle.root.join(".crate-env/gcroots").exists());
    assert!(
        p.root.join(".crate-env/gcroots/env").exists(),
        "the current project's roots"
    );
    let nix = NixCounter::install(idle);
    assert_success(
        &idle.run(&["exec", "--", "rustc", "-V"]),
        "idle, used again",
    );
    assert!(!nix.calls().is_empty(), "the idle project was not rebuilt");
    assert!(idle.root.join(".crate-env/gcroots/env").exists());
}
