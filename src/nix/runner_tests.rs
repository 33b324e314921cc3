//! Tests of src/nix/runner.rs.

use super::*;

#[test]
fn nix_strings_escape_everything_interpolating() {
    assert_eq!(nix_string(r#"a"b\c${d}$e"#), r#""a\"b\\c\${d}$e""#);
    assert_eq!(nix_string("x\ny"), r#""x\ny""#);
}

#[test]
fn fetch_git_expr_quotes_inputs() {
    let expr = fetch_git_expr("file:///x\"${y}", "abc", Some("ma\"in"));
    assert!(expr.contains(r#"url = "file:///x\"\${y}";"#), "{expr}");
    assert!(expr.contains(r#"ref = "ma\"in";"#), "{expr}");
    assert!(!fetch_git_expr("u", "r", None).contains("ref ="));
}

#[test]
fn error_excerpt_starts_at_error() {
    let stderr = "warning: something\nerror: syntax error, unexpected ';'\n\n       at /p/crate-env.nix:1:7:\n";
    assert_eq!(
        error_excerpt(stderr),
        "error: syntax error, unexpected ';'\n\n       at /p/crate-env.nix:1:7:"
    );
    assert_eq!(error_excerpt("just this\n"), "just this");
}

#[test]
fn error_excerpt_shows_the_failed_builders_log() {
    let stderr = "building '/nix/store/aaa-x.drv'...\nnoise from x\n\
                  building '/nix/store/bbb-rust.drv'...\nsh: mkdir: not found\n\
                  error: builder for '/nix/store/bbb-rust.drv' failed with exit code 127\n\
                  error: 1 dependencies of derivation '/nix/store/ccc-env.drv' failed to build\n";
    assert_eq!(
        error_excerpt(stderr),
        "error: builder for '/nix/store/bbb-rust.drv' failed with exit code 127\n\
         \x20      last 1 log lines:\n\
         \x20      > sh: mkdir: not found\n\
         error: 1 dependencies of derivation '/nix/store/ccc-env.drv' failed to build"
    );
}

#[test]
fn progress_lines() {
    assert_eq!(
        progress_event(
            "building '/nix/store/0za1jwg6j8qi238w4yh3dsdm1hl913a7-rust-default-1.95.0.drv'..."
        ),
        Some(Event::Building("rust-default-1.95.0"))
    );
    assert_eq!(
        progress_event("unpacking 'http://127.0.0.1:1/x.tar.gz'..."),
        Some(Event::Fetching("http://127.0.0.1:1/x.tar.gz"))
    );
    assert_eq!(progress_event("hello from a builder"), None);
}

#[test]
fn commands_are_displayed_quoted_and_abbreviated() {
    let argv = os_args(["--argstr", "lock", "{\n}\n", "-A", "env", "a b"]);
    assert_eq!(
        display_command(Path::new("/usr/bin/nix-build"), &argv),
        "nix-build --argstr lock '<2 lines>' -A env 'a b'"
    );
}

#[test]
fn missing_bin_dir_names_the_variable() {
    let err = Nix::find(Some(Path::new("/nonexistent"))).unwrap_err();
    assert!(err.to_string().contains("CRATE_ENV_NIX_BIN_DIR"), "{err}");
}
