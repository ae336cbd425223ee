//! The body of `POST /add-checkpoint` (C2SP tlog-witness): an old size
//! line, at most 63 base64 consistency proof lines, an empty line, then a
//! signed checkpoint note. Parsed strictly and in linear time: every line
//! ends in a newline, `old N` is decimal with no leading zeros, each proof
//! line is standard base64 of exactly 32 bytes.
//!
//! Leaves out: what the sizes and the proof mean (`verdict`), and the
//! signatures (only parsed here, verified against the log list there).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use dfft_core::checkpoint::SignedCheckpoint;
use dfft_core::merkle::Hash;

/// Most consistency proof lines a client may send.
pub const MAX_PROOF_LINES: usize = 63;

/// Why a body is not an add-checkpoint request (always 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The first line is not `old <decimal>`.
    #[error("the first line must be \"old <size>\" (decimal, no leading zeros)")]
    OldLine,
    /// A proof line is not base64 of a 32-byte hash.
    #[error("consistency proof line {0} is not standard base64 of 32 bytes")]
    ProofLine(usize),
    /// More than [`MAX_PROOF_LINES`] proof lines.
    #[error("more than {MAX_PROOF_LINES} consistency proof lines")]
    TooManyProofLines,
    /// No empty line before the checkpoint.
    #[error("no empty line between the proof and the checkpoint")]
    NoSeparator,
    /// The checkpoint note does not parse.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
}

/// A parsed add-checkpoint request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size of the previous checkpoint the client believes the witness has.
    pub old: u64,
    /// Consistency proof from `old` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The submitted checkpoint (signatures not yet verified).
    pub checkpoint: SignedCheckpoint,
}

/// One line of `body` from `*at`, without its newline; `None` if no
/// newline is left.
fn line<'a>(body: &'a [u8], at: &mut usize) -> Option<&'a [u8]> {
    let rest = &body[*at..];
    let n = rest.iter().position(|&b| b == b'\n')?;
    *at += n + 1;
    Some(&rest[..n])
}

/// Parses a decimal tree size with no leading zeros (`0` alone is zero).
pub fn parse_size(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if s.len() > 1 && s[0] == b'0' {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

impl AddCheckpoint {
    /// Parses a request body strictly.
    pub fn parse(body: &[u8]) -> Result<AddCheckpoint, RequestError> {
        let mut at = 0;
        let old = line(body, &mut at)
            .and_then(|l| l.strip_prefix(b"old "))
            .and_then(parse_size)
            .ok_or(RequestError::OldLine)?;
        let mut proof = Vec::new();
        loop {
            let l = line(body, &mut at).ok_or(RequestError::NoSeparator)?;
            if l.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(RequestError::TooManyProofLines);
            }
            let n = proof.len() + 1;
            // 32 bytes are 44 base64 characters with one '=' of padding.
            if l.len() != 44 {
                return Err(RequestError::ProofLine(n));
            }
            let raw = B64.decode(l).map_err(|_| RequestError::ProofLine(n))?;
            let h: Hash = raw.try_into().map_err(|_| RequestError::ProofLine(n))?;
            proof.push(h);
        }
        let checkpoint = SignedCheckpoint::parse(&body[at..])
            .map_err(|e| RequestError::Checkpoint(e.to_string()))?;
        Ok(AddCheckpoint {
            old,
            proof,
            checkpoint,
        })
    }

    /// The request body (the client side: tests, the benchmark, a log).
    pub fn to_body(old: u64, proof: &[Hash], checkpoint_note: &str) -> String {
        let mut s = format!("old {old}\n");
        for h in proof {
            s.push_str(&B64.encode(h));
            s.push('\n');
        }
        s.push('\n');
        s.push_str(checkpoint_note);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dfft_core::checkpoint::Checkpoint;
    use dfft_core::note::{KeyName, SignerKey};

    fn note() -> String {
        let k = SignerKey::from_seed(KeyName::new("example.org/log").unwrap(), [1; 32]);
        Checkpoint {
            origin: "example.org/log".into(),
            size: 5,
            root: [7; 32],
            extensions: vec![],
        }
        .sign(&[&k], 0)
        .unwrap()
        .to_text()
    }

    #[test]
    fn round_trip() {
        let body = AddCheckpoint::to_body(3, &[[1; 32], [2; 32]], &note());
        let r = AddCheckpoint::parse(body.as_bytes()).unwrap();
        assert_eq!(r.old, 3);
        assert_eq!(r.proof, vec![[1; 32], [2; 32]]);
        assert_eq!(r.checkpoint.checkpoint.size, 5);
        let empty = AddCheckpoint::to_body(0, &[], &note());
        assert_eq!(AddCheckpoint::parse(empty.as_bytes()).unwrap().old, 0);
    }

    #[test]
    fn malformed() {
        let n = note();
        let h = B64.encode([1u8; 32]);
        let too_many: String = (0..64).map(|_| format!("{h}\n")).collect();
        let max: String = (0..63).map(|_| format!("{h}\n")).collect();
        assert!(AddCheckpoint::parse(format!("old 5\n{max}\n{n}").as_bytes()).is_ok());
        for (bad, want) in [
            (format!("old 05\n\n{n}"), RequestError::OldLine),
            (format!("old -1\n\n{n}"), RequestError::OldLine),
            (format!("old  1\n\n{n}"), RequestError::OldLine),
            (format!("old 1 \n\n{n}"), RequestError::OldLine),
            (format!("Old 1\n\n{n}"), RequestError::OldLine),
            (
                format!("old 18446744073709551616\n\n{n}"),
                RequestError::OldLine,
            ),
            ("old 1".to_string(), RequestError::OldLine),
            (format!("old 1\n{h}"), RequestError::NoSeparator),
            (format!("old 1\n{h}x\n\n{n}"), RequestError::ProofLine(1)),
            (
                format!("old 1\n{h}\n{}\n\n{n}", B64.encode([1u8; 31])),
                RequestError::ProofLine(2),
            ),
            (format!("old 1\n{h}\r\n\n{n}"), RequestError::ProofLine(1)),
            (
                format!("old 1\n{too_many}\n{n}"),
                RequestError::TooManyProofLines,
            ),
        ] {
            assert_eq!(AddCheckpoint::parse(bad.as_bytes()), Err(want), "{bad:?}");
        }
        for bad in [
            "old 1\n\n".to_string(),
            "old 1\n\nexample.org/log\n5\n".to_string(),
            format!("old 1\n\n{}", n.replace('\n', "\r\n")),
            format!("old 1\n\n\n{n}"),
        ] {
            assert!(
                matches!(
                    AddCheckpoint::parse(bad.as_bytes()),
                    Err(RequestError::Checkpoint(_))
                ),
                "{bad:?}"
            );
        }
    }
}
