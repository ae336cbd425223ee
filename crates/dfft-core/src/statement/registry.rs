//! The registry's rules, as pure functions over state, so that the server's
//! sequencer and the auditing client run the same code.
//!
//! An entry goes through three steps:
//! 1. [`Submission::parse`] (or [`Submission::parse_entry`] for a logged
//!    entry): strict envelope and statement parsing. Errors are
//!    [`ErrorClass::Malformed`] (HTTP 400).
//! 2. [`verify_signatures`], the expensive step (Ed25519), which may run
//!    outside the sequencer's lock: strict Ed25519 over the PAE by the keys
//!    the statement needs. A genesis needs `threshold` of its own listed
//!    governance keys; an authority statement `threshold` distinct governance
//!    keys; a recognition one current key of the authority it names. Every
//!    signature must be by such a key and must verify: an envelope carrying a
//!    signature by any other key, or an invalid one, is refused rather than
//!    partly ignored. Errors are mostly [`ErrorClass::Unauthorized`] (403).
//! 3. [`check_rules`], the cheap step, run by the sequencer against the
//!    latest state for the entry's index. It re-checks, without crypto, that
//!    the keys that verified in step 2 are still current (a key rotation may
//!    have been sequenced in between), then applies the rules below and
//!    returns the [`Change`] to store. Errors are [`ErrorClass::Rejected`]
//!    (422) or, for a key rotated out meanwhile, 403.
//!
//! Rules:
//! - Entry 0 must be a genesis, and a genesis is only allowed at entry 0.
//! - `enroll` needs an id never enrolled before (a retired id stays taken);
//!   `update` and `retire` need an enrolled, not retired id.
//! - A recognition or a rule (v2) needs an enrolled, not retired
//!   authority, signed by one of its current keys (a key rotated out by
//!   `update` is refused), competent for the record's `from` on the event's
//!   `effective` date (the date the event speaks about; the sequencer has
//!   no clock to use instead).
//! - The first event of a record must be `granted`; later events must be of
//!   the same kind, repeat its `from`, `to` and its terms (a recognition's
//!   `mechanism`; a rule's `requires`, categories and `satisfied_by`), must
//!   not be `granted`, and must not take effect before the `granted` event
//!   (an event before the record existed would make it apply before it was
//!   granted). Any competent authority may add later events.
//!
//! [`Registry`] replays a whole log in memory with these functions (for the
//! auditor and tests) and answers route questions.
//!
//! Leaves out: storage, deduplication of a resubmitted envelope (the server
//! looks up the entry's hash before step 3), inclusion proofs, and checking
//! the genesis origin against the log's own (the caller knows its origin).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::note::VerifierKey;

use super::date::Date;
use super::dsse::{DsseError, Envelope};
use super::jurisdiction::{Destination, Jurisdiction};
use super::status::{status_on, Status, StatusEvent};
use super::types::{
    double_option, vkey_list, Action, AuthorityAction, AuthorityId, DataCategory, Governance,
    ListingData, Mechanism, Programme, RecordId, RequiresListing, RuleTerms,
};
use super::{AuthorityStatement, Statement, StatementError};

/// How a server should answer a [`RuleError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// The bytes are not a valid envelope or statement: HTTP 400.
    Malformed,
    /// Signatures missing, invalid, by unknown keys or under threshold: HTTP 403.
    Unauthorized,
    /// Well formed and signed, but against a registry rule: HTTP 422.
    Rejected,
}

impl ErrorClass {
    /// The HTTP status code for this class: 400, 403 or 422.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorClass::Malformed => 400,
            ErrorClass::Unauthorized => 403,
            ErrorClass::Rejected => 422,
        }
    }
}

/// Why an entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RuleError {
    /// The envelope is malformed (400).
    #[error(transparent)]
    Envelope(#[from] DsseError),
    /// The statement is malformed (400).
    #[error(transparent)]
    Statement(#[from] StatementError),
    /// A logged `index` entry is malformed (400; only in a log, never
    /// submitted).
    #[error(transparent)]
    Index(#[from] crate::map::index::IndexError),
    /// A signature by a relevant key does not verify (403).
    #[error("the signature by `{keyid}` does not verify (strict Ed25519 over the DSSE PAE)")]
    BadSignature {
        /// The signature's keyid.
        keyid: String,
    },
    /// A signature by a key that may not sign this statement (403).
    #[error("`{keyid}` is not {allowed}")]
    UnknownKey {
        /// The signature's keyid.
        keyid: String,
        /// Which keys may sign: "a governance key", "a current key of authority `x`".
        allowed: String,
    },
    /// Fewer distinct governance keys than the threshold (403).
    #[error("signed by {valid} distinct governance key(s); the threshold is {threshold}")]
    UnderThreshold {
        /// Distinct valid signatures.
        valid: usize,
        /// The governance threshold.
        threshold: usize,
    },
    /// The log has no genesis yet (422).
    #[error("the log has no genesis statement yet: entry 0 must be the genesis")]
    NoGenesis,
    /// Entry 0 is not a genesis (422).
    #[error("entry 0 of the log must be a genesis statement, not {kind}")]
    FirstEntryNotGenesis {
        /// The statement kind offered.
        kind: &'static str,
    },
    /// A genesis after entry 0 (422).
    #[error("a genesis statement is only allowed as entry 0 (this would be entry {index})")]
    GenesisNotFirst {
        /// The index it would get.
        index: u64,
    },
    /// `enroll` of an id already taken (422).
    #[error("cannot enroll `{authority}`: the id is already enrolled (retired ids stay taken); enroll needs a new id")]
    AuthorityExists {
        /// The authority id.
        authority: String,
    },
    /// An authority that was never enrolled (422).
    #[error("authority `{authority}` is not enrolled")]
    UnknownAuthority {
        /// The authority id.
        authority: String,
    },
    /// A retired authority (422).
    #[error(
        "authority `{authority}` is retired: no further statements by or about it are accepted"
    )]
    AuthorityRetired {
        /// The authority id.
        authority: String,
    },
    /// An authority not competent for the record's `from` (422).
    #[error("authority `{authority}` is not competent for from `{from}` on {effective} (its competence: {competence})")]
    NotCompetent {
        /// The authority id.
        authority: String,
        /// The record's `from`.
        from: String,
        /// The event's `effective` date.
        effective: Date,
        /// The authority's competence, comma separated.
        competence: String,
    },
    /// A record whose first event is not `granted` (422).
    #[error(
        "record `{record}` has no events yet, so its first event must be `granted`, not `{action}`"
    )]
    FirstEventNotGranted {
        /// The record id.
        record: String,
        /// The action offered.
        action: Action,
    },
    /// A listing's first event must be `listed` (422).
    #[error(
        "listing `{record}` has no events yet, so its first event must be `listed`, not `{action}`"
    )]
    FirstEventNotListed {
        /// The record id.
        record: String,
        /// The action offered.
        action: Action,
    },
    /// The signer does not administer the listing's programme (422).
    #[error("authority `{authority}` does not administer programme `{programme}` (its programmes: {programmes}); listings are signed by their programme's administrator")]
    NotProgrammeAdministrator {
        /// The authority.
        authority: String,
        /// The programme named.
        programme: String,
        /// The programmes it administers.
        programmes: String,
    },
    /// A second `granted` (422).
    #[error("record `{record}` is already granted; a `granted` event cannot repeat (use amended, renewed or reinstated)")]
    GrantedAgain {
        /// The record id.
        record: String,
    },
    /// A later event that does not repeat the record's mechanism, from or to (422).
    #[error(
        "record `{record}` has {field} `{expected}`; later events must repeat it, not `{found}`"
    )]
    RecordMismatch {
        /// The record id.
        record: String,
        /// `mechanism`, `from` or `to`.
        field: &'static str,
        /// The record's value.
        expected: String,
        /// The event's value.
        found: String,
    },
    /// An authority statement naming another log (422).
    #[error("the statement is for the log `{log}`, not this log `{origin}`")]
    WrongLog {
        /// The `log` it names.
        log: String,
        /// This log's origin.
        origin: String,
    },
    /// An `update` or `retire` that does not supersede the authority's
    /// current state (422): an old decision replayed, or a race with
    /// another governance statement.
    #[error("the statement supersedes the state of `{authority}` set at index {supersedes}, but its current state was set at index {current}; sign a new statement with supersedes {current}")]
    StaleAuthorityStatement {
        /// The authority id.
        authority: String,
        /// The index the statement names.
        supersedes: u64,
        /// The index of the authority's current state.
        current: u64,
    },
    /// A new record whose id does not begin with the granting authority's
    /// id (422).
    #[error("a new record's id must begin with the granting authority's id and '/': `{authority}/...`, not `{record}`")]
    RecordNotOwned {
        /// The record id.
        record: String,
        /// The granting authority.
        authority: String,
    },
    /// An event that would keep a record in force past the last day the
    /// authority is competent for its `from` (422).
    #[error("authority `{authority}` is competent for from `{from}` only until {until}; an event that keeps the record in force must state an `expires` on or before that day")]
    BeyondCompetence {
        /// The authority id.
        authority: String,
        /// The record's `from`.
        from: String,
        /// The last day of its competence.
        until: Date,
    },
    /// Admission: a statement issued further in the future than the
    /// registry's clock allows (422).
    #[error(
        "issued_at {issued_at} is more than {skew_secs} s ahead of the registry's clock ({now})"
    )]
    IssuedInFuture {
        /// The statement's `issued_at`.
        issued_at: String,
        /// The registry's time.
        now: String,
        /// The allowed skew.
        skew_secs: u64,
    },
    /// Admission: a statement without a field the registry now requires on
    /// new entries (422).
    #[error(
        "new {kind} statements must carry `{field}` (statements v2, docs/statements.md): {why}"
    )]
    V2FieldRequired {
        /// The statement kind.
        kind: &'static str,
        /// The field.
        field: &'static str,
        /// What it protects.
        why: &'static str,
    },
    /// A later event effective before the record's `granted` (422).
    #[error("record `{record}` was granted effective {granted}; a later event cannot take effect before that (effective {effective})")]
    EffectiveBeforeGrant {
        /// The record id.
        record: String,
        /// The event's `effective`.
        effective: Date,
        /// The `granted` event's `effective`.
        granted: Date,
    },
}

impl RuleError {
    /// How a server should answer (400, 403 or 422).
    pub fn class(&self) -> ErrorClass {
        match self {
            RuleError::Envelope(_) | RuleError::Statement(_) | RuleError::Index(_) => {
                ErrorClass::Malformed
            }
            RuleError::BadSignature { .. }
            | RuleError::UnknownKey { .. }
            | RuleError::UnderThreshold { .. } => ErrorClass::Unauthorized,
            RuleError::NoGenesis
            | RuleError::FirstEntryNotGenesis { .. }
            | RuleError::GenesisNotFirst { .. }
            | RuleError::AuthorityExists { .. }
            | RuleError::UnknownAuthority { .. }
            | RuleError::AuthorityRetired { .. }
            | RuleError::NotCompetent { .. }
            | RuleError::FirstEventNotGranted { .. }
            | RuleError::FirstEventNotListed { .. }
            | RuleError::NotProgrammeAdministrator { .. }
            | RuleError::GrantedAgain { .. }
            | RuleError::RecordMismatch { .. }
            | RuleError::EffectiveBeforeGrant { .. }
            | RuleError::WrongLog { .. }
            | RuleError::StaleAuthorityStatement { .. }
            | RuleError::RecordNotOwned { .. }
            | RuleError::BeyondCompetence { .. }
            | RuleError::IssuedInFuture { .. }
            | RuleError::V2FieldRequired { .. } => ErrorClass::Rejected,
        }
    }
}

/// An enrolled authority as of some index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorityState {
    /// Its id.
    pub id: AuthorityId,
    /// Its display name.
    pub name: String,
    /// The jurisdictions whose outgoing transfers it may rule on.
    pub competence: Vec<Jurisdiction>,
    /// Its current keys.
    #[serde(with = "vkey_list")]
    pub keys: Vec<VerifierKey>,
    /// Whether it is retired.
    pub retired: bool,
    /// The index of the authority statement that set this state.
    pub set_at_index: u64,
    /// v2: the programmes it administers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub programmes: Vec<Programme>,
}

impl AuthorityState {
    /// The state that authority statement `s`, logged at `index`, sets over
    /// `before` (the authority's state until then; `None` for an
    /// enrolment): `enroll` and `update` set name, competence and keys,
    /// `retire` keeps them and marks the authority retired. The one home of
    /// this rule: the registry applies it after its checks, and a client
    /// rebuilds an authority listing's states with it.
    pub fn after(
        s: &AuthorityStatement,
        before: Option<&AuthorityState>,
        index: u64,
    ) -> AuthorityState {
        match (s.action, before) {
            (AuthorityAction::Retire, Some(old)) => AuthorityState {
                retired: true,
                set_at_index: index,
                ..old.clone()
            },
            _ => AuthorityState {
                id: s.authority.clone(),
                name: s.name.clone().unwrap_or_default(),
                competence: s.competence.clone().unwrap_or_default(),
                keys: s.keys.clone().unwrap_or_default(),
                retired: false,
                set_at_index: index,
                programmes: s.programmes.clone().unwrap_or_default(),
            },
        }
    }

    /// Whether its competence covers `from` on `date`.
    pub fn is_competent_for(&self, from: &Jurisdiction, date: Date) -> bool {
        self.competence.iter().any(|c| c.covers(from, date))
    }

    /// If competent for `from` on `date`, the last day of that competence
    /// (`Some(None)`: no end); `None` if not competent on `date`.
    pub fn competent_until(&self, from: &Jurisdiction, date: Date) -> Option<Option<Date>> {
        self.competence
            .iter()
            .filter_map(|c| c.covers_until(from, date))
            .max_by(|a, b| match (a, b) {
                (None, None) => std::cmp::Ordering::Equal,
                (None, _) => std::cmp::Ordering::Greater,
                (_, None) => std::cmp::Ordering::Less,
                (Some(x), Some(y)) => x.cmp(y),
            })
    }

    /// The current key with this keyid, if any.
    pub fn key(&self, keyid: &str) -> Option<&VerifierKey> {
        self.keys.iter().find(|k| k.keyid() == keyid)
    }
}

/// One event of a record, as the record head keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventRef {
    /// The event's log index.
    pub index: u64,
    /// Its action.
    pub action: Action,
    /// The day it takes effect.
    pub effective: Date,
    /// `None`: absent; `Some(None)`: `null`; `Some(Some(d))`: a date.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    pub expires: Option<Option<Date>>,
    /// The authority that made it.
    pub authority: AuthorityId,
    /// A listing event's kinds of data (v2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Vec<ListingData>>,
}

impl EventRef {
    /// The part of the event the status rule reads.
    pub fn status_event(&self) -> StatusEvent {
        StatusEvent {
            index: self.index,
            action: self.action,
            effective: self.effective,
            expires: self.expires,
        }
    }
}

/// A record: what its `granted` event fixed, and all its events in log order.
///
/// A recognition record has a `mechanism` and no `rule`; a rule record
/// (statements v2) has `rule` and no `mechanism`. Only the record rules
/// ([`check_rules`]) and the answer verifier build heads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordHead {
    /// The record id.
    pub record: RecordId,
    /// A recognition's mechanism.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mechanism: Option<Mechanism>,
    /// A rule's terms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleTerms>,
    /// A listing's programme and organisation (v2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listing: Option<ListingTerms>,
    /// A recognition's `requires_listing` (v2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_listing: Option<RequiresListing>,
    /// Where data comes from.
    pub from: Jurisdiction,
    /// Where it may go.
    pub to: Destination,
    /// Its events, in log order (the first is the `granted`).
    pub events: Vec<EventRef>,
}

impl RecordHead {
    /// The record's status on `date` (`None` before its first event).
    pub fn status_on(&self, date: Date) -> Option<Status> {
        let events: Vec<StatusEvent> = self.events.iter().map(EventRef::status_event).collect();
        status_on(&events, date)
    }

    /// The `effective` date of the `granted` event.
    pub fn granted_effective(&self) -> Option<Date> {
        self.events
            .iter()
            .find(|e| e.action.opens_record())
            .map(|e| e.effective)
    }

    /// Whether the record answers the route question "from `x` to `y` on
    /// `date`" (its `from` covers `x`, its `to` covers `y` or is `*`, it
    /// passes the filter, and it has an event by then), and its status if so.
    pub fn route_status(
        &self,
        x: &Jurisdiction,
        y: &Jurisdiction,
        date: Date,
        filter: RouteFilter,
    ) -> Option<Status> {
        if !filter.passes(self) {
            return None;
        }
        if !self.from.covers(x, date) || !self.to.covers(y, date) {
            return None;
        }
        self.status_on(date)
    }

    /// Whether it is a rule record.
    pub fn is_rule(&self) -> bool {
        self.rule.is_some()
    }

    /// Whether it is a listing record.
    pub fn is_listing(&self) -> bool {
        self.listing.is_some()
    }

    /// What the record is, for people: a recognition's mechanism
    /// (`adequacy`), or `rule: <requirement>` (`rule: prior_assessment`).
    pub fn label(&self) -> String {
        match (&self.rule, self.mechanism) {
            (Some(t), _) => format!("rule: {}", t.requires),
            (None, Some(m)) => m.as_str().to_owned(),
            (None, None) => match &self.listing {
                Some(l) => format!("listing: {}", l.programme),
                None => "record".to_owned(),
            },
        }
    }
}

/// What a listing record's `listed` event fixes: its programme and the
/// organisation's programme id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListingTerms {
    /// The programme.
    pub programme: RecordId,
    /// The organisation's id in the programme.
    pub programme_id: String,
}

impl RecordHead {
    /// A listing's kinds of data on `date`: those of the last event by then
    /// (in the status rule's order) that states them.
    pub fn listing_data_on(&self, date: Date) -> Vec<ListingData> {
        self.events
            .iter()
            .filter(|e| e.effective <= date && e.data.is_some())
            .max_by_key(|e| (e.effective, e.index))
            .and_then(|e| e.data.clone())
            .unwrap_or_default()
    }
}

/// The optional filters of a route question.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct RouteFilter {
    /// Only recognitions of this mechanism (rules apply whatever the
    /// mechanism, so they are never filtered out by it).
    pub mechanism: Option<Mechanism>,
    /// Only rules that apply to this category of data
    /// ([`RuleTerms::applies_to`]); recognitions are not filtered by it.
    pub data: Option<DataCategory>,
}

impl RouteFilter {
    /// No filter.
    pub const NONE: RouteFilter = RouteFilter {
        mechanism: None,
        data: None,
    };

    /// Only recognitions of `mechanism`, if given.
    pub fn mechanism(mechanism: Option<Mechanism>) -> RouteFilter {
        RouteFilter {
            mechanism,
            data: None,
        }
    }

    /// Whether `head` passes: the one home of the filter rule, read by the
    /// route question, the server and the completeness check. It depends
    /// only on what a record's `granted` event fixes.
    pub fn passes(&self, head: &RecordHead) -> bool {
        match &head.rule {
            None => self.mechanism.is_none() || self.mechanism == head.mechanism,
            Some(terms) => self.data.is_none_or(|d| terms.applies_to(d)),
        }
    }
}

/// A parsed envelope and its statement, with the canonical entry bytes.
#[derive(Debug, Clone)]
pub struct Submission {
    envelope: Envelope,
    statement: Statement,
    entry: Vec<u8>,
    /// SHA-256 of the PAE ([`Envelope::statement_id`]).
    statement_id: [u8; 32],
    /// Signatures that [`Submission::preverify`] already checked: (index in
    /// `envelope.signatures`, key it verified under). Only this module
    /// writes it, and only after `verify_strict` succeeded over this
    /// envelope's own PAE; the envelope cannot change afterwards.
    preverified: Vec<(usize, VerifierKey)>,
}

impl PartialEq for Submission {
    fn eq(&self, other: &Submission) -> bool {
        // The memo of checks done is not part of the value.
        self.envelope == other.envelope
            && self.statement == other.statement
            && self.entry == other.entry
    }
}

impl Eq for Submission {}

impl Submission {
    /// Parses a submitted envelope in any JSON layout, canonicalises it, and
    /// checks that the entry fits (65,535 bytes).
    pub fn parse(bytes: &[u8]) -> Result<Submission, RuleError> {
        Submission::from_envelope(Envelope::parse(bytes)?)
    }

    /// Parses a logged entry, which must be in canonical form.
    pub fn parse_entry(bytes: &[u8]) -> Result<Submission, RuleError> {
        Submission::from_envelope(Envelope::parse_canonical(bytes)?)
    }

    /// Parses the statement of an envelope and computes its entry bytes.
    pub fn from_envelope(envelope: Envelope) -> Result<Submission, RuleError> {
        let entry = envelope.to_entry()?;
        let statement_id = envelope.statement_id();
        Submission::finish(envelope, entry, statement_id, Vec::new())
    }

    /// Parses the statement and assembles the submission; `preverified`
    /// holds only signatures that verified over this envelope's PAE.
    fn finish(
        envelope: Envelope,
        entry: Vec<u8>,
        statement_id: [u8; 32],
        preverified: Vec<(usize, VerifierKey)>,
    ) -> Result<Submission, RuleError> {
        let statement = Statement::parse(&envelope.payload)?;
        Ok(Submission {
            envelope,
            statement,
            entry,
            statement_id,
            preverified,
        })
    }

    /// Authentication first, for a server facing anyone: parses the
    /// envelope (linear, bounded by the entry size and [`MAX_SIGNATURES`]),
    /// refuses it unless every signature's keyid names a key `candidates`
    /// knows (any governance or authority key of the log), verifies every
    /// signature under those keys, and only then parses the statement. An
    /// envelope signed by nobody the log knows therefore costs one envelope
    /// parse, and a forged one at most one Ed25519 check per signature,
    /// before any statement validation. [`verify_signatures`] still decides
    /// afterwards which keys may sign this statement; the checks done here
    /// are remembered so it does no curve arithmetic twice.
    ///
    /// [`MAX_SIGNATURES`]: super::dsse::MAX_SIGNATURES
    pub fn parse_authenticated<'k>(
        bytes: &[u8],
        candidates: impl FnMut(&str) -> Vec<&'k VerifierKey>,
    ) -> Result<Submission, RuleError> {
        Submission::from_envelope_authenticated(Envelope::parse(bytes)?, candidates)
    }

    /// [`Submission::parse_authenticated`] for an envelope parsed already.
    pub fn from_envelope_authenticated<'k>(
        envelope: Envelope,
        mut candidates: impl FnMut(&str) -> Vec<&'k VerifierKey>,
    ) -> Result<Submission, RuleError> {
        // Keyids first: the cheapest refusal of a stranger.
        let mut keys_of = Vec::with_capacity(envelope.signatures.len());
        for s in &envelope.signatures {
            let keys = candidates(&s.keyid);
            if keys.is_empty() {
                return Err(RuleError::UnknownKey {
                    keyid: s.keyid.clone(),
                    allowed: "a key of this log's governance or of an enrolled authority"
                        .to_owned(),
                });
            }
            keys_of.push(keys);
        }
        let entry = envelope.to_entry()?;
        let msg = envelope.pae();
        let mut preverified = Vec::new();
        for (i, (s, keys)) in envelope.signatures.iter().zip(keys_of).enumerate() {
            let mut any = false;
            for key in keys {
                if s.verify(key, &msg) {
                    preverified.push((i, key.clone()));
                    any = true;
                }
            }
            if !any {
                return Err(RuleError::BadSignature {
                    keyid: s.keyid.clone(),
                });
            }
        }
        // The PAE the signatures were checked over also gives the id.
        let statement_id = super::dsse::statement_id_of_pae(&msg);
        Submission::finish(envelope, entry, statement_id, preverified)
    }

    /// The statement's identity, SHA-256 of the PAE: equal for every
    /// envelope that carries this statement, whatever its signatures.
    pub fn statement_id(&self) -> &[u8; 32] {
        &self.statement_id
    }

    /// Does the expensive part of [`verify_signatures`] ahead of time, for
    /// callers that learn the state an entry will be checked against only
    /// later but can guess the keys now (an auditor checking many entries on
    /// several threads). For each signature, every key `candidates` returns
    /// for its keyid is tried with strict Ed25519 over the PAE, and the keys
    /// it verifies under are remembered. [`verify_signatures`] then still
    /// decides which keys are allowed, exactly as without this call; it only
    /// skips the curve arithmetic for a (signature, key) pair already found
    /// valid here. Returns how many signatures verified under some candidate.
    pub fn preverify<'k>(
        &mut self,
        mut candidates: impl FnMut(&str) -> Vec<&'k VerifierKey>,
    ) -> usize {
        let msg = self.envelope.pae();
        let mut verified = 0;
        for (i, s) in self.envelope.signatures.iter().enumerate() {
            let mut any = false;
            for key in candidates(&s.keyid) {
                if s.verify(key, &msg) {
                    self.preverified.push((i, key.clone()));
                    any = true;
                }
            }
            verified += usize::from(any);
        }
        verified
    }

    /// The envelope.
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }

    /// The statement (the envelope's payload, parsed).
    pub fn statement(&self) -> &Statement {
        &self.statement
    }

    /// The canonical entry bytes to log.
    pub fn entry(&self) -> &[u8] {
        &self.entry
    }
}

/// A submission whose signatures verified, and by which keys. Only
/// [`verify_signatures`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    submission: Submission,
    signers: Vec<VerifierKey>,
}

impl Verified {
    /// The statement.
    pub fn statement(&self) -> &Statement {
        &self.submission.statement
    }

    /// The submission.
    pub fn submission(&self) -> &Submission {
        &self.submission
    }

    /// The canonical entry bytes to log.
    pub fn entry(&self) -> &[u8] {
        &self.submission.entry
    }

    /// The distinct keys whose signatures verified.
    pub fn signers(&self) -> &[VerifierKey] {
        &self.signers
    }
}

/// What an accepted entry changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Entry 0: the log's origin and governance.
    Genesis {
        /// The origin named by the genesis.
        origin: String,
        /// Who may enrol authorities.
        governance: Governance,
    },
    /// Store this state under its id (new, updated or retired).
    Authority(AuthorityState),
    /// Store this head under its record id (new, or with one more event).
    Record(RecordHead),
    /// The entry repeats the statement of an earlier entry (same
    /// [`Submission::statement_id`], other signatures): it has no effect.
    /// Only a log written before statements were deduplicated holds such an
    /// entry; the auditor reports each one.
    Repeated {
        /// The index of the entry that first logged the statement.
        first: u64,
    },
    /// A registry-appended `index` entry: no effect on the registry state
    /// (the map replay checks it, `map::index::MapReplay`).
    Index(crate::map::index::IndexEntry),
}

fn governance_allowed() -> String {
    "a governance key".to_owned()
}

fn authority_allowed(id: &AuthorityId) -> String {
    format!("a current key of authority `{id}`")
}

/// Verifies every signature against `keys`; returns the distinct signers.
fn verify_set(
    submission: &Submission,
    keys: &[VerifierKey],
    threshold: usize,
    allowed: impl Fn() -> String,
) -> Result<Vec<VerifierKey>, RuleError> {
    let envelope = &submission.envelope;
    let mut msg: Option<Vec<u8>> = None;
    let mut signers: Vec<VerifierKey> = Vec::new();
    for (i, s) in envelope.signatures.iter().enumerate() {
        let key =
            keys.iter()
                .find(|k| k.keyid() == s.keyid)
                .ok_or_else(|| RuleError::UnknownKey {
                    keyid: s.keyid.clone(),
                    allowed: allowed(),
                })?;
        let done = submission
            .preverified
            .iter()
            .any(|(j, k)| *j == i && k == key);
        if !done && !s.verify(key, msg.get_or_insert_with(|| envelope.pae())) {
            return Err(RuleError::BadSignature {
                keyid: s.keyid.clone(),
            });
        }
        if !signers
            .iter()
            .any(|k| k.public_key_bytes() == key.public_key_bytes())
        {
            signers.push(key.clone());
        }
    }
    if signers.len() < threshold {
        return Err(RuleError::UnderThreshold {
            valid: signers.len(),
            threshold,
        });
    }
    Ok(signers)
}

/// Re-checks, without crypto, that verified signers are still allowed.
fn recheck(
    signers: &[VerifierKey],
    keys: &[VerifierKey],
    threshold: usize,
    allowed: impl Fn() -> String,
) -> Result<(), RuleError> {
    if let Some(gone) = signers.iter().find(|s| !keys.contains(s)) {
        return Err(RuleError::UnknownKey {
            keyid: gone.keyid(),
            allowed: allowed(),
        });
    }
    if signers.len() < threshold {
        return Err(RuleError::UnderThreshold {
            valid: signers.len(),
            threshold,
        });
    }
    Ok(())
}

fn authority_usable<'a>(
    id: &AuthorityId,
    authority: Option<&'a AuthorityState>,
) -> Result<&'a AuthorityState, RuleError> {
    match authority {
        Some(a) if &a.id == id => {
            if a.retired {
                Err(RuleError::AuthorityRetired {
                    authority: id.to_string(),
                })
            } else {
                Ok(a)
            }
        }
        _ => Err(RuleError::UnknownAuthority {
            authority: id.to_string(),
        }),
    }
}

/// Step 2: checks the signatures of `submission` (see the module docs).
///
/// `governance` is the log's (from its genesis; `None` before it);
/// `authority` is the current state of the authority the statement names
/// ([`Statement::authority`]), if enrolled.
pub fn verify_signatures(
    submission: Submission,
    governance: Option<&Governance>,
    authority: Option<&AuthorityState>,
) -> Result<Verified, RuleError> {
    let env = &submission;
    let signers = match &submission.statement {
        Statement::Genesis(g) => verify_set(
            env,
            &g.governance.keys,
            g.governance.threshold,
            governance_allowed,
        )?,
        Statement::Authority(_) => {
            let gov = governance.ok_or(RuleError::NoGenesis)?;
            verify_set(env, &gov.keys, gov.threshold, governance_allowed)?
        }
        Statement::Recognition(_) | Statement::Rule(_) | Statement::Listing(_) => {
            let id = submission
                .statement
                .authority()
                .ok_or(RuleError::NoGenesis)?;
            let a = authority_usable(id, authority)?;
            verify_set(env, &a.keys, 1, || authority_allowed(&a.id))?
        }
    };
    Ok(Verified {
        submission,
        signers,
    })
}

/// Step 3: applies the registry rules to a verified entry that would get log
/// index `index`, against the latest state: the log's `origin` and
/// `governance` (`None` before the genesis), the state of the authority the
/// statement names ([`Statement::authority`]), and the head of the record it
/// names ([`Statement::record`]). Returns what to store.
///
/// Deduplication is the caller's (a statement already logged under another
/// envelope gets [`Change::Repeated`] from [`Registry`], and is answered
/// with its first index by the server); this function judges an entry as
/// if its statement were new.
pub fn check_rules(
    index: u64,
    verified: &Verified,
    origin: Option<&str>,
    governance: Option<&Governance>,
    authority: Option<&AuthorityState>,
    record: Option<&RecordHead>,
) -> Result<Change, RuleError> {
    let statement = verified.statement();
    if let Statement::Genesis(g) = statement {
        if index != 0 || governance.is_some() {
            return Err(RuleError::GenesisNotFirst { index });
        }
        return Ok(Change::Genesis {
            origin: g.origin.clone(),
            governance: g.governance.clone(),
        });
    }
    if index == 0 {
        return Err(RuleError::FirstEntryNotGenesis {
            kind: statement.kind(),
        });
    }
    let gov = governance.ok_or(RuleError::NoGenesis)?;
    match statement {
        Statement::Genesis(_) => Err(RuleError::GenesisNotFirst { index }),
        Statement::Authority(s) => {
            recheck(
                &verified.signers,
                &gov.keys,
                gov.threshold,
                governance_allowed,
            )?;
            if let (Some(log), Some(origin)) = (&s.log, origin) {
                if log != origin {
                    return Err(RuleError::WrongLog {
                        log: log.clone(),
                        origin: origin.to_owned(),
                    });
                }
            }
            let state = match s.action {
                AuthorityAction::Enroll => {
                    if authority.is_some_and(|a| a.id == s.authority) {
                        return Err(RuleError::AuthorityExists {
                            authority: s.authority.to_string(),
                        });
                    }
                    None
                }
                AuthorityAction::Update | AuthorityAction::Retire => {
                    let current = authority_usable(&s.authority, authority)?;
                    if let Some(supersedes) = s.supersedes {
                        if supersedes != current.set_at_index {
                            return Err(RuleError::StaleAuthorityStatement {
                                authority: s.authority.to_string(),
                                supersedes,
                                current: current.set_at_index,
                            });
                        }
                    }
                    Some(current)
                }
            };
            Ok(Change::Authority(AuthorityState::after(s, state, index)))
        }
        Statement::Recognition(_) | Statement::Rule(_) => {
            let Some(r) = statement.record_event() else {
                return Err(RuleError::NoGenesis);
            };
            let a = authority_usable(r.authority, authority)?;
            recheck(&verified.signers, &a.keys, 1, || authority_allowed(&a.id))?;
            let Some(competent_until) = a.competent_until(r.from, r.effective) else {
                return Err(RuleError::NotCompetent {
                    authority: a.id.to_string(),
                    from: r.from.to_string(),
                    effective: r.effective,
                    competence: a
                        .competence
                        .iter()
                        .map(Jurisdiction::as_str)
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            };
            // An authority makes nothing true past the end of its competence:
            // an event that keeps the record in force must end by then.
            if let Some(until) = competent_until {
                let ends_in_time = matches!(r.expires, Some(Some(d)) if d <= until);
                if r.action.keeps_in_force() && !ends_in_time {
                    return Err(RuleError::BeyondCompetence {
                        authority: a.id.to_string(),
                        from: r.from.to_string(),
                        until,
                    });
                }
            }
            let event = EventRef {
                index,
                action: r.action,
                effective: r.effective,
                expires: r.expires,
                authority: r.authority.clone(),
                data: None,
            };
            let kind_of = |h: &RecordHead| {
                if h.is_rule() {
                    "rule"
                } else if h.is_listing() {
                    "listing"
                } else {
                    "recognition"
                }
            };
            let head = match record.filter(|h| &h.record == r.record) {
                None => {
                    if r.action != Action::Granted {
                        return Err(RuleError::FirstEventNotGranted {
                            record: r.record.to_string(),
                            action: r.action,
                        });
                    }
                    if r.record.first_segment() != r.authority.as_str() {
                        return Err(RuleError::RecordNotOwned {
                            record: r.record.to_string(),
                            authority: r.authority.to_string(),
                        });
                    }
                    RecordHead {
                        record: r.record.clone(),
                        mechanism: r.mechanism,
                        rule: r.rule.clone(),
                        listing: None,
                        requires_listing: r.requires_listing.clone(),
                        from: r.from.clone(),
                        to: r.to.clone(),
                        events: vec![event],
                    }
                }
                Some(h) => {
                    if r.action == Action::Granted {
                        return Err(RuleError::GrantedAgain {
                            record: r.record.to_string(),
                        });
                    }
                    let mismatch = |field, expected: &str, found: &str| RuleError::RecordMismatch {
                        record: r.record.to_string(),
                        field,
                        expected: expected.to_owned(),
                        found: found.to_owned(),
                    };
                    let kind = if r.rule.is_some() {
                        "rule"
                    } else {
                        "recognition"
                    };
                    if kind_of(h) != kind {
                        return Err(mismatch("kind", kind_of(h), kind));
                    }
                    if h.mechanism != r.mechanism {
                        let name = |m: Option<Mechanism>| m.map_or("", Mechanism::as_str);
                        return Err(mismatch("mechanism", name(h.mechanism), name(r.mechanism)));
                    }
                    if h.rule != r.rule {
                        let terms = |t: &Option<RuleTerms>| {
                            t.as_ref()
                                .and_then(|t| serde_json::to_string(t).ok())
                                .unwrap_or_default()
                        };
                        return Err(mismatch(
                            "requires, applies_to.categories or satisfied_by",
                            &terms(&h.rule),
                            &terms(&r.rule),
                        ));
                    }
                    // Fixed by the grant: a later event may leave it out,
                    // or repeat it.
                    if r.requires_listing.is_some() && h.requires_listing != r.requires_listing {
                        let terms = |t: &Option<RequiresListing>| {
                            t.as_ref()
                                .and_then(|t| serde_json::to_string(t).ok())
                                .unwrap_or_default()
                        };
                        return Err(mismatch(
                            "requires_listing",
                            &terms(&h.requires_listing),
                            &terms(&r.requires_listing),
                        ));
                    }
                    if &h.from != r.from {
                        return Err(mismatch("from", h.from.as_str(), r.from.as_str()));
                    }
                    if &h.to != r.to {
                        return Err(mismatch("to", h.to.as_str(), r.to.as_str()));
                    }
                    if let Some(granted) = h.granted_effective() {
                        if r.effective < granted {
                            return Err(RuleError::EffectiveBeforeGrant {
                                record: r.record.to_string(),
                                effective: r.effective,
                                granted,
                            });
                        }
                    }
                    let mut next = h.clone();
                    next.events.push(event);
                    next
                }
            };
            Ok(Change::Record(head))
        }
        Statement::Listing(l) => {
            let a = authority_usable(&l.authority, authority)?;
            recheck(&verified.signers, &a.keys, 1, || authority_allowed(&a.id))?;
            let Some(programme) = a.programmes.iter().find(|p| p.id == l.programme) else {
                return Err(RuleError::NotProgrammeAdministrator {
                    authority: a.id.to_string(),
                    programme: l.programme.to_string(),
                    programmes: if a.programmes.is_empty() {
                        "none".to_owned()
                    } else {
                        a.programmes
                            .iter()
                            .map(|p| p.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    },
                });
            };
            let event = EventRef {
                index,
                action: l.action,
                effective: l.effective,
                expires: None,
                authority: l.authority.clone(),
                data: Some(l.data.clone()),
            };
            let head = match record.filter(|h| h.record == l.record) {
                None => {
                    if l.action != Action::Listed {
                        return Err(RuleError::FirstEventNotListed {
                            record: l.record.to_string(),
                            action: l.action,
                        });
                    }
                    RecordHead {
                        record: l.record.clone(),
                        mechanism: None,
                        rule: None,
                        listing: Some(ListingTerms {
                            programme: l.programme.clone(),
                            programme_id: l.organisation.programme_id.clone(),
                        }),
                        requires_listing: None,
                        from: programme.from.clone(),
                        to: programme.to.clone(),
                        events: vec![event],
                    }
                }
                Some(h) => {
                    if !h.is_listing() {
                        let kind = if h.is_rule() { "rule" } else { "recognition" };
                        return Err(RuleError::RecordMismatch {
                            record: l.record.to_string(),
                            field: "kind",
                            expected: kind.to_owned(),
                            found: "listing".to_owned(),
                        });
                    }
                    if l.action == Action::Listed {
                        return Err(RuleError::GrantedAgain {
                            record: l.record.to_string(),
                        });
                    }
                    if let Some(listed) = h.granted_effective() {
                        if l.effective < listed {
                            return Err(RuleError::EffectiveBeforeGrant {
                                record: l.record.to_string(),
                                effective: l.effective,
                                granted: listed,
                            });
                        }
                    }
                    let mut next = h.clone();
                    next.events.push(event);
                    next
                }
            };
            Ok(Change::Record(head))
        }
    }
}

/// One record in a route answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteMatch<'a> {
    /// The record.
    pub record: &'a RecordHead,
    /// Its status on the date asked about.
    pub status: Status,
}

/// The whole registry state in memory, built by replaying a log in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Registry {
    origin: Option<String>,
    governance: Option<Governance>,
    authorities: BTreeMap<AuthorityId, AuthorityState>,
    records: BTreeMap<RecordId, RecordHead>,
    /// Statement ids ([`Submission::statement_id`]) to the index that first
    /// logged each.
    statements: std::collections::HashMap<[u8; 32], u64>,
    /// Entries that repeated an earlier statement: (index, first index).
    repeated: Vec<(u64, u64)>,
    size: u64,
}

impl Registry {
    /// An empty registry (an empty log).
    pub fn new() -> Registry {
        Registry::default()
    }

    /// How many entries have been applied: the index of the next one.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The origin named by the genesis.
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }

    /// The governance set by the genesis.
    pub fn governance(&self) -> Option<&Governance> {
        self.governance.as_ref()
    }

    /// The state of one authority (retired ones included).
    pub fn authority(&self, id: &str) -> Option<&AuthorityState> {
        self.authorities.get(id)
    }

    /// Every authority ever enrolled, by id.
    pub fn authorities(&self) -> impl Iterator<Item = &AuthorityState> {
        self.authorities.values()
    }

    /// One record.
    pub fn record(&self, id: &str) -> Option<&RecordHead> {
        self.records.get(id)
    }

    /// Every record, by id.
    pub fn records(&self) -> impl Iterator<Item = &RecordHead> {
        self.records.values()
    }

    /// Runs steps 2 and 3 for `submission` as the next entry, without
    /// changing anything.
    pub fn check(&self, submission: Submission) -> Result<(Verified, Change), RuleError> {
        let authority = submission
            .statement()
            .authority()
            .and_then(|id| self.authorities.get(id));
        let record = submission
            .statement()
            .record()
            .and_then(|id| self.records.get(id));
        let governance = self.governance.as_ref();
        let verified = verify_signatures(submission, governance, authority)?;
        let change = check_rules(
            self.size,
            &verified,
            self.origin.as_deref(),
            governance,
            authority,
            record,
        )?;
        Ok((verified, change))
    }

    /// Checks `submission` and, if accepted, applies it as the next entry.
    /// A statement logged before (same [`Submission::statement_id`], under
    /// any signatures) is counted but has no effect: [`Change::Repeated`],
    /// listed by [`Registry::repeated`].
    pub fn append(&mut self, submission: Submission) -> Result<Change, RuleError> {
        let id = *submission.statement_id();
        if let Some(&first) = self.statements.get(&id) {
            self.repeated.push((self.size, first));
            let change = Change::Repeated { first };
            self.apply_change(change.clone());
            return Ok(change);
        }
        let index = self.size;
        let (_, change) = self.check(submission)?;
        self.apply_change(change.clone());
        self.statements.insert(id, index);
        Ok(change)
    }

    /// Entries that repeated an earlier statement, as (index, first index),
    /// in log order. Empty for every log written since statements are
    /// deduplicated; an older log may hold some (each had an effect on the
    /// server that logged it, and has none here).
    pub fn repeated(&self) -> &[(u64, u64)] {
        &self.repeated
    }

    /// The index that first logged the statement with this id, if any.
    pub fn statement_index(&self, id: &[u8; 32]) -> Option<u64> {
        self.statements.get(id).copied()
    }

    /// Checks and applies an envelope as the next entry.
    pub fn append_envelope(&mut self, envelope: Envelope) -> Result<Change, RuleError> {
        self.append(Submission::from_envelope(envelope)?)
    }

    /// Replays a logged entry (which must be canonical) as the next entry:
    /// a statement, or a registry-appended `index` entry (a no-op here).
    pub fn apply_entry(&mut self, entry: &[u8]) -> Result<Change, RuleError> {
        match Submission::parse_entry(entry) {
            Err(RuleError::Statement(StatementError::ReservedKind { kind })) if kind == "index" => {
                Ok(self.apply_index(crate::map::index::IndexEntry::parse_entry(entry)?))
            }
            parsed => self.append(parsed?),
        }
    }

    /// Counts an entry the rules refuse as the next entry, with no effect:
    /// for a server that must go on serving a damaged log (an entry planted
    /// in its store); the auditor reports such an entry instead.
    pub fn skip(&mut self) {
        self.size += 1;
    }

    /// Counts a logged `index` entry as the next entry; it changes nothing
    /// else (its content is the map replay's to check).
    pub fn apply_index(&mut self, entry: crate::map::index::IndexEntry) -> Change {
        let change = Change::Index(entry);
        self.apply_change(change.clone());
        change
    }

    /// Applies the change of one accepted entry and counts the entry.
    pub fn apply_change(&mut self, change: Change) {
        match change {
            Change::Genesis { origin, governance } => {
                self.origin = Some(origin);
                self.governance = Some(governance);
            }
            Change::Authority(a) => {
                self.authorities.insert(a.id.clone(), a);
            }
            Change::Record(r) => {
                self.records.insert(r.record.clone(), r);
            }
            Change::Repeated { .. } | Change::Index(_) => {}
        }
        self.size += 1;
    }

    /// The route question: every record whose `from` covers `from` on `date`
    /// and whose `to` covers `to` on `date` (or is `*`) that passes `filter`,
    /// with its status on `date`; records with no event effective by
    /// then are left out. Ordered by record id.
    pub fn route(
        &self,
        from: &Jurisdiction,
        to: &Jurisdiction,
        date: Date,
        filter: RouteFilter,
    ) -> Vec<RouteMatch<'_>> {
        self.records
            .values()
            .filter_map(|record| {
                record
                    .route_status(from, to, date, filter)
                    .map(|status| RouteMatch { record, status })
            })
            .collect()
    }
}
