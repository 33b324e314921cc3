//! What a trust record holds and where it lives: one JSON file per project
//! in `<state_home>/trust/`, named after a hash of the project's path, with
//! the decision and the content hash of every file it covers.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::project::fsutil::{atomic_write, StateLock};
use crate::trust::TrustError;

const FINGERPRINT_DOMAIN: &[u8] = b"crate-env-trust-v1\0";
const RECORD_VERSION: u32 = 1;

/// The content of one covered file; `hash` is `None` when it is missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileHash {
    pub path: PathBuf,
    pub hash: Option<String>,
}

/// Every crate-env.nix involved and the lock, as they are now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    pub files: Vec<FileHash>,
}

impl Fingerprint {
    /// Hashes each of `files` (sha256 of its bytes; missing files count).
    pub fn of(files: &[PathBuf]) -> Result<Fingerprint, TrustError> {
        let files = files
            .iter()
            .map(|path| {
                let hash = match std::fs::read(path) {
                    Ok(bytes) => Some(hex(&Sha256::digest(&bytes))),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                    Err(source) => {
                        return Err(TrustError::Read {
                            path: path.clone(),
                            source,
                        })
                    }
                };
                Ok(FileHash {
                    path: path.clone(),
                    hash,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Fingerprint { files })
    }

    /// One hash over every path and content, in order.
    pub fn hash(&self) -> String {
        let mut h = Sha256::new();
        h.update(FINGERPRINT_DOMAIN);
        for file in &self.files {
            h.update(file.path.as_os_str().as_encoded_bytes());
            h.update(b"\0");
            h.update(file.hash.as_deref().unwrap_or("missing").as_bytes());
            h.update(b"\n");
        }
        format!("sha256:{}", hex(&h.finalize()))
    }

    /// The files whose content differs from `approved` (added, removed or
    /// edited), in this fingerprint's order, then files only `approved` has.
    pub fn changed_since(&self, approved: &[FileHash]) -> Vec<PathBuf> {
        let mut changed: Vec<PathBuf> = self
            .files
            .iter()
            .filter(|f| !approved.contains(f))
            .map(|f| f.path.clone())
            .collect();
        for old in approved {
            if !self.files.iter().any(|f| f.path == old.path) {
                changed.push(old.path.clone());
            }
        }
        changed
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Allowed,
    Denied,
}

/// `<state_home>/trust/<id>.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub version: u32,
    pub root: PathBuf,
    pub decision: Decision,
    /// [`Fingerprint::hash`] of `files`.
    pub hash: String,
    pub files: Vec<FileHash>,
    /// Unix time of the decision.
    pub at: u64,
}

impl Record {
    pub fn new(root: &Path, decision: Decision, fingerprint: &Fingerprint) -> Record {
        Record {
            version: RECORD_VERSION,
            root: root.to_owned(),
            decision,
            hash: fingerprint.hash(),
            files: fingerprint.files.clone(),
            at: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        }
    }

    /// Whether this record allows exactly `fingerprint`.
    pub fn allows(&self, fingerprint: &Fingerprint) -> bool {
        self.decision == Decision::Allowed && self.hash == fingerprint.hash()
    }
}

/// The trust records of one user.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// The records under `<state_home>/trust`.
    pub fn new(state_home: &Path) -> Store {
        Store {
            dir: state_home.join("trust"),
        }
    }

    /// The record file of the project at `root` (whether or not it exists).
    pub fn path(&self, root: &Path) -> PathBuf {
        let id = hex(&Sha256::digest(root.as_os_str().as_encoded_bytes()));
        self.dir.join(format!("{}.json", &id[..32]))
    }

    /// The project's record. A record that cannot be parsed, or is for
    /// another path (a hash collision), counts as none: it never trusts.
    pub fn read(&self, root: &Path) -> Result<Option<Record>, TrustError> {
        let path = self.path(root);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(TrustError::Read { path, source }),
        };
        let record = serde_json::from_str::<Record>(&text).ok();
        Ok(record.filter(|r| r.version == RECORD_VERSION && r.root == root))
    }

    /// Writes `record` atomically, under `<state_home>/trust/lock`; `false`
    /// when an equal decision for the same contents was already recorded.
    pub fn write(&self, record: &Record) -> Result<bool, TrustError> {
        let _lock = StateLock::acquire(&self.dir, || {})?;
        if let Some(old) = self.read(&record.root)? {
            if old.decision == record.decision && old.hash == record.hash {
                return Ok(false);
            }
        }
        let mut text = serde_json::to_string_pretty(record).expect("records serialise");
        text.push('\n');
        atomic_write(&self.path(&record.root), text.as_bytes())?;
        Ok(true)
    }
}

fn hex(bytes: &[u8]) -> String {
    base16ct::lower::encode_string(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_names_what_changed() {
        let dir = tempfile::tempdir().unwrap();
        let nix = dir.path().join("crate-env.nix");
        let lock = dir.path().join("crate-env.lock");
        std::fs::write(&nix, "{ }").unwrap();
        let files = [nix.clone(), lock.clone()];
        let before = Fingerprint::of(&files).unwrap();
        assert_eq!(before.files[1].hash, None);
        std::fs::write(&lock, "{}").unwrap();
        std::fs::write(&nix, "{ rust.channel = \"1.75\"; }").unwrap();
        let after = Fingerprint::of(&files).unwrap();
        assert_ne!(before.hash(), after.hash());
        assert_eq!(after.changed_since(&before.files), [nix.clone(), lock]);
        assert_eq!(after.changed_since(&after.files), [] as [PathBuf; 0]);
        let fewer = Fingerprint::of(&files[1..]).unwrap();
        assert_eq!(fewer.changed_since(&after.files), [nix]);
    }

    #[test]
    fn records_round_trip_and_skip_equal_writes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let root = dir.path().join("project");
        std::fs::create_dir(&root).unwrap();
        std::fs::write(root.join("crate-env.nix"), "{ }").unwrap();
        let fp = Fingerprint::of(&[root.join("crate-env.nix")]).unwrap();
        assert_eq!(store.read(&root).unwrap(), None);
        let allowed = Record::new(&root, Decision::Allowed, &fp);
        assert!(store.write(&allowed).unwrap());
        assert!(!store.write(&allowed).unwrap());
        let read = store.read(&root).unwrap().unwrap();
        assert!(read.allows(&fp));
        assert!(store
            .write(&Record::new(&root, Decision::Denied, &fp))
            .unwrap());
        assert!(!store.read(&root).unwrap().unwrap().allows(&fp));
        // Another path never reads this record.
        assert_eq!(store.read(&dir.path().join("other")).unwrap(), None);
        std::fs::write(store.path(&root), "{ truncated").unwrap();
        assert_eq!(store.read(&root).unwrap(), None);
    }
}
