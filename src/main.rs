use clap::Parser;

fn main() {
    // `cargo`, `rustc`, ... in .crate-env/bin are links to this binary: like
    // rustup, dispatch on argv[0] before clap (and without it: proxies must be fast).
    let mut args = std::env::args_os();
    let argv0 = args.next().unwrap_or_default();
    let result = match crate_env::proxy_name(&argv0) {
        Some(name) => crate_env::run_proxy(&name, args.collect()),
        None => crate_env::run(crate_env::Cli::parse()),
    };
    let code = match result {
        Ok(code) => code.0,
        Err(err) => {
            eprint!("{}", crate_env::render_report(&err));
            crate_env::exit_code_of(&err).0
        }
    };
    std::process::exit(code);
}
