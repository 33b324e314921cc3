//! Input specs as users write them (`--nixpkgs SPEC`), see docs/architecture.md:
//!
//! * `github:OWNER/REPO[/REF]` — a GitHub archive tarball of REF's head
//! * `http(s)://…`, `file://…` — a tarball URL
//! * `git+file://…`, `git+http(s)://…[?ref=R][&rev=X]` — a git repository

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    GitHub {
        owner: String,
        repo: String,
        /// Branch, tag or 40-hex revision; `None` means the default branch.
        reference: Option<String>,
    },
    Tarball {
        url: String,
    },
    Git {
        /// The URL git understands (without `git+`, without the query).
        url: String,
        reference: Option<String>,
        rev: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid input spec `{spec}`: {reason}")]
pub struct SpecError {
    pub spec: String,
    pub reason: String,
}

pub const ACCEPTED_FORMS: &str =
    "github:OWNER/REPO/REF, http(s)://… or file://… (a tarball), git+file://… or git+http(s)://…?ref=R&rev=X";

impl Spec {
    pub fn parse(spec: &str) -> Result<Spec, SpecError> {
        let fail = |reason: &str| SpecError {
            spec: spec.to_owned(),
            reason: reason.to_owned(),
        };
        if let Some(rest) = spec.strip_prefix("github:") {
            parse_github(rest).map_err(|r| fail(&r))
        } else if let Some(rest) = spec.strip_prefix("git+") {
            parse_git(rest).map_err(|r| fail(&r))
        } else if ["http://", "https://", "file://"]
            .iter()
            .any(|scheme| spec.starts_with(scheme))
        {
            if spec.contains(char::is_whitespace) {
                return Err(fail("a URL cannot contain whitespace"));
            }
            Ok(Spec::Tarball {
                url: spec.to_owned(),
            })
        } else {
            Err(fail(&format!("expected one of: {ACCEPTED_FORMS}")))
        }
    }
}

fn parse_github(rest: &str) -> Result<Spec, String> {
    let mut parts = rest.splitn(3, '/');
    let owner = parts.next().unwrap_or_default();
    let repo = parts.next().unwrap_or_default();
    let reference = parts.next().map(str::to_owned);
    let valid = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    if !valid(owner) || !valid(repo) {
        return Err("expected github:OWNER/REPO/REF".into());
    }
    if reference.as_deref() == Some("") {
        return Err("the REF after OWNER/REPO/ is empty".into());
    }
    Ok(Spec::GitHub {
        owner: owner.to_owned(),
        repo: repo.to_owned(),
        reference,
    })
}

fn parse_git(rest: &str) -> Result<Spec, String> {
    if !["file://", "http://", "https://", "ssh://"]
        .iter()
        .any(|scheme| rest.starts_with(scheme))
    {
        return Err("git+ must be followed by a file://, http(s):// or ssh:// URL".into());
    }
    let (url, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut reference = None;
    let mut rev = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("ref", value)) if !value.is_empty() => reference = Some(value.to_owned()),
            Some(("rev", value)) if is_rev(value) => rev = Some(value.to_owned()),
            Some(("rev", value)) => {
                return Err(format!("rev `{value}` is not a 40-digit hex commit"))
            }
            _ => {
                return Err(format!(
                    "unknown query parameter `{pair}` (known: ref, rev)"
                ))
            }
        }
    }
    Ok(Spec::Git {
        url: url.to_owned(),
        reference,
        rev,
    })
}

/// A full git commit id: 40 lowercase hex digits.
pub fn is_rev(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The last path segment of a URL that is a commit id, archive suffix removed
/// (`…/archive/<rev>.tar.gz`).
pub fn rev_in_url(url: &str) -> Option<String> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    path.split('/')
        .map(strip_archive_suffix)
        .rfind(|segment| is_rev(segment))
        .map(str::to_owned)
}

fn strip_archive_suffix(segment: &str) -> &str {
    const SUFFIXES: [&str; 7] = [
        ".tar.gz", ".tgz", ".tar.xz", ".tar.bz2", ".tar.zst", ".tar", ".zip",
    ];
    SUFFIXES
        .iter()
        .find_map(|suffix| segment.strip_suffix(suffix))
        .unwrap_or(segment)
}

impl fmt::Display for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Spec::GitHub {
                owner,
                repo,
                reference,
            } => {
                write!(f, "github:{owner}/{repo}")?;
                match reference {
                    Some(r) => write!(f, "/{r}"),
                    None => Ok(()),
                }
            }
            Spec::Tarball { url } => f.write_str(url),
            Spec::Git {
                url,
                reference,
                rev,
            } => {
                write!(f, "git+{url}")?;
                let params: Vec<String> = [("ref", reference), ("rev", rev)]
                    .into_iter()
                    .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
                    .collect();
                if !params.is_empty() {
                    write!(f, "?{}", params.join("&"))?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REV: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn github_with_ref() {
        let spec = Spec::parse("github:NixOS/nixpkgs/nixos-23.11").unwrap();
        assert_eq!(
            spec,
            Spec::GitHub {
                owner: "NixOS".into(),
                repo: "nixpkgs".into(),
                reference: Some("nixos-23.11".into()),
            }
        );
        assert_eq!(spec.to_string(), "github:NixOS/nixpkgs/nixos-23.11");
    }

    #[test]
    fn github_ref_may_contain_slashes_and_be_a_rev() {
        let spec = Spec::parse("github:o/r/release/1.0").unwrap();
        assert!(matches!(spec, Spec::GitHub { reference: Some(ref r), .. } if r == "release/1.0"));
        let spec = Spec::parse(&format!("github:oxalica/rust-overlay/{REV}")).unwrap();
        assert!(matches!(spec, Spec::GitHub { reference: Some(ref r), .. } if r == REV));
    }

    #[test]
    fn github_without_ref_means_default_branch() {
        let spec = Spec::parse("github:oxalica/rust-overlay").unwrap();
        assert!(matches!(
            spec,
            Spec::GitHub {
                reference: None,
                ..
            }
        ));
    }

    #[test]
    fn github_errors() {
        for bad in [
            "github:",
            "github:owner",
            "github:/repo",
            "github:o/r/",
            "github:o w/r",
        ] {
            assert!(Spec::parse(bad).is_err(), "{bad} should fail");
        }
    }

    #[test]
    fn tarball_urls() {
        let url = format!("http://127.0.0.1:8080/nixpkgs/{REV}.tar.gz");
        let spec = Spec::parse(&url).unwrap();
        assert_eq!(spec, Spec::Tarball { url: url.clone() });
        assert_eq!(spec.to_string(), url);

        assert_eq!(rev_in_url("https://example.org/nixexprs.tar.xz"), None);
        let url = format!("file:///srv/{REV}/src.tgz");
        assert!(Spec::parse(&url).is_ok());
        assert_eq!(rev_in_url(&url).as_deref(), Some(REV));
    }

    #[test]
    fn git_urls_with_query() {
        let spec = Spec::parse(&format!(
            "git+http://127.0.0.1:1/git/rust-overlay.git?ref=master&rev={REV}"
        ))
        .unwrap();
        assert_eq!(
            spec,
            Spec::Git {
                url: "http://127.0.0.1:1/git/rust-overlay.git".into(),
                reference: Some("master".into()),
                rev: Some(REV.into()),
            }
        );
        let spec = Spec::parse("git+file:///tmp/repo").unwrap();
        assert_eq!(
            spec,
            Spec::Git {
                url: "file:///tmp/repo".into(),
                reference: None,
                rev: None
            }
        );
        assert_eq!(spec.to_string(), "git+file:///tmp/repo");
    }

    #[test]
    fn git_errors() {
        assert!(Spec::parse("git+ftp://x").is_err());
        assert!(Spec::parse("git+file:///x?rev=abc").is_err());
        assert!(Spec::parse("git+file:///x?branch=main").is_err());
    }

    #[test]
    fn unknown_forms_list_the_accepted_ones() {
        let err = Spec::parse("nixpkgs").unwrap_err();
        assert!(err.to_string().contains("github:OWNER/REPO/REF"), "{err}");
        assert!(Spec::parse("http://x y").is_err());
    }
}
