//! Nix: the runner (the only code that starts a `nix-*` process), the
//! embedded Nix library and the arguments it takes, and the decoding of
//! what it returns (`request`).

pub mod library;
pub mod request;
mod runner;

pub use runner::{nix_string, Event, Nix, NixError};
