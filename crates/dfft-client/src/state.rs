//! The client's memory of one log: the last checkpoint it verified (every
//! later one must extend it), how far it has audited, and what watched
//! records and routes looked like. A small JSON file, replaced atomically
//! (temporary file, fsync, rename, fsync of the directory), so a crash
//! leaves either the old state or the new one.

use crate::client::Policy;
use crate::error::ClientError;
use dfft_core::checkpoint::SignedCheckpoint;
use dfft_core::note::VerifierKey;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Format version of the state file.
pub const STATE_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    version: u32,
    log_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    checkpoint: Option<String>,
    #[serde(default)]
    audited_size: u64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    watch: BTreeMap<String, Vec<String>>,
}

/// What the client remembers about one log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    log_key: VerifierKey,
    checkpoint: Option<SignedCheckpoint>,
    /// Entries audited so far (0: never audited).
    pub audited_size: u64,
    /// The last description of each watched record or route, by key.
    pub watch: BTreeMap<String, Vec<String>>,
}

impl State {
    /// A fresh state for the log with `log_key`.
    pub fn new(log_key: VerifierKey) -> State {
        State {
            log_key,
            checkpoint: None,
            audited_size: 0,
            watch: BTreeMap::new(),
        }
    }

    /// The log key the state belongs to.
    pub fn log_key(&self) -> &VerifierKey {
        &self.log_key
    }

    /// The last verified checkpoint.
    pub fn checkpoint(&self) -> Option<&SignedCheckpoint> {
        self.checkpoint.as_ref()
    }

    /// Only the client moves the checkpoint, after a consistency proof.
    pub(crate) fn set_checkpoint(&mut self, cp: SignedCheckpoint) {
        self.checkpoint = Some(cp);
    }

    /// The state as JSON.
    pub fn to_json(&self) -> Vec<u8> {
        let f = StateFile {
            version: STATE_VERSION,
            log_key: self.log_key.to_string(),
            checkpoint: self.checkpoint.as_ref().map(SignedCheckpoint::to_text),
            audited_size: self.audited_size,
            watch: self.watch.clone(),
        };
        let mut v = serde_json::to_vec_pretty(&f).unwrap_or_default();
        v.push(b'\n');
        v
    }

    /// Parses a state for the log of `policy`: it must name the same log
    /// key, and its checkpoint must be signed by it.
    pub fn from_json(bytes: &[u8], policy: &Policy) -> Result<State, String> {
        let f: StateFile =
            serde_json::from_slice(bytes).map_err(|e| format!("not a dfft client state: {e}"))?;
        if f.version != STATE_VERSION {
            return Err(format!(
                "version {} is not supported (want {STATE_VERSION})",
                f.version
            ));
        }
        if f.log_key != policy.log_key().to_string() {
            return Err(format!(
                "it belongs to the log key {}, not {}",
                f.log_key,
                policy.log_key()
            ));
        }
        let checkpoint = match f.checkpoint {
            None => None,
            Some(text) => {
                let cp = SignedCheckpoint::parse(text.as_bytes())
                    .map_err(|e| format!("its checkpoint: {e}"))?;
                cp.verify(policy.log_key(), &[], 0)
                    .map_err(|e| format!("its checkpoint: {e}"))?;
                Some(cp)
            }
        };
        let size = checkpoint.as_ref().map_or(0, |c| c.checkpoint.size);
        if f.audited_size > size {
            return Err(format!(
                "audited size {} is beyond its checkpoint's size {size}",
                f.audited_size
            ));
        }
        Ok(State {
            log_key: policy.log_key().clone(),
            checkpoint,
            audited_size: f.audited_size,
            watch: f.watch,
        })
    }

    /// Loads the state at `path`; a missing file is a fresh state.
    pub fn load(path: &Path, policy: &Policy) -> Result<State, ClientError> {
        match std::fs::read(path) {
            Ok(bytes) => {
                State::from_json(&bytes, policy).map_err(|detail| state_error(path, detail))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Ok(State::new(policy.log_key().clone()))
            }
            Err(e) => Err(state_error(path, format!("cannot read it: {e}"))),
        }
    }

    /// Writes the state to `path` atomically and durably: a temporary file
    /// in the same directory, fsync, rename over `path`, fsync the directory.
    pub fn save(&self, path: &Path) -> Result<(), ClientError> {
        write_atomic(path, &self.to_json())
            .map_err(|e| state_error(path, format!("cannot write it: {e}")))
    }
}

fn state_error(path: &Path, detail: impl Into<String>) -> ClientError {
    ClientError::State {
        path: path.to_path_buf(),
        detail: detail.into(),
    }
}

/// Replaces `path` with `bytes` atomically: after a crash it holds either
/// the old bytes or the new ones.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir: PathBuf = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "no file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp.{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        // Make the rename itself durable (directories can be opened and
        // synced on Unix; elsewhere this is best effort).
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use dfft_core::checkpoint::Checkpoint;
    use dfft_core::note::{KeyName, SignerKey};

    #[test]
    fn round_trip_and_refusals() {
        let key = SignerKey::from_seed(KeyName::new("example.org/log").unwrap(), [1; 32]);
        let policy = Policy::new(key.verifier()).unwrap();
        let cp = Checkpoint {
            origin: "example.org/log".into(),
            size: 3,
            root: [7; 32],
            extensions: vec![],
        }
        .sign(&[&key], 0)
        .unwrap();
        let mut s = State::new(key.verifier());
        s.set_checkpoint(cp);
        s.audited_size = 2;
        s.watch.insert("record a/b".into(), vec!["x".into()]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        assert_eq!(
            State::load(&path, &policy).unwrap(),
            State::new(key.verifier())
        );
        s.save(&path).unwrap();
        assert_eq!(State::load(&path, &policy).unwrap(), s);
        let other = SignerKey::from_seed(KeyName::new("example.org/log").unwrap(), [2; 32]);
        assert!(matches!(
            State::load(&path, &Policy::new(other.verifier()).unwrap()),
            Err(ClientError::State { .. })
        ));
        std::fs::write(&path, b"{").unwrap();
        assert!(matches!(
            State::load(&path, &policy),
            Err(ClientError::State { .. })
        ));
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names.len(),
            1,
            "no temporary file is left behind: {names:?}"
        );
    }
}
