//! Exit codes and the `hint:` mechanism shared by all commands.

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
