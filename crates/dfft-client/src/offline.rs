//! Checks that need nothing but the pinned [`Policy`] and the bytes at
//! hand: offline proof files (c2sp.org/tlog-proof) and saved answers
//! (routes, record histories, authority listings).

use crate::client::Policy;
use crate::error::ClientError;
use dfft_core::answer::{RecordHistory, RouteAnswer, VerifiedAuthorities, VerifiedRoute};
use dfft_core::checkpoint::SignedCheckpoint;
use dfft_core::map::complete::CompletenessError;
use dfft_core::merkle::{self, Hash};
use dfft_core::statement::registry::{RecordHead, Submission};
use dfft_core::tlog_proof::TlogProof;
use dfft_core::wire;

/// A verified offline proof: the entry is in the log at `index`, under a
/// checkpoint that the policy accepts.
#[derive(Debug, Clone)]
pub struct VerifiedProof {
    /// The entry's index.
    pub index: u64,
    /// The checkpoint it is proven against.
    pub checkpoint: SignedCheckpoint,
    /// The entry bytes (a canonical DSSE envelope).
    pub entry: Vec<u8>,
    /// Its leaf hash.
    pub leaf_hash: Hash,
    /// The inclusion proof.
    pub proof: Vec<Hash>,
    /// The envelope and statement the entry holds.
    pub submission: Submission,
}

/// Verifies a tlog-proof file: the checkpoint against the policy, then the
/// inclusion of the entry, then that the entry is a well-formed statement.
///
/// The entry is the proof's `extra` data, or `entry` if given (they must
/// agree if both are there). Signer entitlement is not checked: a proof
/// shows an entry is logged, and the log checked the signer when it
/// accepted it; `dfft audit` re-checks that for every entry.
pub fn verify_tlog_proof(
    file: &[u8],
    policy: &Policy,
    entry: Option<&[u8]>,
) -> Result<VerifiedProof, ClientError> {
    let tp = TlogProof::parse(file).map_err(ClientError::ProofFile)?;
    let entry = match (entry, tp.extra.as_deref()) {
        (Some(given), Some(extra)) if given != extra => {
            return Err(ClientError::Usage(
                "the entry given differs from the entry inside the proof (its extra line)".into(),
            ))
        }
        (Some(given), _) => given.to_vec(),
        (None, Some(extra)) => extra.to_vec(),
        (None, None) => {
            return Err(ClientError::Usage(
                "the proof carries no entry (no extra line): give the entry bytes too".into(),
            ))
        }
    };
    policy.verify(&tp.checkpoint)?;
    let cp = &tp.checkpoint.checkpoint;
    let leaf_hash = merkle::leaf_hash(&entry);
    merkle::verify_inclusion(tp.index, cp.size, &leaf_hash, &tp.proof, &cp.root).map_err(
        |source| ClientError::Inclusion {
            index: tp.index,
            size: cp.size,
            source,
        },
    )?;
    let submission = Submission::parse_entry(&entry).map_err(|source| ClientError::Rule {
        index: tp.index,
        source,
    })?;
    Ok(VerifiedProof {
        index: tp.index,
        checkpoint: tp.checkpoint,
        entry,
        leaf_hash,
        proof: tp.proof,
        submission,
    })
}

/// Whether an answer must prove it is complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Completeness {
    /// Refuse an answer without a completeness part (the default).
    #[default]
    Required,
    /// Accept one without (an older server): it then proves only that the
    /// cited entries are in the log. A completeness part that is present is
    /// still checked.
    AcceptIncomplete,
}

impl Completeness {
    /// The one rule for an answer's completeness part: checked with
    /// `verify` when present; when absent, refused unless accepted.
    fn check(
        self,
        part: Option<&dfft_core::map::complete::Completeness>,
        verify: impl FnOnce(
            &dfft_core::map::complete::Completeness,
        ) -> Result<dfft_core::map::index::IndexEntry, CompletenessError>,
    ) -> Result<(), CompletenessError> {
        match (part, self) {
            (Some(part), _) => verify(part).map(|_| ()),
            (None, Completeness::AcceptIncomplete) => Ok(()),
            (None, Completeness::Required) => Err(CompletenessError::Missing),
        }
    }
}

/// Verifies a route answer against the policy (checkpoint with witnesses,
/// every cited entry and proof, every status recomputed from the entries)
/// and its completeness part (`dfft_core::map::complete`): the records
/// listed are every record the map holds on the question's route keys.
pub fn verify_route(answer: &RouteAnswer, policy: &Policy) -> Result<VerifiedRoute, ClientError> {
    verify_route_with(answer, policy, Completeness::Required)
}

/// [`verify_route`], accepting an answer without completeness if `c` says so.
pub fn verify_route_with(
    answer: &RouteAnswer,
    policy: &Policy,
    c: Completeness,
) -> Result<VerifiedRoute, ClientError> {
    policy.check_origin(&SignedCheckpoint::parse(answer.checkpoint.as_bytes())?)?;
    let verified = answer.verify(policy.core())?;
    c.check(answer.completeness.as_ref(), |part| {
        part.verify_route(&verified.checkpoint, policy.log_key(), answer)
    })?;
    Ok(verified)
}

/// Verifies a saved route answer (the JSON the log sent), completeness
/// included unless `c` accepts an answer without.
pub fn verify_route_json(
    json: &[u8],
    policy: &Policy,
    c: Completeness,
) -> Result<(RouteAnswer, VerifiedRoute), ClientError> {
    let answer: RouteAnswer = serde_json::from_slice(json)
        .map_err(|e| ClientError::Usage(format!("not a route answer: {e}")))?;
    let verified = verify_route_with(&answer, policy, c)?;
    Ok((answer, verified))
}

/// A verified record history.
#[derive(Debug, Clone)]
pub struct VerifiedRecord {
    /// The checkpoint it was checked against.
    pub checkpoint: SignedCheckpoint,
    /// The record, rebuilt from its entries.
    pub head: RecordHead,
}

/// Verifies a record history against the policy, and that it holds every
/// event of the record in the checkpoint's tree (its completeness part)
/// unless `c` accepts an answer without one.
pub fn verify_record(
    history: &RecordHistory,
    policy: &Policy,
    c: Completeness,
) -> Result<VerifiedRecord, ClientError> {
    let checkpoint = policy.parse_checkpoint(history.checkpoint.as_bytes())?;
    let head = history.record.verify(&checkpoint, None)?;
    c.check(history.completeness.as_ref(), |part| {
        part.verify_record(&checkpoint, policy.log_key(), &history.record)
    })?;
    Ok(VerifiedRecord { checkpoint, head })
}

/// Verifies a saved record history (the JSON the log sent).
pub fn verify_record_json(
    json: &[u8],
    policy: &Policy,
    c: Completeness,
) -> Result<(RecordHistory, VerifiedRecord), ClientError> {
    let history: RecordHistory = serde_json::from_slice(json)
        .map_err(|e| ClientError::Usage(format!("not a record history: {e}")))?;
    let verified = verify_record(&history, policy, c)?;
    Ok((history, verified))
}

/// Verifies an authority listing (`GET /v1/authorities`) against the
/// policy: every authority's state rebuilt from its statements
/// ([`dfft_core::wire::Authorities::verify`]), and that the listing names
/// every authority ever enrolled with every statement about it (its
/// completeness part) unless `c` accepts a listing without one.
pub fn verify_authorities(
    listing: &wire::Authorities,
    policy: &Policy,
    c: Completeness,
) -> Result<VerifiedAuthorities, ClientError> {
    policy.check_origin(&SignedCheckpoint::parse(listing.checkpoint.as_bytes())?)?;
    let verified = listing.verify(policy.core())?;
    c.check(listing.completeness.as_ref(), |part| {
        part.verify_authorities(&verified.checkpoint, policy.log_key(), listing)
    })?;
    Ok(verified)
}
