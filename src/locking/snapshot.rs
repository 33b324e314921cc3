//! rust-overlay's `snapshot/<date>` tags. rust-overlay keeps nightly (and
//! beta) manifests only from January of the previous year and tags the commit
//! before each purge `snapshot/<purge date>`, so a nightly that is gone from
//! master is still in the snapshots tagged after it.
//!
//! When locking fails on such a nightly, [`Search`] tries the snapshots and
//! turns what it finds into the hint: the `crate-env lock` that pins one.

use anyhow::{Context as _, Result};

use crate::cli::context::Context;
use crate::inputs::spec::Spec;
use crate::inputs::InputError;
use crate::locking::evaluate::{evaluate_request, resolver};
use crate::locking::rules::{resolve_toolchains, ResolveError};
use crate::nix::Nix;
use crate::project::lockfile::Lockfile;
use crate::project::Project;
use crate::shell::quote_posix_if_needed;
use crate::versions::parse_date;

const PREFIX: &str = "refs/tags/snapshot/";

/// How many `snapshot/*` tags a missing nightly is looked up in (each costs
/// a fetch and an evaluation).
const SNAPSHOTS_TRIED: usize = 3;

/// The search for a snapshot tag that still has a purged nightly.
pub struct Search<'a> {
    pub ctx: &'a Context<'a>,
    pub project: &'a Project,
    pub nix: &'a Nix<'a>,
    /// The lock that failed to resolve (toolchains unresolved).
    pub provisional: &'a Lockfile,
}

/// A snapshot tag that has the nightly, as a command to run.
struct Found {
    tag: String,
    spec: String,
    /// Why the whole request still fails with it (e.g. the stable is newer).
    problem: Option<String>,
}

impl Search<'_> {
    /// The hint for `err` (nightly `date` purged): a command pinning the
    /// snapshot that has it, or why there is none.
    pub fn hint(&self, date: &str, err: &ResolveError) -> String {
        let overlay_spec = &self.provisional.inputs.rust_overlay.spec;
        let Ok(spec) = Spec::parse(overlay_spec) else {
            return err.hint();
        };
        let Some(url) = git_url(&spec, &self.ctx.settings.github_git_base.value) else {
            return format!(
                "{}\n(the rust-overlay spec is a tarball URL, so crate-env cannot list its tags)",
                err.hint()
            );
        };
        self.ctx.ui.info(format!(
            "nightly {date} is gone from the pinned rust-overlay; looking for a snapshot tag that has it"
        ));
        match self.find(&spec, &url, date) {
            Ok(Some(found)) => self.pin_hint(found, date),
            Ok(None) => format!(
                "no `snapshot/*` tag of {url} after {date} has that nightly; \
                 pin a rust-overlay revision from before its purge (`git+URL?rev=REV`), or set nightly.date to a date it has"
            ),
            Err(search) => format!("{}\n(looking for a snapshot tag failed: {search:#})", err.hint()),
        }
    }

    fn pin_hint(&self, found: Found, date: &str) -> String {
        let command = format!(
            "crate-env lock{} --rust-overlay {}",
            self.nixpkgs_flag(),
            quote_posix_if_needed(&found.spec)
        );
        match found.problem {
            None => format!(
                "rust-overlay's tag `{}` still has nightly {date}; pin it with:\n    {command}",
                found.tag
            ),
            Some(problem) => format!(
                "rust-overlay's tag `{}` still has nightly {date}, but with it: {problem}\n\
                 adjust crate-env.nix, then pin it with:\n    {command}",
                found.tag
            ),
        }
    }

    /// ` --nixpkgs SPEC` unless crate-env.lock already pins that spec, so the
    /// suggested command works without the lock this run failed to write.
    fn nixpkgs_flag(&self) -> String {
        let spec = &self.provisional.inputs.nixpkgs.spec;
        let existing = Lockfile::read(&self.project.lock_file()).ok().flatten();
        if existing.is_some_and(|(lock, _)| &lock.inputs.nixpkgs.spec == spec) {
            String::new()
        } else {
            format!(" --nixpkgs {}", quote_posix_if_needed(spec))
        }
    }

    /// The newest snapshot tag after `date` whose overlay has the nightly,
    /// preferring one with which the whole request resolves.
    fn find(&self, spec: &Spec, url: &str, date: &str) -> Result<Option<Found>> {
        let tags = candidates(&list_tags(url)?, date);
        let resolver = resolver(self.ctx, self.nix);
        let mut carrying = None;
        for tag in tags.into_iter().take(SNAPSHOTS_TRIED) {
            let Some(tag_spec) = spec_at_tag(spec, &tag) else {
                break;
            };
            let tag_spec = tag_spec.to_string();
            let mut trial = self.provisional.clone();
            trial.inputs.rust_overlay = resolver
                .resolve(&tag_spec)
                .with_context(|| format!("cannot fetch rust-overlay at {tag}"))?;
            let request = evaluate_request(self.ctx, self.project, self.nix, &trial)?;
            if !request.available.nightly.iter().any(|d| d == date) {
                continue;
            }
            let problem = resolve_toolchains(&request).err().map(|e| e.to_string());
            let found = Found {
                tag,
                spec: tag_spec,
                problem,
            };
            if found.problem.is_none() {
                return Ok(Some(found));
            }
            carrying.get_or_insert(found);
        }
        Ok(carrying)
    }
}

/// The git URL to list tags of, for the specs that have one (`git+…`,
/// `github:`); a plain tarball URL has none.
pub fn git_url(spec: &Spec, github_git_base: &str) -> Option<String> {
    match spec {
        Spec::Git { url, .. } => Some(url.clone()),
        Spec::GitHub { owner, repo, .. } => Some(format!("{github_git_base}/{owner}/{repo}")),
        Spec::Tarball { .. } => None,
    }
}

/// The same input, pinned to `tag` (`snapshot/2026-03-10`).
pub fn spec_at_tag(spec: &Spec, tag: &str) -> Option<Spec> {
    match spec {
        // fetchGit needs the full ref for a tag (a short one means a branch).
        Spec::Git { url, .. } => Some(Spec::Git {
            url: url.clone(),
            reference: Some(format!("refs/tags/{tag}")),
            rev: None,
        }),
        Spec::GitHub { owner, repo, .. } => Some(Spec::GitHub {
            owner: owner.clone(),
            repo: repo.clone(),
            reference: Some(tag.to_owned()),
        }),
        Spec::Tarball { .. } => None,
    }
}

/// `git ls-remote --tags URL` output.
pub fn list_tags(url: &str) -> Result<String, InputError> {
    crate::inputs::git_ls_remote(&["--tags", url])
}

/// The snapshot tags that can still carry a nightly of `date`: those dated
/// after it, newest first (the newest such snapshot has the most stables).
pub fn candidates(listing: &str, date: &str) -> Vec<String> {
    let mut tags: Vec<String> = listing
        .lines()
        .filter_map(|line| line.split_once('\t'))
        .filter_map(|(_, name)| name.strip_prefix(PREFIX))
        .map(|rest| rest.trim_end_matches("^{}"))
        .filter(|tag_date| parse_date(tag_date).is_some() && *tag_date > date)
        .map(|tag_date| format!("snapshot/{tag_date}"))
        .collect();
    tags.sort();
    tags.dedup();
    tags.reverse();
    tags
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

    #[test]
    fn candidates_are_snapshots_after_the_date_newest_first() {
        let listing = format!(
            "{A}\trefs/tags/snapshot/2024-08-01\n{A}\trefs/tags/snapshot/2025-01-11\n\
             {A}\trefs/tags/snapshot/2025-01-11^{{}}\n{A}\trefs/tags/snapshot/2026-03-11\n\
             {A}\trefs/tags/v1.0\n{A}\trefs/tags/snapshot/latest\n"
        );
        assert_eq!(
            candidates(&listing, "2024-10-02"),
            ["snapshot/2026-03-11", "snapshot/2025-01-11"]
        );
        assert!(candidates(&listing, "2026-03-11").is_empty());
    }

    #[test]
    fn specs_at_a_tag() {
        let git = Spec::parse("git+http://h/ro.git?ref=master").unwrap();
        assert_eq!(
            spec_at_tag(&git, "snapshot/2026-03-10")
                .unwrap()
                .to_string(),
            "git+http://h/ro.git?ref=refs/tags/snapshot/2026-03-10"
        );
        assert_eq!(git_url(&git, "x").as_deref(), Some("http://h/ro.git"));
        let gh = Spec::parse("github:oxalica/rust-overlay").unwrap();
        assert_eq!(
            spec_at_tag(&gh, "snapshot/2026-03-10").unwrap().to_string(),
            "github:oxalica/rust-overlay/snapshot/2026-03-10"
        );
        assert_eq!(
            git_url(&gh, "https://github.com").as_deref(),
            Some("https://github.com/oxalica/rust-overlay")
        );
        let tarball = Spec::parse("https://h/ro.tar.gz").unwrap();
        assert_eq!(spec_at_tag(&tarball, "snapshot/x"), None);
    }
}
