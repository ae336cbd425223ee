//! Jurisdiction codes and the groups whose membership changes over time.
//!
//! Covers: [`Jurisdiction`], validated when built: an ISO 3166-1 alpha-2 code
//! that is officially assigned (`JP`; plus `XK`, Kosovo, which the EU and
//! others use), an ISO 3166-2 subdivision code (`AE-DU`: an assigned country
//! code, '-', one to three of `A-Z0-9`), an international organisation
//! (`IO:EPO`: `IO:` then 2 to 32 of `A-Z0-9-`, starting and ending with a
//! letter or digit), or a group, `EU` or `EEA`. [`Destination`] adds `*`
//! (any destination), which only a recognition's `to` may use.
//! The membership tables are exactly those of statements-v1 (the United
//! Kingdom counts in both groups until 2020-12-31), and [`Jurisdiction::covers`]
//! answers "does this code cover that one on that day".
//!
//! Leaves out: the ISO 3166-2 subdivision list itself (the suffix is checked
//! for form only), `UK` (not an ISO 3166-1 code: write `GB`), and territories
//! that have their own alpha-2 code but sit inside a member state for data
//! protection law (`AX`, `RE`, `GP`...): the tables list member states only.
//!
//! # What "covers" means
//! - A code covers itself (a group too: `EEA` covers `EEA`).
//! - A group covers the country codes that are its members on the day asked.
//! - `EEA` covers `EU` on every day: by the spec every EU member is an EEA
//!   member while it is one. `EU` does not cover `EEA` (Iceland, Norway and
//!   Liechtenstein are not in the EU), and no country covers a group
//!   (competence `DE` does not cover `from: EEA`).
//! - A country does not cover its subdivisions: subdivisions are in the model
//!   for zones with their own data law (`AE` does not cover `AE-DU`), and no
//!   group covers a subdivision either.
//!
//! The same relation answers both questions of the spec: whether an
//! authority's competence covers a recognition's `from`, and whether a
//! record's `from`/`to` covers the `X`/`Y` of a route question.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::date::Date;

/// Why a jurisdiction code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JurisdictionError {
    /// `*` where only a single jurisdiction is allowed (anywhere but `to`).
    #[error("`*` (any destination) is only allowed in a recognition's `to`")]
    AnyNotAllowed,
    /// Two letters of the right form, but not an assigned ISO 3166-1 code.
    #[error("`{value}` is not an assigned ISO 3166-1 alpha-2 country code")]
    UnknownCountry {
        /// The refused code.
        value: String,
    },
    /// Matches none of the accepted forms.
    #[error("`{value}` is not a jurisdiction code: expected an ISO 3166-1 alpha-2 code (JP), an ISO 3166-2 subdivision code (AE-DU), an international organisation (IO:EPO), or the group EU or EEA")]
    Syntax {
        /// The refused code.
        value: String,
    },
}

/// ISO 3166-1 alpha-2 codes officially assigned, plus `XK` (Kosovo).
const COUNTRIES: &[&str] = &[
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "XK", "YE", "YT", "ZA", "ZM", "ZW",
];

fn is_country(code: &str) -> bool {
    COUNTRIES.binary_search(&code).is_ok()
}

/// The groups of statements-v1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Group {
    /// The European Union, `EU`.
    Eu,
    /// The European Economic Area, `EEA`: the EU plus IS, NO and LI.
    Eea,
}

/// One membership: a country code, its first day, and its last day if it left.
struct Membership {
    code: &'static str,
    from: Date,
    until: Option<Date>,
}

const fn member(code: &'static str, y: u16, m: u8, d: u8) -> Membership {
    Membership {
        code,
        from: Date::ymd_unchecked(y, m, d),
        until: None,
    }
}

/// EU membership as statements-v1 lists it (GB to 2020-12-31, the end of the
/// transition period, "for transfer purposes").
const EU_MEMBERS: &[Membership] = &[
    member("BE", 1958, 1, 1),
    member("DE", 1958, 1, 1),
    member("FR", 1958, 1, 1),
    member("IT", 1958, 1, 1),
    member("LU", 1958, 1, 1),
    member("NL", 1958, 1, 1),
    member("DK", 1973, 1, 1),
    member("IE", 1973, 1, 1),
    Membership {
        code: "GB",
        from: Date::ymd_unchecked(1973, 1, 1),
        until: Some(Date::ymd_unchecked(2020, 12, 31)),
    },
    member("GR", 1981, 1, 1),
    member("ES", 1986, 1, 1),
    member("PT", 1986, 1, 1),
    member("AT", 1995, 1, 1),
    member("FI", 1995, 1, 1),
    member("SE", 1995, 1, 1),
    member("CY", 2004, 5, 1),
    member("CZ", 2004, 5, 1),
    member("EE", 2004, 5, 1),
    member("HU", 2004, 5, 1),
    member("LV", 2004, 5, 1),
    member("LT", 2004, 5, 1),
    member("MT", 2004, 5, 1),
    member("PL", 2004, 5, 1),
    member("SK", 2004, 5, 1),
    member("SI", 2004, 5, 1),
    member("BG", 2007, 1, 1),
    member("RO", 2007, 1, 1),
    member("HR", 2013, 7, 1),
];

/// EEA members that are not EU members.
const EEA_ONLY_MEMBERS: &[Membership] = &[
    member("IS", 1994, 1, 1),
    member("NO", 1994, 1, 1),
    member("LI", 1995, 5, 1),
];

fn in_table(table: &[Membership], code: &str, date: Date) -> bool {
    table
        .iter()
        .any(|m| m.code == code && m.from <= date && m.until.is_none_or(|u| date <= u))
}

impl Group {
    /// Every group of statements-v1.
    pub const ALL: [Group; 2] = [Group::Eu, Group::Eea];

    /// The group's code, `EU` or `EEA`.
    pub fn code(self) -> &'static str {
        match self {
            Group::Eu => "EU",
            Group::Eea => "EEA",
        }
    }

    /// Whether the country `code` is a member on `date`.
    pub fn has_member(self, code: &str, date: Date) -> bool {
        match self {
            Group::Eu => in_table(EU_MEMBERS, code, date),
            Group::Eea => {
                in_table(EU_MEMBERS, code, date) || in_table(EEA_ONLY_MEMBERS, code, date)
            }
        }
    }

    /// The member country codes on `date`, sorted.
    pub fn members_on(self, date: Date) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = EU_MEMBERS
            .iter()
            .chain(EEA_ONLY_MEMBERS)
            .map(|m| m.code)
            .filter(|c| self.has_member(c, date))
            .collect();
        v.sort_unstable();
        v
    }
}

/// One row of a membership table: country code, first day, last day.
pub type MembershipRow = (&'static str, Date, Option<Date>);

/// The membership tables as data, for copies that a test checks against
/// them (the explorer's in-browser verifier carries one): `EU`, then
/// `EEA_ONLY` (the EEA members outside the EU), each as (country code,
/// first day, last day if it left), in table order.
pub fn membership_tables() -> [(&'static str, Vec<MembershipRow>); 2] {
    let rows = |t: &[Membership]| t.iter().map(|m| (m.code, m.from, m.until)).collect();
    [
        ("EU", rows(EU_MEMBERS)),
        ("EEA_ONLY", rows(EEA_ONLY_MEMBERS)),
    ]
}

/// What kind of code a [`Jurisdiction`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JurisdictionKind {
    /// An ISO 3166-1 alpha-2 country code.
    Country,
    /// An ISO 3166-2 subdivision code.
    Subdivision,
    /// An `IO:` international organisation code.
    InternationalOrganisation,
    /// `EU` or `EEA`.
    Group(Group),
}

/// A validated jurisdiction code (never `*`; see [`Destination`]).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Jurisdiction(String);

fn classify(s: &str) -> Result<JurisdictionKind, JurisdictionError> {
    let syntax = || JurisdictionError::Syntax {
        value: s.to_owned(),
    };
    let upper_alnum = |c: u8| c.is_ascii_uppercase() || c.is_ascii_digit();
    match s {
        "*" => return Err(JurisdictionError::AnyNotAllowed),
        "EU" => return Ok(JurisdictionKind::Group(Group::Eu)),
        "EEA" => return Ok(JurisdictionKind::Group(Group::Eea)),
        _ => {}
    }
    if let Some(org) = s.strip_prefix("IO:") {
        let b = org.as_bytes();
        let ok = (2..=32).contains(&b.len())
            && b.iter().all(|&c| upper_alnum(c) || c == b'-')
            && b.first().is_some_and(|&c| upper_alnum(c))
            && b.last().is_some_and(|&c| upper_alnum(c));
        return if ok {
            Ok(JurisdictionKind::InternationalOrganisation)
        } else {
            Err(syntax())
        };
    }
    let b = s.as_bytes();
    if b.len() == 2 && b.iter().all(u8::is_ascii_uppercase) {
        return if is_country(s) {
            Ok(JurisdictionKind::Country)
        } else {
            Err(JurisdictionError::UnknownCountry {
                value: s.to_owned(),
            })
        };
    }
    if (4..=6).contains(&b.len())
        && b[2] == b'-'
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[3..].iter().all(|&c| upper_alnum(c))
    {
        let country = &s[..2];
        return if is_country(country) {
            Ok(JurisdictionKind::Subdivision)
        } else {
            Err(JurisdictionError::UnknownCountry {
                value: country.to_owned(),
            })
        };
    }
    Err(syntax())
}

impl Jurisdiction {
    /// Validates a code; `*` is refused with [`JurisdictionError::AnyNotAllowed`].
    pub fn new(code: &str) -> Result<Jurisdiction, JurisdictionError> {
        classify(code)?;
        Ok(Jurisdiction(code.to_owned()))
    }

    /// The code as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What kind of code this is.
    pub fn kind(&self) -> JurisdictionKind {
        // Validated on construction; the fallback is unreachable.
        classify(&self.0).unwrap_or(JurisdictionKind::Country)
    }

    /// The group, if this is `EU` or `EEA`.
    pub fn group(&self) -> Option<Group> {
        match self.0.as_str() {
            "EU" => Some(Group::Eu),
            "EEA" => Some(Group::Eea),
            _ => None,
        }
    }

    /// Whether `self` covers `other` on `date` (see the module docs): equal
    /// codes; a group and a country that is its member on `date`; `EEA` and `EU`.
    pub fn covers(&self, other: &Jurisdiction, date: Date) -> bool {
        if self == other {
            return true;
        }
        match (self.group(), other.kind()) {
            (Some(g), JurisdictionKind::Country) => g.has_member(other.as_str(), date),
            (Some(Group::Eea), JurisdictionKind::Group(Group::Eu)) => true,
            _ => false,
        }
    }
}

impl Jurisdiction {
    /// Every jurisdiction that covers `code` on `date`: exactly the `j`
    /// for which `j.covers(code, date)`, sorted and without repeats. This is
    /// how a map keyed by a record's `from` finds the records that answer a
    /// route question "from `code`" (`code` itself and each group that
    /// covers it that day), the counterpart of [`Destination::covering`].
    ///
    /// The candidates are `code` and every group, each kept only if
    /// [`Jurisdiction::covers`] says so: a code other than `code` covers it
    /// only if it is a group.
    pub fn covering(code: &Jurisdiction, date: Date) -> Vec<Jurisdiction> {
        let groups = Group::ALL.iter().map(|g| Jurisdiction(g.code().to_owned()));
        let mut out: Vec<Jurisdiction> = std::iter::once(code.clone())
            .chain(groups)
            .filter(|j| j.covers(code, date))
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

/// Coverage over time: how long a coverage lasts, for rules that must not
/// make something true past the end of it (an authority competent for `EU`
/// rules on `GB` only until 2020-12-31).
impl Jurisdiction {
    /// If `self` covers `other` on `date`, the last day of that unbroken
    /// coverage (`Some(None)`: no end in the membership tables); `None` if it
    /// does not cover it on `date`. Agrees with [`Jurisdiction::covers`] on
    /// `date`, by construction.
    pub fn covers_until(&self, other: &Jurisdiction, date: Date) -> Option<Option<Date>> {
        if !self.covers(other, date) {
            return None;
        }
        let (Some(g), JurisdictionKind::Country) = (self.group(), other.kind()) else {
            // Equal codes and EEA over EU: on every day.
            return Some(None);
        };
        let tables: &[&[Membership]] = match g {
            Group::Eu => &[EU_MEMBERS],
            Group::Eea => &[EU_MEMBERS, EEA_ONLY_MEMBERS],
        };
        // Follow the memberships that hold on `date` and any that continue
        // them on the next day (EU membership, then EEA-only, say).
        let mut end = date;
        loop {
            let next = tables
                .iter()
                .flat_map(|t| t.iter())
                .filter(|m| {
                    m.code == other.as_str() && m.from <= end && m.until.is_none_or(|u| end <= u)
                })
                .map(|m| m.until)
                .max_by(|a, b| match (a, b) {
                    (None, None) => std::cmp::Ordering::Equal,
                    (None, _) => std::cmp::Ordering::Greater,
                    (_, None) => std::cmp::Ordering::Less,
                    (Some(x), Some(y)) => x.cmp(y),
                });
            match next {
                Some(None) => return Some(None),
                Some(Some(u)) => match u.next_day() {
                    Some(d) if g.has_member(other.as_str(), d) => end = d,
                    _ => return Some(Some(u)),
                },
                // Unreachable: `covers` held on the first round, and each
                // later round starts on a day that `has_member` confirmed.
                None => return Some(Some(end)),
            }
        }
    }
}

impl fmt::Display for Jurisdiction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Jurisdiction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Jurisdiction({})", self.0)
    }
}

impl FromStr for Jurisdiction {
    type Err = JurisdictionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Jurisdiction::new(s)
    }
}

impl Serialize for Jurisdiction {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Jurisdiction {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Jurisdiction::new(&s).map_err(serde::de::Error::custom)
    }
}

/// A recognition's `to`: one jurisdiction, or `*` for any destination.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum Destination {
    /// `*`: any destination (standard contractual clauses, say).
    Any,
    /// One jurisdiction.
    Code(Jurisdiction),
}

impl Destination {
    /// Parses `*` or a jurisdiction code.
    pub fn new(s: &str) -> Result<Destination, JurisdictionError> {
        if s == "*" {
            Ok(Destination::Any)
        } else {
            Jurisdiction::new(s).map(Destination::Code)
        }
    }

    /// The code as written (`*` for any).
    pub fn as_str(&self) -> &str {
        match self {
            Destination::Any => "*",
            Destination::Code(j) => j.as_str(),
        }
    }

    /// `*` covers every jurisdiction; a code covers as [`Jurisdiction::covers`].
    pub fn covers(&self, other: &Jurisdiction, date: Date) -> bool {
        match self {
            Destination::Any => true,
            Destination::Code(j) => j.covers(other, date),
        }
    }

    /// Every destination that covers `code` on `date`: exactly the `d` for
    /// which `d.covers(code, date)`, sorted and without repeats. This is how
    /// an index keyed by a record's `to` finds the records that answer a
    /// route question "to `code`" (`*`, `code` itself, and each group that
    /// covers it that day: `EEA` for `EU`, `EU` and `EEA` for a member).
    ///
    /// The candidates are `*`, `code` and every group, each kept only if
    /// [`Destination::covers`] says so: by [`Jurisdiction::covers`] a code
    /// other than `code` covers it only if it is a group, so no destination
    /// outside the candidates can cover it.
    pub fn covering(code: &Jurisdiction, date: Date) -> Vec<Destination> {
        let groups = Group::ALL
            .iter()
            .map(|g| Destination::Code(Jurisdiction(g.code().to_owned())));
        let mut out: Vec<Destination> = [Destination::Any, Destination::Code(code.clone())]
            .into_iter()
            .chain(groups)
            .filter(|d| d.covers(code, date))
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Destination {
    type Err = JurisdictionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Destination::new(s)
    }
}

impl Serialize for Destination {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Destination {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Destination::new(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j(s: &str) -> Jurisdiction {
        Jurisdiction::new(s).unwrap()
    }
    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    #[test]
    fn country_table_is_sorted_and_complete() {
        assert!(COUNTRIES.windows(2).all(|w| w[0] < w[1]));
        // 249 assigned codes plus XK.
        assert_eq!(COUNTRIES.len(), 250);
    }

    #[test]
    fn validates_codes() {
        for ok in [
            "JP",
            "US",
            "GB",
            "AE-DU",
            "FR-75C",
            "IO:EPO",
            "IO:UN-OCHA",
            "EU",
            "EEA",
            "XK",
        ] {
            assert!(Jurisdiction::new(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            Jurisdiction::new("*"),
            Err(JurisdictionError::AnyNotAllowed)
        );
        assert!(matches!(
            Jurisdiction::new("UK"),
            Err(JurisdictionError::UnknownCountry { .. })
        ));
        assert!(matches!(
            Jurisdiction::new("ZZ-AB"),
            Err(JurisdictionError::UnknownCountry { .. })
        ));
        for bad in [
            "jp", "J", "JPN", "AE-", "AE-DUBA", "AE_DU", "IO:", "IO:E", "IO:epo", "IO:-EPO", "eea",
            " JP", "E U",
        ] {
            assert!(
                matches!(
                    Jurisdiction::new(bad),
                    Err(JurisdictionError::Syntax { .. })
                ),
                "{bad}"
            );
        }
        assert_eq!(Destination::new("*"), Ok(Destination::Any));
    }

    #[test]
    fn memberships() {
        assert!(Group::Eu.has_member("GB", d("2020-12-31")));
        assert!(!Group::Eu.has_member("GB", d("2021-01-01")));
        assert!(Group::Eea.has_member("GB", d("2020-12-31")));
        assert!(!Group::Eea.has_member("GB", d("2021-01-01")));
        assert!(!Group::Eu.has_member("GB", d("1972-12-31")));
        assert!(Group::Eu.has_member("HR", d("2013-07-01")));
        assert!(!Group::Eu.has_member("HR", d("2013-06-30")));
        assert!(Group::Eea.has_member("HR", d("2013-07-01")));
        assert!(Group::Eea.has_member("NO", d("1994-01-01")));
        assert!(!Group::Eu.has_member("NO", d("2024-01-01")));
        assert!(!Group::Eea.has_member("LI", d("1995-04-30")));
        assert!(Group::Eea.has_member("LI", d("1995-05-01")));
        assert_eq!(Group::Eu.members_on(d("2024-01-01")).len(), 27);
        assert_eq!(Group::Eea.members_on(d("2024-01-01")).len(), 30);
        assert_eq!(Group::Eu.members_on(d("2020-12-31")).len(), 28);
        assert_eq!(Group::Eu.members_on(d("1958-01-01")).len(), 6);
    }

    #[test]
    fn covers() {
        let day = d("2024-01-01");
        assert!(j("JP").covers(&j("JP"), day));
        assert!(j("EEA").covers(&j("EEA"), day));
        assert!(j("EEA").covers(&j("EU"), day));
        assert!(j("EEA").covers(&j("NO"), day));
        assert!(!j("EU").covers(&j("NO"), day));
        assert!(!j("EU").covers(&j("EEA"), day));
        assert!(!j("DE").covers(&j("EEA"), day));
        assert!(!j("DE").covers(&j("EU"), day));
        assert!(!j("AE").covers(&j("AE-DU"), day));
        assert!(!j("EU").covers(&j("FR-75C"), day));
        assert!(!j("EU").covers(&j("IO:EPO"), day));
        assert!(j("EU").covers(&j("GB"), d("2020-12-31")));
        assert!(!j("EU").covers(&j("GB"), d("2021-01-01")));
        assert!(Destination::Any.covers(&j("IO:EPO"), day));
        assert!(Destination::Code(j("EEA")).covers(&j("DE"), day));
    }

    /// Every code the tables know, both groups, and a subdivision and an
    /// organisation of each form.
    fn all_codes() -> Vec<Jurisdiction> {
        COUNTRIES
            .iter()
            .chain(&["EU", "EEA", "AE-DU", "FR-75C", "IO:EPO", "IO:UN-OCHA"])
            .map(|c| j(c))
            .collect()
    }

    #[test]
    fn covering_lists_exactly_the_destinations_that_cover() {
        let codes = all_codes();
        let mut dests: Vec<Destination> = codes.iter().cloned().map(Destination::Code).collect();
        dests.push(Destination::Any);
        // Each membership's first and last day and the days around them.
        let mut dates = vec![d("1957-12-31"), d("2024-01-01"), d("9999-12-31")];
        for m in EU_MEMBERS.iter().chain(EEA_ONLY_MEMBERS) {
            dates.push(m.from);
            dates.extend(m.from.prev_day());
            if let Some(u) = m.until {
                dates.push(u);
                dates.extend(u.next_day());
            }
        }
        dates.sort();
        dates.dedup();
        for &day in &dates {
            for c in &codes {
                let got = Destination::covering(c, day);
                let want: Vec<Destination> = {
                    let mut v: Vec<_> =
                        dests.iter().filter(|x| x.covers(c, day)).cloned().collect();
                    v.sort();
                    v
                };
                assert_eq!(got, want, "{c} on {day}");
                let got = Jurisdiction::covering(c, day);
                let mut want: Vec<Jurisdiction> =
                    codes.iter().filter(|x| x.covers(c, day)).cloned().collect();
                want.sort();
                assert_eq!(got, want, "from {c} on {day}");
            }
        }
        let froms = |c: &str, day: &str| -> Vec<String> {
            Jurisdiction::covering(&j(c), d(day))
                .iter()
                .map(|x| x.as_str().to_owned())
                .collect()
        };
        assert_eq!(froms("DE", "2024-01-01"), ["DE", "EEA", "EU"]);
        assert_eq!(froms("GB", "2021-01-01"), ["GB"]);
        assert_eq!(froms("EU", "2024-01-01"), ["EEA", "EU"]);
        let names = |c: &str, day: &str| -> Vec<String> {
            Destination::covering(&j(c), d(day))
                .iter()
                .map(|x| x.as_str().to_owned())
                .collect()
        };
        assert_eq!(names("EU", "2024-01-01"), ["*", "EEA", "EU"]);
        assert_eq!(names("EEA", "2024-01-01"), ["*", "EEA"]);
        assert_eq!(names("DE", "2024-01-01"), ["*", "DE", "EEA", "EU"]);
        assert_eq!(names("NO", "2024-01-01"), ["*", "EEA", "NO"]);
        assert_eq!(names("GB", "2020-12-31"), ["*", "EEA", "EU", "GB"]);
        assert_eq!(names("GB", "2021-01-01"), ["*", "GB"]);
        assert_eq!(names("AE-DU", "2024-01-01"), ["*", "AE-DU"]);
    }
}
