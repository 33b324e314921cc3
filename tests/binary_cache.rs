//! `crate-env cache push` and `nixConfig` substituters, against the real
//! store. This binary holds one test on purpose: it deletes store paths, and
//! `cargo test` runs test binaries one after another, so no other test's
//! unrooted paths are in flight while it does.

mod common;

use std::path::{Path, PathBuf};

use common::{assert_success, stable, stderr, Project};

fn nix_store(p: &Project, args: &[&str]) -> std::process::Output {
    p.command("nix-store").args(args).output().unwrap()
}

fn unique() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{nanos}-{}", std::process::id())
}

/// A signing key pair in `dir`: (name, secret key file, public key).
fn generate_key(p: &Project, dir: &Path) -> (String, PathBuf, String) {
    let name = format!("crate-env-test-{}", unique());
    let (sk, pk) = (dir.join("sk"), dir.join("pk"));
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
    let public_key = std::fs::read_to_string(&pk).unwrap().trim().to_owned();
    (name, sk, public_key)
}

#[test]
fn materialise_substitutes_the_environment_from_a_pushed_cache() {
    let keys = tempfile::tempdir().unwrap();
    let cache_dir = keys.path().join("cache");
    let mut p = Project::new();
    let (name, sk, public_key) = generate_key(&p, keys.path());
    let uri = format!("file://{}", cache_dir.display());
    // A component set no other test uses, so no other project roots this
    // toolchain, and a unique variable, so the environment is unique too.
    p.write_config(&format!(
        r#"rust = {{ channel = "{stable}"; profile = "minimal"; components = [ "rust-docs" "clippy-preview" "llvm-tools-preview" ]; }};
  env.CACHE_TEST = "{unique}";
  nixConfig = {{
    substituters = [ "{uri}" ];
    trusted-public-keys = [ "{public_key}" ];
  }};"#,
        stable = stable(),
        unique = unique(),
    ));
    p.lock();
    assert_success(&p.run(&["materialise"]), "materialise");
    let env_out = std::fs::read_link(p.root.join(".crate-env/gcroots/env")).unwrap();
    let cached: serde_json::Value = serde_json::from_str(&p.read(".crate-env/env.json")).unwrap();
    let toolchain = PathBuf::from(cached["stable"].as_str().unwrap());

    let push = p.run(&[
        "cache",
        "push",
        &format!("{uri}?compression=zstd"),
        "--secret-key",
        sk.to_str().unwrap(),
    ]);
    assert_success(&push, "cache push");
    eprintln!("{}", stderr(&push));
    assert!(cache_dir.join("nix-cache-info").is_file());
    let narinfo = cache_dir.join(format!("{}.narinfo", store_hash(&toolchain)));
    let narinfo = std::fs::read_to_string(&narinfo).expect("toolchain narinfo in the cache");
    assert!(narinfo.contains(&format!("Sig: {name}:")), "{narinfo}");

    forget_environment(&p, &env_out, &toolchain);
    substitute_from_the_cache(&mut p, &env_out, &toolchain, &name);
}

/// Forgets the environment: its roots, the cache file, and every path of
/// its closure that nothing else keeps alive. Earlier runs on this machine
/// may have left unrooted environments that still refer to the toolchain;
/// they are dead too and must go first, so delete until nothing more can.
fn forget_environment(p: &Project, env_out: &Path, toolchain: &Path) {
    let mut doomed = query_lines(p, &["--query", "--requisites", env_out.to_str().unwrap()]);
    doomed.extend(query_lines(
        p,
        &[
            "--query",
            "--referrers-closure",
            toolchain.to_str().unwrap(),
        ],
    ));
    std::fs::remove_dir_all(p.root.join(".crate-env/gcroots")).unwrap();
    std::fs::remove_file(p.root.join(".crate-env/env.json")).unwrap();
    let mut deleted = 0;
    loop {
        let before = deleted;
        doomed.retain(|path| {
            let gone = nix_store(p, &["--delete", path]).status.success();
            deleted += usize::from(gone);
            !gone
        });
        if deleted == before {
            break;
        }
    }
    for must_go in [env_out, toolchain] {
        if must_go.exists() {
            let roots = nix_store(p, &["--query", "--roots", must_go.to_str().unwrap()]);
            panic!(
                "{} is still in the store; kept alive by:\n{}",
                must_go.display(),
                String::from_utf8_lossy(&roots.stdout)
            );
        }
    }
    eprintln!(
        "deleted {deleted} store paths; {} are kept alive elsewhere",
        doomed.len()
    );
}

/// With building disabled, only substitution can bring the paths back; the
/// local store then holds the cache's signature (`key_name`) on the toolchain.
fn substitute_from_the_cache(p: &mut Project, env_out: &Path, toolchain: &Path, key_name: &str) {
    p.set_env("NIX_CONFIG", "max-jobs = 0\nnarinfo-cache-negative-ttl = 0");
    p.set_env(
        "XDG_CACHE_HOME",
        p.home.join("fresh-cache").to_str().unwrap(),
    );
    let out = p.run(&["-v", "materialise", "--frozen"]);
    assert_success(&out, "materialise from the binary cache with max-jobs = 0");
    assert!(toolchain.is_dir(), "toolchain not substituted");
    assert!(env_out.exists(), "environment not substituted");
    assert_eq!(p.sh("rustc -V").split_whitespace().nth(1), Some(stable()));
    let info = p
        .command("nix")
        .args([
            "--extra-experimental-features",
            "nix-command",
            "path-info",
            "--sigs",
        ])
        .arg(toolchain)
        .output()
        .unwrap();
    assert_success(&info, "nix path-info --sigs");
    assert!(
        String::from_utf8_lossy(&info.stdout).contains(&format!("{key_name}:")),
        "{}",
        String::from_utf8_lossy(&info.stdout)
    );
}

fn query_lines(p: &Project, args: &[&str]) -> Vec<String> {
    let out = nix_store(p, args);
    assert_success(&out, &format!("nix-store {}", args.join(" ")));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn store_hash(path: &Path) -> String {
    let base = path.file_name().unwrap().to_str().unwrap();
    base.split('-').next().unwrap().to_owned()
}
