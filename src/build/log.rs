//! Reading a build's log as Nix streams it: which crate cargo is compiling
//! (progress, and the proof that a rebuild compiled no dependency), and, when
//! a build fails, the part of the log that says why (the compiler's error,
//! the failing test), instead of Nix's "builder failed".

use std::cell::RefCell;

/// One `Compiling NAME vVERSION [(PATH)]` line of cargo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compiling {
    pub name: String,
    pub version: String,
    /// A crate of the project (a path outside the store); dependencies come
    /// from the vendor directory, std's crates from the toolchain.
    pub workspace: bool,
}

/// Parses cargo's `Compiling` status line.
pub fn compiling(line: &str) -> Option<Compiling> {
    let rest = line.trim_start().strip_prefix("Compiling ")?;
    let mut words = rest.splitn(3, ' ');
    let name = words.next()?;
    let version = words.next()?.strip_prefix('v')?;
    let path = words
        .next()
        .and_then(|p| p.strip_prefix('('))
        .and_then(|p| p.strip_suffix(')'));
    Some(Compiling {
        name: name.to_owned(),
        version: version.to_owned(),
        workspace: path.is_some_and(|p| !p.starts_with("/nix/store/")),
    })
}

/// What one derivation's build printed.
#[derive(Debug, Default, Clone)]
pub struct Layer {
    /// The derivation's name (`crate-env-build-default-deps`).
    pub derivation: String,
    pub lines: Vec<String>,
    pub compiled: Vec<Compiling>,
}

impl Layer {
    pub fn dependencies_compiled(&self) -> usize {
        self.compiled.iter().filter(|c| !c.workspace).count()
    }

    pub fn workspace_compiled(&self) -> usize {
        self.compiled.iter().filter(|c| c.workspace).count()
    }
}

/// Collects Nix's output lines, per derivation built. Shared between the Nix
/// observer (which records) and the build (which reads), hence `RefCell`.
#[derive(Debug, Default)]
pub struct BuildLog {
    layers: RefCell<Vec<Layer>>,
}

impl BuildLog {
    /// Nix started building `derivation`.
    pub fn start(&self, derivation: &str) {
        self.layers.borrow_mut().push(Layer {
            derivation: derivation.to_owned(),
            ..Layer::default()
        });
    }

    /// Records a line; returns what cargo started compiling, if it did, and
    /// how many crates this derivation compiled so far.
    pub fn record(&self, line: &str) -> Option<(Compiling, usize)> {
        let mut layers = self.layers.borrow_mut();
        let layer = layers.last_mut()?;
        layer.lines.push(line.to_owned());
        let crate_ = compiling(line)?;
        layer.compiled.push(crate_.clone());
        Some((crate_, layer.compiled.len()))
    }

    /// Every derivation built so far, in order.
    pub fn layers(&self) -> Vec<Layer> {
        self.layers.borrow().clone()
    }

    /// Which step the last derivation Nix started belongs to.
    pub fn failed_step(&self) -> super::Step {
        use super::Step;
        let layers = self.layers.borrow();
        match layers.last().map(|l| l.derivation.as_str()) {
            Some(d) if d.ends_with(".crate") => Step::Crates,
            Some(d) if d.starts_with("crate-env-build-") && d.ends_with("-deps") => {
                Step::Dependencies
            }
            Some(d) if d.starts_with("crate-env-build-") => Step::Workspace,
            _ => Step::Building,
        }
    }

    /// Why the last derivation failed, from its own log.
    pub fn failure(&self) -> Option<String> {
        let layers = self.layers.borrow();
        let lines = &layers.last()?.lines;
        test_failures(lines).or_else(|| compiler_errors(lines))
    }
}

const MAX_LINES: usize = 80;

/// From the first `error…` line cargo or rustc printed to the end of the
/// builder's output (Nix's own lines left out), at most [`MAX_LINES`].
pub fn compiler_errors(lines: &[String]) -> Option<String> {
    let start = lines
        .iter()
        .position(|l| l.starts_with("error") && !is_nix_line(l))?;
    let excerpt: Vec<&str> = lines[start..]
        .iter()
        .map(String::as_str)
        .take_while(|l| !is_nix_line(l))
        .take(MAX_LINES)
        .collect();
    Some(excerpt.join("\n").trim_end().to_owned())
}

/// The `failures:` section of `cargo test` and the summary after it.
pub fn test_failures(lines: &[String]) -> Option<String> {
    let start = lines.iter().position(|l| l.trim_end() == "failures:")?;
    let end = lines[start..]
        .iter()
        .position(|l| l.starts_with("error: test failed"))
        .map_or(lines.len(), |n| start + n + 1);
    let excerpt = &lines[start..end];
    let excerpt = &excerpt[..excerpt.len().min(MAX_LINES)];
    Some(excerpt.join("\n").trim_end().to_owned())
}

fn is_nix_line(line: &str) -> bool {
    line.starts_with("error: builder for '")
        || line.starts_with("error: build of '")
        || line.starts_with("error: hash mismatch in fixed-output derivation")
        || line.contains("dependencies of derivation '")
}

/// A `.crate` whose download does not have Cargo.lock's checksum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChecksumMismatch {
    pub name: String,
    pub version: String,
    /// sha256 in hex: what Cargo.lock says, and what the download has.
    pub expected: String,
    pub got: String,
}

/// Recognises Nix's hash-mismatch error for a fetched `.crate`.
pub fn checksum_mismatch(nix_message: &str) -> Option<ChecksumMismatch> {
    let (_, rest) = nix_message.split_once("hash mismatch in fixed-output derivation '")?;
    let (drv, rest) = rest.split_once('\'')?;
    let base = drv.rsplit('/').next()?.strip_suffix(".crate.drv")?;
    let (_, name_version) = base.split_once('-')?;
    let (name, version) = split_name_version(name_version)?;
    let field = |label: &str| {
        let value = rest.split(label).nth(1)?.split_whitespace().next()?;
        Some(to_hex(value))
    };
    Some(ChecksumMismatch {
        name: name.to_owned(),
        version: version.to_owned(),
        expected: field("specified:")?,
        got: field("got:")?,
    })
}

/// `serde-json-1.0.0-rc.1` → (`serde-json`, `1.0.0-rc.1`): the version starts
/// at the first `-` followed by a digit.
fn split_name_version(text: &str) -> Option<(&str, &str)> {
    let at = text
        .char_indices()
        .find(|&(i, c)| c == '-' && text[i + 1..].starts_with(|d: char| d.is_ascii_digit()))?
        .0;
    Some((&text[..at], &text[at + 1..]))
}

/// Nix prints `sha256-<base64>` (SRI) or `sha256:<base32>`; Cargo.lock says hex.
fn to_hex(hash: &str) -> String {
    if let Some(bytes) = crate::inputs::sri::sri_sha256_bytes(hash) {
        return base16ct::lower::encode_string(&bytes);
    }
    hash.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(String::from).collect()
    }

    #[test]
    fn compiling_lines() {
        let dep = compiling("   Compiling anyhow v1.0.104").unwrap();
        assert_eq!(
            (dep.name.as_str(), dep.version.as_str(), dep.workspace),
            ("anyhow", "1.0.104", false)
        );
        let member =
            compiling("   Compiling app v0.1.0 (/tmp/nix-build-x.drv-0/source/app)").unwrap();
        assert!(member.workspace);
        let std = compiling(
            "   Compiling core v0.0.0 (/nix/store/abc-rust/lib/rustlib/src/rust/library/core)",
        )
        .unwrap();
        assert!(!std.workspace);
        assert_eq!(compiling("Running phase: buildPhase"), None);
    }

    #[test]
    fn the_log_is_kept_per_derivation() {
        let log = BuildLog::default();
        log.start("crate-env-build-default-deps");
        assert_eq!(log.record("   Compiling itoa v1.0.18").unwrap().1, 1);
        log.start("crate-env-build-default");
        log.record("   Compiling app v0.1.0 (/tmp/b/source/app)");
        let layers = log.layers();
        assert_eq!(layers[0].dependencies_compiled(), 1);
        assert_eq!(
            (
                layers[1].dependencies_compiled(),
                layers[1].workspace_compiled()
            ),
            (0, 1)
        );
    }

    #[test]
    fn compiler_errors_are_cut_from_the_log() {
        let log = lines(
            "   Compiling app v0.1.0 (/tmp/x)\nwarning: unused\nerror[E0308]: mismatched types\n --> app/src/main.rs:2:5\n\nerror: could not compile `app` (bin \"app\") due to 1 previous error\nerror: builder for '/nix/store/x.drv' failed with exit code 101",
        );
        let text = compiler_errors(&log).unwrap();
        assert!(
            text.starts_with("error[E0308]: mismatched types\n --> app/src/main.rs:2:5"),
            "{text}"
        );
        assert!(text.ends_with("due to 1 previous error"), "{text}");
    }

    #[test]
    fn test_failures_are_cut_from_the_log() {
        let log = lines("running 2 tests\ntest a ... FAILED\n\nfailures:\n\n---- a stdout ----\nthread 'a' panicked at src/lib.rs:3:9:\nboom\n\nfailures:\n    a\n\ntest result: FAILED. 1 passed; 1 failed\n\nerror: test failed, to rerun pass `--lib`\nmore");
        let text = test_failures(&log).unwrap();
        assert!(
            text.contains("boom") && text.ends_with("to rerun pass `--lib`"),
            "{text}"
        );
    }

    #[test]
    fn hash_mismatch_names_the_crate() {
        let message = "error: hash mismatch in fixed-output derivation '/nix/store/8yl65f10877z4sxdppdgvxkbm4b9rlrn-itoa-1.0.18.crate.drv':\n         specified: sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n            got:    sha256-j0KmDL35qX9dIwXwiofcTgkwjRJ20oyGnGhNd3doVoI=";
        let m = checksum_mismatch(message).unwrap();
        assert_eq!((m.name.as_str(), m.version.as_str()), ("itoa", "1.0.18"));
        assert_eq!(m.expected, "0".repeat(64));
        assert_eq!(
            m.got,
            "8f42a60cbdf9a97f5d2305f08a87dc4e09308d1276d28c869c684d7777685682"
        );
        assert_eq!(
            split_name_version("serde-json-1.0.0-rc.1"),
            Some(("serde-json", "1.0.0-rc.1"))
        );
    }
}
