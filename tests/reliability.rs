//! Reliability campaign (issue 12, docs/reliability.md): concurrent callers
//! on a stale cache, `kill -9` at random points, and bad input of every
//! kind. The figures each test prints (`cargo test --test reliability --
//! --nocapture`) are the ones docs/reliability.md reports.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{assert_success, channel_line, stderr, NixCounter, Project};

const SHOW_VAR: &str = r#"(pkgs.writeShellScriptBin "show-var" "printf '%s' \"\${!1-unset}\"")"#;

fn body(gen: usize) -> String {
    format!(
        "{}\n  packages = [ {SHOW_VAR} ];\n  env.GEN = \"{gen}\";",
        channel_line()
    )
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every file and link under the project (`.crate-env/` included), by
/// relative path: what "nothing changed on disk" compares.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            let meta = fs::symlink_metadata(&path).unwrap();
            if meta.file_type().is_symlink() {
                let target = fs::read_link(&path).unwrap();
                files.insert(rel, target.into_os_string().into_encoded_bytes());
            } else if meta.is_dir() {
                dirs.push(path);
            } else {
                files.insert(rel, fs::read(&path).unwrap());
            }
        }
    }
    files
}

fn assert_unchanged(before: &BTreeMap<PathBuf, Vec<u8>>, p: &Project, what: &str) {
    let after = snapshot(&p.root);
    let changed: Vec<&PathBuf> = before
        .keys()
        .chain(after.keys())
        .filter(|k| before.get(*k) != after.get(*k))
        .collect();
    assert!(changed.is_empty(), "{what} changed {changed:?}");
}

/// Temp files of atomic writes (`.crate-env-tmp*`) and of the library
/// extraction or links (`.tmp*`) anywhere in the project.
fn temp_files(root: &Path) -> Vec<PathBuf> {
    snapshot(root)
        .into_keys()
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with(".crate-env-tmp") || name.starts_with(".tmp")
        })
        .collect()
}

/// The last good environment is intact: `.crate-env/env.json` parses, and
/// the store paths it names exist.
fn assert_env_intact(p: &Project, what: &str) -> serde_json::Value {
    let text = p.read(".crate-env/env.json");
    let env: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{what}: env.json is corrupt ({e}):\n{text}"));
    let stable = env["stable"].as_str().unwrap();
    assert!(Path::new(stable).exists(), "{what}: {stable} is gone");
    for dir in env["vars"]["PATH"].as_str().unwrap().split(':') {
        assert!(Path::new(dir).exists(), "{what}: {dir} is gone");
    }
    env
}

fn assert_lock_intact(p: &Project, what: &str) {
    let text = p.read("crate-env.lock");
    let lock: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{what}: crate-env.lock is corrupt ({e}):\n{text}"));
    assert_eq!(lock["version"], 1, "{what}");
    assert!(lock["toolchains"]["stable"].is_string(), "{what}: {text}");
    let check = p.run(&["lock", "--check"]);
    assert!(
        matches!(check.status.code(), Some(0 | 1)),
        "{what}: lock --check: {}",
        stderr(&check)
    );
}

#[test]
fn ten_materialise_and_ten_proxies_on_a_stale_cache_build_once() {
    let mut p = Project::locked(&body(0));
    assert_success(&p.run(&["materialise"]), "materialise");
    p.write_config(&body(1));
    assert_success(&p.run(&["allow"]), "allow");
    let nix = NixCounter::install(&mut p);
    let started = Instant::now();
    let mut children = Vec::new();
    for i in 0..20 {
        let mut cmd = if i % 2 == 0 {
            let mut c = p.crate_env();
            c.arg("materialise");
            c
        } else {
            let mut c = p.command(p.root.join(".crate-env/bin/show-var"));
            c.arg("GEN");
            c
        };
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        children.push((i, cmd.spawn().unwrap()));
    }
    for (i, child) in children {
        let out = child.wait_with_output().unwrap();
        assert_success(&out, &format!("caller {i}"));
        if i % 2 == 1 {
            assert_eq!(stdout(&out), "1", "proxy {i}: {}", stderr(&out));
        }
    }
    let builds: Vec<String> = (nix.calls().into_iter())
        .filter(|c| c.starts_with("nix-build "))
        .collect();
    eprintln!(
        "campaign: 10 materialise + 10 proxies on a stale cache: {} nix-build, {} Nix processes, {:.1} s",
        builds.len(),
        nix.calls().len(),
        started.elapsed().as_secs_f64()
    );
    assert_eq!(builds.len(), 1, "{builds:#?}");
    let env = assert_env_intact(&p, "after the concurrent run");
    assert_eq!(env["vars"]["GEN"], "1");
    assert_lock_intact(&p, "after the concurrent run");
    assert_eq!(temp_files(&p.root), [] as [PathBuf; 0]);
    assert_eq!(p.env_json()["GEN"], "1");
}

/// One command of the kill campaign: its arguments and how often it is
/// killed. Before each run crate-env.nix changes (`env.GEN`), so every run
/// re-locks and builds.
struct Step {
    name: &'static str,
    args: &'static [&'static str],
    runs: usize,
}

const STEPS: &[Step] = &[
    Step {
        name: "lock",
        args: &["lock"],
        runs: 16,
    },
    Step {
        name: "materialise",
        args: &["materialise"],
        runs: 16,
    },
    // A small build (one crate, no dependencies) that prints `env.GEN`, so
    // the output shows which crate-env.nix it was built from.
    Step {
        name: "build",
        args: &["build"],
        runs: 16,
    },
];

/// After a completed `build`: `result-default` runs the build of `gen`.
fn assert_built(p: &Project, gen: usize, what: &str) {
    let out = Command::new(p.root.join("result-default/bin/tiny"))
        .output()
        .unwrap_or_else(|e| panic!("{what}: result-default/bin/tiny: {e}"));
    assert_eq!(stdout(&out).trim(), gen.to_string(), "{what}");
}

/// xorshift64: enough randomness for kill delays, reproducible from the seed
/// the test prints (`CRATE_ENV_KILL_SEED` replays a run).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn kill_9_at_random_points_never_loses_the_lock_or_the_last_good_env() {
    let seed = std::env::var("CRATE_ENV_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .subsec_nanos() as u64
                | 1
        });
    eprintln!("campaign: kill -9 seed {seed} (CRATE_ENV_KILL_SEED replays it)");
    let mut rng = Rng(seed);
    let p = Project::locked(&body(0));
    common::write_tiny_crate(&p, "GEN");
    assert_success(&p.run(&["materialise"]), "materialise");
    let mut gen = 0;
    for step in STEPS {
        // How long an uninterrupted run takes: kills land within it.
        gen += 1;
        p.write_config(&body(gen));
        let started = Instant::now();
        assert_success(&p.run(step.args), step.name);
        let full = started.elapsed();
        let (mut killed, mut finished) = (0, 0);
        for _ in 0..step.runs {
            gen += 1;
            p.write_config(&body(gen));
            let delay = full.mul_f64((rng.next() % 1000) as f64 / 1000.0);
            match kill_after(&p, step, delay) {
                true => killed += 1,
                false => finished += 1,
            }
            let what = format!("{} killed after {delay:?}", step.name);
            assert_lock_intact(&p, &what);
            assert_env_intact(&p, &what);
            assert_success(&p.run(step.args), &format!("{what}, then run again"));
            if step.name == "build" {
                assert_built(&p, gen, &what);
            }
            assert_success(&p.run(&["materialise"]), &what);
            assert_eq!(p.env_json()["GEN"], gen.to_string(), "{what}");
        }
        eprintln!(
            "campaign: kill -9 during `{}` ({:.2} s uninterrupted): {} runs, {killed} killed mid-run, {finished} finished first; lock and last good env intact in all, next run completed in all",
            step.name,
            full.as_secs_f64(),
            step.runs,
        );
        // The runs after each kill swept what it left in .crate-env/ (in the
        // project root only once older than a minute: `init` writes there
        // without the state lock).
        let left = temp_files(&p.root.join(".crate-env"));
        assert_eq!(left, [] as [PathBuf; 0], "{}", step.name);
    }
}

/// Starts the step and SIGKILLs it after `delay`; true if it was still running.
fn kill_after(p: &Project, step: &Step, delay: Duration) -> bool {
    let mut child = p
        .crate_env()
        .args(step.args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(delay);
    let running = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let _ = child.wait();
    running
}

/// Runs `args`, expects a failure whose stderr has every one of `parts`, and
/// that nothing in the project changed.
fn fails_cleanly(p: &Project, args: &[&str], parts: &[&str]) -> String {
    let before = snapshot(&p.root);
    let out = p.run(args);
    let err = stderr(&out);
    assert!(!out.status.success(), "{args:?} succeeded:\n{err}");
    for part in parts {
        assert!(err.contains(part), "{args:?}: no `{part}` in:\n{err}");
    }
    assert_unchanged(&before, p, &format!("{args:?}"));
    err
}

fn materialised() -> Project {
    let p = Project::locked(&body(0));
    assert_success(&p.run(&["materialise"]), "materialise");
    p
}

#[test]
fn a_corrupt_or_unknown_lock_is_named_and_left_alone() {
    let p = materialised();
    let good = p.read("crate-env.lock");
    p.write("crate-env.lock", &good[..good.len() / 2]);
    p.write_config(&body(1));
    for args in [&["materialise"][..], &["lock"]] {
        let err = fails_cleanly(&p, args, &["crate-env.lock:13:", "invalid lock file"]);
        eprintln!("bad input: truncated lock, {args:?}: {}", first_line(&err));
    }
    p.write(
        "crate-env.lock",
        &good.replace("\"version\": 1", "\"version\": 7"),
    );
    let err = fails_cleanly(&p, &["materialise"], &["crate-env.lock", "version"]);
    eprintln!("bad input: lock version 7: {}", first_line(&err));
}

fn first_line(text: &str) -> &str {
    text.lines().find(|l| l.starts_with("error")).unwrap_or("")
}

#[test]
fn bad_crate_env_nix_reports_every_problem_with_its_file_at_once() {
    let p = materialised();
    let file = p.root.join("crate-env.nix").display().to_string();
    p.write(
        "crate-env.nix",
        "{ pkgs, ... }:\n{\n  rust.channel = \"1.0\"\n  coverage = true;\n}\n",
    );
    fails_cleanly(&p, &["materialise"], &["syntax error", "crate-env.nix:4"]);
    p.write_config("rust.channel = 1.75;");
    fails_cleanly(
        &p,
        &["materialise"],
        &[
            &format!("{file}: rust.channel must be a string"),
            "not the number 1.75",
        ],
    );
    // Unknown fields and wrong types, all in one run.
    p.write_config(&format!(
        "{}\n  rust.componets = [ ];\n  packges = [ ];\n  coverage = \"yes\";\n  env.OK = [ 1 ];",
        channel_line()
    ));
    let err = fails_cleanly(
        &p,
        &["materialise"],
        &[
            "4 problem(s)",
            "unknown field `rust.componets` (did you mean `components`?)",
            "unknown field `packges` (did you mean `packages`?)",
            "coverage must be true or false, not the string \"yes\"",
            "env.OK must be a string, number, path or derivation, not a list",
        ],
    );
    eprintln!("bad input: several field errors at once:\n{err}");
    // Component and target typos, stable's and the nightly's, in one run.
    p.write_config(&format!(
        "{}\n  rust.components = [ \"clipy\" ];\n  rust.targets = [ \"wasm32-unknown-unknwon\" ];\n  nightly = {{ date = \"auto\"; components = [ \"rust-scr\" ]; }};",
        channel_line()
    ));
    let err = fails_cleanly(
        &p,
        &["lock"],
        &[
            "3 names",
            "`clipy` is not a component of stable",
            "(did you mean `clippy`?)",
            "rust.targets: `wasm32-unknown-unknwon` is not a target",
            "nightly.components: `rust-scr`",
        ],
    );
    eprintln!("bad input: several name typos at once:\n{err}");
}

#[test]
fn unreachable_mirrors_and_unknown_specs_change_nothing() {
    let p = materialised();
    let err = fails_cleanly(
        &p,
        &[
            "lock",
            "--nixpkgs",
            "http://127.0.0.1:9/nixpkgs/0000000000000000000000000000000000000000.tar.gz",
        ],
        &["127.0.0.1:9"],
    );
    eprintln!("bad input: unreachable mirror: {}", first_line(&err));
    let err = fails_cleanly(
        &p,
        &["lock", "--nixpkgs", "svn://example.org/nixpkgs"],
        &[
            "svn://example.org/nixpkgs",
            "invalid input spec",
            "expected one of",
        ],
    );
    eprintln!("bad input: unknown spec: {}", first_line(&err));
}

#[test]
fn a_read_only_state_dir_or_a_full_disk_keeps_the_last_good_env() {
    let p = materialised();
    p.write_config(&body(1));
    p.lock();
    let state = p.root.join(".crate-env");
    // We may be root, whom permissions do not stop: a read-only bind mount does.
    let ro = Command::new("sh")
        .arg("-c")
        .arg("mount --bind \"$1\" \"$1\" && mount -o remount,ro,bind \"$1\"")
        .arg("sh")
        .arg(&state)
        .status()
        .unwrap();
    if ro.success() {
        let _mount = Unmount(state.clone());
        let err = fails_cleanly(
            &p,
            &["materialise"],
            &[".crate-env", "Read-only file system"],
        );
        eprintln!("bad input: read-only .crate-env: {}", first_line(&err));
    } else {
        eprintln!("bad input: read-only .crate-env skipped (no mount privilege)");
    }
    full_disk_during_the_cache_write(&p);
}

/// A 100 KiB value makes the new env.json too big for a small tmpfs holding
/// `.crate-env/`: the write fails, the last good environment stays.
fn full_disk_during_the_cache_write(p: &Project) {
    let state = p.root.join(".crate-env");
    let big = "x".repeat(100 * 1024);
    p.write_config(&format!("{}\n  env.BIG = \"{big}\";", body(2)));
    p.lock();
    let copy = p.home.join("state-copy");
    // Copy .crate-env onto a tmpfs, then shrink it to what it uses + 32 KiB.
    let script = "cp -a \"$1/.\" \"$2\" && mount -t tmpfs -o size=8m tmpfs \"$1\" \\
        && cp -a \"$2/.\" \"$1\" && used=$(df --output=used -B1 \"$1\" | tail -1) \\
        && mount -o remount,size=$((used + 32768)) \"$1\"";
    let mounted = Command::new("sh")
        .args(["-c", script, "sh"])
        .arg(&state)
        .arg(&copy)
        .status()
        .unwrap();
    if !mounted.success() {
        eprintln!("bad input: full disk skipped (no mount privilege)");
        return;
    }
    let _mount = Unmount(state.clone());
    let err = fails_cleanly(
        p,
        &["materialise"],
        &["env.json", "No space left on device"],
    );
    eprintln!(
        "bad input: full disk during the cache write: {}",
        first_line(&err)
    );
    assert_env_intact(p, "full disk");
    assert_eq!(
        p.env_json()["GEN"],
        "0",
        "the last good environment is served"
    );
}

/// Unmounts what a test mounted, also when the test fails.
struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let status = Command::new("umount").arg(&self.0).status();
        if !status.is_ok_and(|s| s.success()) {
            eprintln!("cannot unmount {}", self.0.display());
        }
    }
}
