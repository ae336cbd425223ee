//! c2sp.org/tlog-proof offline proofs: a signed checkpoint, an entry index,
//! its inclusion proof, and optional opaque extra data (for dfft-registry,
//! the entry bytes themselves).
//!
//! Leaves out: what the entry means; the caller supplies the leaf hash (or
//! uses the `extra` data as the entry).

use crate::checkpoint::{CheckpointError, SignedCheckpoint};
use crate::merkle::{self, Hash, ProofError};
use crate::note::VerifierKey;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

/// First line of every tlog-proof.
pub const HEADER: &str = "c2sp.org/tlog-proof@v1";
/// At most this many proof hashes (a tree of 2^63 leaves needs 63).
pub const MAX_PROOF_HASHES: usize = 63;

/// Errors of tlog-proof files.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlogProofError {
    /// Not a well-formed tlog-proof.
    #[error("malformed tlog-proof: {0}")]
    Malformed(&'static str),
    /// The checkpoint inside is bad or badly signed.
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// The inclusion proof does not hold.
    #[error("inclusion proof: {0}")]
    Proof(#[from] ProofError),
    /// `verify_with_extra` was asked for but there is no extra data.
    #[error("tlog-proof has no extra data to hash as the entry")]
    NoExtra,
}

/// A parsed tlog-proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlogProof {
    /// Optional opaque data.
    pub extra: Option<Vec<u8>>,
    /// Entry index.
    pub index: u64,
    /// Inclusion proof, leaf's sibling first.
    pub proof: Vec<Hash>,
    /// The signed checkpoint.
    pub checkpoint: SignedCheckpoint,
}

impl TlogProof {
    /// Formats the proof file.
    pub fn to_text(&self) -> String {
        let mut s = String::from(HEADER);
        s.push('\n');
        if let Some(e) = &self.extra {
            s.push_str("extra ");
            s.push_str(&B64.encode(e));
            s.push('\n');
        }
        s.push_str(&format!("index {}\n", self.index));
        for h in &self.proof {
            s.push_str(&B64.encode(h));
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&self.checkpoint.to_text());
        s
    }

    /// Parses a proof file strictly.
    pub fn parse(data: &[u8]) -> Result<TlogProof, TlogProofError> {
        let text = std::str::from_utf8(data).map_err(|_| TlogProofError::Malformed("not UTF-8"))?;
        let rest = text
            .strip_prefix(HEADER)
            .and_then(|r| r.strip_prefix('\n'))
            .ok_or(TlogProofError::Malformed(
                "first line must be c2sp.org/tlog-proof@v1",
            ))?;
        let (mut line, mut rest) = next_line(rest)?;
        let mut extra = None;
        if let Some(b) = line.strip_prefix("extra ") {
            extra = Some(
                B64.decode(b)
                    .map_err(|_| TlogProofError::Malformed("extra is not standard base64"))?,
            );
            (line, rest) = next_line(rest)?;
        }
        let idx = line
            .strip_prefix("index ")
            .ok_or(TlogProofError::Malformed("missing index line"))?;
        if idx.is_empty()
            || idx.len() > 20
            || !idx.bytes().all(|b| b.is_ascii_digit())
            || (idx.len() > 1 && idx.starts_with('0'))
        {
            return Err(TlogProofError::Malformed(
                "index must be decimal without leading zeros",
            ));
        }
        let index = idx
            .parse()
            .map_err(|_| TlogProofError::Malformed("index out of range"))?;
        let mut proof = Vec::new();
        loop {
            let (l, r) = next_line(rest)?;
            rest = r;
            if l.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_HASHES {
                return Err(TlogProofError::Malformed("more than 63 proof hashes"));
            }
            let h = B64
                .decode(l)
                .map_err(|_| TlogProofError::Malformed("proof hash is not standard base64"))?;
            proof.push(
                h.try_into()
                    .map_err(|_| TlogProofError::Malformed("proof hash must be 32 bytes"))?,
            );
        }
        let checkpoint = SignedCheckpoint::parse(rest.as_bytes())?;
        Ok(TlogProof {
            extra,
            index,
            proof,
            checkpoint,
        })
    }

    /// Verifies the checkpoint against the log key and witness policy, then
    /// the inclusion of `leaf` at the proof's index.
    pub fn verify(
        &self,
        leaf: &Hash,
        log_key: &VerifierKey,
        witnesses: &[VerifierKey],
        min_witnesses: usize,
    ) -> Result<(), TlogProofError> {
        self.checkpoint.verify(log_key, witnesses, min_witnesses)?;
        let cp = &self.checkpoint.checkpoint;
        merkle::verify_inclusion(self.index, cp.size, leaf, &self.proof, &cp.root)?;
        Ok(())
    }

    /// Like [`Self::verify`], with the leaf hashed from the `extra` data.
    pub fn verify_with_extra(
        &self,
        log_key: &VerifierKey,
        witnesses: &[VerifierKey],
        min_witnesses: usize,
    ) -> Result<&[u8], TlogProofError> {
        let extra = self.extra.as_deref().ok_or(TlogProofError::NoExtra)?;
        self.verify(&merkle::leaf_hash(extra), log_key, witnesses, min_witnesses)?;
        Ok(extra)
    }
}

fn next_line(s: &str) -> Result<(&str, &str), TlogProofError> {
    s.split_once('\n')
        .ok_or(TlogProofError::Malformed("truncated"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::Checkpoint;
    use crate::merkle::{leaf_hash, MemoryTree};
    use crate::note::{KeyName, SignerKey};

    #[test]
    fn round_trip_verify_and_tamper() {
        let key = SignerKey::from_seed(KeyName::new("example.org/log").unwrap(), [5; 32]);
        let mut t = MemoryTree::new();
        let entries: Vec<Vec<u8>> = (0..11u8).map(|i| vec![i; 3]).collect();
        for e in &entries {
            t.push(leaf_hash(e));
        }
        let cp = Checkpoint {
            origin: "example.org/log".into(),
            size: t.size(),
            root: t.root(),
            extensions: vec![],
        };
        let signed = cp.sign(&[&key], 0).unwrap();
        let proof = merkle::inclusion_proof(&t, 6, t.size()).unwrap();
        let p = TlogProof {
            extra: Some(entries[6].clone()),
            index: 6,
            proof,
            checkpoint: signed,
        };
        let text = p.to_text();
        let parsed = TlogProof::parse(text.as_bytes()).unwrap();
        assert_eq!(parsed, p);
        assert_eq!(
            parsed.verify_with_extra(&key.verifier(), &[], 0).unwrap(),
            &entries[6][..]
        );
        let mut wrong = parsed.clone();
        wrong.index = 5;
        assert!(matches!(
            wrong.verify_with_extra(&key.verifier(), &[], 0),
            Err(TlogProofError::Proof(_))
        ));
        for bad in [
            text.replacen("index 6", "index 06", 1),
            text.replacen("c2sp.org/tlog-proof@v1", "c2sp.org/tlog-proof@v2", 1),
            text.replacen("\n\n", "\n", 1),
            text[..text.len() - 2].to_string(),
        ] {
            assert!(TlogProof::parse(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
