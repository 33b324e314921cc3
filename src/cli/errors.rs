//! Exit codes, the `hint:` mechanism shared by all commands, and the one
//! place errors are rendered as text.

use std::fmt;

/// The process exit code a command asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitCode(pub i32);

impl ExitCode {
    pub const SUCCESS: ExitCode = ExitCode(0);
    /// A failure, or drift detected by a check (`lock --check`).
    pub const FAILURE: ExitCode = ExitCode(1);
    /// Bad command line (clap uses 2 as well).
    pub const USAGE: ExitCode = ExitCode(2);
}

/// A suggestion for the user, attached to an error as anyhow context.
///
/// `main` prints it as a separate `hint:` line after the causes, instead of
/// as one more "caused by" layer.
#[derive(Debug, Clone)]
pub struct Hint(pub String);

impl fmt::Display for Hint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub trait HintExt<T> {
    /// Attaches a hint to the error; the hint is printed as `hint: …`.
    fn hint(self, hint: impl Into<String>) -> anyhow::Result<T>;
}

impl<T, E> HintExt<T> for Result<T, E>
where
    E: Into<anyhow::Error>,
{
    fn hint(self, hint: impl Into<String>) -> anyhow::Result<T> {
        self.map_err(|e| e.into().context(Hint(hint.into())))
    }
}

/// A program crate-env was asked to run could not be started; the exit code
/// follows the shells' convention (127 not found, 126 not executable).
#[derive(Debug, thiserror::Error)]
#[error("cannot run `{program}`")]
pub struct RunError {
    pub program: String,
    #[source]
    pub source: std::io::Error,
}

impl RunError {
    pub fn exit_code(&self) -> ExitCode {
        match self.source.kind() {
            std::io::ErrorKind::NotFound => ExitCode(127),
            _ => ExitCode(126),
        }
    }
}

/// Sets the exit code of an error (`crate-env ci`: 2 for an evaluation or
/// build error, 1 for drift). Attached as anyhow context like [`Hint`]; it
/// displays as nothing and `describe` leaves it out.
#[derive(Debug, Clone, Copy)]
pub struct ExitWith(pub ExitCode);

impl fmt::Display for ExitWith {
    fn fmt(&self, _f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Ok(())
    }
}

pub trait ExitWithExt<T> {
    /// Makes the process exit with `code` if this error ends it.
    fn exit_with(self, code: ExitCode) -> anyhow::Result<T>;
}

impl<T, E> ExitWithExt<T> for Result<T, E>
where
    E: Into<anyhow::Error>,
{
    fn exit_with(self, code: ExitCode) -> anyhow::Result<T> {
        self.map_err(|e| e.into().context(ExitWith(code)))
    }
}

/// The exit code for an error that ends the process.
pub fn exit_code_of(err: &anyhow::Error) -> ExitCode {
    if let Some(ExitWith(code)) = err.downcast_ref::<ExitWith>() {
        return *code;
    }
    match err.downcast_ref::<RunError>() {
        Some(run) => run.exit_code(),
        None => ExitCode::FAILURE,
    }
}

/// Creates an error that carries a hint.
pub fn error_with_hint(message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
    anyhow::Error::msg(message.into()).context(Hint(hint.into()))
}

/// Splits an error into the lines `main` prints: the message, its causes
/// (outermost first) and the hint, if any.
pub fn describe(err: &anyhow::Error) -> (String, Vec<String>, Option<String>) {
    let hint = err.downcast_ref::<Hint>().map(|h| h.0.clone());
    let mut layers = err
        .chain()
        .map(|e| e.to_string())
        .filter(|text| Some(text) != hint.as_ref() && !text.is_empty());
    let message = layers.next().unwrap_or_default();
    // Causes whose text is already part of the message (thiserror `{0}` style) add noise.
    let causes = layers.filter(|c| !message.contains(c.as_str())).collect();
    (message, causes, hint)
}

/// The error as `main` prints it on stderr: `error:`, `caused by:` lines
/// (multi-line causes, such as Nix's own text, indented under theirs) and
/// the `hint:` line.
pub fn render_report(err: &anyhow::Error) -> String {
    let (message, causes, hint) = describe(err);
    let mut text = format!("error: {}\n", indent_lines(message.trim_end(), "  "));
    for cause in causes {
        text.push_str(&format!(
            "  caused by: {}\n",
            indent_lines(cause.trim_end(), "    ")
        ));
    }
    if let Some(hint) = hint {
        text.push_str(&format!("hint: {hint}\n"));
    }
    text
}

/// The error as a warning quotes it (a stale environment's reason, the
/// record of a failed materialisation): message, `caused by:` lines and,
/// with `with_hint`, the hint; no trailing newline.
pub fn render_summary(err: &anyhow::Error, with_hint: bool) -> String {
    let (message, causes, hint) = describe(err);
    let mut text = message;
    for cause in causes {
        text.push_str(&format!("\ncaused by: {}", cause.trim_end()));
    }
    if let Some(hint) = hint.filter(|_| with_hint) {
        text.push_str(&format!("\nhint: {hint}"));
    }
    text
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

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn hint_is_split_from_causes() {
        let err: Result<(), std::io::Error> = Err(std::io::Error::other("disk on fire"));
        let err = err
            .context("cannot write crate-env.lock")
            .hint("check permissions")
            .context("lock failed")
            .unwrap_err();
        let (message, causes, hint) = describe(&err);
        assert_eq!(message, "lock failed");
        assert_eq!(causes, vec!["cannot write crate-env.lock", "disk on fire"]);
        assert_eq!(hint.as_deref(), Some("check permissions"));
        assert_eq!(
            render_report(&err),
            "error: lock failed\n  caused by: cannot write crate-env.lock\n  caused by: disk on fire\nhint: check permissions\n"
        );
        assert_eq!(
            render_summary(&err, false),
            "lock failed\ncaused by: cannot write crate-env.lock\ncaused by: disk on fire"
        );
    }

    #[test]
    fn exit_with_sets_the_code_and_is_not_printed() {
        let err: Result<(), std::io::Error> = Err(std::io::Error::other("eval failed"));
        let err = err
            .context("cannot build")
            .exit_with(ExitCode::USAGE)
            .unwrap_err();
        assert_eq!(exit_code_of(&err), ExitCode::USAGE);
        let (message, causes, _) = describe(&err);
        assert_eq!(message, "cannot build");
        assert_eq!(causes, vec!["eval failed"]);
    }
}
