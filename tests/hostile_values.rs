//! Hostile values (issue 12, docs/reliability.md): 1,000+ generated values
//! (quotes, `$()`, backticks, newlines, `\`, unicode, empty, 100 KiB) under
//! valid generated names go through crate-env.nix, Nix, the cache, and out
//! through every export format; loaded by the real bash, zsh and fish, and
//! parsed as the GitHub Actions runner parses `$GITHUB_ENV`, every value is
//! identical and no command ran.

mod common;

use std::collections::BTreeMap;
use std::fs;

use common::{assert_success, channel_line, nix_string, Project};

const COUNT: usize = 1200;

/// Pieces that break naive quoting in at least one format. `@` marks where
/// the value's index goes, so an injected command would leave a file.
const PIECES: &[&str] = &[
    "'",
    "\"",
    "$(touch pwned-@)",
    "`touch pwned-@`",
    "${HOME}",
    "$HOME",
    "\\",
    "\\'",
    "\n",
    "\r\n",
    "\t",
    ";",
    "&&",
    "|",
    "(touch pwned-@)",
    "; touch pwned-@ #",
    "%s",
    "!",
    "*",
    "~",
    "=",
    "<<EOF",
    "ghadelimiter_x",
    "é",
    "日本",
    "✓",
    "🦀",
    " ",
    "plain",
    "--",
];

/// xorshift64, seeded: the same values every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 as usize
    }
}

/// `COUNT` (name, value) pairs: valid names of 1 to 12 characters, values
/// of 0 to 12 pieces; plus an empty value and a 100 KiB one.
fn generate() -> Vec<(String, String)> {
    const FIRST: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_";
    const REST: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_0123456789";
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut vars = vec![
        ("EMPTY_VALUE".to_owned(), String::new()),
        (
            "BIG_VALUE".to_owned(),
            "0123456789abcdef'\"$`\\\n".repeat(100 * 1024 / 22),
        ),
    ];
    for i in 0..COUNT {
        let mut name = format!("H{i}_");
        name.push(FIRST[rng.next() % FIRST.len()] as char);
        for _ in 0..rng.next() % 12 {
            name.push(REST[rng.next() % REST.len()] as char);
        }
        let value: String = (0..rng.next() % 13)
            .map(|_| PIECES[rng.next() % PIECES.len()].replace('@', &i.to_string()))
            .collect();
        vars.push((name, value));
    }
    vars
}

/// `$GITHUB_ENV` as the Actions runner reads it: `NAME=value` lines and
/// `NAME<<DELIMITER` … `DELIMITER` blocks, lines split on `\n`.
fn parse_github_env(text: &str) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    let mut lines = text.split('\n');
    while let Some(line) = lines.next() {
        if line.is_empty() {
            continue;
        }
        let heredoc = line.find("<<").filter(|&i| !line[..i].contains('='));
        if let Some(i) = heredoc {
            let delimiter = &line[i + 2..];
            let mut value: Vec<&str> = Vec::new();
            for l in lines.by_ref() {
                if l == delimiter {
                    break;
                }
                value.push(l);
            }
            vars.insert(line[..i].to_owned(), value.join("\n"));
        } else {
            let (name, value) = line.split_once('=').expect("NAME=value");
            vars.insert(name.to_owned(), value.to_owned());
        }
    }
    vars
}

fn compare(format: &str, got: &BTreeMap<String, String>, want: &[(String, String)]) -> usize {
    for (name, value) in want {
        assert_eq!(
            got.get(name),
            Some(value),
            "{format}: {name} differs (want {value:?})"
        );
    }
    want.len()
}

#[test]
fn every_generated_value_survives_every_export_format_and_runs_nothing() {
    let vars = generate();
    let attrs: String = vars
        .iter()
        .map(|(k, v)| format!("    {k} = {};\n", nix_string(v)))
        .collect();
    let p = Project::locked(&format!("{}\n  env = {{\n{attrs}  }};", channel_line()));
    assert_success(&p.run(&["materialise"]), "materialise");
    let mut checked = 0;
    checked += compare("json", &p.env_json(), &vars);
    for (shell, loaded) in common::env_loaded_by_real_shells(&p) {
        checked += compare(shell, &loaded, &vars);
    }
    let gh_env = p.home.join("github_env");
    let gh_path = p.home.join("github_path");
    fs::write(&gh_env, "").unwrap();
    fs::write(&gh_path, "").unwrap();
    let out = p
        .crate_env()
        .args(["ci", "--emit", "github"])
        .env("GITHUB_ENV", &gh_env)
        .env("GITHUB_PATH", &gh_path)
        .output()
        .unwrap();
    assert_success(&out, "ci --emit github");
    let text = fs::read_to_string(&gh_env).unwrap();
    checked += compare("github", &parse_github_env(&text), &vars);

    let pwned: Vec<String> = [&p.root, &p.home]
        .iter()
        .flat_map(|dir| fs::read_dir(dir).unwrap())
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("pwned-"))
        .collect();
    assert_eq!(pwned, [] as [String; 0], "a value ran a command");
    eprintln!(
        "campaign: {} values ({} bytes in all, largest {} bytes) x 5 formats: {checked} comparisons, all identical, 0 commands run",
        vars.len(),
        vars.iter().map(|(_, v)| v.len()).sum::<usize>(),
        vars.iter().map(|(_, v)| v.len()).max().unwrap_or(0)
    );
}
