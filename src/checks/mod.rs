//! The compatibility checks of `crate-env doctor` and `crate-env ci`: what
//! each found ([`Check`]), the probes that gather facts (running tools,
//! reading Cargo files), the decisions (pure functions from facts to a
//! check, unit-tested), and the collection of all of them for a project.
//! Nothing here prints.

pub mod cargo;
pub mod doctor;
pub mod probes;
pub mod rules;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Problem,
    /// Not applicable here (no Cargo.lock, no wasm-bindgen, …).
    Skipped,
}

/// The outcome of one check: what was found and, for a problem, what to change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// The workspace member checked (`None`: the root).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    pub name: &'static str,
    pub status: Status,
    pub message: String,
    pub fix: Option<String>,
}

impl Check {
    pub fn ok(name: &'static str, message: impl Into<String>) -> Check {
        Check {
            member: None,
            name,
            status: Status::Ok,
            message: message.into(),
            fix: None,
        }
    }
    pub fn skipped(name: &'static str, message: impl Into<String>) -> Check {
        Check {
            member: None,
            name,
            status: Status::Skipped,
            message: message.into(),
            fix: None,
        }
    }
    pub fn problem(
        name: &'static str,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check {
            member: None,
            name,
            status: Status::Problem,
            message: message.into(),
            fix: Some(fix.into()),
        }
    }
    pub fn is_problem(&self) -> bool {
        self.status == Status::Problem
    }

    /// The check, made for a workspace member.
    pub fn in_member(self, member: &str) -> Check {
        Check {
            member: Some(member.to_owned()),
            ..self
        }
    }

    /// `wasm: rustc` for a member's check, `rustc` for the root's.
    pub fn label(&self) -> String {
        match &self.member {
            Some(member) => format!("{member}: {}", self.name),
            None => self.name.to_owned(),
        }
    }
}
