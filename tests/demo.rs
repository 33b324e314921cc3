//! The README's first command runs `scripts/demo` after `scripts/setup demo`
//! (whose packages are a subset of the suite's): the demo installs crate-env,
//! starts its own stand-in channels, and in a fresh project locks,
//! materialises, builds and tests through the proxies and reports coverage;
//! run again, it reuses everything and starts no Nix process.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Demo {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    state: PathBuf,
    install: PathBuf,
}

impl Demo {
    fn new() -> Demo {
        let tmp = tempfile::Builder::new()
            .prefix("demo-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .unwrap();
        let path = |name: &str| tmp.path().join(name);
        Demo {
            dir: path("demo"),
            state: path("state"),
            install: path("install"),
            _tmp: tmp,
        }
    }

    /// `scripts/demo` as a user runs it (their PATH, with cargo and rustup),
    /// with `path_first` in front; stdout and stderr together.
    fn run(&self, path_first: Option<&Path>) -> (Output, String) {
        let mut path = std::env::var("PATH").unwrap_or_default();
        if let Some(dir) = path_first {
            path = format!("{}:{path}", dir.display());
        }
        let out = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/demo"))
            .env("CRATE_ENV_DEMO_DIR", &self.dir)
            .env("CRATE_ENV_DEMO_STATE", &self.state)
            .env("CARGO_INSTALL_ROOT", &self.install)
            .env("PATH", path)
            .env_remove("NIX_USER_CONF_FILES")
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out, text)
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/channels");
        let _ = Command::new(script)
            .arg("stop")
            .arg(self.state.join("channels"))
            .output();
    }
}

#[test]
fn the_demo_builds_tests_and_reports_coverage_and_a_rerun_starts_no_nix() {
    let demo = Demo::new();
    let (out, text) = demo.run(None);
    assert!(out.status.success(), "scripts/demo failed:\n{text}");
    assert!(demo.install.join("bin/crate-env").is_file(), "{text}");
    let lock = fs::read_to_string(demo.dir.join("crate-env.lock")).unwrap();
    let lock: serde_json::Value = serde_json::from_str(&lock).unwrap();
    let stable = lock["toolchains"]["stable"].as_str().unwrap();
    assert!(text.contains(&format!("release: {stable}")), "{text}");
    assert!(text.contains("test result: ok. 1 passed"), "{text}");
    // 3 functions of which the tests miss `unused`; 13 lines, 3 missed.
    let total = text
        .lines()
        .find(|l| l.starts_with("TOTAL"))
        .unwrap_or_else(|| panic!("no coverage total:\n{text}"));
    assert!(
        total.contains("66.67%") && total.contains("76.92%"),
        "{total}"
    );
    assert!(text.contains("toolchains    stable"), "{text}");

    let path = std::env::var("PATH").unwrap_or_default();
    let nix = common::NixCounter::in_dir(&demo.state, &path);
    let (out, again) = demo.run(Some(&nix.dir));
    assert!(out.status.success(), "scripts/demo failed again:\n{again}");
    assert!(again.contains("environment is up to date"), "{again}");
    assert!(again.contains("TOTAL"), "{again}");
    assert_eq!(
        nix.calls(),
        [] as [String; 0],
        "the second run started Nix:\n{again}"
    );
}
