//! Human output on stderr. stdout is reserved for data a caller parses
//! (`env print`, `status --json`), so nothing here ever writes to it.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::settings::{Settings, Verbosity};

pub struct Ui {
    verbosity: Verbosity,
    color: bool,
    stderr_is_terminal: bool,
}

impl Ui {
    pub fn new(settings: &Settings) -> Ui {
        let stderr_is_terminal = std::io::stderr().is_terminal();
        Ui {
            verbosity: settings.verbosity.value,
            color: settings.color.value && stderr_is_terminal,
            stderr_is_terminal,
        }
    }

    pub fn verbosity(&self) -> Verbosity {
        self.verbosity
    }

    /// A normal progress/result message (hidden by `-q`).
    pub fn info(&self, message: impl AsRef<str>) {
        if self.verbosity >= Verbosity::Normal {
            self.write_line(message.as_ref());
        }
    }

    /// Something the user should know even with `-q`.
    pub fn warn(&self, message: impl AsRef<str>) {
        let label = self.paint("warning", "33");
        let text = message
            .as_ref()
            .trim_end()
            .lines()
            .map(|l| {
                if l.is_empty() {
                    String::new()
                } else {
                    format!("  {l}")
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        let text = text.trim_start();
        self.write_line(&format!("{label}: {text}"));
    }

    /// A check that passed (`doctor`, `ci`; hidden by `-q`).
    pub fn ok(&self, message: impl AsRef<str>) {
        if self.verbosity >= Verbosity::Normal {
            let label = self.paint("ok     ", "32");
            self.write_line(&format!("{label} {}", message.as_ref()));
        }
    }

    /// A check that did not apply (hidden by `-q`).
    pub fn skipped(&self, message: impl AsRef<str>) {
        if self.verbosity >= Verbosity::Normal {
            let label = self.paint("skipped", "2");
            self.write_line(&format!("{label} {}", message.as_ref()));
        }
    }

    /// A check that found drift; shown even with `-q`.
    pub fn problem(&self, message: impl AsRef<str>) {
        let label = self.paint("problem", "31");
        let text = message.as_ref().trim_end().replace('\n', "\n        ");
        self.write_line(&format!("{label} {text}"));
    }

    /// A spinner for long work; inert unless stderr is a terminal and not `-q`.
    pub fn spinner(&self, message: impl Into<String>) -> Spinner {
        let message = message.into();
        if !self.stderr_is_terminal || self.verbosity == Verbosity::Quiet {
            return Spinner { bar: None };
        }
        let bar = ProgressBar::new_spinner();
        let template = if self.color {
            "{spinner:.cyan} {msg}"
        } else {
            "{spinner} {msg}"
        };
        bar.set_style(ProgressStyle::with_template(template).expect("valid template"));
        bar.set_message(message);
        bar.enable_steady_tick(Duration::from_millis(100));
        Spinner { bar: Some(bar) }
    }

    fn paint(&self, text: &str, ansi: &str) -> String {
        if self.color {
            format!("\x1b[{ansi}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    fn write_line(&self, line: &str) {
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }
}

/// Progress for one long step; prints go above the spinner so they don't garble it.
pub struct Spinner {
    bar: Option<ProgressBar>,
}

impl Spinner {
    pub fn set_message(&self, message: impl Into<String>) {
        if let Some(bar) = &self.bar {
            bar.set_message(message.into());
        }
    }

    /// Prints a line on stderr without disturbing the spinner.
    pub fn println(&self, line: impl AsRef<str>) {
        match &self.bar {
            Some(bar) => bar.println(line.as_ref()),
            None => {
                let _ = writeln!(std::io::stderr().lock(), "{}", line.as_ref());
            }
        }
    }

    pub fn finish(self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
