//! The `completeness` part of answers, and its offline verification: the
//! proof that a route answer, a record history or an authority listing
//! left nothing out of the tree its checkpoint signs.
//!
//! A [`Completeness`] carries the index entry that is the checkpoint's last
//! leaf, with its inclusion proof (so the map root is the one the
//! checkpoint, and every witness cosignature over it, commits to), and for
//! every map key the answer depends on its value and map proof (presence
//! or absence). A route answer's part also lists, for each route key, the
//! ids on it, and carries every record on those keys that the answer's
//! `records` leave out (mechanism filter, or granted after the date) with
//! its `granted` event, so the client can check that each really does not
//! match: the grant fixes what the filters read (a recognition's
//! mechanism, a rule's categories), and no event of a record takes effect
//! before its grant.
//!
//! The checks, in [`Completeness::verify_route`], `verify_record` and
//! `verify_authorities` (docs/index.md, "Answers"):
//! 1. the index entry is signed by the log's key alone, names the
//!    checkpoint's origin, covers up to `size - 1` (else a stale map was
//!    served), and is included at that index;
//! 2. every key the answer depends on has a proof that verifies against
//!    the index entry's map root, with the value the answer implies;
//! 3. a record's value is the chain of its events' (index, leaf hash), a
//!    route key's the chain of the ids it lists, and every listed record is
//!    in the answer (matching, or filtered with a reason the client checks).
//!
//! Leaves out: checking the cited entries and statuses themselves (that is
//! `crate::answer`, run first), and the signers' entitlement (`dfft audit`).

use std::collections::{BTreeMap, BTreeSet};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::index::{IndexEntry, IndexError};
use super::proof::{MapProof, MapProofError};
use super::{chain_all, entry_item, id_item, route_keys, MapKey};
use crate::answer::{AnswerError, RecordAnswer, RouteAnswer};
use crate::checkpoint::SignedCheckpoint;
use crate::merkle::{self, Hash, ProofError};
use crate::note::VerifierKey;
use crate::statement::registry::RecordHead;
use crate::statement::{AuthorityId, Destination, Jurisdiction, RecordId};

/// One key's value and proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyProof {
    /// The key as its parts: `["record", id]`, `["route", to, from]`,
    /// `["authority", id]`, `["authorities"]`.
    pub key: Vec<String>,
    /// The value, hex; absent when the key is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The map proof, base64 of the compact encoding.
    pub proof: String,
    /// Route keys and `authorities`: the ids the value chains, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ids: Option<Vec<String>>,
}

/// The completeness part of an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Completeness {
    /// The index entry, the checkpoint's last leaf (base64 entry bytes).
    pub index_entry: String,
    /// Its inclusion proof at index size - 1 (base64 hashes).
    pub index_proof: Vec<String>,
    /// Every key the answer depends on.
    pub keys: Vec<KeyProof>,
    /// Route answers: the records on the route keys that `records` leaves
    /// out, with their events.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filtered: Vec<RecordAnswer>,
}

/// Why an answer is not proven complete.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CompletenessError {
    /// The answer has no completeness part (an older server).
    #[error("the answer carries no completeness proof (an older server?); it proves only that the cited entries are in the log")]
    Missing,
    /// The index entry is bad.
    #[error("index entry: {0}")]
    IndexEntry(#[from] IndexError),
    /// The index entry is not the checkpoint's last leaf.
    #[error("stale map: the index entry covers entries up to {last}, but the checkpoint's last leaf is entry {want}")]
    Stale {
        /// What the index entry covers up to.
        last: u64,
        /// The checkpoint's last leaf.
        want: u64,
    },
    /// The index entry names another log.
    #[error("the index entry is for the log `{found}`, not `{origin}`")]
    WrongLog {
        /// What it names.
        found: String,
        /// The checkpoint's origin.
        origin: String,
    },
    /// Its inclusion proof fails.
    #[error("the index entry is not the checkpoint's last leaf: {0}")]
    IndexInclusion(ProofError),
    /// A field does not decode.
    #[error("completeness: {0}")]
    Encoding(String),
    /// No proof for a key the answer depends on.
    #[error("no map proof for key `{0}`")]
    NoProof(String),
    /// A key's proof fails.
    #[error("map proof for key `{key}`: {source}")]
    Proof {
        /// The key.
        key: String,
        /// Why.
        source: MapProofError,
    },
    /// A record's events are not the ones the map holds.
    #[error("record {record}: the map holds another event history than the answer's {events} event(s) (an event was dropped or added)")]
    Events {
        /// The record.
        record: String,
        /// Events in the answer.
        events: usize,
    },
    /// The log says a key is absent, but the map holds a value for it.
    #[error("the log says there is nothing under `{key}`, but the map holds a value for it")]
    Present {
        /// The key.
        key: String,
    },
    /// An authority's statements are not the ones the map holds.
    #[error("authority {authority}: the map holds other statements about it than the listing's {statements} (one was dropped or added)")]
    AuthorityStatements {
        /// The authority.
        authority: String,
        /// Statements in the listing.
        statements: usize,
    },
    /// A key's listed ids are not the ones its value chains.
    #[error("key `{key}`: the ids listed are not the ones the map holds")]
    Ids {
        /// The key.
        key: String,
    },
    /// A record on a route key is in neither `records` nor `filtered`.
    #[error("record {record} is on route key `{key}` but the answer leaves it out")]
    Omitted {
        /// The record.
        record: String,
        /// The key.
        key: String,
    },
    /// A filtered record does match the question.
    #[error("record {record} was filtered out but matches the question")]
    FilteredMatches {
        /// The record.
        record: String,
    },
    /// A record in the answer is on no route key, or twice.
    #[error("record {record}: {reason}")]
    Record {
        /// The record.
        record: String,
        /// Why.
        reason: String,
    },
    /// A filtered record's own proofs fail.
    #[error("filtered record: {0}")]
    Filtered(#[from] AnswerError),
}

fn key_of(parts: &[String]) -> Result<MapKey, CompletenessError> {
    let bad = || CompletenessError::Encoding(format!("not a map key: {parts:?}"));
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    Ok(match parts.as_slice() {
        ["record", id] => MapKey::Record(RecordId::new(id).map_err(|_| bad())?),
        ["route", to, from] => MapKey::Route {
            to: Destination::new(to).map_err(|_| bad())?,
            from: Jurisdiction::new(from).map_err(|_| bad())?,
        },
        ["authority", id] => MapKey::Authority(AuthorityId::new(id).map_err(|_| bad())?),
        ["authorities"] => MapKey::Authorities,
        _ => return Err(bad()),
    })
}

/// The leaf hashes of a record answer's events (its entries decode: the
/// answer's own check ran first).
fn event_items(r: &RecordAnswer) -> Result<Vec<[u8; 40]>, CompletenessError> {
    r.events
        .iter()
        .map(|e| {
            let entry = B64
                .decode(&e.entry)
                .map_err(|_| CompletenessError::Encoding("an event entry is not base64".into()))?;
            Ok(entry_item(e.index, &merkle::leaf_hash(&entry)))
        })
        .collect()
}

/// A proven key: its value and listed ids.
struct Proven<'a> {
    value: Option<Hash>,
    ids: Option<&'a [String]>,
}

impl KeyProof {
    /// Builds the proof of one key (server side).
    pub fn new(
        key: &MapKey,
        value: Option<Hash>,
        proof: &MapProof,
        ids: Option<Vec<String>>,
    ) -> KeyProof {
        KeyProof {
            key: key.parts().iter().map(|s| (*s).to_owned()).collect(),
            value: value.map(|v| crate::hex::encode(&v)),
            proof: B64.encode(proof.to_bytes()),
            ids,
        }
    }
}

impl Completeness {
    /// Checks the index entry against the checkpoint (step 1); returns it.
    pub fn verify_index(
        &self,
        cp: &SignedCheckpoint,
        log_key: &VerifierKey,
    ) -> Result<IndexEntry, CompletenessError> {
        let enc = |m: &str| CompletenessError::Encoding(m.to_owned());
        let entry = B64
            .decode(&self.index_entry)
            .map_err(|_| enc("index_entry is not base64"))?;
        let ix = IndexEntry::verify_entry(&entry, log_key)?;
        let size = cp.checkpoint.size;
        let want = size
            .checked_sub(1)
            .ok_or_else(|| enc("the checkpoint is empty"))?;
        if ix.last != want {
            return Err(CompletenessError::Stale {
                last: ix.last,
                want,
            });
        }
        if ix.log != cp.checkpoint.origin {
            return Err(CompletenessError::WrongLog {
                found: ix.log,
                origin: cp.checkpoint.origin.clone(),
            });
        }
        let proof: Vec<Hash> = self
            .index_proof
            .iter()
            .map(|h| B64.decode(h).ok().and_then(|v| v.try_into().ok()))
            .collect::<Option<_>>()
            .ok_or_else(|| enc("an index_proof hash is not 32 bytes of base64"))?;
        merkle::verify_inclusion(
            want,
            size,
            &merkle::leaf_hash(&entry),
            &proof,
            &cp.checkpoint.root,
        )
        .map_err(CompletenessError::IndexInclusion)?;
        Ok(ix)
    }

    /// The proven keys, by key hash (step 2 for every listed key).
    fn proven(
        &self,
        root: &Hash,
    ) -> Result<BTreeMap<Hash, (MapKey, Proven<'_>)>, CompletenessError> {
        let mut out = BTreeMap::new();
        for kp in &self.keys {
            let key = key_of(&kp.key)?;
            let name = key.to_string();
            let value = kp
                .value
                .as_deref()
                .map(|v| {
                    crate::hex::decode32(v).ok_or_else(|| {
                        CompletenessError::Encoding(format!(
                            "value of `{name}` is not 32 bytes of hex"
                        ))
                    })
                })
                .transpose()?;
            let bytes = B64.decode(&kp.proof).map_err(|_| {
                CompletenessError::Encoding(format!("proof of `{name}` is not base64"))
            })?;
            let h = key.hash();
            MapProof::parse(&bytes)
                .and_then(|p| p.verify(root, &h, value.as_ref()))
                .map_err(|source| CompletenessError::Proof {
                    key: name.clone(),
                    source,
                })?;
            if let Some(ids) = &kp.ids {
                let chained = chain_all(ids.iter().map(|i| id_item(i)));
                if chained != value {
                    return Err(CompletenessError::Ids { key: name });
                }
            }
            out.insert(
                h,
                (
                    key,
                    Proven {
                        value,
                        ids: kp.ids.as_deref(),
                    },
                ),
            );
        }
        Ok(out)
    }

    /// Checks a record history is complete: every event of the record in
    /// the checkpoint's tree is in `record`.
    pub fn verify_record(
        &self,
        cp: &SignedCheckpoint,
        log_key: &VerifierKey,
        record: &RecordAnswer,
    ) -> Result<IndexEntry, CompletenessError> {
        let ix = self.verify_index(cp, log_key)?;
        let proven = self.proven(&ix.map_root)?;
        check_record(&proven, record)?;
        Ok(ix)
    }

    /// Checks a verified route answer is complete: every record on every
    /// route key of the question is in `records` or in `filtered`, and each
    /// filtered one does not match. `heads` are the answer's records as
    /// [`RouteAnswer::verify`] rebuilt them.
    pub fn verify_route(
        &self,
        cp: &SignedCheckpoint,
        log_key: &VerifierKey,
        answer: &RouteAnswer,
    ) -> Result<IndexEntry, CompletenessError> {
        let ix = self.verify_index(cp, log_key)?;
        let proven = self.proven(&ix.map_root)?;
        // Which route key each record must be on.
        let mut on_keys: BTreeMap<&str, String> = BTreeMap::new();
        for key in route_keys(&answer.from, &answer.to, answer.at) {
            let (_, p) = proven
                .get(&key.hash())
                .ok_or_else(|| CompletenessError::NoProof(key.to_string()))?;
            let ids = match (p.value, p.ids) {
                (None, None) => &[][..],
                (_, Some(ids)) => ids,
                (Some(_), None) => {
                    return Err(CompletenessError::Ids {
                        key: key.to_string(),
                    })
                }
            };
            for id in ids {
                if on_keys.insert(id.as_str(), key.to_string()).is_some() {
                    return Err(CompletenessError::Record {
                        record: id.clone(),
                        reason: "listed on two route keys".into(),
                    });
                }
            }
        }
        let mut seen = BTreeSet::new();
        for r in &answer.records {
            if !on_keys.contains_key(r.record.as_str()) {
                return Err(CompletenessError::Record {
                    record: r.record.clone(),
                    reason: "is on none of the question's route keys".into(),
                });
            }
            check_record(&proven, r)?;
            seen.insert(r.record.as_str());
        }
        for r in &self.filtered {
            if !on_keys.contains_key(r.record.as_str()) || !seen.insert(r.record.as_str()) {
                return Err(CompletenessError::Record {
                    record: r.record.clone(),
                    reason: "filtered but not on a route key, or listed twice".into(),
                });
            }
            // Its `granted` event alone (checked as the record's first):
            // that fixes what the filters read, and no event of a record takes
            // effect before its grant (the registry rules, which the audit
            // checks), so it shows why the record does not match.
            let head: RecordHead = r.verify(cp, Some(answer.at))?;
            if head.events.len() != 1 {
                return Err(CompletenessError::Record {
                    record: r.record.clone(),
                    reason: "a record left out must carry its granted event alone".into(),
                });
            }
            let filtered_out = !answer.filter().passes(&head);
            let not_yet = head.events[0].effective > answer.at;
            if !filtered_out && !not_yet {
                return Err(CompletenessError::FilteredMatches {
                    record: r.record.clone(),
                });
            }
        }
        if let Some((id, key)) = on_keys.iter().find(|(id, _)| !seen.contains(*id)) {
            return Err(CompletenessError::Omitted {
                record: (*id).to_owned(),
                key: key.clone(),
            });
        }
        Ok(ix)
    }

    /// Checks that `key` has no value in the map the checkpoint commits to:
    /// the proof of absence a 404 for a record history carries.
    pub fn verify_absent(
        &self,
        cp: &SignedCheckpoint,
        log_key: &VerifierKey,
        key: &MapKey,
    ) -> Result<IndexEntry, CompletenessError> {
        let ix = self.verify_index(cp, log_key)?;
        let proven = self.proven(&ix.map_root)?;
        let (_, p) = proven
            .get(&key.hash())
            .ok_or_else(|| CompletenessError::NoProof(key.to_string()))?;
        if p.value.is_some() {
            return Err(CompletenessError::Present {
                key: key.to_string(),
            });
        }
        Ok(ix)
    }

    /// Checks an authority listing is complete: it names exactly the
    /// authorities the `authorities` key lists (every one ever enrolled, in
    /// any order), and for each every statement about it: the chain of its
    /// statements' (index, leaf hash) is the value of its key
    /// `authority <id>`. Run after [`crate::wire::Authorities::verify`].
    pub fn verify_authorities(
        &self,
        cp: &SignedCheckpoint,
        log_key: &VerifierKey,
        listing: &crate::wire::Authorities,
    ) -> Result<IndexEntry, CompletenessError> {
        let ix = self.verify_index(cp, log_key)?;
        let proven = self.proven(&ix.map_root)?;
        let key = MapKey::Authorities;
        let (_, p) = proven
            .get(&key.hash())
            .ok_or_else(|| CompletenessError::NoProof(key.to_string()))?;
        let listed: BTreeSet<&str> = p.ids.unwrap_or(&[]).iter().map(String::as_str).collect();
        let given: BTreeSet<&str> = listing
            .authorities
            .iter()
            .map(|a| a.authority.as_str())
            .collect();
        if p.value.is_some() && p.ids.is_none() || listed != given {
            return Err(CompletenessError::Ids {
                key: key.to_string(),
            });
        }
        for a in &listing.authorities {
            let key = MapKey::Authority(AuthorityId::new(&a.authority).map_err(|e| {
                CompletenessError::Encoding(format!("authority id {:?}: {e}", a.authority))
            })?);
            let (_, p) = proven
                .get(&key.hash())
                .ok_or_else(|| CompletenessError::NoProof(key.to_string()))?;
            let items = a
                .statements
                .iter()
                .map(|s| {
                    let entry = B64.decode(&s.entry).map_err(|_| {
                        CompletenessError::Encoding("a statement entry is not base64".into())
                    })?;
                    Ok(entry_item(s.index, &merkle::leaf_hash(&entry)))
                })
                .collect::<Result<Vec<_>, CompletenessError>>()?;
            if chain_all(items) != p.value {
                return Err(CompletenessError::AuthorityStatements {
                    authority: a.authority.clone(),
                    statements: a.statements.len(),
                });
            }
        }
        Ok(ix)
    }
}

/// Step 3 for one record: its proven value is the chain of its events.
fn check_record(
    proven: &BTreeMap<Hash, (MapKey, Proven<'_>)>,
    r: &RecordAnswer,
) -> Result<(), CompletenessError> {
    let key = MapKey::Record(
        RecordId::new(&r.record).map_err(|e| CompletenessError::Record {
            record: r.record.clone(),
            reason: e.to_string(),
        })?,
    );
    let (_, p) = proven
        .get(&key.hash())
        .ok_or_else(|| CompletenessError::NoProof(key.to_string()))?;
    if chain_all(event_items(r)?) != p.value {
        return Err(CompletenessError::Events {
            record: r.record.clone(),
            events: r.events.len(),
        });
    }
    Ok(())
}
