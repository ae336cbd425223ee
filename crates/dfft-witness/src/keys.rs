//! The witness's cosigner keys, in its data directory:
//!
//! | file | holds |
//! |---|---|
//! | `witness.key` | Ed25519 `cosignature/v1` private key (mode 0600) |
//! | `witness.vkey` | its verifier key (signature type 0x04), one line |
//! | `witness-mldsa.key` | ML-DSA-44 `subtree/v1` private key (its seed xi; mode 0600) |
//! | `witness-mldsa.vkey` | its verifier key (signature type 0x06), one line |
//!
//! Both keys carry the witness's name; every cosigned checkpoint gets one
//! cosignature of each type.
//!
//! Created on first start through `dfft-keys` (exclusive create, mode 0600
//! from the first byte, hard link into place, directory fsync: the same
//! rules as the log's keys); the private key file first, then the vkey
//! file, so a crash between the two leaves a key whose vkey the next start
//! writes again. Later starts load them; a `--name` that differs from the
//! stored key's name is refused, and so is a vkey file that does not match
//! its private key.
//!
//! The key name is the witness's name: a schemeless URL-like name
//! (`witness.example.org/w1`), required on first start.
//!
//! Leaves out: what is signed (`Cosigners::cosign`, through core's notes).

use dfft_core::note::{KeyKind, KeyName, NoteError, NoteSignature, SignerKey, VerifierKey};
use std::path::{Path, PathBuf};

/// Why the keys could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeysError {
    /// A key file could not be created or loaded.
    #[error(transparent)]
    File(#[from] dfft_keys::KeyError),
    /// No key yet, and no name to create one with.
    #[error("{0} does not exist: give --name (a schemeless URL-like name such as witness.example.org/w1) on the first start")]
    NameNeeded(String),
    /// The name is not a schemeless URL-like key name.
    #[error("witness name {0:?}: {1}")]
    BadName(String, &'static str),
    /// `--name` differs from the stored key's name.
    #[error("--name {given:?} differs from the name {stored:?} of the key in {path}; the name is part of the key and cannot change")]
    NameMismatch {
        /// Name given.
        given: String,
        /// Name in the key file.
        stored: String,
        /// Key file.
        path: String,
    },
    /// A key file holds a key of the wrong kind.
    #[error("{path} holds a {found:?} key, not a {want:?} key")]
    WrongKind {
        /// Key file.
        path: String,
        /// Kind found.
        found: KeyKind,
        /// Kind wanted.
        want: KeyKind,
    },
    /// The public key file does not match the private key.
    #[error(
        "{path} does not match its private key (want {want}); remove it to have it written again"
    )]
    VkeyMismatch {
        /// The vkey file.
        path: String,
        /// What it should hold.
        want: String,
    },
    /// Reading or writing a vkey file failed.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
}

/// Checks a witness name: a valid note key name of at most 255 bytes (the
/// `subtree/v1` message's limit), schemeless (no `://`), with a host part
/// that holds a dot or is `localhost`.
pub fn check_name(name: &str) -> Result<KeyName, KeysError> {
    let bad = |why| KeysError::BadName(name.to_string(), why);
    let k =
        KeyName::new(name).map_err(|_| bad("not a note key name (empty, white space or '+')"))?;
    if name.len() > 255 {
        return Err(bad(
            "longer than 255 bytes (the ML-DSA-44 subtree/v1 limit)",
        ));
    }
    if name.contains("://") {
        return Err(bad("must be schemeless (no https://)"));
    }
    let host = name.split('/').next().unwrap_or("");
    if host.is_empty() || (!host.contains('.') && host != "localhost") {
        return Err(bad(
            "must start with a host name, such as witness.example.org/w1",
        ));
    }
    Ok(k)
}

/// One key file and its vkey file, of one kind.
#[derive(Debug, Clone)]
pub struct KeySpec {
    /// Private key file name in the data directory.
    pub key_file: &'static str,
    /// Verifier key file name in the data directory.
    pub vkey_file: &'static str,
    /// The kind of key.
    pub kind: KeyKind,
}

/// The witness's keys, in the order their cosignatures are returned.
pub const KEY_SPECS: &[KeySpec] = &[
    KeySpec {
        key_file: "witness.key",
        vkey_file: "witness.vkey",
        kind: KeyKind::CosignatureV1,
    },
    KeySpec {
        key_file: "witness-mldsa.key",
        vkey_file: "witness-mldsa.vkey",
        kind: KeyKind::SubtreeV1,
    },
];

/// The cosigner keys of a witness.
#[derive(Debug, Clone)]
pub struct Cosigners {
    keys: Vec<SignerKey>,
    /// Whether the first start created them.
    pub created: bool,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeysError {
    let path = path.display().to_string();
    move |source| KeysError::Io { path, source }
}

fn open_one(
    dir: &Path,
    spec: &KeySpec,
    name: Option<&KeyName>,
) -> Result<(SignerKey, bool), KeysError> {
    let path = dir.join(spec.key_file);
    let shown = path.display().to_string();
    let (key, created) = if std::fs::symlink_metadata(&path).is_ok() {
        (dfft_keys::load(&path)?, false)
    } else {
        let name = name.ok_or_else(|| KeysError::NameNeeded(shown.clone()))?;
        let key = SignerKey::from_seed_kind(name.clone(), spec.kind, dfft_keys::random_seed()?);
        dfft_keys::write_secret(&path, &key.to_private_string())?;
        (key, true)
    };
    let found = key.verifier().kind();
    if found != spec.kind {
        return Err(KeysError::WrongKind {
            path: shown,
            found,
            want: spec.kind,
        });
    }
    if let Some(n) = name {
        if n.as_str() != key.name() {
            return Err(KeysError::NameMismatch {
                given: n.to_string(),
                stored: key.name().to_string(),
                path: shown,
            });
        }
    }
    let vpath: PathBuf = dir.join(spec.vkey_file);
    let want = key.verifier().to_string();
    match std::fs::read_to_string(&vpath) {
        Ok(s) if s.trim() == want => {}
        Ok(_) => {
            return Err(KeysError::VkeyMismatch {
                path: vpath.display().to_string(),
                want,
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => write_public(&vpath, &want)?,
        Err(e) => return Err(io(&vpath)(e)),
    }
    Ok((key, created))
}

/// Writes a public file atomically: temp file, fsync, rename, directory fsync.
fn write_public(path: &Path, line: &str) -> Result<(), KeysError> {
    use std::io::Write as _;
    let tmp = dfft_keys::temp_path(path);
    let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
    f.write_all(format!("{line}\n").as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))?;
    crate::journal::sync_dir(path.parent().unwrap_or(Path::new("."))).map_err(io(path))
}

impl Cosigners {
    /// Loads the keys in `dir`, creating them (named `name`) if missing.
    pub fn open(dir: &Path, name: Option<&str>) -> Result<Cosigners, KeysError> {
        let name = name.map(check_name).transpose()?;
        let mut keys = Vec::new();
        let mut created = false;
        for spec in KEY_SPECS {
            let (k, c) = open_one(dir, spec, name.as_ref())?;
            created |= c;
            keys.push(k);
        }
        // Every key carries the same name: the witness's.
        if let Some(first) = keys.first() {
            if let Some(other) = keys.iter().find(|k| k.name() != first.name()) {
                return Err(KeysError::NameMismatch {
                    given: other.name().to_string(),
                    stored: first.name().to_string(),
                    path: dir.display().to_string(),
                });
            }
        }
        Ok(Cosigners { keys, created })
    }

    /// Cosigners from given keys (tests, the benchmark).
    pub fn from_keys(keys: Vec<SignerKey>) -> Cosigners {
        Cosigners {
            keys,
            created: false,
        }
    }

    /// Keeps only the keys whose kind `keep` accepts (the others stay on
    /// disk but do not sign).
    pub fn retain(&mut self, keep: impl Fn(KeyKind) -> bool) {
        self.keys.retain(|k| keep(k.verifier().kind()));
    }

    /// The witness's name.
    pub fn name(&self) -> &str {
        self.keys.first().map_or("", |k| k.name())
    }

    /// The verifier keys, in the order of [`KEY_SPECS`].
    pub fn verifiers(&self) -> Vec<VerifierKey> {
        self.keys.iter().map(SignerKey::verifier).collect()
    }

    /// One cosignature line per key over the checkpoint `text` (the note
    /// text, ending in a newline), timestamped `timestamp` (never zero).
    pub fn cosign(&self, text: &str, timestamp: u64) -> Result<Vec<NoteSignature>, NoteError> {
        debug_assert!(timestamp > 0);
        self.keys
            .iter()
            .map(|k| k.sign_note_line(text, timestamp))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_then_loaded_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert!(matches!(
            Cosigners::open(d, None),
            Err(KeysError::NameNeeded(_))
        ));
        for bad in [
            "w",
            "https://w.example/x",
            "w.example/a b",
            "w.example+x",
            "/w.example",
        ] {
            assert!(
                matches!(Cosigners::open(d, Some(bad)), Err(KeysError::BadName(..))),
                "{bad}"
            );
        }
        let a = Cosigners::open(d, Some("w.example/x")).unwrap();
        assert!(a.created);
        let kinds: Vec<KeyKind> = a.verifiers().iter().map(VerifierKey::kind).collect();
        assert_eq!(kinds, vec![KeyKind::CosignatureV1, KeyKind::SubtreeV1]);
        let b = Cosigners::open(d, None).unwrap();
        assert!(!b.created);
        assert_eq!(a.verifiers(), b.verifiers());
        assert!(matches!(
            Cosigners::open(d, Some("other.example/x")),
            Err(KeysError::NameMismatch { .. })
        ));
        // A vkey file that does not match its key refuses the start; a
        // missing one is written again.
        std::fs::write(d.join("witness.vkey"), "nonsense\n").unwrap();
        assert!(matches!(
            Cosigners::open(d, None),
            Err(KeysError::VkeyMismatch { .. })
        ));
        std::fs::remove_file(d.join("witness.vkey")).unwrap();
        Cosigners::open(d, None).unwrap();
        assert_eq!(
            std::fs::read_to_string(d.join("witness.vkey"))
                .unwrap()
                .trim(),
            a.verifiers()[0].to_string()
        );
        // A key of the wrong kind in a key file is refused.
        std::fs::copy(d.join("witness.key"), d.join("witness-mldsa.key")).unwrap();
        assert!(matches!(
            Cosigners::open(d, None),
            Err(KeysError::WrongKind { .. })
        ));
    }

    #[test]
    fn cosignatures_verify_with_core() {
        let dir = tempfile::tempdir().unwrap();
        let c = Cosigners::open(dir.path(), Some("w.example/x")).unwrap();
        let text = format!("log.example/a\n5\n{}=\n", "A".repeat(43));
        let lines = c.cosign(&text, 1_700_000_000).unwrap();
        assert_eq!(lines.len(), 2);
        let mut n = dfft_core::note::Note::sign(&text, &[], 1).unwrap();
        for l in lines {
            n.add_signature(l);
        }
        let ok = n.verify(&c.verifiers()).unwrap();
        assert_eq!(ok.len(), 2);
        assert!(ok.iter().all(|v| v.timestamp == Some(1_700_000_000)));
    }
}
