//! C2SP tlog-checkpoint (<https://c2sp.org/tlog-checkpoint>) bodies, and a
//! signed checkpoint: a checkpoint note verified against a log key.
//!
//! Leaves out: the policy of which witnesses to require (see
//! [`crate::policy::Policy::verify_checkpoint`], and the k-of-n count of
//! [`SignedCheckpoint::verify`]) and any fetching.

use crate::merkle::Hash;
use crate::note::{Note, NoteError, SignerKey, VerifierKey};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

/// Errors of checkpoints.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The body does not follow tlog-checkpoint.
    #[error("malformed checkpoint: {0}")]
    Malformed(&'static str),
    /// The note around it is bad or badly signed.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// The checkpoint is for another log.
    #[error("checkpoint origin {got:?}, want {want:?}")]
    WrongOrigin {
        /// Origin found.
        got: String,
        /// Origin expected.
        want: String,
    },
    /// The log's own key did not sign it.
    #[error("checkpoint is not signed by the log key {0}")]
    NotSignedByLog(String),
    /// The checkpoint's origin is not a log of the policy.
    #[error("checkpoint origin {origin:?} is not a log of the policy (it lists {})", if known.is_empty() { "no logs".to_string() } else { known.join(", ") })]
    UnknownLog {
        /// Origin found.
        origin: String,
        /// Origins of the policy's logs.
        known: Vec<String>,
    },
    /// The witnesses that cosigned do not meet the policy's quorum.
    #[error("checkpoint does not meet the witness quorum {quorum:?}: cosigned by {}; missing: {}", if cosigned.is_empty() { "no policy witness".to_string() } else { cosigned.join(", ") }, missing.join(", "))]
    QuorumNotMet {
        /// The quorum's name.
        quorum: String,
        /// Policy witnesses whose cosignatures verified.
        cosigned: Vec<String>,
        /// Groups and witnesses still missing ([`crate::policy::Policy::missing`]).
        missing: Vec<String>,
    },
    /// Too few of the trusted witnesses cosigned.
    #[error("checkpoint has {got} trusted witness cosignatures, policy needs {want}")]
    TooFewCosignatures {
        /// Valid cosignatures from trusted witnesses.
        got: usize,
        /// Required.
        want: usize,
    },
}

/// A checkpoint body: origin, tree size, root hash, extension lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin line.
    pub origin: String,
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: Hash,
    /// Optional extension lines (non-empty, without newlines).
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// Parses a checkpoint body (the note text), strictly.
    pub fn parse(text: &str) -> Result<Checkpoint, CheckpointError> {
        let body = text
            .strip_suffix('\n')
            .ok_or(CheckpointError::Malformed("must end in a newline"))?;
        let mut lines = body.split('\n');
        let origin = lines.next().unwrap_or("");
        if origin.is_empty() || origin.chars().any(|c| c.is_control()) {
            return Err(CheckpointError::Malformed("empty origin"));
        }
        let size = lines
            .next()
            .ok_or(CheckpointError::Malformed("missing size"))?;
        if size.is_empty()
            || size.len() > 20
            || !size.bytes().all(|b| b.is_ascii_digit())
            || (size.len() > 1 && size.starts_with('0'))
        {
            return Err(CheckpointError::Malformed(
                "size must be decimal without leading zeros",
            ));
        }
        let size: u64 = size
            .parse()
            .map_err(|_| CheckpointError::Malformed("size out of range"))?;
        let root = lines
            .next()
            .ok_or(CheckpointError::Malformed("missing root hash"))?;
        let root = B64
            .decode(root)
            .map_err(|_| CheckpointError::Malformed("root hash is not base64"))?;
        let root: Hash = root
            .try_into()
            .map_err(|_| CheckpointError::Malformed("root hash must be 32 bytes"))?;
        let mut extensions = Vec::new();
        for l in lines {
            if l.is_empty() {
                return Err(CheckpointError::Malformed("empty extension line"));
            }
            extensions.push(l.to_string());
        }
        Ok(Checkpoint {
            origin: origin.to_string(),
            size,
            root,
            extensions,
        })
    }

    /// The body text, ending in a newline.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        );
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    /// The `subtree/v1` message a cosigner named `cosigner` signs for this
    /// checkpoint at `timestamp`: the subtree `[0, size)` with the root hash
    /// (extension lines are not part of it).
    pub fn subtree_message(&self, cosigner: &str, timestamp: u64) -> Result<Vec<u8>, NoteError> {
        crate::note::subtree_message(cosigner, timestamp, &self.origin, 0, self.size, &self.root)
    }

    /// Signs the checkpoint with the log key (and any other keys).
    pub fn sign(
        &self,
        keys: &[&SignerKey],
        timestamp: u64,
    ) -> Result<SignedCheckpoint, CheckpointError> {
        let note = Note::sign(&self.to_text(), keys, timestamp)?;
        Ok(SignedCheckpoint {
            checkpoint: self.clone(),
            note,
        })
    }
}

/// A checkpoint with its signed note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// The body.
    pub checkpoint: Checkpoint,
    /// The note, with signatures and cosignatures.
    pub note: Note,
}

impl SignedCheckpoint {
    /// Parses a signed checkpoint note without verifying signatures.
    pub fn parse(text: &[u8]) -> Result<SignedCheckpoint, CheckpointError> {
        let note = Note::parse(text)?;
        let checkpoint = Checkpoint::parse(note.text())?;
        Ok(SignedCheckpoint { checkpoint, note })
    }

    /// Verifies: the origin equals the log key's name, the log key signed,
    /// and at least `min_witnesses` of `witnesses` cosigned. Signatures by
    /// unknown keys are ignored; a bad signature by a known key fails.
    pub fn verify(
        &self,
        log_key: &VerifierKey,
        witnesses: &[VerifierKey],
        min_witnesses: usize,
    ) -> Result<(), CheckpointError> {
        if self.checkpoint.origin != log_key.name() {
            return Err(CheckpointError::WrongOrigin {
                got: self.checkpoint.origin.clone(),
                want: log_key.name().to_string(),
            });
        }
        let mut known = Vec::with_capacity(1 + witnesses.len());
        known.push(log_key.clone());
        known.extend(witnesses.iter().filter(|w| w.kind().is_cosigner()).cloned());
        let ok = match self.note.verify(&known) {
            Ok(ok) => ok,
            Err(NoteError::NoKnownSignature) => {
                return Err(CheckpointError::NotSignedByLog(log_key.to_string()))
            }
            Err(e) => return Err(e.into()),
        };
        if !ok.iter().any(|v| &v.key == log_key) {
            return Err(CheckpointError::NotSignedByLog(log_key.to_string()));
        }
        let cosigs = ok.iter().filter(|v| v.key.kind().is_cosigner()).count();
        if cosigs < min_witnesses {
            return Err(CheckpointError::TooFewCosignatures {
                got: cosigs,
                want: min_witnesses,
            });
        }
        Ok(())
    }

    /// The signed note text.
    pub fn to_text(&self) -> String {
        self.note.to_text()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::KeyName;

    #[test]
    fn round_trip_and_verify() {
        let key = SignerKey::from_seed(KeyName::new("example.org/log").unwrap(), [9; 32]);
        let cp = Checkpoint {
            origin: "example.org/log".into(),
            size: 7,
            root: [3; 32],
            extensions: vec![],
        };
        let signed = cp.sign(&[&key], 0).unwrap();
        let text = signed.to_text();
        let parsed = SignedCheckpoint::parse(text.as_bytes()).unwrap();
        assert_eq!(parsed.checkpoint, cp);
        parsed.verify(&key.verifier(), &[], 0).unwrap();
        assert!(matches!(
            parsed.verify(&key.verifier(), &[], 1),
            Err(CheckpointError::TooFewCosignatures { got: 0, want: 1 })
        ));
        let other = SignerKey::from_seed(KeyName::new("example.org/log").unwrap(), [8; 32]);
        assert!(matches!(
            parsed.verify(&other.verifier(), &[], 0),
            Err(CheckpointError::NotSignedByLog(_))
        ));
        let wrong = SignerKey::from_seed(KeyName::new("other.org/log").unwrap(), [9; 32]);
        assert!(matches!(
            parsed.verify(&wrong.verifier(), &[], 0),
            Err(CheckpointError::WrongOrigin { .. })
        ));
    }

    #[test]
    fn malformed_bodies() {
        let root = B64.encode([0u8; 32]);
        for bad in [
            String::new(),
            format!("o\n7\n{root}"),
            format!("\n7\n{root}\n"),
            format!("o\n07\n{root}\n"),
            format!("o\n-7\n{root}\n"),
            format!("o\n7\n{}\n", B64.encode([0u8; 31])),
            format!("o\n7\n{root}\n\n"),
            format!("o\n99999999999999999999\n{root}\n"),
            "o\n7\n".to_string(),
        ] {
            assert!(Checkpoint::parse(&bad).is_err(), "{bad:?}");
        }
        let ok = Checkpoint::parse(&format!("o\n0\n{root}\next\n")).unwrap();
        assert_eq!(ok.extensions, vec!["ext".to_string()]);
    }
}
