//! A shell prompt with direnv's hook, driven by hand: every `load` is what
//! the hook runs before a prompt (`direnv export json`), applied to the
//! shell's environment, in a directory that `cd` can change.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::process::Command;

use super::{assert_success, stderr, Project};

pub struct Prompt<'a> {
    pub p: &'a Project,
    dir: PathBuf,
    env: BTreeMap<String, String>,
}

impl<'a> Prompt<'a> {
    /// Installs `use_crate_env` with `crate-env direnv --install`, writes
    /// `.envrc` at the root and allows it.
    pub fn new(p: &'a Project) -> Prompt<'a> {
        let prompt = Prompt::without_envrc(p);
        prompt.allow_envrc("");
        prompt
    }

    /// `crate-env direnv --install` only; `.envrc` files are the caller's
    /// (see [`Prompt::allow_envrc`]).
    pub fn without_envrc(p: &'a Project) -> Prompt<'a> {
        assert_success(&p.run(&["direnv", "--install"]), "direnv --install");
        let lib = p.home.join(".config/direnv/lib/crate-env.sh");
        assert!(
            fs::read_to_string(&lib)
                .unwrap()
                .contains("use_crate_env()"),
            "--install wrote no function to {}",
            lib.display()
        );
        Prompt {
            p,
            dir: p.root.clone(),
            env: BTreeMap::new(),
        }
    }

    /// Writes `DIR/.envrc` (`use crate_env`, DIR relative to the root) and
    /// runs `direnv allow` there.
    pub fn allow_envrc(&self, dir: &str) {
        let rel = if dir.is_empty() {
            ".envrc".to_owned()
        } else {
            format!("{}/.envrc", dir.trim_end_matches('/'))
        };
        self.p.write(&rel, "use crate_env\n");
        let out = self
            .p
            .command("direnv")
            .arg("allow")
            .current_dir(self.p.root.join(dir))
            .output()
            .unwrap();
        assert_success(&out, "direnv allow");
    }

    /// The next prompts run in DIR (relative to the root).
    pub fn cd(&mut self, dir: &str) {
        self.dir = self.p.root.join(dir);
    }

    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = self.p.command(program);
        cmd.current_dir(&self.dir).envs(&self.env);
        cmd
    }

    /// One prompt: returns whether direnv changed the environment, and its stderr.
    pub fn load(&mut self) -> (bool, String) {
        let out = self
            .command("direnv")
            .args(["export", "json"])
            .output()
            .unwrap();
        assert_success(&out, "direnv export json");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if text.trim().is_empty() {
            return (false, stderr(&out));
        }
        let diff: BTreeMap<String, Option<String>> = serde_json::from_str(&text).unwrap();
        for (name, value) in diff {
            match value {
                Some(value) => self.env.insert(name, value),
                None => self.env.remove(&name),
            };
        }
        (true, stderr(&out))
    }

    /// A load that must bring the project's environment: shows direnv's and
    /// crate-env's stderr when it did not.
    pub fn load_env(&mut self) {
        let (changed, err) = self.load();
        let root = self.p.root.display().to_string();
        assert!(
            changed && self.var("CRATE_ENV_ROOT") == Some(root.as_str()),
            "the load brought no environment (changed: {changed}):\n{err}"
        );
    }

    /// Runs a command in the loaded environment (PATH lookup in it); stdout.
    pub fn sh(&self, script: &str) -> String {
        let out = self.command("sh").arg("-c").arg(script).output().unwrap();
        assert_success(&out, script);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn var(&self, name: &str) -> Option<&str> {
        self.env.get(name).map(String::as_str)
    }
}
