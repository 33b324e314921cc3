//! Rendering an environment for a shell or tool. Every value is quoted for
//! its target so that no value can run a command when the output is `eval`ed.

pub mod direnv;

use clap::ValueEnum;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Bash,
    Zsh,
    Fish,
    Json,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("`{0}` is not a valid environment variable name")]
    InvalidName(String),
    #[error("the value of {0} contains a NUL byte, which no environment can hold")]
    NulInValue(String),
}

pub fn render(vars: &[(String, String)], format: Format) -> Result<String, RenderError> {
    for (name, value) in vars {
        if !is_valid_name(name) {
            return Err(RenderError::InvalidName(name.clone()));
        }
        if value.contains('\0') {
            return Err(RenderError::NulInValue(name.clone()));
        }
    }
    Ok(match format {
        Format::Bash | Format::Zsh => lines(vars, |n, v| format!("export {n}={};", quote_posix(v))),
        Format::Fish => lines(vars, |n, v| format!("set -gx {n} {};", quote_fish(v))),
        Format::Json => render_json(vars),
    })
}

fn lines(vars: &[(String, String)], line: impl Fn(&str, &str) -> String) -> String {
    vars.iter().map(|(n, v)| line(n, v) + "\n").collect()
}

fn render_json(vars: &[(String, String)]) -> String {
    let object: serde_json::Map<String, serde_json::Value> = vars
        .iter()
        .map(|(n, v)| (n.clone(), serde_json::Value::String(v.clone())))
        .collect();
    let mut text = serde_json::to_string_pretty(&object).expect("strings serialise");
    text.push('\n');
    text
}

/// `[A-Za-z_][A-Za-z0-9_]*`: what every shell accepts after `export`.
pub fn is_valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'A'..=b'Z' | b'a'..=b'z' | b'_'))
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Single-quoted for bash, zsh and POSIX sh: nothing inside `'…'` is special
/// except `'` itself, written as `'\''` (close, escaped quote, reopen).
pub fn quote_posix(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// Like [`quote_posix`], but leaves words that need no quoting bare; for
/// showing command lines to people.
pub fn quote_posix_if_needed(value: &str) -> String {
    let safe = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=+@%,".contains(&b));
    if safe {
        value.to_owned()
    } else {
        quote_posix(value)
    }
}

/// Single-quoted for fish: inside `'…'` fish only interprets `\\` and `\'`.
pub fn quote_fish(value: &str) -> String {
    format!("'{}'", value.replace('\\', r"\\").replace('\'', r"\'"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    const NASTY: &[&str] = &[
        "plain",
        "",
        "it's",
        "'",
        "''",
        "\"double\"",
        "$(touch /tmp/crate-env-pwned)",
        "`id`",
        "${HOME}",
        "$HOME",
        "back\\slash\\",
        "\\'",
        "trailing\\",
        "new\nline",
        "\n",
        "tab\there",
        "semi; echo pwned",
        "glob * ? [a]",
        "~",
        "unicode: héllo ✓ 日本",
        "!bang !! !$",
        "a:b:c",
        "%s %d",
        "--flag",
    ];

    fn vars() -> Vec<(String, String)> {
        NASTY
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("V{i}"), v.to_string()))
            .collect()
    }

    /// Evaluates the rendered text in `shell`, then prints each variable
    /// NUL-terminated, and compares with the input.
    fn round_trip(shell: &str, format: Format, print_var: &str) {
        let vars = vars();
        let script = render(&vars, format).unwrap();
        let mut program = script.clone();
        for (name, _) in &vars {
            program.push_str(&print_var.replace("NAME", name));
            program.push('\n');
        }
        let output = Command::new(shell)
            .arg("-c")
            .arg(&program)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{shell} failed: {output:?}\n{script}"
        );
        let printed: Vec<String> = output
            .stdout
            .split(|b| *b == 0)
            .map(|s| String::from_utf8(s.to_vec()).unwrap())
            .collect();
        for (i, (name, value)) in vars.iter().enumerate() {
            assert_eq!(&printed[i], value, "{shell}: {name}\n{script}");
        }
    }

    #[test]
    fn bash_round_trips_nasty_values() {
        round_trip("bash", Format::Bash, r#"printf '%s\0' "$NAME""#);
    }

    #[test]
    fn zsh_round_trips_nasty_values() {
        round_trip("zsh", Format::Zsh, r#"printf '%s\0' "$NAME""#);
    }

    #[test]
    fn fish_round_trips_nasty_values() {
        round_trip("fish", Format::Fish, r#"printf '%s\0' "$NAME""#);
    }

    #[test]
    fn sh_exports_to_children() {
        let vars = vec![("CRATE_ENV_T".to_string(), "it's $(x)".to_string())];
        let script = render(&vars, Format::Bash).unwrap() + "sh -c 'printf %s \"$CRATE_ENV_T\"'";
        let out = Command::new("sh").arg("-c").arg(script).output().unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), "it's $(x)");
    }

    #[test]
    fn fish_path_is_split_into_a_list() {
        let vars = vec![("PATH".to_string(), "/nix/a/bin:/usr/bin:/bin".to_string())];
        let script =
            render(&vars, Format::Fish).unwrap() + "printf '%s\\n' $PATH[1]; printf '%s' \"$PATH\"";
        let out = Command::new("fish").arg("-c").arg(script).output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.starts_with("/nix/a/bin\n"), "{text}");
    }

    #[test]
    fn exact_text() {
        let vars = vec![
            ("A".to_string(), "it's".to_string()),
            ("B".to_string(), "/nix/store/x-y/bin".to_string()),
        ];
        assert_eq!(
            render(&vars, Format::Bash).unwrap(),
            "export A='it'\\''s';\nexport B='/nix/store/x-y/bin';\n"
        );
        assert_eq!(
            render(&vars, Format::Fish).unwrap(),
            "set -gx A 'it\\'s';\nset -gx B '/nix/store/x-y/bin';\n"
        );
        assert_eq!(
            render(&vars, Format::Json).unwrap(),
            "{\n  \"A\": \"it's\",\n  \"B\": \"/nix/store/x-y/bin\"\n}\n"
        );
    }

    #[test]
    fn json_round_trips() {
        let vars = vars();
        let text = render(&vars, Format::Json).unwrap();
        let parsed: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&text).unwrap();
        for (name, value) in &vars {
            assert_eq!(parsed[name], *value);
        }
    }

    #[test]
    fn invalid_names_and_nul_are_rejected() {
        for name in ["", "1A", "A-B", "A B", "$(x)"] {
            let vars = vec![(name.to_string(), "v".to_string())];
            assert!(render(&vars, Format::Bash).is_err(), "{name}");
        }
        let vars = vec![("A".to_string(), "a\0b".to_string())];
        assert_eq!(
            render(&vars, Format::Json),
            Err(RenderError::NulInValue("A".into()))
        );
    }
}
