//! The small validated values statements are made of.
//!
//! Covers: authority and record ids, the `action` and `mechanism` enums, the
//! legal reference and subject objects, governance, the text rules for
//! free-text fields, and the serde helpers that write keys as vkey strings.
//!
//! Leaves out: whole statements and their parsing ([`super::Statement`]).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::note::VerifierKey;

use super::error::FieldProblem;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $min:expr, $max:expr, $allowed:expr, $problem:ident) => {
        string_id!($(#[$doc])* $name, $min, $max, $allowed, $problem, |_: &str| Ok(()));
    };
    ($(#[$doc:meta])* $name:ident, $min:expr, $max:expr, $allowed:expr, $problem:ident, $extra:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Validates the id.
            pub fn new(s: &str) -> Result<Self, FieldProblem> {
                let ok = ($min..=$max).contains(&s.len()) && s.bytes().all($allowed);
                if ok {
                    let extra: fn(&str) -> Result<(), FieldProblem> = $extra;
                    extra(s)?;
                    Ok($name(s.to_owned()))
                } else {
                    Err(FieldProblem::$problem { value: s.to_owned() })
                }
            }

            /// The id as written.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = FieldProblem;
            fn from_str(s: &str) -> Result<Self, FieldProblem> {
                $name::new(s)
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::new(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

string_id!(
    /// An authority id: 2 to 64 characters of `a-z`, `0-9`, `.`, `-` (`eu.ec`).
    /// It is also the key name of every key of the authority.
    AuthorityId,
    2,
    64,
    |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-',
    AuthorityId
);

string_id!(
    /// A record id: 3 to 128 characters of `a-z`, `0-9`, `.`, `_`, `-`, `/`
    /// (`eu.ec/adequacy/jp`), in `/`-separated segments none of which is
    /// empty, `.` or `..` (so no leading, trailing or doubled `/`), as ids
    /// appear in URL paths. A new record's first segment must be the id of
    /// the authority that grants it (a registry rule, `check_rules`).
    RecordId,
    3,
    128,
    |b: u8| b.is_ascii_lowercase()
        || b.is_ascii_digit()
        || b == b'.'
        || b == b'_'
        || b == b'-'
        || b == b'/',
    RecordId,
    |s: &str| {
        if s.split('/').any(|seg| seg.is_empty() || seg == "." || seg == "..") {
            Err(FieldProblem::RecordIdSegments {
                value: s.to_owned(),
            })
        } else {
            Ok(())
        }
    }
);

impl RecordId {
    /// The first `/`-separated segment (by the registry rule for new
    /// records, the granting authority's id).
    pub fn first_segment(&self) -> &str {
        self.0.split('/').next().unwrap_or("")
    }
}

macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident, $problem:ident, { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every value, in the spec's order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value as written in JSON.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// Parses the JSON spelling.
            pub fn new(s: &str) -> Result<Self, FieldProblem> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(FieldProblem::$problem {
                        value: s.to_owned(),
                        allowed: [$($text),+].join(", "),
                    }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = FieldProblem;
            fn from_str(s: &str) -> Result<Self, FieldProblem> {
                $name::new(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::new(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

string_enum!(
    /// The `action` of a recognition event.
    Action, UnknownAction, {
        /// `granted`: the record comes into force; always its first event.
        Granted = "granted",
        /// `amended`: changed, still in force.
        Amended = "amended",
        /// `renewed`: confirmed or extended, still in force.
        Renewed = "renewed",
        /// `suspended`: not in force for now.
        Suspended = "suspended",
        /// `reinstated`: back in force after a suspension.
        Reinstated = "reinstated",
        /// `invalidated`: ended by a court or another authority.
        Invalidated = "invalidated",
        /// `revoked`: ended by its author.
        Revoked = "revoked",
        /// `expired`: ended by lapse of time.
        Expired = "expired",
        /// Listings (v2): `listed`, the organisation joins the programme;
        /// always a listing's first event.
        Listed = "listed",
        /// Listings: `recertified`, the annual recertification.
        Recertified = "recertified",
        /// Listings: `scope_changed`, listed for other kinds of data.
        ScopeChanged = "scope_changed",
        /// Listings: `lapsed`, inactive: may not receive new data, still
        /// bound for data already received.
        Lapsed = "lapsed",
        /// Listings: `withdrawn` by the organisation.
        Withdrawn = "withdrawn",
        /// Listings: `removed` by the administrator (with a `reason`).
        Removed = "removed",
    }
);

impl Action {
    /// Whether the record is in force after this event (unless past its
    /// expiry): `granted`, `amended`, `renewed`, `reinstated`, and for
    /// listings `listed`, `recertified`, `scope_changed`.
    pub fn keeps_in_force(self) -> bool {
        matches!(
            self,
            Action::Granted
                | Action::Amended
                | Action::Renewed
                | Action::Reinstated
                | Action::Listed
                | Action::Recertified
                | Action::ScopeChanged
        )
    }

    /// Whether the action opens a record (its first event): `granted`,
    /// or `listed` for a listing.
    pub fn opens_record(self) -> bool {
        matches!(self, Action::Granted | Action::Listed)
    }

    /// Whether a listing (v2) may take this action: `listed`,
    /// `recertified`, `scope_changed`, `lapsed`, `withdrawn`, `removed`,
    /// `reinstated`; recognitions and rules take the others.
    pub fn is_listing_action(self) -> bool {
        matches!(
            self,
            Action::Listed
                | Action::Recertified
                | Action::ScopeChanged
                | Action::Lapsed
                | Action::Withdrawn
                | Action::Removed
                | Action::Reinstated
        )
    }
}

string_enum!(
    /// The `action` of an authority statement.
    AuthorityAction, UnknownAuthorityAction, {
        /// `enroll`: a new authority id.
        Enroll = "enroll",
        /// `update`: replaces name, competence and the whole key set.
        Update = "update",
        /// `retire`: no further statements accepted from the authority.
        Retire = "retire",
    }
);

string_enum!(
    /// The transfer `mechanism` a record recognises.
    Mechanism, UnknownMechanism, {
        /// An adequacy decision.
        Adequacy = "adequacy",
        /// A data bridge (the United Kingdom's adequacy).
        DataBridge = "data_bridge",
        /// A designation.
        Designation = "designation",
        /// Standard contractual clauses.
        Scc = "scc",
        /// Binding corporate rules.
        Bcr = "bcr",
        /// A certification mechanism.
        Certification = "certification",
        /// An approved code of conduct.
        CodeOfConduct = "code_of_conduct",
        /// APEC Cross-Border Privacy Rules.
        Cbpr = "cbpr",
        /// A data privacy framework.
        Dpf = "dpf",
        /// Anything else.
        Other = "other",
    }
);

string_enum!(
    /// A category of data a rule applies to (`kind: rule`, `applies_to`):
    /// a small, written vocabulary (docs/statements.md, "Rules"). What it
    /// cannot say goes in the rule's `text`.
    DataCategory, UnknownDataCategory, {
        /// Personal data (personal information) in general.
        Personal = "personal",
        /// Sensitive (special-category) personal data.
        SensitivePersonal = "sensitive_personal",
        /// Data a law calls "important data" (China's Data Security Law).
        ImportantData = "important_data",
        /// Data a law calls "core data", the stricter tier of important data.
        CoreData = "core_data",
        /// Health data.
        Health = "health",
        /// Financial data.
        Financial = "financial",
        /// Geolocation data.
        Geolocation = "geolocation",
        /// Government data.
        Government = "government",
        /// Non-personal data in general.
        NonPersonal = "non_personal",
    }
);

impl DataCategory {
    /// Whether a rule on `self` applies to data of category `asked`: the
    /// same category, or `asked` is a narrower tier of it (sensitive
    /// personal data is personal data; core data is important data). The
    /// one home of this relation: the route filter and its completeness
    /// check both use it.
    pub fn covers(self, asked: DataCategory) -> bool {
        self == asked
            || matches!(
                (self, asked),
                (DataCategory::Personal, DataCategory::SensitivePersonal)
                    | (DataCategory::ImportantData, DataCategory::CoreData)
            )
    }
}

string_enum!(
    /// What a rule requires of data leaving its jurisdiction (`kind: rule`,
    /// `requires`).
    Requirement, UnknownRequirement, {
        /// The transfer is prohibited.
        Prohibited = "prohibited",
        /// A prior assessment by an authority (a security assessment).
        PriorAssessment = "prior_assessment",
        /// A prior approval or authorisation.
        PriorApproval = "prior_approval",
        /// A standard contract must be concluded (and, where the law says,
        /// filed).
        StandardContract = "standard_contract",
        /// A certification is required.
        Certification = "certification",
        /// Registration or filing with an authority.
        Registration = "registration",
        /// Notification of an authority.
        Notification = "notification",
        /// The data subject's consent.
        Consent = "consent",
        /// A copy must stay in the jurisdiction.
        LocalCopy = "local_copy",
        /// The data must be stored in the jurisdiction (localisation).
        LocalStorage = "local_storage",
        /// A recognised basis (the records in `satisfied_by`, or any
        /// recognition in force on the route when it lists none).
        Recognition = "recognition",
    }
);

impl Requirement {
    /// Whether the requirement, unmet, restricts the transfer (rather than
    /// attaching a condition): a prohibition, or an assessment or approval
    /// that must come first.
    pub fn restricts(self) -> bool {
        matches!(
            self,
            Requirement::Prohibited | Requirement::PriorAssessment | Requirement::PriorApproval
        )
    }
}

string_enum!(
    /// What a rule's volume threshold counts (`applies_to.thresholds`).
    Measure, UnknownMeasure, {
        /// Individuals whose personal data is transferred.
        Individuals = "individuals",
        /// Individuals whose sensitive personal data is transferred.
        SensitiveIndividuals = "sensitive_individuals",
        /// Records.
        Records = "records",
    }
);

/// A volume threshold: the rule applies from `at_least` of `measure`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    /// What is counted.
    pub measure: Measure,
    /// From how many the rule applies (at least 1).
    pub at_least: u64,
}

/// What a rule applies to (`applies_to`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppliesTo {
    /// The data categories, at least one, none twice.
    pub categories: Vec<DataCategory>,
    /// Volume thresholds, where the law has them; absent: whatever the
    /// volume (or thresholds the vocabulary cannot state, in `text`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thresholds: Option<Vec<Threshold>>,
}

/// What a rule record's `granted` event fixes beyond `from` and `to`
/// (later events must repeat it): the requirement, the categories and the
/// records that satisfy it. Kept in the record head so that the route
/// filter, the summary and the completeness check read it without the
/// entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleTerms {
    /// What the rule requires.
    pub requires: Requirement,
    /// The data categories it applies to.
    pub categories: Vec<DataCategory>,
    /// The records that satisfy it, if it names any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub satisfied_by: Vec<RecordId>,
}

impl RuleTerms {
    /// Whether the rule applies to data of category `asked`
    /// ([`DataCategory::covers`]).
    pub fn applies_to(&self, asked: DataCategory) -> bool {
        self.categories.iter().any(|c| c.covers(asked))
    }
}

string_enum!(
    /// What kind of data a listing covers (`scope.data`), in the DPF List's
    /// terms.
    ListingData, UnknownListingData, {
        /// Human-resources data.
        Hr = "hr",
        /// Data other than human-resources data.
        NonHr = "non_hr",
    }
);

/// A programme an authority administers (authority statements v2,
/// `programmes`): its id, name, and the route it serves. Listings under it
/// take their `from` and `to` from here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Programme {
    /// The programme id, a record-id-shaped name under the authority
    /// (`us.doc/us-doc-dpf-eu-2023`); listings are `<id>/<programme_id>`.
    pub id: RecordId,
    /// Its name.
    pub name: String,
    /// Where the data its listed organisations receive comes from.
    pub from: super::Jurisdiction,
    /// Where those organisations are.
    pub to: super::Destination,
}

/// A recognition that covers only organisations active on a programme for
/// that kind of data (recognitions v2, `requires_listing`): the EU-US DPF
/// decision, the UK Extension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequiresListing {
    /// The programme.
    pub programme: RecordId,
    /// The kinds of data the listing must cover.
    pub data: Vec<ListingData>,
}

/// The keys allowed to enrol authorities, and how many must sign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Governance {
    /// Governance keys (Ed25519 signed-note verifier keys), no two alike.
    #[serde(with = "vkey_list")]
    pub keys: Vec<VerifierKey>,
    /// How many distinct governance keys must sign (1 to `keys.len()`).
    pub threshold: usize,
}

/// The instrument a recognition event rests on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegalReference {
    /// `SCHEME:value`, e.g. `CELEX:32019D0419`.
    pub id: String,
    /// The instrument's title.
    pub title: String,
    /// Where to read it (`https://` or `http://`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// SHA-256 of the document, 64 lowercase hex digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// The organisation a BCR or certification concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    /// The organisation's name.
    pub name: String,
    /// Its ISO 17442 Legal Entity Identifier, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lei: Option<String>,
}

/// Checks `SCHEME:value`: the scheme an uppercase letter then up to 15 of
/// `A-Z`, `0-9`, `_`, `-`; the value 1 to 256 visible ASCII characters.
pub(crate) fn check_legal_reference_id(s: &str) -> Result<(), FieldProblem> {
    let bad = || FieldProblem::LegalReferenceId {
        value: s.to_owned(),
    };
    let (scheme, value) = s.split_once(':').ok_or_else(bad)?;
    let sb = scheme.as_bytes();
    let scheme_ok = (1..=16).contains(&sb.len())
        && sb[0].is_ascii_uppercase()
        && sb
            .iter()
            .all(|&c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_' || c == b'-');
    let value_ok = (1..=256).contains(&value.len()) && value.bytes().all(|c| c.is_ascii_graphic());
    if scheme_ok && value_ok {
        Ok(())
    } else {
        Err(bad())
    }
}

/// Checks a URL loosely: `https://` or `http://`, then 1 to 2,040 visible
/// ASCII characters (percent-encode anything else).
pub(crate) fn check_url(s: &str) -> Result<(), FieldProblem> {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    match rest {
        Some(r) if (1..=2040).contains(&r.len()) && r.bytes().all(|c| c.is_ascii_graphic()) => {
            Ok(())
        }
        _ => Err(FieldProblem::Url {
            value: s.to_owned(),
        }),
    }
}

/// Checks a SHA-256 hex digest: exactly 64 lowercase hex digits.
pub(crate) fn check_sha256(s: &str) -> Result<(), FieldProblem> {
    if s.len() == 64
        && s.bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
    {
        Ok(())
    } else {
        Err(FieldProblem::Sha256 {
            value: s.to_owned(),
        })
    }
}

/// Checks an ISO 17442 LEI: 20 characters of `A-Z0-9`, the last two digits,
/// and the ISO 7064 MOD 97-10 check (the number, letters as 10..35, mod 97 is 1).
pub(crate) fn check_lei(s: &str) -> Result<(), FieldProblem> {
    let bad = |reason: &'static str| FieldProblem::Lei {
        value: s.to_owned(),
        reason,
    };
    let b = s.as_bytes();
    if b.len() != 20
        || !b
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        return Err(bad("an LEI is 20 characters of A-Z and 0-9"));
    }
    if !b[18..].iter().all(u8::is_ascii_digit) {
        return Err(bad("the last two characters of an LEI are check digits"));
    }
    let mut rem: u32 = 0;
    for &c in b {
        let v = if c.is_ascii_digit() {
            u32::from(c - b'0')
        } else {
            u32::from(c - b'A') + 10
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    if rem == 1 {
        Ok(())
    } else {
        Err(bad("the check digits do not match (ISO 7064 MOD 97-10)"))
    }
}

/// Checks single-line text (names, titles): not blank (see [`is_blank`]), no
/// control characters, no bidirectional controls, zero-width characters, or
/// line and paragraph separators.
pub(crate) fn check_line(s: &str) -> Result<(), FieldProblem> {
    if is_blank(s) {
        return Err(FieldProblem::Blank);
    }
    if s.chars().any(char::is_control) {
        return Err(FieldProblem::ControlCharacter { multiline: false });
    }
    for c in s.chars() {
        let what = if is_bidi_control(c) {
            BIDI
        } else if is_zero_width(c) {
            "a zero-width character, which cannot be seen"
        } else if matches!(c, '\u{2028}' | '\u{2029}') {
            "a line or paragraph separator (it is a single line)"
        } else {
            continue;
        };
        return Err(FieldProblem::HiddenCharacter { character: c, what });
    }
    Ok(())
}

/// Checks free text (scope, exclusions, notes): not blank (see
/// [`is_blank`]), no control characters other than line feed, no
/// bidirectional controls, no line or paragraph separators. Zero-width
/// joiners stay allowed here: some scripts and emoji need them.
pub(crate) fn check_text(s: &str) -> Result<(), FieldProblem> {
    if is_blank(s) {
        return Err(FieldProblem::Blank);
    }
    if s.chars().any(|c| c.is_control() && c != '\n') {
        return Err(FieldProblem::ControlCharacter { multiline: true });
    }
    for c in s.chars() {
        let what = if is_bidi_control(c) {
            BIDI
        } else if matches!(c, '\u{2028}' | '\u{2029}') {
            "a line or paragraph separator (use a line feed)"
        } else {
            continue;
        };
        return Err(FieldProblem::HiddenCharacter { character: c, what });
    }
    Ok(())
}

const BIDI: &str = "a bidirectional control, which reorders how the text around it is shown";

/// Unicode's Bidi_Control characters: ALM, LRM, RLM, the embeddings and
/// overrides U+202A to U+202E, and the isolates U+2066 to U+2069.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Zero-width space, non-joiner and joiner, word joiner, and the zero-width
/// no-break space (byte order mark).
fn is_zero_width(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}')
}

/// Blank: nothing but invisible characters, that is Unicode White_Space
/// (U+00A0 and U+3000 included) and Default_Ignorable_Code_Point (Unicode
/// 15.1: soft hyphen, zero-width and format characters, fillers, variation
/// selectors, tags). The empty string is blank.
fn is_blank(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_whitespace() || is_default_ignorable(c))
}

/// Unicode Default_Ignorable_Code_Point (DerivedCoreProperties.txt, 15.1).
fn is_default_ignorable(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}'..='\u{1160}' | '\u{17B4}'..='\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{FFF0}'..='\u{FFF8}' | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E0FFF}')
}

/// Checks a log origin: 1 to 255 visible ASCII characters without '+', as
/// the log's signed-note key name must equal it.
pub(crate) fn check_origin(s: &str) -> Result<(), FieldProblem> {
    if (1..=255).contains(&s.len()) && s.bytes().all(|c| c.is_ascii_graphic() && c != b'+') {
        Ok(())
    } else {
        Err(FieldProblem::Origin {
            value: s.to_owned(),
        })
    }
}

/// Serde helper: a list of verifier keys as vkey strings.
pub mod vkey_list {
    use super::*;

    /// Writes each key as its vkey string.
    pub fn serialize<S: Serializer>(keys: &[VerifierKey], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(keys.iter().map(|k| k.to_string()))
    }

    /// Reads vkey strings (strictly, as [`VerifierKey::parse`]).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<VerifierKey>, D::Error> {
        let v = Vec::<String>::deserialize(d)?;
        v.iter()
            .map(|s| VerifierKey::parse(s).map_err(serde::de::Error::custom))
            .collect()
    }
}

/// Serde helper for `Option<Option<T>>`: absent is `None`, `null` is
/// `Some(None)`. Use with `#[serde(default, skip_serializing_if = "Option::is_none")]`.
pub mod double_option {
    use super::*;

    /// Writes `Some(None)` as `null` and `Some(Some(v))` as `v`.
    pub fn serialize<S: Serializer, T: Serialize>(
        v: &Option<Option<T>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match v {
            Some(inner) => inner.serialize(s),
            None => s.serialize_none(),
        }
    }

    /// Reads a present field: `null` as `Some(None)`.
    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(AuthorityId::new("eu.ec").is_ok());
        assert!(AuthorityId::new("ab").is_ok());
        assert!(AuthorityId::new(&"a".repeat(64)).is_ok());
        for bad in ["a", "EU.ec", "eu_ec", "eu/ec", "eu ec", "éu"] {
            assert!(AuthorityId::new(bad).is_err(), "{bad}");
        }
        assert!(AuthorityId::new(&"a".repeat(65)).is_err());
        assert!(RecordId::new("eu.ec/adequacy/jp").is_ok());
        assert!(RecordId::new("a_b").is_ok());
        assert!(RecordId::new(&"a".repeat(128)).is_ok());
        for bad in ["ab", "Eu.ec/x", "eu.ec/x y", "eu.ec:x"] {
            assert!(RecordId::new(bad).is_err(), "{bad}");
        }
        assert!(RecordId::new(&"a".repeat(129)).is_err());
    }

    #[test]
    fn enums() {
        assert_eq!(Action::new("granted"), Ok(Action::Granted));
        assert!(Action::new("Granted").is_err());
        assert_eq!(
            Mechanism::new("code_of_conduct"),
            Ok(Mechanism::CodeOfConduct)
        );
        assert_eq!(Mechanism::ALL.len(), 10);
        assert_eq!(Action::ALL.len(), 14);
        assert_eq!(
            Action::ALL.iter().filter(|a| a.is_listing_action()).count(),
            7
        );
        assert!(AuthorityAction::new("delete").is_err());
    }

    #[test]
    fn legal_reference_ids() {
        for ok in [
            "CELEX:32019D0419",
            "ELI:http://data.europa.eu/eli/dec_impl/2019/419/oj",
            "ECLI:EU:C:2020:559",
            "UKSI:2019/419",
            "REF:Case-C-362/14",
        ] {
            assert!(check_legal_reference_id(ok).is_ok(), "{ok}");
        }
        for bad in ["CELEX", "celex:1", "CELEX:", ":x", "CELEX:a b", "1X:a"] {
            assert!(check_legal_reference_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lei_and_others() {
        // Real LEIs (GLEIF's own, and the Deutsche Bank AG one).
        assert!(check_lei("506700GE1G29325QX363").is_ok());
        assert!(check_lei("7LTWFZYICNSX8D621K86").is_ok());
        assert!(check_lei("7LTWFZYICNSX8D621K87").is_err());
        assert!(check_lei("7LTWFZYICNSX8D621K8").is_err());
        assert!(check_lei("7ltwfzyicnsx8d621k86").is_err());
        assert!(check_sha256(&"ab".repeat(32)).is_ok());
        assert!(check_sha256(&"AB".repeat(32)).is_err());
        assert!(check_url("https://eur-lex.europa.eu/eli/dec_impl/2019/419/oj").is_ok());
        assert!(check_url("ftp://x").is_err());
        assert!(check_url("https://a b").is_err());
        assert!(check_line("European Commission").is_ok());
        assert!(check_line("  ").is_err());
        assert!(check_line("a\nb").is_err());
        assert!(check_text("a\nb").is_ok());
        assert!(check_text("a\u{1b}[31m").is_err());
        assert!(check_line("\u{3000}").is_err() && check_line("\u{200B}\u{00A0}").is_err());
        assert!(
            check_line("Ma\u{0308}rta").is_ok(),
            "combining marks are visible"
        );
        assert!(check_origin("registry.example.org/log").is_ok());
        assert!(check_origin("a+b").is_err());
    }
}
