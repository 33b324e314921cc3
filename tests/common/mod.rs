//! Shared harness for the integration tests: the stand-in channels, isolated
//! projects (own HOME and XDG dirs), and a shim that counts Nix processes.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

mod prompt;
#[allow(unused_imports)]
pub use prompt::Prompt;

/// What `tests/fixtures/channels start` printed.
pub struct Channels {
    pub values: BTreeMap<String, String>,
}

impl Channels {
    pub fn get(&self, key: &str) -> &str {
        self.values
            .get(key)
            .unwrap_or_else(|| panic!("channels start printed no `{key}=`"))
    }
}

/// One server for the whole test run: every test binary starts the same DIR,
/// which `channels start` treats as harmless, and identical inputs give
/// identical narHashes, so toolchains are built into the store once.
pub fn channels() -> &'static Channels {
    static CHANNELS: OnceLock<Channels> = OnceLock::new();
    CHANNELS.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("channels");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/channels");
        let out = Command::new(&script)
            .arg("start")
            .arg(&dir)
            .output()
            .expect("run tests/fixtures/channels");
        assert!(
            out.status.success(),
            "channels start failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let values = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Channels { values }
    })
}

/// The stable the stand-in overlay's master pins (a real rustup stable).
pub fn stable() -> &'static str {
    channels().get("stable")
}

/// `rust.channel = "<stable>";`, a crate-env.nix body pinning [`stable`].
pub fn channel_line() -> String {
    format!("rust.channel = \"{}\";", stable())
}

/// A Nix string literal for any text: `\\`, `"` and `${` escaped, and the
/// control characters Nix strings spell with a backslash.
pub fn nix_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' if chars.peek() == Some(&'{') => out.push_str("\\$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The caller's PATH without rustup's proxies, so a rustup toolchain can never
/// answer for `rustc`/`cargo`. (Debian's /usr/bin/rustc stays: it is 1.96, so a
/// test that sees the pinned release proves the environment won.)
fn path_without_rust() -> String {
    let path = std::env::var("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .filter(|dir| !dir.join("rustup").exists())
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(":")
}

/// A project in a temp dir with its own HOME and XDG dirs.
pub struct Project {
    _tmp: tempfile::TempDir,
    pub root: PathBuf,
    pub home: PathBuf,
    pub path: String,
    extra_env: Vec<(String, String)>,
}

impl Project {
    pub fn new() -> Project {
        let tmp = tempfile::Builder::new()
            .prefix("project-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .unwrap();
        let root = tmp.path().join("project");
        let home = tmp.path().join("home");
        for dir in [&root, &home] {
            fs::create_dir_all(dir).unwrap();
        }
        Project {
            _tmp: tmp,
            root,
            home,
            path: path_without_rust(),
            extra_env: Vec::new(),
        }
    }

    /// A project with crate-env.nix holding `body` (the attribute set's
    /// contents), locked against the stand-in channels.
    pub fn locked(body: &str) -> Project {
        let p = Project::new();
        p.write_config(body);
        p.lock();
        p
    }

    pub fn write(&self, rel: &str, contents: &str) {
        let path = self.root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.root.join(rel)).unwrap()
    }

    pub fn write_config(&self, body: &str) {
        self.write(
            "crate-env.nix",
            &format!("{{ pkgs, ... }}:\n{{\n{body}\n}}\n"),
        );
    }

    pub fn lock(&self) {
        let c = channels();
        let out = self.run(&[
            "lock",
            "--nixpkgs",
            c.get("nixpkgs"),
            "--rust-overlay",
            c.get("rust-overlay"),
        ]);
        assert_success(&out, "crate-env lock");
    }

    /// Lists the project's directory as the user's own code in
    /// `$XDG_CONFIG_HOME/crate-env/trusted-prefixes` (docs/trust.md): proxies
    /// and direnv then evaluate its edits without `crate-env allow`.
    pub fn trust_as_own_code(&self) {
        let file = self.home.join(".config/crate-env/trusted-prefixes");
        fs::create_dir_all(file.parent().unwrap()).unwrap();
        fs::write(&file, format!("{}\n", self.root.display())).unwrap();
    }

    pub fn set_env(&mut self, key: &str, value: &str) {
        self.extra_env.push((key.into(), value.into()));
    }

    /// Put `dir` in front of PATH (e.g. the counting shim).
    pub fn prepend_path(&mut self, dir: &Path) {
        self.path = format!("{}:{}", dir.display(), self.path);
    }

    /// A command with a clean, isolated environment, run in the project.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(&self.root).env_clear();
        let h = &self.home;
        let vars = [
            ("PATH", self.path.clone()),
            ("HOME", h.display().to_string()),
            ("XDG_CONFIG_HOME", h.join(".config").display().to_string()),
            ("XDG_CACHE_HOME", h.join(".cache").display().to_string()),
            (
                "XDG_DATA_HOME",
                h.join(".local/share").display().to_string(),
            ),
            (
                "XDG_STATE_HOME",
                h.join(".local/state").display().to_string(),
            ),
            (
                "NIX_USER_CONF_FILES",
                channels().get("nix-conf").to_string(),
            ),
            ("LANG", "C.UTF-8".to_string()),
        ];
        for (k, v) in vars {
            cmd.env(k, v);
        }
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        cmd
    }

    pub fn crate_env(&self) -> Command {
        self.command(env!("CARGO_BIN_EXE_crate-env"))
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.crate_env().args(args).output().unwrap()
    }

    /// `crate-env exec -- sh -c SCRIPT`, asserting success; returns stdout.
    pub fn sh(&self, script: &str) -> String {
        let out = self.run(&["exec", "--", "sh", "-c", script]);
        assert_success(&out, script);
        String::from_utf8(out.stdout).unwrap()
    }

    /// The environment as `env print --format json` gives it.
    pub fn env_json(&self) -> BTreeMap<String, String> {
        let out = self.run(&["env", "print", "--format", "json"]);
        assert_success(&out, "env print --format json");
        serde_json::from_slice(&out.stdout).expect("env print json is an object of strings")
    }
}

pub fn assert_success(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed with {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Wrappers in front of the real `nix-*` binaries that log every start, so a
/// test can prove that a cache hit starts no Nix process.
pub struct NixCounter {
    pub dir: PathBuf,
    log: PathBuf,
}

impl NixCounter {
    pub fn install(project: &mut Project) -> NixCounter {
        let counter = NixCounter::in_dir(&project.home, &project.path);
        project.prepend_path(&counter.dir);
        counter
    }

    /// Shims in `base/nix-shim` for the `nix-*` found on `path`, logging to
    /// `base/nix-calls.log`; the caller puts the directory first on PATH.
    pub fn in_dir(base: &Path, path: &str) -> NixCounter {
        let dir = base.join("nix-shim");
        fs::create_dir_all(&dir).unwrap();
        let log = base.join("nix-calls.log");
        for tool in [
            "nix",
            "nix-build",
            "nix-instantiate",
            "nix-store",
            "nix-prefetch-url",
            "nix-collect-garbage",
            "nix-env",
            "nix-shell",
        ] {
            let real = which_in(tool, path);
            let Some(real) = real else { continue };
            let shim = dir.join(tool);
            fs::write(
                &shim,
                format!(
                    "#!/bin/sh\necho \"{tool} $*\" >> '{}'\nexec '{}' \"$@\"\n",
                    log.display(),
                    real.display()
                ),
            )
            .unwrap();
            fs::set_permissions(&shim, fs::Permissions::from_mode(0o755)).unwrap();
        }
        NixCounter { dir, log }
    }

    pub fn calls(&self) -> Vec<String> {
        fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

const ZLIB_CRATE_BUILD_RS: &str = r#"
use std::process::Command;
fn main() {
    let rustc = std::env::var("RUSTC").unwrap();
    let v = Command::new(&rustc).arg("-V").output().unwrap();
    println!("cargo:rustc-env=BUILT_WITH={}", String::from_utf8(v.stdout).unwrap().trim());
    let out = Command::new("pkg-config").args(["--libs", "zlib"]).output()
        .expect("pkg-config on PATH");
    assert!(out.status.success(), "pkg-config cannot find zlib");
    for flag in String::from_utf8(out.stdout).unwrap().split_whitespace() {
        if let Some(dir) = flag.strip_prefix("-L") {
            println!("cargo:rustc-link-search=native={dir}");
        } else if let Some(lib) = flag.strip_prefix("-l") {
            println!("cargo:rustc-link-lib={lib}");
        }
    }
}
"#;

const ZLIB_CRATE_MAIN: &str = r#"
use std::ffi::CStr;
use std::os::raw::c_char;
extern "C" { fn zlibVersion() -> *const c_char; }
fn main() {
    let v = unsafe { CStr::from_ptr(zlibVersion()) };
    println!("{} linked zlib {}", env!("BUILT_WITH"), v.to_str().unwrap());
    println!("toolchain={}", std::env::var("CRATE_ENV_TOOLCHAIN").unwrap_or_default());
}
"#;

/// A binary crate whose build.rs links zlib through `pkg-config` from PATH
/// and records the rustc that built it; running it prints
/// `<rustc -V> linked zlib <version>` and the proxy toolchain variable.
pub fn write_zlib_crate(p: &Project, name: &str) {
    p.write(
        "Cargo.toml",
        &format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n"),
    );
    p.write("build.rs", ZLIB_CRATE_BUILD_RS);
    p.write("src/main.rs", ZLIB_CRATE_MAIN);
}

/// One crate, no dependencies, whose binary `tiny` prints the environment
/// variable `var` as it was when it was compiled (`env!`).
pub fn write_tiny_crate(p: &Project, var: &str) {
    p.write(
        "Cargo.toml",
        "[package]\nname = \"tiny\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    p.write(
        "Cargo.lock",
        "version = 4\n\n[[package]]\nname = \"tiny\"\nversion = \"0.1.0\"\n",
    );
    p.write(
        "src/main.rs",
        &format!("fn main() {{ println!(\"{{}}\", env!(\"{var}\")); }}\n"),
    );
}

/// `crate-env env print --format SHELL` loaded by bash, zsh and fish
/// (`eval` / `source`), and the environment each shell then has (`env -0`).
pub fn env_loaded_by_real_shells(p: &Project) -> Vec<(&'static str, BTreeMap<String, String>)> {
    let bin = env!("CARGO_BIN_EXE_crate-env");
    let scripts = [
        (
            "bash",
            format!("eval \"$('{bin}' env print --format bash)\" && env -0"),
        ),
        (
            "zsh",
            format!("eval \"$('{bin}' env print --format zsh)\" && env -0"),
        ),
        (
            "fish",
            format!("'{bin}' env print --format fish | source; and env -0"),
        ),
    ];
    scripts
        .into_iter()
        .map(|(shell, script)| {
            let out = p.command(shell).arg("-c").arg(&script).output().unwrap();
            assert_success(&out, shell);
            (shell, parse_env0(&out.stdout))
        })
        .collect()
}

/// `env -0` output: NAME=value entries separated by NUL bytes.
fn parse_env0(bytes: &[u8]) -> BTreeMap<String, String> {
    bytes
        .split(|b| *b == 0)
        .filter_map(|kv| {
            let kv = String::from_utf8_lossy(kv);
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect()
}

pub fn which_in(tool: &str, path: &str) -> Option<PathBuf> {
    std::env::split_paths(path)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}
