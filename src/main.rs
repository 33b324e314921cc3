use std::io::Write;

use clap::Parser;
use crate_env::cli::Cli;

fn main() {
    // Later (proxies, issue 4): dispatch on argv[0] here, before clap, the way
    // rustup does: `cargo`, `rustc`, ... symlinked to this binary.
    let cli = Cli::parse();
    let code = match crate_env::run(cli) {
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
