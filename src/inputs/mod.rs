//! Resolves an input spec to a locked input: the revision (`git ls-remote`),
//! a fetchable URL, the narHash and lastModified (through [`Nix`]); and
//! the input specs, flake.lock import and SRI hashes that go with it.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub mod flake_lock;
pub mod spec;
pub mod sri;

use crate::inputs::spec::{is_rev, rev_in_url, Spec, SpecError};
use crate::inputs::sri::{sha256_base32_to_sri, InvalidHash};
use crate::nix::{Nix, NixError};
use crate::project::lockfile::{InputType, LockedInput};

/// Where `github:` specs are fetched from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitHubBases {
    /// `git ls-remote <git>/OWNER/REPO`
    pub git: String,
    /// `<archive>/OWNER/REPO/archive/<rev>.tar.gz`
    pub archive: String,
}

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error("cannot run `{command}`")]
    GitSpawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed: {message}")]
    Git { command: String, message: String },
    #[error("{url} has no branch or tag `{reference}`")]
    RefNotFound { url: String, reference: String },
    #[error(transparent)]
    Nix(#[from] NixError),
    #[error(transparent)]
    Hash(#[from] InvalidHash),
    #[error("cannot read the tarball {path}")]
    Archive {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub struct Resolver<'n, 'o> {
    nix: &'n Nix<'o>,
    github: GitHubBases,
}

impl<'n, 'o> Resolver<'n, 'o> {
    pub fn new(nix: &'n Nix<'o>, github: GitHubBases) -> Self {
        Resolver { nix, github }
    }

    /// Locks `spec_text` at the revision its ref points to now.
    pub fn resolve(&self, spec_text: &str) -> Result<LockedInput, InputError> {
        match Spec::parse(spec_text)? {
            Spec::GitHub {
                owner,
                repo,
                reference,
            } => {
                let rev = match reference {
                    Some(rev) if is_rev(&rev) => rev,
                    reference => {
                        let git_url = format!("{}/{owner}/{repo}", self.github.git);
                        ls_remote(&git_url, reference.as_deref().unwrap_or("HEAD"))?
                    }
                };
                let url = format!(
                    "{}/{owner}/{repo}/archive/{rev}.tar.gz",
                    self.github.archive
                );
                self.lock_tarball(spec_text, url, Some(rev))
            }
            Spec::Tarball { url } => {
                let rev = rev_in_url(&url);
                self.lock_tarball(spec_text, url, rev)
            }
            Spec::Git {
                url,
                reference,
                rev,
            } => {
                let rev = match rev {
                    Some(rev) => rev,
                    None => ls_remote(&url, reference.as_deref().unwrap_or("HEAD"))?,
                };
                let fetched = self.nix.fetch_git(&url, &rev, reference.as_deref())?;
                Ok(LockedInput {
                    spec: spec_text.to_owned(),
                    kind: InputType::Git,
                    url,
                    reference,
                    rev: Some(fetched.rev),
                    nar_hash: fetched.nar_hash,
                    last_modified: fetched.last_modified,
                })
            }
        }
    }

    /// Downloads the tarball once into the store (for its mtimes), then
    /// unpacks that copy to get the narHash `builtins.fetchTarball` checks.
    /// The unpacked path is named `source` like fetchTarball's, so the later
    /// evaluation finds it already in the store.
    fn lock_tarball(
        &self,
        spec_text: &str,
        url: String,
        rev: Option<String>,
    ) -> Result<LockedInput, InputError> {
        let archive = self.nix.prefetch_url(&url, false, &store_name_for(&url))?;
        let last_modified = newest_mtime(&archive.path)?;
        let local = format!("file://{}", archive.path.display());
        let unpacked = self.nix.prefetch_url(&local, true, "source")?;
        Ok(LockedInput {
            spec: spec_text.to_owned(),
            kind: InputType::Tarball,
            url,
            reference: None,
            rev,
            nar_hash: sha256_base32_to_sri(&unpacked.base32)?,
            last_modified,
        })
    }
}

/// A store path name for the downloaded archive: the URL's last segment,
/// limited to the characters Nix allows in names.
fn store_name_for(url: &str) -> String {
    let base = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .rsplit('/')
        .find(|s| !s.is_empty())
        .unwrap_or("archive");
    let name: String = base
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '+' | '-' | '.' | '_' | '?' | '=' => c,
            _ => '-',
        })
        .collect();
    match name.strip_prefix('.') {
        Some(rest) if !rest.is_empty() => rest.to_owned(),
        Some(_) => "archive".to_owned(),
        None if name.is_empty() => "archive".to_owned(),
        None => name,
    }
}

/// The newest entry mtime of a (gzip-compressed or plain) tar archive; GitHub
/// stamps archive entries with the commit time. 0 for other formats.
pub fn newest_mtime(path: &Path) -> Result<i64, InputError> {
    let archive_error = |source| InputError::Archive {
        path: path.to_owned(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(archive_error)?;
    let mut magic = [0u8; 2];
    let is_gzip = file.read_exact(&mut magic).is_ok() && magic == [0x1f, 0x8b];
    let file = std::fs::File::open(path).map_err(archive_error)?;
    let reader: Box<dyn Read> = if is_gzip {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut archive = tar::Archive::new(reader);
    let Ok(entries) = archive.entries() else {
        return Ok(0);
    };
    let mut newest = 0;
    for entry in entries {
        match entry {
            Ok(entry) => newest = newest.max(entry.header().mtime().unwrap_or(0)),
            // Not a tar stream (zip, xz, ...): no mtime we can read.
            Err(_) if !is_gzip => return Ok(0),
            Err(source) => return Err(archive_error(source)),
        }
    }
    Ok(i64::try_from(newest).unwrap_or(i64::MAX))
}

/// The commit `reference` (a branch, tag or `HEAD`) points to in `url`.
pub fn ls_remote(url: &str, reference: &str) -> Result<String, InputError> {
    let listing = git_ls_remote(&[url, reference])?;
    pick_ref(&listing, reference).ok_or_else(|| InputError::RefNotFound {
        url: url.to_owned(),
        reference: reference.to_owned(),
    })
}

/// `git ls-remote [--tags] -- URL [REF]`'s output. Never prompts: a URL that
/// wants credentials fails instead of hanging a lock.
pub fn git_ls_remote(args: &[&str]) -> Result<String, InputError> {
    let (flags, operands): (Vec<&str>, Vec<&str>) = args.iter().partition(|a| a.starts_with("--"));
    let command = format!("git ls-remote {}", args.join(" "));
    let output = Command::new("git")
        .arg("ls-remote")
        .args(&flags)
        .arg("--")
        .args(&operands)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null())
        .output()
        .map_err(|source| InputError::GitSpawn {
            command: command.clone(),
            source,
        })?;
    if !output.status.success() {
        return Err(InputError::Git {
            command,
            message: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// From `git ls-remote` output, the commit of a branch before a tag (a
/// peeled annotated tag before the tag object), before other exact matches.
fn pick_ref(listing: &str, reference: &str) -> Option<String> {
    let refs: Vec<(&str, &str)> = listing
        .lines()
        .filter_map(|line| line.split_once('\t'))
        .collect();
    let preferred = [
        reference.to_owned(),
        format!("refs/heads/{reference}"),
        format!("refs/tags/{reference}^{{}}"),
        format!("refs/tags/{reference}"),
    ];
    preferred
        .iter()
        .find_map(|want| refs.iter().find(|(_, name)| name == want))
        .map(|(rev, _)| rev.to_string())
        .filter(|rev| is_rev(rev))
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const C: &str = "cccccccccccccccccccccccccccccccccccccccc";

    #[test]
    fn branches_win_over_tags_and_tags_are_peeled() {
        let listing = format!("{A}\trefs/tags/v1\n{B}\trefs/tags/v1^{{}}\n{C}\trefs/heads/v1\n");
        assert_eq!(pick_ref(&listing, "v1").as_deref(), Some(C));
        let listing = format!("{A}\trefs/tags/v1\n{B}\trefs/tags/v1^{{}}\n");
        assert_eq!(pick_ref(&listing, "v1").as_deref(), Some(B));
        let listing = format!("{A}\tHEAD\n{C}\trefs/heads/master\n");
        assert_eq!(pick_ref(&listing, "HEAD").as_deref(), Some(A));
        assert_eq!(pick_ref(&listing, "main"), None);
    }

    #[test]
    fn ls_remote_reads_a_local_repository() {
        let dir = tempfile::tempdir().unwrap();
        let git = |args: &[&str]| {
            let out = Command::new("git")
                .args(args)
                .current_dir(dir.path())
                .env("GIT_AUTHOR_NAME", "t")
                .env("GIT_AUTHOR_EMAIL", "t@t")
                .env("GIT_COMMITTER_NAME", "t")
                .env("GIT_COMMITTER_EMAIL", "t@t")
                .output()
                .unwrap();
            assert!(out.status.success(), "{out:?}");
            String::from_utf8(out.stdout).unwrap().trim().to_owned()
        };
        git(&["init", "-q", "-b", "main"]);
        git(&["commit", "-q", "--allow-empty", "-m", "x"]);
        let head = git(&["rev-parse", "HEAD"]);
        let url = format!("file://{}", dir.path().display());
        assert_eq!(ls_remote(&url, "main").unwrap(), head);
        assert_eq!(ls_remote(&url, "HEAD").unwrap(), head);
        assert!(matches!(
            ls_remote(&url, "nope"),
            Err(InputError::RefNotFound { .. })
        ));
    }

    #[test]
    fn newest_mtime_of_a_tar_gz() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.tar.gz");
        let gz = flate2::write::GzEncoder::new(
            std::fs::File::create(&path).unwrap(),
            Default::default(),
        );
        let mut builder = tar::Builder::new(gz);
        for (name, mtime) in [
            ("src/a", 1_700_000_000u64),
            ("src/b", 1_795_235_573),
            ("c", 5),
        ] {
            let mut header = tar::Header::new_gnu();
            header.set_size(1);
            header.set_mtime(mtime);
            header.set_mode(0o644);
            builder.append_data(&mut header, name, &b"x"[..]).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap();
        assert_eq!(newest_mtime(&path).unwrap(), 1_795_235_573);
    }

    #[test]
    fn unknown_archive_formats_have_no_mtime() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.zip");
        std::fs::write(&path, b"PK\x03\x04 not a tar at all, definitely not").unwrap();
        assert_eq!(newest_mtime(&path).unwrap(), 0);
    }

    #[test]
    fn store_names_are_sanitised() {
        assert_eq!(store_name_for("http://h/nixpkgs/abc.tar.gz"), "abc.tar.gz");
        assert_eq!(store_name_for("http://h/x/a b~c.tgz?x=1"), "a-b-c.tgz");
        assert_eq!(store_name_for("http://h/.hidden"), "hidden");
        assert_eq!(store_name_for("http://h/"), "h");
    }
}
