//! The client's errors. Each failed check names what failed and keeps what
//! a person needs to act on it; an inconsistent log keeps the evidence.

use crate::submit::Refusal;
use crate::transport::TransportError;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use dfft_core::answer::AnswerError;
use dfft_core::checkpoint::{CheckpointError, SignedCheckpoint};
use dfft_core::hex;
use dfft_core::merkle::{Hash, ProofError};
use dfft_core::statement::registry::RuleError;
use dfft_core::tlog_proof::TlogProofError;
use std::fmt;
use std::path::PathBuf;

/// What kind of inconsistency a log showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InconsistencyKind {
    /// A signed checkpoint smaller than one already verified: the log
    /// forgot entries (or shows a stale view).
    Rollback,
    /// Two signed checkpoints that no single append-only log can have
    /// produced: same size with different roots, or a larger tree whose
    /// prefix is not the smaller one.
    Fork,
}

impl InconsistencyKind {
    /// `rollback` or `fork`.
    pub fn as_str(self) -> &'static str {
        match self {
            InconsistencyKind::Rollback => "rollback",
            InconsistencyKind::Fork => "fork",
        }
    }
}

/// Evidence that a log is inconsistent: two checkpoints, both signed by the
/// log's key, that cannot both be views of one append-only log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inconsistency {
    /// Rollback or fork.
    pub kind: InconsistencyKind,
    /// The checkpoint the client verified and trusted before.
    pub trusted: SignedCheckpoint,
    /// The checkpoint the log presented now.
    pub presented: SignedCheckpoint,
    /// The consistency proof from the smaller to the larger checkpoint, as
    /// the log's own tiles (or its entries, rehashed) give it; empty for a
    /// rollback and for two different roots of one size.
    pub proof: Vec<Hash>,
    /// For a fork between different sizes: the root of the smaller size
    /// that the larger tree really has (the proof leads to it), which
    /// differs from the smaller checkpoint's root.
    pub implied_root: Option<Hash>,
}

impl Inconsistency {
    /// The evidence as JSON: `kind`, both checkpoints as signed-note text,
    /// the proof in base64, and the implied root in hex.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "kind": self.kind.as_str(),
            "trusted_checkpoint": self.trusted.to_text(),
            "presented_checkpoint": self.presented.to_text(),
            "trusted_size": self.trusted.checkpoint.size,
            "presented_size": self.presented.checkpoint.size,
            "consistency_proof": self.proof.iter().map(|h| B64.encode(h)).collect::<Vec<_>>(),
            "implied_root": self.implied_root.as_ref().map(|r| hex::encode(r)),
        })
    }
}

impl fmt::Display for Inconsistency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (t, p) = (&self.trusted.checkpoint, &self.presented.checkpoint);
        match self.kind {
            InconsistencyKind::Rollback => write!(
                f,
                "log rollback: it now presents a signed checkpoint of size {} after one of size {} was verified",
                p.size, t.size
            ),
            InconsistencyKind::Fork if t.size == p.size => write!(
                f,
                "log fork: two signed checkpoints of size {} with different roots ({} and {})",
                t.size,
                hex::encode(&t.root),
                hex::encode(&p.root)
            ),
            InconsistencyKind::Fork => {
                let (small, large) = if t.size < p.size { (t, p) } else { (p, t) };
                write!(f, "log fork: the signed tree of size {} does not extend the signed tree of size {}", large.size, small.size)?;
                if let Some(r) = &self.implied_root {
                    write!(f, " (its first {} entries have root {}, not {})", small.size, hex::encode(r), hex::encode(&small.root))?;
                }
                Ok(())
            }
        }
    }
}

/// Everything that can go wrong in the client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The request could not be made or its answer read.
    #[error("GET {path}: {source}")]
    Transport {
        /// The path asked for.
        path: String,
        /// Why.
        #[source]
        source: TransportError,
    },
    /// The log answered with an HTTP error.
    #[error("GET {path}: HTTP {status}{}", if message.is_empty() { String::new() } else { format!(": {message}") })]
    Http {
        /// The path asked for.
        path: String,
        /// The status.
        status: u16,
        /// The log's error message, if it gave one.
        message: String,
    },
    /// The log sent something that is not what the protocol says.
    #[error("{what}: {detail}")]
    Malformed {
        /// What was read (a path, a file).
        what: String,
        /// What is wrong with it.
        detail: String,
    },
    /// The checkpoint does not verify against the pinned log key and the
    /// witness policy.
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// An inclusion proof does not hold.
    #[error("inclusion proof of entry {index} in the tree of size {size}: {source}")]
    Inclusion {
        /// Entry index.
        index: u64,
        /// Tree size.
        size: u64,
        /// Why.
        #[source]
        source: ProofError,
    },
    /// The log's hash tiles do not match its own signed checkpoint (a
    /// broken or lying log, but no proof of a fork).
    #[error(
        "the log's hash tiles do not lead to the root of its checkpoint of size {size}: {detail}"
    )]
    TilesMismatch {
        /// The checkpoint's size.
        size: u64,
        /// What did not match.
        detail: String,
    },
    /// The entries the log serves do not hash to its signed root: an entry
    /// was changed, swapped, dropped or added.
    #[error(
        "the log's entries hash to root {} but its signed checkpoint of size {size} has root {}",
        hex::encode(computed),
        hex::encode(expected)
    )]
    TreeMismatch {
        /// Tree size.
        size: u64,
        /// The checkpoint's root.
        expected: Hash,
        /// The root of the entries served.
        computed: Hash,
    },
    /// The log is inconsistent: a fork or a rollback, with the evidence.
    #[error("{0}")]
    Inconsistent(Box<Inconsistency>),
    /// A route or record answer does not verify.
    #[error("answer: {0}")]
    Answer(#[from] AnswerError),
    /// The answer does not prove it is complete: no completeness part (an
    /// older server; accepted only when the caller allows incomplete
    /// answers), or a completeness proof that fails (something was left
    /// out, or a stale map was served).
    #[error("not complete: {0}")]
    Incomplete(#[from] dfft_core::map::complete::CompletenessError),
    /// The log answers that it has no such record (HTTP 404), but the
    /// client described the record from a verified answer or an audit
    /// before: a record cannot leave an append-only log, so the log is
    /// withholding it.
    #[error("the log now says it has no record {record}, which it was verified to hold before: a record cannot leave an append-only log")]
    Withheld {
        /// The record id.
        record: String,
    },
    /// The log has no such record, proven: the map the checkpoint commits
    /// to has no value for the record's key (its 404 carried the proof).
    #[error("no record {record} in the log as of the checkpoint of size {size} (proven absent by the map)")]
    Absent {
        /// The record id.
        record: String,
        /// The checkpoint's tree size.
        size: u64,
        /// The checkpoint the absence is proven under.
        checkpoint: Box<dfft_core::checkpoint::SignedCheckpoint>,
    },
    /// A registry-appended index entry does not match the entries it
    /// covers (found by the audit's replay of the map).
    #[error("{0}")]
    Index(#[from] dfft_core::map::index::IndexMismatch),
    /// The answer verifies but answers another question.
    #[error("the answer does not match the question: {0}")]
    WrongAnswer(String),
    /// A logged entry is malformed, badly signed, or breaks a registry rule
    /// given the governance and authority state at its position.
    #[error("entry {index}: {source}")]
    Rule {
        /// Entry index.
        index: u64,
        /// Which rule.
        #[source]
        source: RuleError,
    },
    /// The genesis names another origin than the log's checkpoints.
    #[error(
        "the genesis (entry 0) names origin {genesis:?} but the log's checkpoints are for {log:?}"
    )]
    GenesisOrigin {
        /// Origin named in the genesis.
        genesis: String,
        /// The checkpoints' origin.
        log: String,
    },
    /// An offline proof file is not a well-formed tlog-proof.
    #[error("proof file: {0}")]
    ProofFile(TlogProofError),
    /// The state file cannot be read, written or used.
    #[error("state file {}: {detail}", path.display())]
    State {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// The caller's configuration or input is unusable (a key, a policy, a
    /// question).
    #[error("{0}")]
    Usage(String),
    /// The log refused a submission (HTTP 4xx): the envelope is not
    /// logged, for the reason given.
    #[error("{0}")]
    Refused(Refusal),
    /// A submission could not be sent or its answer read. The envelope may
    /// or may not be logged; sending it again is safe (a statement is
    /// logged once).
    #[error("POST {path}: {source}")]
    Unsent {
        /// The path posted to.
        path: String,
        /// Why.
        #[source]
        source: TransportError,
    },
    /// The log failed to take a submission (HTTP 5xx, or a status the
    /// protocol does not give): overloaded, storage full, stopped.
    #[error("POST {path}: HTTP {status}{}", if message.is_empty() { String::new() } else { format!(": {message}") })]
    SubmitFailed {
        /// The path posted to.
        path: String,
        /// The status.
        status: u16,
        /// The log's error code (`overloaded`, `insufficient_storage`,
        /// ...), if it gave one.
        code: Option<String>,
        /// The log's error message, if it gave one.
        message: String,
    },
    /// A receipt that does not prove what it claims: it is for another
    /// entry, or another statement. (A bad signature is
    /// [`ClientError::Checkpoint`], a bad proof [`ClientError::Inclusion`].)
    #[error("the log's receipt does not hold: {0}")]
    BadReceipt(String),
}

impl ClientError {
    /// The evidence, if the log is inconsistent.
    pub fn inconsistency(&self) -> Option<&Inconsistency> {
        match self {
            ClientError::Inconsistent(i) => Some(i),
            _ => None,
        }
    }

    /// The log's refusal, if it refused a submission.
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            ClientError::Refused(r) => Some(r),
            _ => None,
        }
    }

    /// Whether the fault is in what the caller gave (usage, input files,
    /// the state file) rather than in the log or the network.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            ClientError::Usage(_) | ClientError::ProofFile(_) | ClientError::State { .. }
        )
    }

    pub(crate) fn malformed(what: impl Into<String>, detail: impl fmt::Display) -> ClientError {
        ClientError::Malformed {
            what: what.into(),
            detail: detail.to_string(),
        }
    }

    pub(crate) fn inconsistent(i: Inconsistency) -> ClientError {
        ClientError::Inconsistent(Box::new(i))
    }
}

impl From<dfft_core::counterparty::CounterpartyError> for ClientError {
    /// A counterparty answer that does not verify: its proofs and claims
    /// as for any answer, its parts not fitting together as a wrong answer.
    fn from(e: dfft_core::counterparty::CounterpartyError) -> ClientError {
        use dfft_core::counterparty::CounterpartyError as E;
        match e {
            E::Answer(a) => ClientError::Answer(a),
            E::Incomplete(c) => ClientError::Incomplete(c),
            other => ClientError::WrongAnswer(other.to_string()),
        }
    }
}
