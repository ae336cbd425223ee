//! Why a statement was refused: one structured variant per rule, each
//! message naming the field and the rule (they go to users as HTTP 400
//! bodies). Rule errors of the registry itself are in [`super::registry`].

use super::date::{Date, DateError};
use super::jurisdiction::JurisdictionError;

/// A statement (the DSSE payload) that is not a valid statements-v1 statement.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StatementError {
    /// Not JSON, not an object, or no string `kind`.
    #[error("the statement is not a JSON object with a string `kind`: {detail}")]
    Json {
        /// What the JSON parser said.
        detail: String,
    },
    /// A `kind` this version does not know.
    #[error("unknown statement kind `{kind}`: expected `genesis`, `authority` or `recognition`")]
    UnknownKind {
        /// The `kind` given.
        kind: String,
    },
    /// A reserved `kind` (`index`), which no one can submit.
    #[error("statement kind `{kind}` is reserved for entries the registry appends itself; it cannot be submitted")]
    ReservedKind {
        /// The `kind` given.
        kind: String,
    },
    /// Unknown, missing or repeated field, or a value of the wrong JSON type.
    #[error("{kind} statement: {detail} (unknown fields are rejected, so that no one signs what the registry would ignore)")]
    Schema {
        /// The statement kind.
        kind: &'static str,
        /// What the JSON parser said, naming the field.
        detail: String,
    },
    /// A field whose value breaks its grammar or rule.
    #[error("`{field}`: {problem}")]
    Field {
        /// The field, as a path (`legal_reference.id`, `keys[1]`).
        field: String,
        /// What is wrong with it.
        problem: FieldProblem,
    },
}

impl StatementError {
    pub(crate) fn field(field: impl Into<String>, problem: impl Into<FieldProblem>) -> Self {
        StatementError::Field {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// What is wrong with one field's value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FieldProblem {
    /// A bad date or timestamp.
    #[error(transparent)]
    Date(#[from] DateError),
    /// A bad jurisdiction code.
    #[error(transparent)]
    Jurisdiction(#[from] JurisdictionError),
    /// Not an authority id.
    #[error("`{value}` is not an authority id: 2 to 64 characters of a-z, 0-9, '.' and '-'")]
    AuthorityId {
        /// The refused value.
        value: String,
    },
    /// Not a record id.
    #[error(
        "`{value}` is not a record id: 3 to 128 characters of a-z, 0-9, '.', '_', '-' and '/'"
    )]
    RecordId {
        /// The refused value.
        value: String,
    },
    /// Not a recognition action.
    #[error("unknown action `{value}`: expected one of {allowed}")]
    UnknownAction {
        /// The refused value.
        value: String,
        /// The allowed values.
        allowed: String,
    },
    /// Not an authority action.
    #[error("unknown action `{value}`: expected one of {allowed}")]
    UnknownAuthorityAction {
        /// The refused value.
        value: String,
        /// The allowed values.
        allowed: String,
    },
    /// Not a mechanism.
    #[error("unknown mechanism `{value}`: expected one of {allowed}")]
    UnknownMechanism {
        /// The refused value.
        value: String,
        /// The allowed values.
        allowed: String,
    },
    /// A rule cannot be satisfied by itself.
    #[error("a rule cannot name its own record in `satisfied_by`")]
    SelfReference,
    /// A threshold of zero says nothing.
    #[error("a threshold must be at least 1")]
    ZeroThreshold,
    /// A programme id must start with its administrator's id.
    #[error(
        "programme `{value}` must start with `{authority}/` (the authority that administers it)"
    )]
    ProgrammeNotOwned {
        /// The refused id.
        value: String,
        /// The authority.
        authority: String,
    },
    /// Not a listing data kind (`kind: listing`).
    #[error("unknown listing data kind `{value}`: expected one of {allowed}")]
    UnknownListingData {
        /// The refused value.
        value: String,
        /// The allowed values.
        allowed: String,
    },
    /// The action is not one this kind of statement takes.
    #[error("`{action}` is not an action of a {kind} (allowed: {allowed})")]
    ActionNotForKind {
        /// The action.
        action: String,
        /// The kind.
        kind: &'static str,
        /// The allowed actions.
        allowed: &'static str,
    },
    /// A listing's record id must be its programme's id and the
    /// organisation's programme id.
    #[error("a listing's record must be `{expected}` (the programme, then the organisation's programme_id)")]
    ListingRecordId {
        /// The expected id.
        expected: String,
    },
    /// Not a data category (`kind: rule`).
    #[error("unknown data category `{value}`: expected one of {allowed}")]
    UnknownDataCategory {
        /// The refused value.
        value: String,
        /// The allowed values.
        allowed: String,
    },
    /// Not a rule requirement (`kind: rule`).
    #[error("unknown requirement `{value}`: expected one of {allowed}")]
    UnknownRequirement {
        /// The refused value.
        value: String,
        /// The allowed values.
        allowed: String,
    },
    /// Not a threshold measure (`kind: rule`).
    #[error("unknown threshold measure `{value}`: expected one of {allowed}")]
    UnknownMeasure {
        /// The refused value.
        value: String,
        /// The allowed values.
        allowed: String,
    },
    /// Not a signed-note verifier key.
    #[error("`{value}` is not a signed-note verifier key name+hexid+base64(0x01||key): {reason}")]
    VerifierKey {
        /// The refused value.
        value: String,
        /// Why the key did not parse.
        reason: String,
    },
    /// A verifier key of another signature type (a witness cosignature key).
    #[error("`{value}` is not an Ed25519 signing key (signature type 0x01)")]
    NotEd25519 {
        /// The refused value.
        value: String,
    },
    /// An authority key whose name is not the authority id.
    #[error("key `{key}` is named `{name}`, but an authority's key name must equal its id `{authority}`")]
    KeyNameNotAuthority {
        /// The key string.
        key: String,
        /// The key's name.
        name: String,
        /// The authority id.
        authority: String,
    },
    /// The same key (or two keys with one public key) listed twice.
    #[error("key `{key}` is listed twice (or shares its public key with another listed key)")]
    DuplicateKey {
        /// The repeated key.
        key: String,
    },
    /// The same value listed twice.
    #[error("`{value}` is listed twice")]
    Duplicate {
        /// The repeated value.
        value: String,
    },
    /// An empty list.
    #[error("the list must not be empty (leave an optional field out instead)")]
    EmptyList,
    /// A list longer than its cap (docs/statements.md lists the caps).
    #[error("the list has {found} items; at most {max} are allowed")]
    TooMany {
        /// The cap.
        max: usize,
        /// How many were given.
        found: usize,
    },
    /// A record id with an empty, `.` or `..` segment, or a leading or
    /// trailing `/`.
    #[error("record id `{value}` has an empty, `.` or `..` segment (segments are separated by `/`, with none at either end)")]
    RecordIdSegments {
        /// The refused id.
        value: String,
    },
    /// A governance threshold outside 1..=number of keys.
    #[error("threshold {threshold} must be between 1 and the number of governance keys ({keys})")]
    Threshold {
        /// The threshold given.
        threshold: u64,
        /// How many keys are listed.
        keys: usize,
    },
    /// Not `SCHEME:value`.
    #[error("`{value}` is not SCHEME:value (scheme: an uppercase letter, then up to 15 of A-Z, 0-9, '_', '-'; value: 1 to 256 visible ASCII characters), e.g. CELEX:32019D0419")]
    LegalReferenceId {
        /// The refused value.
        value: String,
    },
    /// Not an http(s) URL.
    #[error("`{value}` is not an https:// or http:// URL of visible ASCII characters (percent-encode the rest)")]
    Url {
        /// The refused value.
        value: String,
    },
    /// Not a SHA-256 hex digest.
    #[error("`{value}` is not a SHA-256 digest: 64 lowercase hex digits")]
    Sha256 {
        /// The refused value.
        value: String,
    },
    /// Not an ISO 17442 LEI.
    #[error("`{value}` is not an ISO 17442 Legal Entity Identifier: {reason}")]
    Lei {
        /// The refused value.
        value: String,
        /// Which check failed.
        reason: &'static str,
    },
    /// Empty, or only white space and invisible (default-ignorable)
    /// characters such as U+00A0, U+3000 or U+200B.
    #[error("the text must not be empty or only white space and invisible characters")]
    Blank,
    /// A character that changes how text is shown without being seen: a
    /// bidirectional control (anywhere), a zero-width character (in
    /// single-line text), or a line or paragraph separator.
    #[error("the text must not contain U+{:04X}, {what}", u32::from(*.character))]
    HiddenCharacter {
        /// The refused character.
        character: char,
        /// What kind of character it is, and why it is refused.
        what: &'static str,
    },
    /// Control characters in text.
    #[error("the text must not contain control characters{}", control_rule(.multiline))]
    ControlCharacter {
        /// Whether line feeds are allowed in this field.
        multiline: bool,
    },
    /// Not a log origin.
    #[error("`{value}` is not a log origin: 1 to 255 visible ASCII characters without '+' (e.g. registry.example.org/log)")]
    Origin {
        /// The refused value.
        value: String,
    },
    /// `expires` before `effective`.
    #[error("expires {expires} is before effective {effective}")]
    ExpiresBeforeEffective {
        /// The `expires` date.
        expires: Date,
        /// The `effective` date.
        effective: Date,
    },
    /// A field the action needs is missing.
    #[error("required when action is `{action}`")]
    RequiredForAction {
        /// The action.
        action: &'static str,
    },
    /// A field the action does not use is present.
    #[error("not allowed when action is `{action}`: a retire statement names only the authority, so that no one signs what the registry would ignore")]
    NotAllowedForAction {
        /// The action.
        action: &'static str,
    },
}

fn control_rule(multiline: &bool) -> &'static str {
    if *multiline {
        " other than line feed"
    } else {
        " (it is a single line)"
    }
}
