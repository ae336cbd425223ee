//! Registry statements, version 1 and the additive version 2: what
//! authorities sign and the registry logs.
//!
//! Covers the data model of statements-v1 (see `docs/statements.md`):
//! - [`date`]: `YYYY-MM-DD` dates and RFC 3339 UTC timestamps.
//! - [`jurisdiction`]: jurisdiction codes, the EU/EEA membership tables, "covers".
//! - [`jcs`]: RFC 8785 canonical JSON, the form in which envelopes are logged.
//! - [`dsse`]: DSSE v1 envelopes: strict parsing, PAE, signing, verification.
//! - [`Statement`] (this module): the `genesis`, `authority`,
//!   `recognition` and (v2) `rule` payloads, parsed strictly (unknown fields rejected, every
//!   grammar checked) into validated types.
//! - [`status`]: the status of a record on a date, as a pure function.
//! - [`summary`]: a route answer's plain summary over recognitions and
//!   rules (v2).
//! - [`registry`]: the authority and record rules as pure functions over
//!   state (shared by the sequencer and the auditing client), and an
//!   in-memory [`registry::Registry`] that replays a whole log and answers
//!   route questions.
//!
//! Leaves out: storage, HTTP, clocks and randomness; inclusion proofs for
//! route answers (the server and client build them with [`crate::merkle`]);
//! and the reserved `index` kind, which is refused here: only the registry
//! appends index entries (`crate::map::index`).

pub mod admission;
pub mod date;
pub mod dsse;
mod error;
pub mod jcs;
pub mod jurisdiction;
pub mod registry;
pub mod status;
pub mod summary;
mod types;

use serde::{Deserialize, Serialize};

pub use date::{Date, DateError, Timestamp};
pub use error::{FieldProblem, StatementError};
pub use jurisdiction::{Destination, Group, Jurisdiction, JurisdictionError, JurisdictionKind};
pub use status::Status;
pub use summary::{Summary, Verdict};
pub use types::{
    double_option, vkey_list, Action, AppliesTo, AuthorityAction, AuthorityId, DataCategory,
    Governance, LegalReference, ListingData, Measure, Mechanism, Programme, RecordId, Requirement,
    RequiresListing, RuleTerms, Subject, Threshold,
};

use crate::note::{KeyKind, VerifierKey};

/// Kinds that are reserved: no one may submit them.
pub const RESERVED_KINDS: &[&str] = &["index"];

/// Most keys of one authority (`keys`).
pub const MAX_AUTHORITY_KEYS: usize = 16;
/// Most governance keys of a genesis (`governance.keys`).
pub const MAX_GOVERNANCE_KEYS: usize = 32;
/// Most jurisdictions in an authority's `competence` (every ISO 3166-1
/// code fits).
pub const MAX_COMPETENCE: usize = 300;
/// Most items of a recognition's `exclusions`.
pub const MAX_EXCLUSIONS: usize = 64;
/// Most items of a rule's `applies_to.categories` (each category once).
pub const MAX_CATEGORIES: usize = 16;
/// Most items of a rule's `applies_to.thresholds`.
pub const MAX_THRESHOLDS: usize = 8;
/// Most items of a rule's `satisfied_by`.
pub const MAX_SATISFIED_BY: usize = 32;
/// Most programmes of one authority (`programmes`, v2).
pub const MAX_PROGRAMMES: usize = 32;
/// Most items of each list of a listing's organisation (former names,
/// registers, covered entities).
pub const MAX_ORGANISATION_ITEMS: usize = 64;

/// A parsed, validated statement (the payload of a DSSE envelope).
// One statement per entry is parsed at a time; boxing the larger variants
// would only make matching and building statements clumsier.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Statement {
    /// `kind: genesis`: entry 0 of every log.
    Genesis(Genesis),
    /// `kind: authority`: enrol, update or retire an authority.
    Authority(AuthorityStatement),
    /// `kind: recognition`: an event in the life of a recognition record.
    Recognition(Recognition),
    /// `kind: rule` (statements v2): an event in the life of an outbound
    /// rule record.
    Rule(Rule),
    /// `kind: listing` (statements v2): an event in the life of an
    /// organisation's listing under a programme.
    Listing(Listing),
}

/// `kind: genesis`: fixes the log's origin and who may enrol authorities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Genesis {
    /// The log's origin (its checkpoint origin line).
    pub origin: String,
    /// The governance keys and threshold.
    pub governance: Governance,
    /// When it was signed.
    pub issued_at: Timestamp,
}

/// `kind: authority`: who may write.
///
/// `name`, `competence` and `keys` are required for `enroll` and `update`
/// and must be absent for `retire`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthorityStatement {
    /// `enroll`, `update` or `retire`.
    pub action: AuthorityAction,
    /// The authority's id.
    pub authority: AuthorityId,
    /// Its display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The jurisdictions whose outgoing transfers it may rule on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub competence: Option<Vec<Jurisdiction>>,
    /// Its whole key set, each named with the authority id.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_opt_vkeys"
    )]
    pub keys: Option<Vec<VerifierKey>>,
    /// v2: the origin of the one log this statement is for. When present it
    /// must be the log's origin, so the statement cannot be replayed into
    /// another log that shares governance keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
    /// v2: the programmes the authority administers (listings under them
    /// are its to sign), with the route each serves.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub programmes: Option<Vec<Programme>>,
    /// v2, `update` and `retire` only: the log index of the authority
    /// statement whose state this one replaces (the authority's current
    /// `set_at_index`). When present it must be current, so that an old
    /// decision can never be applied again after a later one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<u64>,
    /// When it was signed.
    pub issued_at: Timestamp,
}

fn serialize_opt_vkeys<S: serde::Serializer>(
    keys: &Option<Vec<VerifierKey>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match keys {
        Some(k) => vkey_list::serialize(k, s),
        None => s.serialize_none(),
    }
}

/// `kind: recognition`: one event in the life of a transfer recognition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recognition {
    /// The authority making the statement (signs with one of its current keys).
    pub authority: AuthorityId,
    /// The record this event belongs to.
    pub record: RecordId,
    /// What happens.
    pub action: Action,
    /// The transfer mechanism (fixed by the record's `granted` event).
    pub mechanism: Mechanism,
    /// Where data comes from (fixed by the record's `granted` event).
    pub from: Jurisdiction,
    /// Where data may go, or `*` (fixed by the record's `granted` event).
    pub to: Destination,
    /// What the recognition covers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// What it leaves out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclusions: Option<Vec<String>>,
    /// The organisation concerned, for BCRs and certifications.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<Subject>,
    /// v2: the recognition covers only organisations active on this
    /// programme for these kinds of data (fixed by the `granted` event).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requires_listing: Option<RequiresListing>,
    /// The instrument.
    pub legal_reference: LegalReference,
    /// The day the event takes effect.
    pub effective: Date,
    /// `None`: the field is absent (the expiry stays as earlier events set
    /// it); `Some(None)`: `null` (no expiry); `Some(Some(d))`: expires after `d`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    pub expires: Option<Option<Date>>,
    /// Free-text notes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// When it was signed.
    pub issued_at: Timestamp,
}

/// `kind: rule` (statements v2): one event in the life of a rule about data
/// leaving a jurisdiction: what it applies to, what it requires.
///
/// A rule record follows the recognition record rules (its first event is
/// `granted`, which fixes `from`, `to`, `requires`, `applies_to.categories`
/// and `satisfied_by`; the signer must be competent for `from`). Later
/// events may change the thresholds and the text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// The authority stating the rule.
    pub authority: AuthorityId,
    /// The rule's record.
    pub record: RecordId,
    /// What happens.
    pub action: Action,
    /// The jurisdiction the data leaves.
    pub from: Jurisdiction,
    /// Where the rule applies: `*`, a code or a group.
    pub to: Destination,
    /// What data it applies to.
    pub applies_to: AppliesTo,
    /// What it requires.
    pub requires: Requirement,
    /// The records that satisfy the requirement (a standard contract's
    /// recognition record, say).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub satisfied_by: Option<Vec<RecordId>>,
    /// What the rule says, in words (including what the vocabulary cannot).
    pub text: String,
    /// The instrument.
    pub legal_reference: LegalReference,
    /// The day the event takes effect.
    pub effective: Date,
    /// As a recognition's `expires`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    pub expires: Option<Option<Date>>,
    /// Free-text notes (the demo puts a source's confidence here).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// When it was signed.
    pub issued_at: Timestamp,
}

impl Rule {
    /// What the rule's record fixes at its grant.
    pub fn terms(&self) -> RuleTerms {
        RuleTerms {
            requires: self.requires,
            categories: self.applies_to.categories.clone(),
            satisfied_by: self.satisfied_by.clone().unwrap_or_default(),
        }
    }
}

/// An organisation as a listing names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organisation {
    /// The programme's own id for it (a record-id segment: `a-z`, `0-9`,
    /// `.`, `_`, `-`).
    pub programme_id: String,
    /// Its name.
    pub name: String,
    /// Names it was listed under before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub former_names: Vec<String>,
    /// Its ISO 17442 LEI, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lei: Option<String>,
    /// National register ids: `SCHEME:value`, as legal reference ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub registers: Vec<String>,
    /// Covered entities (subsidiaries) the listing extends to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub covered_entities: Vec<String>,
}

/// `kind: listing` (statements v2): a programme administrator states an
/// event of an organisation's listing under one of its programmes.
///
/// The record is `<programme>/<organisation.programme_id>`; its first
/// event is `listed`, which fixes the programme and the organisation's
/// programme id; `from` and `to` come from the programme as the signer's
/// enrolment states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listing {
    /// The programme administrator signing it.
    pub authority: AuthorityId,
    /// The programme (one of the signer's `programmes`).
    pub programme: RecordId,
    /// The listing's record.
    pub record: RecordId,
    /// `listed`, `recertified`, `scope_changed`, `lapsed`, `withdrawn`,
    /// `removed` or `reinstated`.
    pub action: Action,
    /// The organisation.
    pub organisation: Organisation,
    /// The kinds of data the listing covers from this event on.
    pub data: Vec<ListingData>,
    /// The day it takes effect.
    pub effective: Date,
    /// When the next recertification is due (information).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_due: Option<Date>,
    /// Why (`removed`, `withdrawn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Free-text notes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// When it was signed.
    pub issued_at: Timestamp,
}

/// The part of a recognition or rule statement that the record rules and
/// the status rule read ([`Statement::record_event`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordEvent<'a> {
    /// The signing authority.
    pub authority: &'a AuthorityId,
    /// The record.
    pub record: &'a RecordId,
    /// What happens.
    pub action: Action,
    /// Where data comes from.
    pub from: &'a Jurisdiction,
    /// Where it goes.
    pub to: &'a Destination,
    /// The day it takes effect.
    pub effective: Date,
    /// Its `expires`.
    pub expires: Option<Option<Date>>,
    /// A recognition's mechanism (`None` for a rule).
    pub mechanism: Option<Mechanism>,
    /// A rule's terms (`None` for a recognition).
    pub rule: Option<RuleTerms>,
    /// A recognition's `requires_listing`.
    pub requires_listing: Option<RequiresListing>,
}

impl Statement {
    /// Parses and validates a statement strictly (see the module docs).
    pub fn parse(bytes: &[u8]) -> Result<Statement, StatementError> {
        parse::parse(bytes)
    }

    /// The statement's `kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Statement::Genesis(_) => "genesis",
            Statement::Authority(_) => "authority",
            Statement::Recognition(_) => "recognition",
            Statement::Rule(_) => "rule",
            Statement::Listing(_) => "listing",
        }
    }

    /// The record event a `recognition` or `rule` states.
    pub fn record_event(&self) -> Option<RecordEvent<'_>> {
        match self {
            Statement::Recognition(r) => Some(RecordEvent {
                authority: &r.authority,
                record: &r.record,
                action: r.action,
                from: &r.from,
                to: &r.to,
                effective: r.effective,
                expires: r.expires,
                mechanism: Some(r.mechanism),
                rule: None,
                requires_listing: r.requires_listing.clone(),
            }),
            Statement::Rule(r) => Some(RecordEvent {
                authority: &r.authority,
                record: &r.record,
                action: r.action,
                from: &r.from,
                to: &r.to,
                effective: r.effective,
                expires: r.expires,
                mechanism: None,
                rule: Some(r.terms()),
                requires_listing: None,
            }),
            _ => None,
        }
    }

    /// The authority the statement names, if any: the subject of an
    /// `authority` statement, the author of a `recognition`.
    pub fn authority(&self) -> Option<&AuthorityId> {
        match self {
            Statement::Genesis(_) => None,
            Statement::Authority(a) => Some(&a.authority),
            Statement::Recognition(r) => Some(&r.authority),
            Statement::Rule(r) => Some(&r.authority),
            Statement::Listing(l) => Some(&l.authority),
        }
    }

    /// The record a `recognition` or `rule` belongs to.
    pub fn record(&self) -> Option<&RecordId> {
        match self {
            Statement::Recognition(r) => Some(&r.record),
            Statement::Rule(r) => Some(&r.record),
            Statement::Listing(l) => Some(&l.record),
            _ => None,
        }
    }

    /// The log origin a v2 statement is bound to (`log`), if it names one.
    pub fn log(&self) -> Option<&str> {
        match self {
            Statement::Genesis(g) => Some(&g.origin),
            Statement::Authority(a) => a.log.as_deref(),
            Statement::Recognition(_) | Statement::Rule(_) | Statement::Listing(_) => None,
        }
    }

    /// The statement's `issued_at`.
    pub fn issued_at(&self) -> &Timestamp {
        match self {
            Statement::Genesis(g) => &g.issued_at,
            Statement::Authority(a) => &a.issued_at,
            Statement::Recognition(r) => &r.issued_at,
            Statement::Rule(r) => &r.issued_at,
            Statement::Listing(l) => &l.issued_at,
        }
    }

    /// Serialises the statement as compact JSON and checks that the result
    /// parses back as this same statement, so a tool never signs a payload
    /// the registry would refuse. Use the result as the DSSE payload.
    pub fn to_payload(&self) -> Result<Vec<u8>, StatementError> {
        let bytes = serde_json::to_vec(self).map_err(|e| StatementError::Json {
            detail: e.to_string(),
        })?;
        let back = Statement::parse(&bytes)?;
        if &back != self {
            return Err(StatementError::Json {
                detail: "the statement does not survive a JSON round trip".to_owned(),
            });
        }
        Ok(bytes)
    }
}

/// Refuses a list longer than `max` before any of its items is looked at.
fn check_len(field: &str, found: usize, max: usize) -> Result<(), StatementError> {
    if found > max {
        return Err(StatementError::field(
            field,
            FieldProblem::TooMany { max, found },
        ));
    }
    Ok(())
}

/// Validates a list of vkeys: non-empty, Ed25519, no key or public key twice,
/// and (for authorities) every key named `name`.
fn check_keys(
    field: &str,
    raw: &[String],
    name: Option<&AuthorityId>,
    max: usize,
) -> Result<Vec<VerifierKey>, StatementError> {
    if raw.is_empty() {
        return Err(StatementError::field(field, FieldProblem::EmptyList));
    }
    check_len(field, raw.len(), max)?;
    // Linear duplicate checks: keyids and public keys seen so far.
    let mut seen_ids = std::collections::HashSet::with_capacity(raw.len());
    let mut seen_keys = std::collections::HashSet::with_capacity(raw.len());
    let mut keys: Vec<VerifierKey> = Vec::with_capacity(raw.len());
    for (i, s) in raw.iter().enumerate() {
        let at = format!("{field}[{i}]");
        let k = VerifierKey::parse(s).map_err(|e| {
            StatementError::field(
                &at,
                FieldProblem::VerifierKey {
                    value: s.clone(),
                    reason: e.to_string(),
                },
            )
        })?;
        if k.kind() != KeyKind::Ed25519 {
            return Err(StatementError::field(
                &at,
                FieldProblem::NotEd25519 { value: s.clone() },
            ));
        }
        if let Some(id) = name {
            if k.name() != id.as_str() {
                return Err(StatementError::field(
                    &at,
                    FieldProblem::KeyNameNotAuthority {
                        key: s.clone(),
                        name: k.name().to_owned(),
                        authority: id.to_string(),
                    },
                ));
            }
        }
        if !seen_ids.insert(k.keyid()) || !seen_keys.insert(k.public_key_bytes().to_vec()) {
            return Err(StatementError::field(
                &at,
                FieldProblem::DuplicateKey { key: s.clone() },
            ));
        }
        keys.push(k);
    }
    Ok(keys)
}

mod parse {
    //! The strict parser: serde reads the wire shape into plain strings
    //! (rejecting unknown, missing and repeated fields), then each field is
    //! validated with a structured error naming it.

    use super::types::{
        check_legal_reference_id, check_lei, check_line, check_origin, check_sha256, check_text,
        check_url,
    };
    use super::*;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawGenesis {
        #[allow(dead_code)]
        kind: String,
        origin: String,
        governance: RawGovernance,
        issued_at: String,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawGovernance {
        keys: Vec<String>,
        threshold: u64,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawAuthority {
        #[allow(dead_code)]
        kind: String,
        action: String,
        authority: String,
        name: Option<String>,
        competence: Option<Vec<String>>,
        keys: Option<Vec<String>>,
        log: Option<String>,
        programmes: Option<Vec<RawProgramme>>,
        supersedes: Option<u64>,
        issued_at: String,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawProgramme {
        id: String,
        name: String,
        from: String,
        to: String,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawRequiresListing {
        programme: String,
        data: Vec<String>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawListing {
        #[allow(dead_code)]
        kind: String,
        authority: String,
        programme: String,
        record: String,
        action: String,
        organisation: RawOrganisation,
        data: Vec<String>,
        effective: String,
        next_due: Option<String>,
        reason: Option<String>,
        notes: Option<String>,
        issued_at: String,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawOrganisation {
        programme_id: String,
        name: String,
        #[serde(default)]
        former_names: Vec<String>,
        lei: Option<String>,
        #[serde(default)]
        registers: Vec<String>,
        #[serde(default)]
        covered_entities: Vec<String>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawRecognition {
        #[allow(dead_code)]
        kind: String,
        authority: String,
        record: String,
        action: String,
        mechanism: String,
        from: String,
        to: String,
        scope: Option<String>,
        exclusions: Option<Vec<String>>,
        subject: Option<RawSubject>,
        requires_listing: Option<RawRequiresListing>,
        legal_reference: RawLegalReference,
        effective: String,
        #[serde(default, with = "double_option")]
        expires: Option<Option<String>>,
        notes: Option<String>,
        issued_at: String,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawRule {
        #[allow(dead_code)]
        kind: String,
        authority: String,
        record: String,
        action: String,
        from: String,
        to: String,
        applies_to: RawAppliesTo,
        requires: String,
        satisfied_by: Option<Vec<String>>,
        text: String,
        legal_reference: RawLegalReference,
        effective: String,
        #[serde(default, with = "double_option")]
        expires: Option<Option<String>>,
        notes: Option<String>,
        issued_at: String,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawAppliesTo {
        categories: Vec<String>,
        thresholds: Option<Vec<RawThreshold>>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawThreshold {
        measure: String,
        at_least: u64,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawSubject {
        name: String,
        lei: Option<String>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawLegalReference {
        id: String,
        title: String,
        url: Option<String>,
        sha256: Option<String>,
    }

    fn schema(kind: &'static str) -> impl Fn(serde_json::Error) -> StatementError {
        move |e| StatementError::Schema {
            kind,
            detail: e.to_string(),
        }
    }

    fn f<T, P: Into<FieldProblem>>(field: &str, r: Result<T, P>) -> Result<T, StatementError> {
        r.map_err(|p| StatementError::field(field, p))
    }

    fn timestamp(s: &str) -> Result<Timestamp, StatementError> {
        f("issued_at", Timestamp::parse(s))
    }

    /// serde's derived struct parsers also accept a JSON array (fields by
    /// position); a statement and its nested objects must be JSON objects.
    fn require_objects(
        kind: &'static str,
        obj: &serde_json::Map<String, serde_json::Value>,
        nested: &[&str],
    ) -> Result<(), StatementError> {
        for field in nested {
            match obj.get(*field) {
                None | Some(serde_json::Value::Object(_)) => {}
                Some(serde_json::Value::Null) if *field == "subject" => {}
                Some(_) => {
                    return Err(StatementError::Schema {
                        kind,
                        detail: format!("`{field}` must be a JSON object"),
                    })
                }
            }
        }
        Ok(())
    }

    /// `applies_to.thresholds` items must be JSON objects too.
    fn require_threshold_objects(
        obj: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<(), StatementError> {
        let items = obj
            .get("applies_to")
            .and_then(|a| a.get("thresholds"))
            .and_then(serde_json::Value::as_array);
        if items.is_some_and(|l| l.iter().any(|t| !t.is_object())) {
            return Err(StatementError::Schema {
                kind: "rule",
                detail: "every item of `applies_to.thresholds` must be a JSON object".to_owned(),
            });
        }
        Ok(())
    }

    pub(super) fn parse(bytes: &[u8]) -> Result<Statement, StatementError> {
        let json = |detail: String| StatementError::Json { detail };
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| json(e.to_string()))?;
        let obj = value
            .as_object()
            .ok_or_else(|| json("the top level is not a JSON object".to_owned()))?;
        let kind = match obj.get("kind") {
            Some(serde_json::Value::String(k)) => k.as_str(),
            Some(_) => return Err(json("`kind` is not a string".to_owned())),
            None => return Err(json("missing field `kind`".to_owned())),
        };
        // The typed parsers below read the bytes again, so that repeated
        // fields (which a `Value` silently merges) are refused.
        match kind {
            "genesis" => {
                require_objects("genesis", obj, &["governance"])?;
                genesis(serde_json::from_slice(bytes).map_err(schema("genesis"))?)
            }
            "authority" => authority(serde_json::from_slice(bytes).map_err(schema("authority"))?),
            "recognition" => {
                require_objects(
                    "recognition",
                    obj,
                    &["legal_reference", "subject", "requires_listing"],
                )?;
                recognition(serde_json::from_slice(bytes).map_err(schema("recognition"))?)
            }
            "listing" => {
                require_objects("listing", obj, &["organisation"])?;
                listing(serde_json::from_slice(bytes).map_err(schema("listing"))?)
            }
            "rule" => {
                require_objects("rule", obj, &["legal_reference", "applies_to"])?;
                require_threshold_objects(obj)?;
                rule(serde_json::from_slice(bytes).map_err(schema("rule"))?)
            }
            k if RESERVED_KINDS.contains(&k) => {
                Err(StatementError::ReservedKind { kind: k.to_owned() })
            }
            k => Err(StatementError::UnknownKind { kind: k.to_owned() }),
        }
    }

    fn genesis(raw: RawGenesis) -> Result<Statement, StatementError> {
        f("origin", check_origin(&raw.origin))?;
        let keys = check_keys(
            "governance.keys",
            &raw.governance.keys,
            None,
            MAX_GOVERNANCE_KEYS,
        )?;
        let t = raw.governance.threshold;
        let threshold = usize::try_from(t)
            .ok()
            .filter(|n| (1..=keys.len()).contains(n))
            .ok_or_else(|| {
                StatementError::field(
                    "governance.threshold",
                    FieldProblem::Threshold {
                        threshold: t,
                        keys: keys.len(),
                    },
                )
            })?;
        Ok(Statement::Genesis(Genesis {
            origin: raw.origin,
            governance: Governance { keys, threshold },
            issued_at: timestamp(&raw.issued_at)?,
        }))
    }

    fn authority(raw: RawAuthority) -> Result<Statement, StatementError> {
        let action = f("action", AuthorityAction::new(&raw.action))?;
        let authority = f("authority", AuthorityId::new(&raw.authority))?;
        if let Some(log) = &raw.log {
            f("log", check_origin(log))?;
        }
        if action == AuthorityAction::Enroll && raw.supersedes.is_some() {
            return Err(StatementError::field(
                "supersedes",
                FieldProblem::NotAllowedForAction {
                    action: action.as_str(),
                },
            ));
        }
        let (name, competence, keys) = match action {
            AuthorityAction::Retire => {
                for (field, present) in [
                    ("name", raw.name.is_some()),
                    ("competence", raw.competence.is_some()),
                    ("keys", raw.keys.is_some()),
                ] {
                    if present {
                        return Err(StatementError::field(
                            field,
                            FieldProblem::NotAllowedForAction {
                                action: action.as_str(),
                            },
                        ));
                    }
                }
                (None, None, None)
            }
            AuthorityAction::Enroll | AuthorityAction::Update => {
                let required = |field: &str| {
                    StatementError::field(
                        field,
                        FieldProblem::RequiredForAction {
                            action: action.as_str(),
                        },
                    )
                };
                let name = raw.name.ok_or_else(|| required("name"))?;
                f("name", check_line(&name))?;
                let raw_competence = raw.competence.ok_or_else(|| required("competence"))?;
                // A programme administrator may have no competence over
                // any jurisdiction's outbound transfers (v2).
                if raw_competence.is_empty() && raw.programmes.is_none() {
                    return Err(StatementError::field("competence", FieldProblem::EmptyList));
                }
                check_len("competence", raw_competence.len(), MAX_COMPETENCE)?;
                let mut competence: Vec<Jurisdiction> = Vec::with_capacity(raw_competence.len());
                let mut seen = std::collections::HashSet::with_capacity(raw_competence.len());
                for (i, c) in raw_competence.iter().enumerate() {
                    let at = format!("competence[{i}]");
                    let j = f(&at, Jurisdiction::new(c))?;
                    if !seen.insert(c.as_str()) {
                        return Err(StatementError::field(
                            &at,
                            FieldProblem::Duplicate { value: c.clone() },
                        ));
                    }
                    competence.push(j);
                }
                let raw_keys = raw.keys.ok_or_else(|| required("keys"))?;
                let keys = check_keys("keys", &raw_keys, Some(&authority), MAX_AUTHORITY_KEYS)?;
                (Some(name), Some(competence), Some(keys))
            }
        };
        let programmes = match raw.programmes {
            None => None,
            Some(_) if action == AuthorityAction::Retire => {
                return Err(StatementError::field(
                    "programmes",
                    FieldProblem::NotAllowedForAction {
                        action: action.as_str(),
                    },
                ));
            }
            Some(list) => {
                if list.is_empty() {
                    return Err(StatementError::field("programmes", FieldProblem::EmptyList));
                }
                check_len("programmes", list.len(), MAX_PROGRAMMES)?;
                let mut out: Vec<Programme> = Vec::with_capacity(list.len());
                for (i, p) in list.into_iter().enumerate() {
                    let at = |f: &str| format!("programmes[{i}].{f}");
                    let id = f(&at("id"), RecordId::new(&p.id))?;
                    if id.first_segment() != authority.as_str() {
                        return Err(StatementError::field(
                            at("id"),
                            FieldProblem::ProgrammeNotOwned {
                                value: p.id.clone(),
                                authority: authority.to_string(),
                            },
                        ));
                    }
                    if out.iter().any(|q| q.id == id) {
                        return Err(StatementError::field(
                            at("id"),
                            FieldProblem::Duplicate {
                                value: p.id.clone(),
                            },
                        ));
                    }
                    f(&at("name"), check_line(&p.name))?;
                    let from = f(&at("from"), Jurisdiction::new(&p.from))?;
                    let to = f(&at("to"), Destination::new(&p.to))?;
                    out.push(Programme {
                        id,
                        name: p.name,
                        from,
                        to,
                    });
                }
                Some(out)
            }
        };
        Ok(Statement::Authority(AuthorityStatement {
            action,
            authority,
            name,
            competence,
            keys,
            programmes,
            log: raw.log,
            supersedes: raw.supersedes,
            issued_at: timestamp(&raw.issued_at)?,
        }))
    }

    fn recognition(raw: RawRecognition) -> Result<Statement, StatementError> {
        let authority = f("authority", AuthorityId::new(&raw.authority))?;
        let record = f("record", RecordId::new(&raw.record))?;
        let action = f("action", Action::new(&raw.action))?;
        not_a_listing_action("recognition", action)?;
        let mechanism = f("mechanism", Mechanism::new(&raw.mechanism))?;
        let from = f("from", Jurisdiction::new(&raw.from))?;
        let to = f("to", Destination::new(&raw.to))?;
        let requires_listing = match raw.requires_listing {
            None => None,
            Some(r) => Some(RequiresListing {
                programme: f("requires_listing.programme", RecordId::new(&r.programme))?,
                data: listing_data("requires_listing.data", &r.data)?,
            }),
        };
        if let Some(s) = &raw.scope {
            f("scope", check_text(s))?;
        }
        if let Some(list) = &raw.exclusions {
            if list.is_empty() {
                return Err(StatementError::field("exclusions", FieldProblem::EmptyList));
            }
            check_len("exclusions", list.len(), MAX_EXCLUSIONS)?;
            for (i, s) in list.iter().enumerate() {
                f(&format!("exclusions[{i}]"), check_text(s))?;
            }
        }
        let subject = match raw.subject {
            None => None,
            Some(s) => {
                f("subject.name", check_line(&s.name))?;
                if let Some(lei) = &s.lei {
                    f("subject.lei", check_lei(lei))?;
                }
                Some(Subject {
                    name: s.name,
                    lei: s.lei,
                })
            }
        };
        let legal_reference = legal_reference(raw.legal_reference)?;
        let (effective, expires) = dates(&raw.effective, raw.expires)?;
        if let Some(n) = &raw.notes {
            f("notes", check_text(n))?;
        }
        Ok(Statement::Recognition(Recognition {
            authority,
            record,
            action,
            mechanism,
            from,
            to,
            scope: raw.scope,
            exclusions: raw.exclusions,
            subject,
            requires_listing,
            legal_reference,
            effective,
            expires,
            notes: raw.notes,
            issued_at: timestamp(&raw.issued_at)?,
        }))
    }

    /// Recognitions and rules take the recognition actions (`reinstated`
    /// is shared with listings).
    fn not_a_listing_action(kind: &'static str, action: Action) -> Result<(), StatementError> {
        if action.is_listing_action() && action != Action::Reinstated {
            return Err(StatementError::field(
                "action",
                FieldProblem::ActionNotForKind {
                    action: action.as_str().to_owned(),
                    kind,
                    allowed: "granted, amended, renewed, suspended, reinstated, invalidated, revoked, expired",
                },
            ));
        }
        Ok(())
    }

    /// A non-empty list of listing data kinds, none twice.
    fn listing_data(field: &str, raw: &[String]) -> Result<Vec<ListingData>, StatementError> {
        if raw.is_empty() {
            return Err(StatementError::field(field, FieldProblem::EmptyList));
        }
        let mut out: Vec<ListingData> = Vec::with_capacity(raw.len());
        for (i, d) in raw.iter().enumerate() {
            let at = format!("{field}[{i}]");
            let v = f(&at, ListingData::new(d))?;
            if out.contains(&v) {
                return Err(StatementError::field(
                    &at,
                    FieldProblem::Duplicate { value: d.clone() },
                ));
            }
            out.push(v);
        }
        Ok(out)
    }

    /// A list of one-line texts, at most [`MAX_ORGANISATION_ITEMS`].
    fn lines(field: &str, raw: &[String]) -> Result<(), StatementError> {
        check_len(field, raw.len(), MAX_ORGANISATION_ITEMS)?;
        for (i, s) in raw.iter().enumerate() {
            f(&format!("{field}[{i}]"), check_line(s))?;
        }
        Ok(())
    }

    fn listing(raw: RawListing) -> Result<Statement, StatementError> {
        let authority = f("authority", AuthorityId::new(&raw.authority))?;
        let programme = f("programme", RecordId::new(&raw.programme))?;
        let action = f("action", Action::new(&raw.action))?;
        if !action.is_listing_action() {
            return Err(StatementError::field(
                "action",
                FieldProblem::ActionNotForKind {
                    action: action.as_str().to_owned(),
                    kind: "listing",
                    allowed:
                        "listed, recertified, scope_changed, lapsed, withdrawn, removed, reinstated",
                },
            ));
        }
        let o = raw.organisation;
        let segment_ok = (1..=64).contains(&o.programme_id.len())
            && o.programme_id.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            })
            && o.programme_id != "."
            && o.programme_id != "..";
        let expected = format!("{programme}/{}", o.programme_id);
        if !segment_ok {
            return Err(StatementError::field(
                "organisation.programme_id",
                FieldProblem::RecordId {
                    value: o.programme_id.clone(),
                },
            ));
        }
        let record = f("record", RecordId::new(&raw.record))?;
        if record.as_str() != expected {
            return Err(StatementError::field(
                "record",
                FieldProblem::ListingRecordId { expected },
            ));
        }
        f("organisation.name", check_line(&o.name))?;
        lines("organisation.former_names", &o.former_names)?;
        lines("organisation.covered_entities", &o.covered_entities)?;
        check_len(
            "organisation.registers",
            o.registers.len(),
            MAX_ORGANISATION_ITEMS,
        )?;
        for (i, r) in o.registers.iter().enumerate() {
            f(
                &format!("organisation.registers[{i}]"),
                check_legal_reference_id(r),
            )?;
        }
        if let Some(lei) = &o.lei {
            f("organisation.lei", check_lei(lei))?;
        }
        let data = listing_data("data", &raw.data)?;
        let effective = f("effective", Date::parse(&raw.effective))?;
        let next_due = match &raw.next_due {
            None => None,
            Some(s) => Some(f("next_due", Date::parse(s))?),
        };
        if let Some(r) = &raw.reason {
            f("reason", check_text(r))?;
        }
        if let Some(n) = &raw.notes {
            f("notes", check_text(n))?;
        }
        Ok(Statement::Listing(Listing {
            authority,
            programme,
            record,
            action,
            organisation: Organisation {
                programme_id: o.programme_id,
                name: o.name,
                former_names: o.former_names,
                lei: o.lei,
                registers: o.registers,
                covered_entities: o.covered_entities,
            },
            data,
            effective,
            next_due,
            reason: raw.reason,
            notes: raw.notes,
            issued_at: timestamp(&raw.issued_at)?,
        }))
    }

    fn legal_reference(lr: RawLegalReference) -> Result<LegalReference, StatementError> {
        f("legal_reference.id", check_legal_reference_id(&lr.id))?;
        f("legal_reference.title", check_line(&lr.title))?;
        if let Some(u) = &lr.url {
            f("legal_reference.url", check_url(u))?;
        }
        if let Some(h) = &lr.sha256 {
            f("legal_reference.sha256", check_sha256(h))?;
        }
        Ok(LegalReference {
            id: lr.id,
            title: lr.title,
            url: lr.url,
            sha256: lr.sha256,
        })
    }

    /// `effective` and `expires` (not before `effective`).
    #[allow(clippy::type_complexity)]
    fn dates(
        effective: &str,
        expires: Option<Option<String>>,
    ) -> Result<(Date, Option<Option<Date>>), StatementError> {
        let effective = f("effective", Date::parse(effective))?;
        let expires = match expires {
            None => None,
            Some(None) => Some(None),
            Some(Some(s)) => {
                let d = f("expires", Date::parse(&s))?;
                if d < effective {
                    return Err(StatementError::field(
                        "expires",
                        FieldProblem::ExpiresBeforeEffective {
                            expires: d,
                            effective,
                        },
                    ));
                }
                Some(Some(d))
            }
        };
        Ok((effective, expires))
    }

    fn rule(raw: RawRule) -> Result<Statement, StatementError> {
        let authority = f("authority", AuthorityId::new(&raw.authority))?;
        let record = f("record", RecordId::new(&raw.record))?;
        let action = f("action", Action::new(&raw.action))?;
        not_a_listing_action("rule", action)?;
        let from = f("from", Jurisdiction::new(&raw.from))?;
        let to = f("to", Destination::new(&raw.to))?;
        let raw_categories = &raw.applies_to.categories;
        if raw_categories.is_empty() {
            return Err(StatementError::field(
                "applies_to.categories",
                FieldProblem::EmptyList,
            ));
        }
        check_len(
            "applies_to.categories",
            raw_categories.len(),
            MAX_CATEGORIES,
        )?;
        let mut categories: Vec<DataCategory> = Vec::with_capacity(raw_categories.len());
        for (i, c) in raw_categories.iter().enumerate() {
            let at = format!("applies_to.categories[{i}]");
            let category = f(&at, DataCategory::new(c))?;
            if categories.contains(&category) {
                return Err(StatementError::field(
                    &at,
                    FieldProblem::Duplicate { value: c.clone() },
                ));
            }
            categories.push(category);
        }
        let thresholds = match raw.applies_to.thresholds {
            None => None,
            Some(list) => {
                if list.is_empty() {
                    return Err(StatementError::field(
                        "applies_to.thresholds",
                        FieldProblem::EmptyList,
                    ));
                }
                check_len("applies_to.thresholds", list.len(), MAX_THRESHOLDS)?;
                let mut out: Vec<Threshold> = Vec::with_capacity(list.len());
                for (i, t) in list.iter().enumerate() {
                    let measure = f(
                        &format!("applies_to.thresholds[{i}].measure"),
                        Measure::new(&t.measure),
                    )?;
                    if t.at_least == 0 {
                        return Err(StatementError::field(
                            format!("applies_to.thresholds[{i}].at_least"),
                            FieldProblem::ZeroThreshold,
                        ));
                    }
                    out.push(Threshold {
                        measure,
                        at_least: t.at_least,
                    });
                }
                Some(out)
            }
        };
        let requires = f("requires", Requirement::new(&raw.requires))?;
        let satisfied_by = match raw.satisfied_by {
            None => None,
            Some(list) => {
                if list.is_empty() {
                    return Err(StatementError::field(
                        "satisfied_by",
                        FieldProblem::EmptyList,
                    ));
                }
                check_len("satisfied_by", list.len(), MAX_SATISFIED_BY)?;
                let mut ids: Vec<RecordId> = Vec::with_capacity(list.len());
                for (i, s) in list.iter().enumerate() {
                    let at = format!("satisfied_by[{i}]");
                    let id = f(&at, RecordId::new(s))?;
                    if id == record {
                        return Err(StatementError::field(&at, FieldProblem::SelfReference));
                    }
                    if ids.contains(&id) {
                        return Err(StatementError::field(
                            &at,
                            FieldProblem::Duplicate { value: s.clone() },
                        ));
                    }
                    ids.push(id);
                }
                Some(ids)
            }
        };
        f("text", check_text(&raw.text))?;
        let legal_reference = legal_reference(raw.legal_reference)?;
        let (effective, expires) = dates(&raw.effective, raw.expires)?;
        if let Some(n) = &raw.notes {
            f("notes", check_text(n))?;
        }
        Ok(Statement::Rule(Rule {
            authority,
            record,
            action,
            from,
            to,
            applies_to: AppliesTo {
                categories,
                thresholds,
            },
            requires,
            satisfied_by,
            text: raw.text,
            legal_reference,
            effective,
            expires,
            notes: raw.notes,
            issued_at: timestamp(&raw.issued_at)?,
        }))
    }
}
