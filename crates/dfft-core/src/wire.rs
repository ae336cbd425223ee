//! The registry's JSON wire API: the bodies the server writes and the
//! client reads, one type each, so both sides share one definition.
//!
//! - [`Receipt`]: the answer to `POST /v1/entries` (201, or 200 for a
//!   statement logged before).
//! - [`BatchReceipt`] and [`BatchItem`]: the answer to
//!   `POST /v1/entries/batch`.
//! - [`InclusionProof`]: `GET /v1/proof/inclusion`.
//! - [`ConsistencyProof`]: `GET /v1/proof/consistency`.
//! - [`Info`]: `GET /v1/info`.
//! - [`Authorities`] and [`AuthorityItem`]: `GET /v1/authorities`.
//! - [`ErrorBody`]: every error answer, `{"error": code, "message": text}`.
//!
//! Hashes travel as today: leaf hashes and roots in lowercase hex, proof
//! hashes and entries in standard base64, checkpoints as signed-note text.
//! The fields stay strings so that a body round-trips byte for byte; the
//! accessors ([`Receipt::leaf`], [`Receipt::proof`], ...) decode and
//! validate them, each failure a [`WireError`] naming the field.
//!
//! Leaves out: any I/O, and any trust decision. An accessor checks that a
//! field is well formed, never that it is true: verifying a checkpoint's
//! signature or a proof against a root is the caller's (the client's) job.
//! Route and record answers live in [`crate::answer`].

use crate::checkpoint::{CheckpointError, SignedCheckpoint};
use crate::hex;
use crate::merkle::Hash;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// A wire field that is not well formed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// A hash field is not 64 hex digits.
    #[error("{field}: not 64 hex digits")]
    Hex {
        /// The field.
        field: &'static str,
    },
    /// A base64 field does not decode (or a proof hash is not 32 bytes).
    #[error("{field}: {detail}")]
    Base64 {
        /// The field.
        field: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// A checkpoint field is not a signed checkpoint note.
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// A field that this answer must have is absent.
    #[error("{field}: missing")]
    Missing {
        /// The field.
        field: &'static str,
    },
}

/// Proof hashes as the wire carries them: base64, one string each.
pub fn encode_hashes(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(|h| B64.encode(h)).collect()
}

/// Decodes base64 proof hashes, each exactly 32 bytes.
pub fn decode_hashes(field: &'static str, hashes: &[String]) -> Result<Vec<Hash>, WireError> {
    hashes
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let bytes = B64.decode(h).map_err(|e| WireError::Base64 {
                field,
                detail: format!("hash {i}: {e}"),
            })?;
            Hash::try_from(bytes.as_slice()).map_err(|_| WireError::Base64 {
                field,
                detail: format!("hash {i} is {} bytes, not 32", bytes.len()),
            })
        })
        .collect()
}

fn decode_hex(field: &'static str, s: &str) -> Result<Hash, WireError> {
    hex::decode32(s).ok_or(WireError::Hex { field })
}

fn parse_checkpoint(text: &str) -> Result<SignedCheckpoint, WireError> {
    Ok(SignedCheckpoint::parse(text.as_bytes())?)
}

/// The answer to `POST /v1/entries`: where the entry is, and the proof
/// that the checkpoint's tree holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The entry's index in the log.
    pub index: u64,
    /// Its leaf hash, hex.
    pub leaf_hash: String,
    /// The signed checkpoint the proof leads to, as note text.
    pub checkpoint: String,
    /// The inclusion proof, base64 hashes.
    pub inclusion_proof: Vec<String>,
    /// The same as a c2sp.org/tlog-proof, with the logged entry as extra
    /// data.
    pub tlog_proof: String,
    /// For a statement logged before under another signature set: says
    /// so (the receipt is then for the logged entry, which `tlog_proof`
    /// carries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Receipt {
    /// The leaf hash.
    pub fn leaf(&self) -> Result<Hash, WireError> {
        decode_hex("leaf_hash", &self.leaf_hash)
    }

    /// The inclusion proof's hashes.
    pub fn proof(&self) -> Result<Vec<Hash>, WireError> {
        decode_hashes("inclusion_proof", &self.inclusion_proof)
    }

    /// The checkpoint, parsed (its signatures not verified).
    pub fn signed_checkpoint(&self) -> Result<SignedCheckpoint, WireError> {
        parse_checkpoint(&self.checkpoint)
    }
}

/// One result of a batch submission: what a single submission of that
/// envelope would have answered.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BatchItem {
    /// The HTTP status a single submission would have had (201, 200, 4xx).
    pub status: u16,
    /// The entry's index, if it is logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    /// The logged entry's leaf hash, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaf_hash: Option<String>,
    /// Its inclusion proof in the batch's checkpoint, base64 hashes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inclusion_proof: Option<Vec<String>>,
    /// The error code, if refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The error message, if refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The logged entry (base64), when it is another envelope of the same
    /// statement than the one sent; `note` says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
    /// Says that the statement was logged before under another signature
    /// set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl BatchItem {
    /// Whether the envelope is in the log (it has an index).
    pub fn is_logged(&self) -> bool {
        self.index.is_some()
    }

    /// The leaf hash of a logged entry.
    pub fn leaf(&self) -> Result<Hash, WireError> {
        let s = self
            .leaf_hash
            .as_deref()
            .ok_or(WireError::Missing { field: "leaf_hash" })?;
        decode_hex("leaf_hash", s)
    }

    /// The inclusion proof of a logged entry.
    pub fn proof(&self) -> Result<Vec<Hash>, WireError> {
        let p = self.inclusion_proof.as_deref().ok_or(WireError::Missing {
            field: "inclusion_proof",
        })?;
        decode_hashes("inclusion_proof", p)
    }

    /// The logged entry's bytes, when the registry sent them.
    pub fn logged_entry(&self) -> Result<Option<Vec<u8>>, WireError> {
        self.entry
            .as_deref()
            .map(|e| {
                B64.decode(e).map_err(|e| WireError::Base64 {
                    field: "entry",
                    detail: e.to_string(),
                })
            })
            .transpose()
    }
}

/// The answer to `POST /v1/entries/batch`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchReceipt {
    /// One checkpoint that covers every logged entry of the batch.
    pub checkpoint: String,
    /// That checkpoint's tree size.
    pub tree_size: u64,
    /// One result per envelope, in request order.
    pub results: Vec<BatchItem>,
}

impl BatchReceipt {
    /// The checkpoint, parsed (its signatures not verified).
    pub fn signed_checkpoint(&self) -> Result<SignedCheckpoint, WireError> {
        parse_checkpoint(&self.checkpoint)
    }
}

/// The answer to `GET /v1/proof/inclusion`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    /// The entry's index.
    pub index: u64,
    /// The tree size the proof is for.
    pub size: u64,
    /// The entry's leaf hash, hex.
    pub leaf_hash: String,
    /// The proof, base64 hashes.
    pub proof: Vec<String>,
}

impl InclusionProof {
    /// The leaf hash.
    pub fn leaf(&self) -> Result<Hash, WireError> {
        decode_hex("leaf_hash", &self.leaf_hash)
    }

    /// The proof's hashes.
    pub fn proof_hashes(&self) -> Result<Vec<Hash>, WireError> {
        decode_hashes("proof", &self.proof)
    }
}

/// The answer to `GET /v1/proof/consistency`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyProof {
    /// The smaller tree size.
    pub from: u64,
    /// The larger tree size.
    pub to: u64,
    /// The proof, base64 hashes.
    pub proof: Vec<String>,
}

impl ConsistencyProof {
    /// The proof's hashes.
    pub fn proof_hashes(&self) -> Result<Vec<Hash>, WireError> {
        decode_hashes("proof", &self.proof)
    }
}

/// The governance part of [`Info`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GovernanceInfo {
    /// Governance verifier keys, as vkey strings.
    pub keys: Vec<String>,
    /// How many of them must sign.
    pub threshold: usize,
}

/// The answer to `GET /v1/info`. What it says about keys is what the
/// registry announces: a client that trusts `log_vkey` from here trusts
/// on first use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Info {
    /// The log's origin.
    pub origin: String,
    /// The log's verifier key, as a vkey string.
    pub log_vkey: String,
    /// The governance in force, `null` before the genesis.
    pub governance: Option<GovernanceInfo>,
    /// The published tree size.
    pub tree_size: u64,
    /// The published root, hex.
    pub root_hash: String,
}

impl Info {
    /// The published root.
    pub fn root(&self) -> Result<Hash, WireError> {
        decode_hex("root_hash", &self.root_hash)
    }
}

/// One authority of `GET /v1/authorities`, with the entry that set it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorityItem {
    /// Its id.
    pub authority: String,
    /// Its display name.
    pub name: String,
    /// The jurisdictions it rules on.
    pub competence: Vec<String>,
    /// Its current keys, as vkey strings.
    pub keys: Vec<String>,
    /// v2: the programmes it administers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub programmes: Vec<crate::statement::Programme>,
    /// Whether it is retired.
    pub retired: bool,
    /// The index of the statement that set this state.
    pub set_at_index: u64,
    /// That statement's entry, base64.
    pub entry: String,
    /// Its inclusion proof in the answer's checkpoint, base64 hashes.
    pub inclusion_proof: Vec<String>,
    /// Every statement about the authority in the answer's tree, in log
    /// order (the last is the one at `set_at_index`): what a client
    /// rebuilds its state from, and what its map key `authority <id>`
    /// chains. Absent from an older server.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statements: Vec<EntryProof>,
}

/// A logged entry with its inclusion proof in an answer's checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryProof {
    /// Its index.
    pub index: u64,
    /// The entry bytes, base64.
    pub entry: String,
    /// Its inclusion proof, base64 hashes.
    pub inclusion_proof: Vec<String>,
}

impl EntryProof {
    /// The entry with its proof.
    pub fn new(index: u64, entry: &[u8], proof: &[Hash]) -> EntryProof {
        EntryProof {
            index,
            entry: B64.encode(entry),
            inclusion_proof: encode_hashes(proof),
        }
    }
}

impl AuthorityItem {
    /// The entry's bytes.
    pub fn entry_bytes(&self) -> Result<Vec<u8>, WireError> {
        B64.decode(&self.entry).map_err(|e| WireError::Base64 {
            field: "entry",
            detail: e.to_string(),
        })
    }

    /// The inclusion proof's hashes.
    pub fn proof(&self) -> Result<Vec<Hash>, WireError> {
        decode_hashes("inclusion_proof", &self.inclusion_proof)
    }
}

/// The answer to `GET /v1/authorities`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authorities {
    /// The checkpoint every proof leads to.
    pub checkpoint: String,
    /// Every authority ever enrolled in the checkpoint's tree (retired ones
    /// included), by id, in its state there.
    pub authorities: Vec<AuthorityItem>,
    /// The proof that the list names every authority ever enrolled, each
    /// with every statement about it (absent from an older server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completeness: Option<crate::map::complete::Completeness>,
}

/// One record of a `GET /v1/matrix` answer's table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatrixRecord {
    /// The record id.
    pub record: String,
    /// A recognition's mechanism.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mechanism: Option<crate::statement::Mechanism>,
    /// A rule's requirement (statements v2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires: Option<crate::statement::Requirement>,
    /// Where data comes from.
    pub from: crate::statement::Jurisdiction,
    /// Where it may go.
    pub to: crate::statement::Destination,
    /// The index of the record's last event in the tree.
    pub since_index: Option<u64>,
}

/// One (from, to) pair of a `GET /v1/matrix` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatrixPair {
    /// A country code (groups expanded to their members on the date).
    pub from: String,
    /// A country code, or `*`.
    pub to: String,
    /// Positions in [`Matrix::records`] of the records in force for it.
    pub records: Vec<u32>,
}

/// The answer to `GET /v1/matrix?at=D[&from=X]`: each record in force on
/// D once, and the pairs referring to them by position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Matrix {
    /// The date asked about.
    pub at: crate::statement::Date,
    /// The `from=` filter, if one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<crate::statement::Jurisdiction>,
    /// The tree size the answer describes.
    pub tree_size: u64,
    /// The checkpoint of that tree.
    pub checkpoint: String,
    /// The records in force, once each.
    pub records: Vec<MatrixRecord>,
    /// The pairs, by (from, to).
    pub pairs: Vec<MatrixPair>,
}

/// Every error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// A stable machine-readable code (`malformed`, `unauthorized`,
    /// `rule_violated`, `overloaded`, ...).
    pub error: String,
    /// A human-readable explanation.
    pub message: String,
    /// A 404 for a record history: the checkpoint under which the record
    /// is proven absent (absent from an older server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
    /// With it, the completeness part whose map proof shows the record's
    /// key has no value (`Completeness::verify_absent`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completeness: Option<crate::map::complete::Completeness>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::leaf_hash;

    #[test]
    fn hashes_round_trip_and_bad_ones_are_named() {
        let hs = vec![leaf_hash(b"a"), leaf_hash(b"b")];
        let enc = encode_hashes(&hs);
        assert_eq!(decode_hashes("proof", &enc), Ok(hs));
        let short = vec![B64.encode([0u8; 31])];
        let e = decode_hashes("proof", &short).unwrap_err();
        assert_eq!(e.to_string(), "proof: hash 0 is 31 bytes, not 32");
        assert!(matches!(
            decode_hashes("proof", &["not base64!".to_string()]),
            Err(WireError::Base64 { field: "proof", .. })
        ));
    }

    #[test]
    fn receipt_keeps_todays_field_names_and_omits_no_note() {
        let r = Receipt {
            index: 7,
            leaf_hash: hex::encode(&leaf_hash(b"x")),
            checkpoint: "cp".into(),
            inclusion_proof: encode_hashes(&[leaf_hash(b"y")]),
            tlog_proof: "tp".into(),
            note: None,
        };
        let v: serde_json::Value = serde_json::to_value(&r).unwrap();
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "checkpoint",
                "inclusion_proof",
                "index",
                "leaf_hash",
                "tlog_proof"
            ]
        );
        assert_eq!(r.leaf(), Ok(leaf_hash(b"x")));
        let bad = Receipt {
            leaf_hash: "00".into(),
            ..r.clone()
        };
        assert_eq!(bad.leaf(), Err(WireError::Hex { field: "leaf_hash" }));
        assert!(matches!(
            r.signed_checkpoint(),
            Err(WireError::Checkpoint(_))
        ));
    }

    #[test]
    fn batch_items_parse_refusals_and_logged_entries() {
        let refused: BatchItem = serde_json::from_str(
            r#"{"status":403,"error":"unauthorized","message":"no such key"}"#,
        )
        .unwrap();
        assert!(!refused.is_logged());
        assert_eq!(
            refused.proof(),
            Err(WireError::Missing {
                field: "inclusion_proof"
            })
        );
        assert_eq!(refused.logged_entry(), Ok(None));
        let logged = BatchItem {
            status: 200,
            index: Some(3),
            leaf_hash: Some(hex::encode(&leaf_hash(b"e"))),
            inclusion_proof: Some(vec![]),
            entry: Some(B64.encode(b"e")),
            ..BatchItem::default()
        };
        let text = serde_json::to_string(&logged).unwrap();
        assert!(
            !text.contains("error") && !text.contains("message"),
            "{text}"
        );
        let back: BatchItem = serde_json::from_str(&text).unwrap();
        assert_eq!(back.logged_entry(), Ok(Some(b"e".to_vec())));
        assert_eq!(back.leaf(), Ok(leaf_hash(b"e")));
    }

    #[test]
    fn info_keeps_a_null_governance() {
        let i = Info {
            origin: "o".into(),
            log_vkey: "k".into(),
            governance: None,
            tree_size: 0,
            root_hash: hex::encode(&[0; 32]),
        };
        let text = serde_json::to_string(&i).unwrap();
        assert!(text.contains("\"governance\":null"), "{text}");
        assert_eq!(serde_json::from_str::<Info>(&text).unwrap(), i);
    }
}

/// One organisation found by `GET /v1/organisations?q=` (statements v2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganisationMatch {
    /// The listing record (`<programme>/<programme_id>`).
    pub record: String,
    /// The programme.
    pub programme: String,
    /// The organisation's id in it (what `/v1/counterparty?org=` takes).
    pub programme_id: String,
    /// Its name, as its last listing event gives it.
    pub name: String,
    /// Its former names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub former_names: Vec<String>,
    /// Its LEI, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lei: Option<String>,
}

/// The answer to `GET /v1/organisations?q=`: a search aid over the
/// listings of one published tree, not a proof (ask `/v1/counterparty`
/// for the verified answer about one of them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organisations {
    /// The size of the tree searched.
    pub size: u64,
    /// What was asked.
    pub q: String,
    /// The organisations whose name, a former name, programme id, LEI or
    /// register id matches, by record id; at most [`MAX_ORGANISATION_MATCHES`].
    pub matches: Vec<OrganisationMatch>,
    /// Whether more matched than are listed.
    #[serde(default)]
    pub truncated: bool,
}

/// Most matches one organisation search lists.
pub const MAX_ORGANISATION_MATCHES: usize = 100;
