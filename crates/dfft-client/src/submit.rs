//! Submitting envelopes: [`Client::submit`] (`POST /v1/entries`) and
//! [`Client::submit_batch`] (`POST /v1/entries/batch`). They return only
//! receipts they verified, each a [`VerifiedReceipt`]:
//!
//! - the checkpoint is signed by the pinned log key (witness cosignatures
//!   are not required: a receipt's checkpoint is fresh, and witnesses
//!   cosign later);
//! - the receipt is for the entry sent (its leaf hash), or, when the log
//!   answers 200 for the same statement logged earlier under another
//!   signature set, for that logged entry, which must carry the same
//!   statement (equal [`Envelope::statement_id`]);
//! - the inclusion proof leads from that leaf to the checkpoint's root.
//!
//! A refusal (HTTP 4xx, `{"error", "message"}`) is a [`Refusal`]: for a
//! single submission [`ClientError::Refused`], for a batch item one entry
//! of the result list. A failure to send is [`ClientError::Unsent`], a
//! failure of the log (5xx) [`ClientError::SubmitFailed`], and a receipt
//! that does not hold is an error of the check that failed.
//!
//! Leaves out: splitting large batches into requests (the caller decides
//! how many envelopes go in one), retrying, and signing envelopes.

use crate::client::{error_body, Client};
use crate::error::ClientError;
use crate::transport::Transport;
use dfft_core::checkpoint::SignedCheckpoint;
use dfft_core::hex;
use dfft_core::merkle::{self, Hash};
use dfft_core::statement::dsse::Envelope;
use dfft_core::tlog_proof::TlogProof;
use dfft_core::wire::{self, WireError};
use std::fmt;

/// The path of a single submission.
pub const ENTRIES: &str = "/v1/entries";
/// The path of a batch submission.
pub const BATCH: &str = "/v1/entries/batch";

/// The log refused an envelope: the HTTP status and the log's error code
/// and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The HTTP status (400, 403, 413, 422, 429, ...).
    pub status: u16,
    /// The log's error code (`malformed`, `unauthorized`,
    /// `rule_violated`, ...); empty if it gave none.
    pub code: String,
    /// The log's message.
    pub message: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "refused ({}", self.status)?;
        if !self.code.is_empty() {
            write!(f, " {}", self.code)?;
        }
        write!(f, "): {}", self.message)
    }
}

/// A receipt whose checkpoint signature, leaf hash and inclusion proof the
/// client checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedReceipt {
    /// The logged entry's index.
    pub index: u64,
    /// Whether this submission logged it (201), rather than finding it
    /// logged already (200).
    pub created: bool,
    /// The logged entry: the envelope sent (canonical), or the earlier
    /// envelope of the same statement.
    pub entry: Vec<u8>,
    /// Its leaf hash.
    pub leaf: Hash,
    /// Its inclusion proof in `checkpoint`.
    pub proof: Vec<Hash>,
    /// The checkpoint, verified against the pinned log key.
    pub checkpoint: SignedCheckpoint,
    /// The statement was logged earlier under another signature set, and
    /// `entry` is that earlier envelope.
    pub other_envelope: bool,
    /// The log's note about it, if any.
    pub note: Option<String>,
}

impl VerifiedReceipt {
    /// The receipt as a c2sp.org/tlog-proof, with the logged entry as
    /// extra data: what `dfft verify` checks offline.
    pub fn tlog_proof(&self) -> TlogProof {
        TlogProof {
            extra: Some(self.entry.clone()),
            index: self.index,
            proof: self.proof.clone(),
            checkpoint: self.checkpoint.clone(),
        }
    }

    /// The receipt in the log's wire form, rebuilt from what was verified.
    pub fn to_wire(&self) -> wire::Receipt {
        wire::Receipt {
            index: self.index,
            leaf_hash: hex::encode(&self.leaf),
            checkpoint: self.checkpoint.to_text(),
            inclusion_proof: wire::encode_hashes(&self.proof),
            tlog_proof: self.tlog_proof().to_text(),
            note: self.note.clone(),
        }
    }
}

fn malformed(what: &str, e: WireError) -> ClientError {
    match e {
        WireError::Checkpoint(e) => ClientError::Checkpoint(e),
        e => ClientError::malformed(what, e),
    }
}

/// The canonical entry of an envelope the caller gives.
fn canonical(n: Option<usize>, bytes: &[u8]) -> Result<Envelope, ClientError> {
    Envelope::parse(bytes).map_err(|e| {
        ClientError::Usage(match n {
            Some(n) => format!("envelope {n}: not a DSSE envelope: {e}"),
            None => format!("not a DSSE envelope: {e}"),
        })
    })
}

/// What a receipt claims about one entry, before it is checked.
struct Claim {
    index: u64,
    created: bool,
    leaf: Hash,
    proof: Vec<Hash>,
    /// The logged entry, when the log sent one.
    logged: Option<Vec<u8>>,
    note: Option<String>,
}

impl<T: Transport> Client<T> {
    /// POSTs `body` to `path`: the body of a 200 or 201 and whether it was
    /// 201; a 4xx is [`ClientError::Refused`], anything else
    /// [`ClientError::SubmitFailed`].
    fn post(&self, path: &str, body: &[u8]) -> Result<(Vec<u8>, bool), ClientError> {
        let r = self
            .transport()
            .post(path, body)
            .map_err(|source| ClientError::Unsent {
                path: path.to_string(),
                source,
            })?;
        match r.status {
            200 | 201 => Ok((r.body, r.status == 201)),
            status => {
                let (code, message) = error_body(&r.body);
                if (400..500).contains(&status) {
                    Err(ClientError::Refused(Refusal {
                        status,
                        code: code.unwrap_or_default(),
                        message,
                    }))
                } else {
                    Err(ClientError::SubmitFailed {
                        path: path.to_string(),
                        status,
                        code,
                        message,
                    })
                }
            }
        }
    }

    /// Parses a receipt's checkpoint and verifies its log signature.
    fn receipt_checkpoint(&self, text: &str) -> Result<SignedCheckpoint, ClientError> {
        let cp = SignedCheckpoint::parse(text.as_bytes())?;
        cp.verify(self.policy().log_key(), &[], 0)?;
        Ok(cp)
    }

    /// Submits one DSSE envelope and verifies the receipt.
    pub fn submit(&self, envelope: &[u8]) -> Result<VerifiedReceipt, ClientError> {
        let sent = canonical(None, envelope)?;
        let (body, created) = self.post(ENTRIES, envelope)?;
        let r: wire::Receipt =
            serde_json::from_slice(&body).map_err(|e| ClientError::malformed(ENTRIES, e))?;
        let cp = self.receipt_checkpoint(&r.checkpoint)?;
        let leaf = r.leaf().map_err(|e| malformed(ENTRIES, e))?;
        let proof = r.proof().map_err(|e| malformed(ENTRIES, e))?;
        // Another envelope of the statement travels in the tlog-proof.
        let logged = if leaf == merkle::leaf_hash(&sent.canonical_bytes()) {
            None
        } else {
            TlogProof::parse(r.tlog_proof.as_bytes())
                .map_err(|e| ClientError::malformed(ENTRIES, format!("tlog_proof: {e}")))?
                .extra
        };
        let claim = Claim {
            index: r.index,
            created,
            leaf,
            proof,
            logged,
            note: r.note,
        };
        verify_claim(&sent, claim, cp)
    }

    /// Submits envelopes in one batch request and verifies every receipt
    /// in the answer. Returns one result per envelope, in order: a
    /// verified receipt, or the log's refusal of that envelope. A receipt
    /// that does not hold fails the whole call.
    pub fn submit_batch<E: AsRef<[u8]>>(
        &self,
        envelopes: &[E],
    ) -> Result<Vec<Result<VerifiedReceipt, Refusal>>, ClientError> {
        if envelopes.is_empty() {
            return Err(ClientError::Usage("an empty batch".into()));
        }
        let sent = envelopes
            .iter()
            .enumerate()
            .map(|(n, e)| canonical(Some(n), e.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        let entries: Vec<Vec<u8>> = sent.iter().map(Envelope::canonical_bytes).collect();
        let mut body = Vec::with_capacity(entries.iter().map(|e| e.len() + 1).sum::<usize>() + 1);
        body.push(b'[');
        for (i, e) in entries.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(e);
        }
        body.push(b']');
        let (answer, _) = self.post(BATCH, &body)?;
        let r: wire::BatchReceipt =
            serde_json::from_slice(&answer).map_err(|e| ClientError::malformed(BATCH, e))?;
        if r.results.len() != sent.len() {
            return Err(ClientError::BadReceipt(format!(
                "{} results for a batch of {} envelopes",
                r.results.len(),
                sent.len()
            )));
        }
        let cp = self.receipt_checkpoint(&r.checkpoint)?;
        if r.tree_size != cp.checkpoint.size {
            return Err(ClientError::BadReceipt(format!(
                "tree_size {} but the checkpoint's size is {}",
                r.tree_size, cp.checkpoint.size
            )));
        }
        let mut out = Vec::with_capacity(sent.len());
        for (n, (env, item)) in sent.iter().zip(r.results).enumerate() {
            let Some(index) = item.index else {
                if item.status < 400 {
                    return Err(ClientError::BadReceipt(format!(
                        "envelope {n}: status {} without an index",
                        item.status
                    )));
                }
                out.push(Err(Refusal {
                    status: item.status,
                    code: item.error.unwrap_or_default(),
                    message: item.message.unwrap_or_default(),
                }));
                continue;
            };
            let what = format!("{BATCH} result {n}");
            let claim = Claim {
                index,
                created: item.status == 201,
                leaf: item.leaf().map_err(|e| malformed(&what, e))?,
                proof: item.proof().map_err(|e| malformed(&what, e))?,
                logged: item.logged_entry().map_err(|e| malformed(&what, e))?,
                note: item.note,
            };
            let v = verify_claim(env, claim, cp.clone()).map_err(|e| match e {
                ClientError::BadReceipt(m) => ClientError::BadReceipt(format!("envelope {n}: {m}")),
                e => e,
            })?;
            out.push(Ok(v));
        }
        Ok(out)
    }
}

/// Checks a claim about the envelope `sent` against the verified
/// checkpoint `cp`: leaf hash (of `sent`, or of an earlier envelope of its
/// statement), then the inclusion proof.
fn verify_claim(
    sent: &Envelope,
    c: Claim,
    cp: SignedCheckpoint,
) -> Result<VerifiedReceipt, ClientError> {
    let sent_entry = sent.canonical_bytes();
    let (entry, other_envelope) = if c.leaf == merkle::leaf_hash(&sent_entry) {
        (sent_entry, false)
    } else {
        // Only a 200 ("logged before") may be for another entry, and then
        // the log must show it.
        let Some(logged) = c.logged.filter(|_| !c.created) else {
            return Err(ClientError::BadReceipt(format!(
                "its leaf hash {} is not that of the entry sent ({}){}",
                hex::encode(&c.leaf),
                hex::encode(&merkle::leaf_hash(&sent_entry)),
                if c.created {
                    ", yet it says 201 (logged now)"
                } else {
                    ""
                }
            )));
        };
        if merkle::leaf_hash(&logged) != c.leaf {
            return Err(ClientError::BadReceipt(
                "the logged entry it carries does not have its leaf hash".into(),
            ));
        }
        let same = Envelope::parse(&logged).map(|e| e.statement_id() == sent.statement_id());
        if !matches!(same, Ok(true)) {
            return Err(ClientError::BadReceipt(
                "it is for an entry of another statement".into(),
            ));
        }
        (logged, true)
    };
    let size = cp.checkpoint.size;
    merkle::verify_inclusion(c.index, size, &c.leaf, &c.proof, &cp.checkpoint.root).map_err(
        |source| ClientError::Inclusion {
            index: c.index,
            size,
            source,
        },
    )?;
    Ok(VerifiedReceipt {
        index: c.index,
        created: c.created,
        entry,
        leaf: c.leaf,
        proof: c.proof,
        checkpoint: cp,
        other_envelope,
        note: c.note,
    })
}
