//! rust-overlay's `snapshot/<date>` tags. rust-overlay keeps nightly (and
//! beta) manifests only from January of the previous year and tags the commit
//! before each purge `snapshot/<purge date>`, so a nightly that is gone from
//! master is still in the snapshots tagged after it.

use crate::inputs::InputError;
use crate::spec::Spec;

const PREFIX: &str = "refs/tags/snapshot/";

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
        .filter(|tag_date| is_date(tag_date) && *tag_date > date)
        .map(|tag_date| format!("snapshot/{tag_date}"))
        .collect();
    tags.sort();
    tags.dedup();
    tags.reverse();
    tags
}

fn is_date(s: &str) -> bool {
    s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        })
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
