use std::io::Write;

use clap::Parser;
use crate_env::cli::Cli;

fn main() {
    // `cargo`, `rustc`, ... in .crate-env/bin are links to this binary: like
    // rustup, dispatch on argv[0] before clap (and without it: proxies must be fast).
    let mut args = std::env::args_os();
    let argv0 = args.next().unwrap_or_default();
    let result = match crate_env::proxy::proxy_name(&argv0) {
        Some(name) => crate_env::run_proxy(&name, args.collect()),
        None => crate_env::run(Cli::parse()),
    };
    let code = match result {
        Ok(code) => code.0,
        Err(err) => {
            print_error(&err);
            crate_env::errors::exit_code_of(&err).0
        }
    };
    std::process::exit(code);
}

fn print_error(err: &anyhow::Error) {
    let (message, causes, hint) = crate_env::errors::describe(err);
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "error: {}", indent_lines(message.trim_end(), "  "));
    for cause in causes {
        let _ = writeln!(stderr, "  caused by: {}", indent_continuation(&cause));
    }
    if let Some(hint) = hint {
        let _ = writeln!(stderr, "hint: {hint}");
    }
}

/// Keeps multi-line causes (Nix's error text) readable under "caused by:".
fn indent_continuation(text: &str) -> String {
    indent_lines(text.trim_end(), "    ")
}

/// Indents every line after the first; empty lines stay empty.
fn indent_lines(text: &str, indent: &str) -> String {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default().to_owned();
    lines.fold(first, |mut out, line| {
        out.push('\n');
        if !line.is_empty() {
            out.push_str(indent);
            out.push_str(line);
        }
        out
    })
}
