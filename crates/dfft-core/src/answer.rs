//! Verifiable answers to registry questions: one record's history, the
//! route question "may data go from X to Y on D?", and the listing of
//! authorities (`wire::Authorities`, each rebuilt from its statements).
//!
//! An answer carries the signed checkpoint it was computed against and, for
//! every event it cites, the logged entry bytes and an inclusion proof. A
//! verifier holding only the log's key checks the checkpoint, every proof,
//! that every entry really is that event of that record, and recomputes each
//! record's status on the date from the entries themselves.
//!
//! Answers also carry a `completeness` part, the proof that they left
//! nothing out; its verification is `crate::map::complete` (call
//! [`crate::map::complete::Completeness::verify_route`] after
//! [`RouteAnswer::verify`]).
//!
//! Leaves out: checking
//! that each entry's signer was entitled to sign it (a full audit of the log,
//! `dfft audit`, does that; the registry refuses such entries at submission).

use crate::checkpoint::{CheckpointError, SignedCheckpoint};
use crate::merkle::{self, ProofError};
use crate::policy::Policy;
use crate::statement::registry::{AuthorityState, EventRef, RecordHead, RouteFilter, Submission};
use crate::statement::{
    Action, DataCategory, Date, Destination, Jurisdiction, Mechanism, RuleTerms, Statement, Status,
    Summary,
};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// One cited event with its proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventProof {
    /// Log index of the entry.
    pub index: u64,
    /// The event's action.
    pub action: Action,
    /// The event's effective date.
    pub effective: Date,
    /// The authority that signed it.
    pub authority: String,
    /// The logged entry (canonical DSSE envelope), base64.
    pub entry: String,
    /// Inclusion proof against the answer's checkpoint, base64 hashes.
    pub inclusion_proof: Vec<String>,
}

/// One record and its events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordAnswer {
    /// Record id.
    pub record: String,
    /// A recognition's mechanism.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mechanism: Option<Mechanism>,
    /// A rule's terms (statements v2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleTerms>,
    /// A listing's programme and organisation (statements v2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listing: Option<crate::statement::registry::ListingTerms>,
    /// A recognition's `requires_listing` (statements v2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_listing: Option<crate::statement::RequiresListing>,
    /// Authority of the `granted` event.
    pub authority: String,
    /// Origin jurisdiction.
    pub from: Jurisdiction,
    /// Destination.
    pub to: Destination,
    /// Status on the answer's date (`None` in a history without a date).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// Events in log order.
    pub events: Vec<EventProof>,
}

/// The answer to a route question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteAnswer {
    /// Origin asked about.
    pub from: Jurisdiction,
    /// Destination asked about.
    pub to: Jurisdiction,
    /// Date asked about.
    pub at: Date,
    /// Mechanism filter, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mechanism: Option<Mechanism>,
    /// Data category filter (v2), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<DataCategory>,
    /// The signed checkpoint the answer was computed against.
    pub checkpoint: String,
    /// Every record (recognition or rule) whose `from` covers `from` and
    /// whose `to` covers `to` (or is `*`) on `at`, that passes the filters
    /// and has an event by then.
    pub records: Vec<RecordAnswer>,
    /// The plain summary over `records` (v2; [`Summary::of`]). A verifier
    /// recomputes it and refuses an answer whose summary differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<Summary>,
    /// The proof that `records` leaves nothing out (absent from an older
    /// server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completeness: Option<crate::map::complete::Completeness>,
}

/// The answer to "show me this record".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordHistory {
    /// The signed checkpoint.
    pub checkpoint: String,
    /// The record.
    #[serde(flatten)]
    pub record: RecordAnswer,
    /// The proof that the history has every event of the record (absent
    /// from an older server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completeness: Option<crate::map::complete::Completeness>,
}

/// Why an answer does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AnswerError {
    /// The checkpoint is bad or not signed by the log.
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// An inclusion proof fails.
    #[error("event at index {index}: {source}")]
    Proof {
        /// Entry index.
        index: u64,
        /// Why.
        source: ProofError,
    },
    /// An entry is not what the answer says it is.
    #[error("event at index {index}: {reason}")]
    Entry {
        /// Entry index.
        index: u64,
        /// Why.
        reason: String,
    },
    /// A record's claimed facts or status do not follow from its entries.
    #[error("record {record}: {reason}")]
    Record {
        /// Record id.
        record: String,
        /// Why.
        reason: String,
    },
    /// The answer's summary is not the one its records give.
    #[error("the answer's summary is not the one its records give: it says {claimed}, they give {computed}")]
    Summary {
        /// The summary the answer claims (JSON).
        claimed: String,
        /// The summary the records give (JSON).
        computed: String,
    },
    /// An authority's claimed state does not follow from its statements.
    #[error("authority {authority}: {reason}")]
    Authority {
        /// Authority id.
        authority: String,
        /// Why.
        reason: String,
    },
}

/// Builds the cited-event list of a record from entries and proofs.
pub fn event_proof(e: &EventRef, entry: &[u8], proof: &[merkle::Hash]) -> EventProof {
    EventProof {
        index: e.index,
        action: e.action,
        effective: e.effective,
        authority: e.authority.to_string(),
        entry: B64.encode(entry),
        inclusion_proof: proof.iter().map(|h| B64.encode(h)).collect(),
    }
}

impl RecordAnswer {
    /// Builds a record answer (events must already be proven by the caller).
    pub fn new(head: &RecordHead, status: Option<Status>, events: Vec<EventProof>) -> RecordAnswer {
        RecordAnswer {
            record: head.record.to_string(),
            mechanism: head.mechanism,
            rule: head.rule.clone(),
            listing: head.listing.clone(),
            requires_listing: head.requires_listing.clone(),
            authority: head
                .events
                .first()
                .map(|e| e.authority.to_string())
                .unwrap_or_default(),
            from: head.from.clone(),
            to: head.to.clone(),
            status,
            events,
        }
    }

    /// Checks every event against the checkpoint and recomputes the status
    /// on `at` (if given). Returns the record head rebuilt from the entries.
    pub fn verify(
        &self,
        cp: &SignedCheckpoint,
        at: Option<Date>,
    ) -> Result<RecordHead, AnswerError> {
        let rec_err = |reason: String| AnswerError::Record {
            record: self.record.clone(),
            reason,
        };
        let size = cp.checkpoint.size;
        let mut events: Vec<EventRef> = Vec::with_capacity(self.events.len());
        let mut last_index = None;
        for ev in &self.events {
            let ent_err = |reason: &str| AnswerError::Entry {
                index: ev.index,
                reason: reason.to_string(),
            };
            if last_index.is_some_and(|l| ev.index <= l) {
                return Err(rec_err("events are not in log order".into()));
            }
            last_index = Some(ev.index);
            let entry = B64
                .decode(&ev.entry)
                .map_err(|_| ent_err("entry is not base64"))?;
            let proof: Vec<merkle::Hash> = ev
                .inclusion_proof
                .iter()
                .map(|h| B64.decode(h).ok().and_then(|v| v.try_into().ok()))
                .collect::<Option<_>>()
                .ok_or_else(|| ent_err("proof hash is not 32 bytes of base64"))?;
            merkle::verify_inclusion(
                ev.index,
                size,
                &merkle::leaf_hash(&entry),
                &proof,
                &cp.checkpoint.root,
            )
            .map_err(|source| AnswerError::Proof {
                index: ev.index,
                source,
            })?;
            let sub = Submission::parse_entry(&entry).map_err(|e| AnswerError::Entry {
                index: ev.index,
                reason: e.to_string(),
            })?;
            if let Statement::Listing(l) = sub.statement() {
                // A listing's `from` and `to` are its programme's, from the
                // administrator's enrolment (checked by `dfft audit`).
                let terms = crate::statement::registry::ListingTerms {
                    programme: l.programme.clone(),
                    programme_id: l.organisation.programme_id.clone(),
                };
                if l.record.as_str() != self.record {
                    return Err(ent_err("entry belongs to another record"));
                }
                if l.action != ev.action
                    || l.effective != ev.effective
                    || l.authority.as_str() != ev.authority
                {
                    return Err(ent_err(
                        "entry's action, effective date or authority differ from the answer's",
                    ));
                }
                if self.listing.as_ref() != Some(&terms)
                    || self.mechanism.is_some()
                    || self.rule.is_some()
                {
                    return Err(ent_err(
                        "entry's kind, programme or organisation differ from the record's",
                    ));
                }
                events.push(EventRef {
                    index: ev.index,
                    action: l.action,
                    effective: l.effective,
                    expires: None,
                    authority: l.authority.clone(),
                    data: Some(l.data.clone()),
                });
                continue;
            }
            let Some(r) = sub.statement().record_event() else {
                return Err(ent_err(
                    "entry is not a recognition, rule or listing statement",
                ));
            };
            if r.record.as_str() != self.record {
                return Err(ent_err("entry belongs to another record"));
            }
            if r.action != ev.action
                || r.effective != ev.effective
                || r.authority.as_str() != ev.authority
            {
                return Err(ent_err(
                    "entry's action, effective date or authority differ from the answer's",
                ));
            }
            if r.mechanism != self.mechanism || r.from != &self.from || r.to != &self.to {
                return Err(ent_err(
                    "entry's mechanism, from or to differ from the record's",
                ));
            }
            if r.rule != self.rule || self.listing.is_some() {
                return Err(ent_err(
                    "entry's kind or rule terms (requires, categories, satisfied_by) differ from the record's",
                ));
            }
            let first = events.is_empty();
            let stated = r.requires_listing.is_some() || first;
            if stated && r.requires_listing != self.requires_listing {
                return Err(ent_err(
                    "entry's requires_listing differs from the record's",
                ));
            }
            events.push(EventRef {
                index: ev.index,
                action: r.action,
                effective: r.effective,
                expires: r.expires,
                authority: r.authority.clone(),
                data: None,
            });
        }
        let first = events.first().ok_or_else(|| rec_err("no events".into()))?;
        let opener = if self.listing.is_some() {
            Action::Listed
        } else {
            Action::Granted
        };
        if first.action != opener {
            return Err(rec_err(format!("first event is not `{opener}`")));
        }
        if first.authority.as_str() != self.authority {
            return Err(rec_err("authority is not the granting authority".into()));
        }
        let record =
            crate::statement::RecordId::new(&self.record).map_err(|e| rec_err(e.to_string()))?;
        let head = RecordHead {
            record,
            mechanism: self.mechanism,
            rule: self.rule.clone(),
            listing: self.listing.clone(),
            requires_listing: self.requires_listing.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
            events,
        };
        if let Some(d) = at {
            let status = head.status_on(d);
            if status != self.status {
                return Err(rec_err(format!(
                    "claimed status {:?} but the entries give {:?} on {d}",
                    self.status, status
                )));
            }
        }
        Ok(head)
    }
}

/// A verified route answer.
#[derive(Debug, Clone)]
pub struct VerifiedRoute {
    /// The checkpoint it was checked against.
    pub checkpoint: SignedCheckpoint,
    /// The records, rebuilt from their entries.
    pub records: Vec<(RecordHead, Status)>,
    /// The summary, recomputed from the records.
    pub summary: Summary,
}

impl RouteAnswer {
    /// The answer's filters.
    pub fn filter(&self) -> RouteFilter {
        RouteFilter {
            mechanism: self.mechanism,
            data: self.data,
        }
    }
}

impl RouteAnswer {
    /// Verifies the answer against the trust policy (log signature,
    /// cosignatures, quorum: [`Policy::verify_checkpoint`]).
    pub fn verify(&self, policy: &Policy) -> Result<VerifiedRoute, AnswerError> {
        let cp = SignedCheckpoint::parse(self.checkpoint.as_bytes())?;
        policy.verify_checkpoint(&cp)?;
        let mut records = Vec::with_capacity(self.records.len());
        let mut seen = std::collections::BTreeSet::new();
        for r in &self.records {
            if !seen.insert(r.record.clone()) {
                return Err(AnswerError::Record {
                    record: r.record.clone(),
                    reason: "listed twice".into(),
                });
            }
            let head = r.verify(&cp, Some(self.at))?;
            let status = r.status.ok_or_else(|| AnswerError::Record {
                record: r.record.clone(),
                reason: "no status on the date".into(),
            })?;
            if head
                .route_status(&self.from, &self.to, self.at, self.filter())
                .is_none()
            {
                return Err(AnswerError::Record {
                    record: r.record.clone(),
                    reason: "does not cover the route asked about".into(),
                });
            }
            records.push((head, status));
        }
        let summary = Summary::of(records.iter().map(|(h, s)| (h, *s)));
        if let Some(claimed) = &self.summary {
            if claimed != &summary {
                let json = |s: &Summary| serde_json::to_string(s).unwrap_or_default();
                return Err(AnswerError::Summary {
                    claimed: json(claimed),
                    computed: json(&summary),
                });
            }
        }
        Ok(VerifiedRoute {
            checkpoint: cp,
            records,
            summary,
        })
    }
}

impl RecordHistory {
    /// Verifies a record history against the trust policy.
    pub fn verify(&self, policy: &Policy) -> Result<RecordHead, AnswerError> {
        let cp = SignedCheckpoint::parse(self.checkpoint.as_bytes())?;
        policy.verify_checkpoint(&cp)?;
        self.record.verify(&cp, None)
    }
}

/// Checks one entry's inclusion proof in `cp`; returns the entry bytes.
fn proven_entry(
    cp: &SignedCheckpoint,
    index: u64,
    entry: &str,
    proof: &[String],
) -> Result<Vec<u8>, AnswerError> {
    let ent_err = |reason: &str| AnswerError::Entry {
        index,
        reason: reason.to_string(),
    };
    let entry = B64
        .decode(entry)
        .map_err(|_| ent_err("entry is not base64"))?;
    let proof: Vec<merkle::Hash> = proof
        .iter()
        .map(|h| B64.decode(h).ok().and_then(|v| v.try_into().ok()))
        .collect::<Option<_>>()
        .ok_or_else(|| ent_err("proof hash is not 32 bytes of base64"))?;
    merkle::verify_inclusion(
        index,
        cp.checkpoint.size,
        &merkle::leaf_hash(&entry),
        &proof,
        &cp.checkpoint.root,
    )
    .map_err(|source| AnswerError::Proof { index, source })?;
    Ok(entry)
}

/// A verified authority listing.
#[derive(Debug, Clone)]
pub struct VerifiedAuthorities {
    /// The checkpoint it was checked against.
    pub checkpoint: SignedCheckpoint,
    /// Each authority's state, rebuilt from its statements, by id.
    pub authorities: Vec<AuthorityState>,
}

impl crate::wire::Authorities {
    /// Verifies the listing against the trust policy: the checkpoint
    /// ([`Policy::verify_checkpoint`]); for every authority, that each of
    /// its statements is in the tree, is an authority statement about it,
    /// in log order, and that the state the listing claims (name,
    /// competence, keys, retired, `set_at_index`, the entry shown) is the
    /// one those statements give ([`AuthorityState::after`]). That the
    /// listing names every authority and every statement about each is
    /// [`crate::map::complete::Completeness::verify_authorities`], run
    /// after this.
    pub fn verify(&self, policy: &Policy) -> Result<VerifiedAuthorities, AnswerError> {
        let cp = SignedCheckpoint::parse(self.checkpoint.as_bytes())?;
        policy.verify_checkpoint(&cp)?;
        let mut out = Vec::with_capacity(self.authorities.len());
        let mut seen = std::collections::BTreeSet::new();
        for item in &self.authorities {
            let err = |reason: &str| AnswerError::Authority {
                authority: item.authority.clone(),
                reason: reason.to_string(),
            };
            if !seen.insert(item.authority.as_str()) {
                return Err(err("listed twice"));
            }
            if item.statements.is_empty() {
                return Err(err(
                    "the listing carries none of its statements (an older server?), so its state cannot be checked",
                ));
            }
            let mut state: Option<AuthorityState> = None;
            for st in &item.statements {
                if state.as_ref().is_some_and(|s| st.index <= s.set_at_index) {
                    return Err(err("its statements are not in log order"));
                }
                let entry = proven_entry(&cp, st.index, &st.entry, &st.inclusion_proof)?;
                let sub = Submission::parse_entry(&entry).map_err(|e| AnswerError::Entry {
                    index: st.index,
                    reason: e.to_string(),
                })?;
                let Statement::Authority(a) = sub.statement() else {
                    return Err(AnswerError::Entry {
                        index: st.index,
                        reason: "entry is not an authority statement".into(),
                    });
                };
                if a.authority.as_str() != item.authority {
                    return Err(AnswerError::Entry {
                        index: st.index,
                        reason: format!("entry is about authority {}", a.authority),
                    });
                }
                state = Some(AuthorityState::after(a, state.as_ref(), st.index));
            }
            let state = state.ok_or_else(|| err("no statements"))?;
            let last = item.statements.last().map(|s| (&s.entry, s.index));
            let claims_match = state.name == item.name
                && state.programmes == item.programmes
                && state.retired == item.retired
                && state.set_at_index == item.set_at_index
                && last == Some((&item.entry, item.set_at_index))
                && state
                    .competence
                    .iter()
                    .map(|c| c.to_string())
                    .eq(item.competence.iter().cloned())
                && state
                    .keys
                    .iter()
                    .map(|k| k.to_string())
                    .eq(item.keys.iter().cloned());
            if !claims_match {
                return Err(err(
                    "the state listed (name, competence, keys, retired or the statement that set it) is not the one its statements give",
                ));
            }
            out.push(state);
        }
        Ok(VerifiedAuthorities {
            checkpoint: cp,
            authorities: out,
        })
    }
}

impl crate::wire::Matrix {
    /// Checks one cell of the matrix, (`from`, `to`) with `to` a code (not
    /// `*`), against the route answer for that pair on the matrix's date,
    /// verified (and proven complete) by the caller: both describe the
    /// same tree, and the records the matrix lists for the pair and for
    /// (`from`, `*`) are exactly the records in force in the answer. A pair the matrix does not list must have no
    /// record in force. So every cell of a matrix is proven by the route
    /// answer of its pair, which carries the map proofs; what the matrix
    /// alone cannot prove is that it lists every pair (the map has no key
    /// over all records from one origin; ask the pair's route answer).
    pub fn check_cell(
        &self,
        from: &str,
        to: &str,
        answer: &RouteAnswer,
        verified: &VerifiedRoute,
    ) -> Result<(), AnswerError> {
        let err = |reason: String| AnswerError::Record {
            record: format!("matrix cell {from} -> {to}"),
            reason,
        };
        if answer.from.to_string() != from || answer.to.to_string() != to || answer.at != self.at {
            return Err(err(format!(
                "the route answer is for {} -> {} on {}",
                answer.from, answer.to, answer.at
            )));
        }
        if answer.mechanism.is_some() || answer.data.is_some() {
            return Err(err(
                "the route answer is filtered by mechanism or data; the matrix is not".into(),
            ));
        }
        if verified.checkpoint.checkpoint.size != self.tree_size
            || answer.checkpoint != self.checkpoint
        {
            return Err(err(format!(
                "the route answer is for a tree of size {}, the matrix for {}",
                verified.checkpoint.checkpoint.size, self.tree_size
            )));
        }
        // The cell's own records and those to any destination (`*`), which
        // the matrix lists once under (from, *) and the route answer gives
        // for every destination.
        let mut listed = Vec::new();
        for p in self
            .pairs
            .iter()
            .filter(|p| p.from == from && (p.to == to || p.to == "*"))
        {
            for &i in &p.records {
                let r = self
                    .records
                    .get(i as usize)
                    .ok_or_else(|| err(format!("names record position {i}, not in the table")))?;
                listed.push(r.record.as_str());
            }
        }
        listed.sort_unstable();
        let mut in_force: Vec<&str> = verified
            .records
            .iter()
            .filter(|(_, s)| *s == Status::InForce)
            .map(|(h, _)| h.record.as_str())
            .collect();
        in_force.sort_unstable();
        if listed != in_force {
            return Err(err(format!(
                "the matrix lists {listed:?} in force, the route answer gives {in_force:?}"
            )));
        }
        Ok(())
    }
}
