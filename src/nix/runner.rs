//! The only module that runs Nix. It finds the `nix-*` binaries once, reports
//! every command line (for `-v`) and Nix's progress (for the spinner) through
//! an observer, and turns failures into [`NixError`]s that carry the command,
//! its exit status and Nix's own error text (with Nix's `file:line:column`).

use std::collections::BTreeSet;
use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

use serde::Deserialize;

use crate::shell::quote_posix_if_needed;

/// Something Nix is doing, for progress display and `-v` logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// A command line about to run (abbreviated, shell-quoted).
    Command(&'a str),
    /// A derivation being built, by name (`rust-default-1.95.0`).
    Building(&'a str),
    /// A URL or path being fetched or copied.
    Fetching(&'a str),
    /// Any line Nix printed on stderr.
    Output(&'a str),
}

#[derive(Debug, thiserror::Error)]
pub enum NixError {
    #[error("cannot find `{program}` {place}")]
    NotFound { program: String, place: String },
    #[error("cannot run `{command}`")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed ({status})\n{message}")]
    Failed {
        command: String,
        status: ExitStatus,
        /// Nix's error text: from the first line starting with `error:`.
        message: String,
    },
    #[error("`{command}` printed unexpected output: {detail}")]
    Output { command: String, detail: String },
}

impl NixError {
    /// Nix's own error text, if Nix ran and failed.
    pub fn nix_message(&self) -> Option<&str> {
        match self {
            NixError::Failed { message, .. } => Some(message),
            _ => None,
        }
    }
}

/// What `builtins.fetchGit` reports about a revision.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GitFetch {
    pub nar_hash: String,
    pub last_modified: i64,
    pub path: PathBuf,
    pub rev: String,
}

/// A fixed-output download into the store (`nix-prefetch-url`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prefetched {
    /// Nix base32 sha256 (flat for a file, NAR for `--unpack`).
    pub base32: String,
    pub path: PathBuf,
}

/// Store paths per `nix-store --query` call: far below any argv limit.
const CHUNK: usize = 500;

/// `--argstr NAME VALUE` pairs for the Nix library.
pub type ArgStrs<'a> = [(&'a str, &'a str)];

type Observer<'o> = Box<dyn Fn(Event<'_>) + 'o>;

pub struct Nix<'o> {
    instantiate: PathBuf,
    build: PathBuf,
    store: PathBuf,
    prefetch_url: PathBuf,
    /// `--option NAME VALUE` for every command (substituters from crate-env.nix).
    options: Vec<(String, String)>,
    bin_dir: Option<PathBuf>,
    observer: Observer<'o>,
}

impl std::fmt::Debug for Nix<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nix")
            .field("instantiate", &self.instantiate)
            .field("build", &self.build)
            .field("store", &self.store)
            .field("prefetch_url", &self.prefetch_url)
            .finish_non_exhaustive()
    }
}

impl<'o> Nix<'o> {
    /// Finds the binaries in `bin_dir` if given, else on `PATH`.
    pub fn find(bin_dir: Option<&Path>) -> Result<Nix<'o>, NixError> {
        let find = |program: &str| locate(program, bin_dir);
        Ok(Nix {
            instantiate: find("nix-instantiate")?,
            build: find("nix-build")?,
            store: find("nix-store")?,
            prefetch_url: find("nix-prefetch-url")?,
            options: Vec::new(),
            bin_dir: bin_dir.map(Path::to_path_buf),
            observer: Box::new(|_| {}),
        })
    }

    /// Passes `--option NAME VALUE` to every later command.
    pub fn set_options(&mut self, options: Vec<(String, String)>) {
        self.options = options;
    }

    /// `nix copy --to URI PATHS…` (experimental `nix-command`: Nix has no
    /// classic binary-cache writer). Copies the paths' closures.
    pub fn copy_to(&self, uri: &str, paths: &[PathBuf]) -> Result<(), NixError> {
        let nix = locate("nix", self.bin_dir.as_deref())?;
        let mut argv = os_args([
            "--extra-experimental-features",
            "nix-command",
            "copy",
            "--to",
            uri,
        ]);
        argv.extend(paths.iter().map(|p| p.into()));
        self.run(&nix, &argv).map(drop)
    }

    /// `nix-store --query --requisites PATH`: the closure of a store path.
    pub fn closure(&self, path: &Path) -> Result<Vec<PathBuf>, NixError> {
        let stdout = self.query(&["--requisites"], &[path.to_owned()])?;
        Ok(stdout
            .lines()
            .filter(|l| l.starts_with('/'))
            .map(PathBuf::from)
            .collect())
    }

    /// `nix-store --gc --print-roots`: every GC root as (link, store path).
    pub fn gc_roots(&self) -> Result<Vec<(PathBuf, PathBuf)>, NixError> {
        let stdout = self.run(&self.store, &os_args(["--gc", "--print-roots"]))?;
        Ok(String::from_utf8_lossy(&stdout)
            .lines()
            .filter_map(|l| l.split_once(" -> "))
            .map(|(link, target)| (PathBuf::from(link), PathBuf::from(target)))
            .collect())
    }

    /// `nix-store --query --requisites PATHS…` (in chunks): the union of the closures.
    pub fn requisites(&self, paths: &[PathBuf]) -> Result<BTreeSet<PathBuf>, NixError> {
        let mut all = BTreeSet::new();
        for chunk in paths.chunks(CHUNK) {
            let stdout = self.query(&["--requisites"], chunk)?;
            all.extend(stdout.lines().map(PathBuf::from));
        }
        Ok(all)
    }

    /// The sum of `nix-store --query --size PATHS…` (NAR sizes, bytes).
    pub fn total_size(&self, paths: &[PathBuf]) -> Result<u64, NixError> {
        let mut total = 0;
        for chunk in paths.chunks(CHUNK) {
            let stdout = self.query(&["--size"], chunk)?;
            total += stdout
                .lines()
                .filter_map(|l| l.trim().parse::<u64>().ok())
                .sum::<u64>();
        }
        Ok(total)
    }

    fn query(&self, what: &[&str], paths: &[PathBuf]) -> Result<String, NixError> {
        let mut argv = os_args(["--query"]);
        argv.extend(os_args(what.iter().copied()));
        argv.extend(paths.iter().map(OsString::from));
        Ok(String::from_utf8_lossy(&self.run(&self.store, &argv)?).into_owned())
    }

    /// Reports commands and progress to `observer`.
    pub fn observe(mut self, observer: impl Fn(Event<'_>) + 'o) -> Nix<'o> {
        self.observer = Box::new(observer);
        self
    }

    /// `nix-instantiate --eval --strict --json --read-write-mode FILE -A ATTR
    /// --argstr …`. Read-write: `--eval` alone cannot write the `.drv` of a
    /// derivation that evaluation must build (import from derivation in a
    /// crate-env.nix), and Nix 2.8 then fails with "path … is not valid".
    pub fn eval_json(
        &self,
        file: &Path,
        attr: &str,
        args: &ArgStrs<'_>,
    ) -> Result<serde_json::Value, NixError> {
        let mut argv = os_args(["--eval", "--strict", "--json", "--read-write-mode"]);
        argv.push(file.into());
        argv.extend(os_args(["-A", attr]));
        argv.extend(argstrs(args));
        let stdout = self.run(&self.instantiate, &argv)?;
        parse_json(&self.instantiate, &argv, &stdout)
    }

    /// `nix-build FILE -A ATTR --argstr … --out-link LINK`; returns the output path.
    pub fn build(
        &self,
        file: &Path,
        attr: &str,
        args: &ArgStrs<'_>,
        out_link: &Path,
    ) -> Result<PathBuf, NixError> {
        let mut paths = self.build_attrs(file, &[attr], args, out_link)?;
        Ok(paths.remove(0))
    }

    /// `nix-build FILE -A ATTR… --argstr … --out-link LINK`: several attributes
    /// in one evaluation, linked as `LINK`, `LINK-2`, … Returns the output
    /// paths in order.
    pub fn build_attrs(
        &self,
        file: &Path,
        attrs: &[&str],
        args: &ArgStrs<'_>,
        out_link: &Path,
    ) -> Result<Vec<PathBuf>, NixError> {
        let mut argv: Vec<OsString> = vec![file.into()];
        argv.extend(attrs.iter().flat_map(|attr| os_args(["-A", attr])));
        argv.extend(argstrs(args));
        argv.push("--out-link".into());
        argv.push(out_link.into());
        let stdout = self.run(&self.build, &argv)?;
        let paths = store_paths(&stdout);
        if paths.len() == attrs.len() {
            return Ok(paths);
        }
        Err(NixError::Output {
            command: display_command(&self.build, &argv),
            detail: format!("expected {} output paths, got {}", attrs.len(), paths.len()),
        })
    }

    /// `nix-store --realise PATH --add-root LINK --indirect`: an indirect GC root.
    pub fn add_root(&self, store_path: &Path, link: &Path) -> Result<(), NixError> {
        let argv: Vec<OsString> = vec![
            "--realise".into(),
            store_path.into(),
            "--add-root".into(),
            link.into(),
            "--indirect".into(),
        ];
        self.run(&self.store, &argv).map(drop)
    }

    /// `nix-prefetch-url [--unpack] --print-path --name NAME URL`.
    pub fn prefetch_url(
        &self,
        url: &str,
        unpack: bool,
        name: &str,
    ) -> Result<Prefetched, NixError> {
        let mut argv: Vec<OsString> = Vec::new();
        if unpack {
            argv.push("--unpack".into());
        }
        argv.extend(os_args(["--print-path", "--name", name, url]));
        let stdout = self.run(&self.prefetch_url, &argv)?;
        let text = String::from_utf8_lossy(&stdout);
        let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
        match (lines.next(), lines.next()) {
            (Some(hash), Some(path)) => Ok(Prefetched {
                base32: hash.to_owned(),
                path: PathBuf::from(path),
            }),
            _ => Err(NixError::Output {
                command: display_command(&self.prefetch_url, &argv),
                detail: format!("expected a hash and a store path, got {text:?}"),
            }),
        }
    }

    /// Fetches `rev` of a git repository with `builtins.fetchGit` and reports
    /// its narHash and lastModified, exactly as the Nix library will see them.
    pub fn fetch_git(
        &self,
        url: &str,
        rev: &str,
        reference: Option<&str>,
    ) -> Result<GitFetch, NixError> {
        let expr = fetch_git_expr(url, rev, reference);
        let argv = os_args(["--eval", "--strict", "--json", "-E", &expr]);
        let stdout = self.run(&self.instantiate, &argv)?;
        let value = parse_json(&self.instantiate, &argv, &stdout)?;
        serde_json::from_value(value).map_err(|e| NixError::Output {
            command: display_command(&self.instantiate, &argv),
            detail: e.to_string(),
        })
    }

    /// Runs a Nix command; streams stderr to the observer, returns stdout.
    fn run(&self, program: &Path, argv: &[OsString]) -> Result<Vec<u8>, NixError> {
        let with_options: Vec<OsString>;
        let argv = if self.options.is_empty() {
            argv
        } else {
            with_options = self
                .options
                .iter()
                .flat_map(|(name, value)| os_args(["--option", name, value]))
                .chain(argv.iter().cloned())
                .collect();
            &with_options
        };
        let command = display_command(program, argv);
        (self.observer)(Event::Command(&command));
        let mut child = Command::new(program)
            .args(argv)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| NixError::Spawn {
                command: command.clone(),
                source,
            })?;
        let mut stdout_pipe = child.stdout.take().expect("piped stdout");
        let stdout_reader = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            stdout_pipe.read_to_end(&mut bytes).map(|_| bytes)
        });
        let stderr = self.follow_stderr(child.stderr.take().expect("piped stderr"));
        let status = child.wait().map_err(|source| NixError::Spawn {
            command: command.clone(),
            source,
        })?;
        let stdout = stdout_reader
            .join()
            .expect("stdout reader does not panic")
            .map_err(|source| NixError::Spawn {
                command: command.clone(),
                source,
            })?;
        if status.success() {
            Ok(stdout)
        } else {
            Err(NixError::Failed {
                command,
                status,
                message: error_excerpt(&stderr),
            })
        }
    }

    fn follow_stderr(&self, pipe: impl Read) -> String {
        let mut all = String::new();
        for line in BufReader::new(pipe).split(b'\n') {
            let Ok(line) = line else { break };
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches('\r');
            if let Some(event) = progress_event(line) {
                (self.observer)(event);
            }
            (self.observer)(Event::Output(line));
            all.push_str(line);
            all.push('\n');
        }
        all
    }
}

fn locate(program: &str, bin_dir: Option<&Path>) -> Result<PathBuf, NixError> {
    match bin_dir {
        Some(dir) => {
            let candidate = dir.join(program);
            if candidate.is_file() {
                Ok(candidate)
            } else {
                Err(NixError::NotFound {
                    program: program.into(),
                    place: format!("in {} (CRATE_ENV_NIX_BIN_DIR)", dir.display()),
                })
            }
        }
        None => which::which(program).map_err(|_| NixError::NotFound {
            program: program.into(),
            place: "on PATH; is Nix installed?".into(),
        }),
    }
}

fn os_args<'a>(args: impl IntoIterator<Item = &'a str>) -> Vec<OsString> {
    args.into_iter().map(OsString::from).collect()
}

fn argstrs(args: &ArgStrs<'_>) -> Vec<OsString> {
    args.iter()
        .flat_map(|(name, value)| os_args(["--argstr", name, value]))
        .collect()
}

fn parse_json(
    program: &Path,
    argv: &[OsString],
    stdout: &[u8],
) -> Result<serde_json::Value, NixError> {
    serde_json::from_slice(stdout).map_err(|e| NixError::Output {
        command: display_command(program, argv),
        detail: format!("not JSON: {e}"),
    })
}

fn store_paths(stdout: &[u8]) -> Vec<PathBuf> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with('/'))
        .map(PathBuf::from)
        .collect()
}

/// A Nix string literal for any text: `\`, `"` and `${` escaped.
pub fn nix_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' if chars.peek() == Some(&'{') => out.push_str("\\$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn fetch_git_expr(url: &str, rev: &str, reference: Option<&str>) -> String {
    let reference = reference
        .map(|r| format!(" ref = {};", nix_string(r)))
        .unwrap_or_default();
    // `outPath` is renamed: an attrset with outPath serialises as that string.
    format!(
        "let r = builtins.fetchGit {{ url = {}; rev = {};{reference} }}; \
         in {{ inherit (r) narHash lastModified rev; path = r.outPath; }}",
        nix_string(url),
        nix_string(rev),
    )
}

/// Nix's own error text: everything from the first `error:` line, or the
/// last lines of stderr if Nix printed no such line. When a builder failed,
/// the end of its log (which Nix 2.8 prints before the error, not in it) is
/// put under the error line, as newer Nix does.
pub fn error_excerpt(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().collect();
    let Some(start) = lines.iter().position(|l| l.starts_with("error:")) else {
        let tail = &lines[lines.len().saturating_sub(20)..];
        return tail.join("\n").trim_end().to_owned();
    };
    let mut excerpt = vec![lines[start].to_owned()];
    excerpt.extend(failed_build_log(&lines, start));
    excerpt.extend(lines[start + 1..].iter().map(|l| l.to_string()));
    excerpt.join("\n").trim_end().to_owned()
}

const BUILD_LOG_LINES: usize = 25;

/// The last lines a failed builder printed, formatted `       > line`.
fn failed_build_log(lines: &[&str], error_at: usize) -> Vec<String> {
    let Some(drv) = lines[error_at]
        .strip_prefix("error: builder for '")
        .and_then(|rest| rest.split_once('\''))
        .map(|(drv, _)| drv)
    else {
        return vec![];
    };
    let started = format!("building '{drv}'");
    let Some(begin) = lines[..error_at]
        .iter()
        .rposition(|l| l.starts_with(&started))
    else {
        return vec![];
    };
    let log = &lines[begin + 1..error_at];
    let tail = &log[log.len().saturating_sub(BUILD_LOG_LINES)..];
    if tail.is_empty() {
        return vec![];
    }
    let mut out = vec![format!("       last {} log lines:", tail.len())];
    out.extend(tail.iter().map(|l| format!("       > {l}")));
    out
}

/// Recognises Nix's progress lines (`building '/nix/store/…-name.drv'...`).
fn progress_event(line: &str) -> Option<Event<'_>> {
    let quoted = |prefix: &str| {
        let rest = line.strip_prefix(prefix)?.strip_prefix('\'')?;
        rest.split_once('\'').map(|(inner, _)| inner)
    };
    if let Some(drv) = quoted("building ") {
        return Some(Event::Building(derivation_name(drv)));
    }
    ["downloading ", "unpacking ", "copying path "]
        .iter()
        .find_map(|prefix| quoted(prefix))
        .map(Event::Fetching)
}

/// `/nix/store/<hash>-rust-default-1.95.0.drv` → `rust-default-1.95.0`.
fn derivation_name(drv: &str) -> &str {
    let base = drv.rsplit('/').next().unwrap_or(drv);
    let base = base.strip_suffix(".drv").unwrap_or(base);
    match base.split_once('-') {
        Some((hash, name)) if hash.len() == 32 => name,
        _ => base,
    }
}

/// A shell-quoted command line; long or multi-line arguments (the lock text)
/// are abbreviated so logs and errors stay readable.
pub fn display_command(program: &Path, argv: &[OsString]) -> String {
    let name = program.file_name().unwrap_or(program.as_os_str());
    std::iter::once(name)
        .chain(argv.iter().map(OsString::as_os_str))
        .map(display_arg)
        .collect::<Vec<_>>()
        .join(" ")
}

fn display_arg(arg: &OsStr) -> String {
    let text = arg.to_string_lossy();
    if text.contains('\n') {
        format!("'<{} lines>'", text.lines().count())
    } else if text.len() > 300 {
        format!("'<{} bytes>'", text.len())
    } else {
        quote_posix_if_needed(&text)
    }
}

#[cfg(test)]
#[path = "runner_tests.rs"]
mod tests;
