//! Everything between the process and the core: clap arguments, the resolved
//! settings (and where each came from), human output, errors and exit codes,
//! and the [`context::Context`] every command and pipeline gets.

pub mod args;
pub mod context;
pub mod errors;
pub mod settings;
pub mod ui;
