//! The plain summary of a route answer (statements v2): both sides, the
//! recognitions that allow a transfer and the exporting country's rules
//! that attach conditions to it or restrict it, as a pure function of the
//! answer's records and their statuses, so that the server, the client and
//! the explorer say the same thing.
//!
//! The rule (docs/statements.md, "Route summary"):
//! - Only records in force on the date count.
//! - A rule in force is *met* when a record it names in `satisfied_by` is in
//!   force on the route; a rule requiring `recognition` with no
//!   `satisfied_by` is met by any recognition in force on the route.
//! - Unmet rules whose requirement restricts ([`Requirement::restricts`]:
//!   prohibited, prior assessment, prior approval) make the verdict
//!   `restricted`; other unmet rules make it `conditions`.
//! - Otherwise a recognition in force (or a met rule) makes it `allowed`.
//! - Otherwise `none_in_force` when the route has records, none in force,
//!   and `no_information` when it has none: "nothing in the registry" is
//!   never "allowed".
//!
//! Leaves out: thresholds and texts (the answer's entries carry them; the
//! summary names the rules, a reader follows them), and organisation
//! listings (issue 16).

use serde::{Deserialize, Serialize};

use super::registry::RecordHead;
use super::status::Status;
use super::types::{RecordId, Requirement};

/// The verdict of a route summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// A recognised basis in force, and no rule in force left unmet.
    Allowed,
    /// Allowed only with conditions: rules in force that attach them.
    Conditions,
    /// Restricted: a prohibition, or an assessment or approval required.
    Restricted,
    /// The registry holds records on the route, none in force on the date.
    NoneInForce,
    /// The registry holds nothing on the route.
    NoInformation,
}

impl Verdict {
    /// The JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allowed => "allowed",
            Verdict::Conditions => "conditions",
            Verdict::Restricted => "restricted",
            Verdict::NoneInForce => "none_in_force",
            Verdict::NoInformation => "no_information",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rule in force and what it requires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleNote {
    /// The rule's record.
    pub record: RecordId,
    /// What it requires.
    pub requires: Requirement,
    /// The records in force that meet it (empty: unmet).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub met_by: Vec<RecordId>,
}

/// The summary of a route answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// The verdict.
    pub verdict: Verdict,
    /// Recognitions in force on the date.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recognised: Vec<RecordId>,
    /// Unmet rules in force that restrict.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restrictions: Vec<RuleNote>,
    /// Unmet rules in force that attach conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<RuleNote>,
    /// Rules in force that records in force meet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub met: Vec<RuleNote>,
}

impl Summary {
    /// The summary of these records with their statuses on the answer's
    /// date (any order; the lists come out ordered by record id).
    pub fn of<'a>(records: impl IntoIterator<Item = (&'a RecordHead, Status)>) -> Summary {
        let mut all: Vec<(&RecordHead, Status)> = records.into_iter().collect();
        all.sort_by(|a, b| a.0.record.cmp(&b.0.record));
        let in_force: Vec<&RecordHead> = all
            .iter()
            .filter(|(_, s)| *s == Status::InForce)
            .map(|(h, _)| *h)
            .collect();
        let recognised: Vec<RecordId> = in_force
            .iter()
            .filter(|h| !h.is_rule())
            .map(|h| h.record.clone())
            .collect();
        let (mut restrictions, mut conditions, mut met) = (Vec::new(), Vec::new(), Vec::new());
        for h in &in_force {
            let Some(terms) = &h.rule else { continue };
            let met_by: Vec<RecordId> =
                if terms.satisfied_by.is_empty() && terms.requires == Requirement::Recognition {
                    recognised.clone()
                } else {
                    terms
                        .satisfied_by
                        .iter()
                        .filter(|id| in_force.iter().any(|r| &r.record == *id))
                        .cloned()
                        .collect()
                };
            let note = RuleNote {
                record: h.record.clone(),
                requires: terms.requires,
                met_by,
            };
            if !note.met_by.is_empty() {
                met.push(note);
            } else if terms.requires.restricts() {
                restrictions.push(note);
            } else {
                conditions.push(note);
            }
        }
        let verdict = if !restrictions.is_empty() {
            Verdict::Restricted
        } else if !conditions.is_empty() {
            Verdict::Conditions
        } else if !recognised.is_empty() || !met.is_empty() {
            Verdict::Allowed
        } else if !all.is_empty() {
            Verdict::NoneInForce
        } else {
            Verdict::NoInformation
        };
        Summary {
            verdict,
            recognised,
            restrictions,
            conditions,
            met,
        }
    }

    /// The summary in words, one sentence per part.
    pub fn words(&self) -> String {
        let ids = |l: &[RecordId]| {
            l.iter()
                .map(RecordId::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let notes = |l: &[RuleNote]| {
            l.iter()
                .map(|n| format!("{} ({})", n.record, n.requires.as_str().replace('_', " ")))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let mut out = match self.verdict {
            Verdict::Allowed => "Allowed on a recognised basis.".to_owned(),
            Verdict::Conditions => "Allowed only with conditions.".to_owned(),
            Verdict::Restricted => "Restricted.".to_owned(),
            Verdict::NoneInForce => {
                "Not allowed on any basis in the registry: it holds records on this route, none in force on the date.".to_owned()
            }
            Verdict::NoInformation => {
                "No information: the registry holds nothing on this route (this is not an allowance).".to_owned()
            }
        };
        if !self.restrictions.is_empty() {
            out.push_str(&format!(
                " Restricted by {}, not shown met.",
                notes(&self.restrictions)
            ));
        }
        if !self.conditions.is_empty() {
            out.push_str(&format!(" Conditions: {}.", notes(&self.conditions)));
        }
        if !self.recognised.is_empty() {
            out.push_str(&format!(" Recognised: {}.", ids(&self.recognised)));
        }
        for n in &self.met {
            out.push_str(&format!(
                " {} ({}) is met by {}.",
                n.record,
                n.requires.as_str().replace('_', " "),
                ids(&n.met_by)
            ));
        }
        out
    }
}
