//! Counterparty answers (statements v2): "may data go from X to
//! organisation O in Y on D?", both layers at one checkpoint: the route
//! (recognitions and rules, proven complete) and, for every programme a
//! recognition on the route requires (`requires_listing`), the
//! organisation's listing under it, with its whole history proven complete,
//! or the map's proof that the programme never listed it.
//!
//! The verdict ([`CounterpartyVerdict::of`]), over the verified parts:
//! - **`listed`**: a recognition in force on the route requires a listing,
//!   and the organisation's listing is in force on the day and covers the
//!   kind of data asked about (`hr`, `non_hr`; any kind if none asked);
//! - otherwise **`other_basis`**: a recognition in force that needs no
//!   listing (standard clauses, BCRs) is on the route;
//! - otherwise **`none`**.
//!
//! Each listing-based basis also gets a reason in words: "listing active
//! but the framework is not in force (ended)", "lapsed: no new transfers;
//! obligations remain", "not listed", "listed, but not for hr data". The
//! route's own summary (rules) is beside it in `route.summary`.
//!
//! Leaves out: finding an organisation by name (the answer is by the
//! programme's id for it), and the route's rules in the verdict (they are in
//! the route summary, which a caller shows beside it).

use serde::{Deserialize, Serialize};

use crate::answer::{AnswerError, RecordAnswer, RouteAnswer, VerifiedRoute};
use crate::checkpoint::SignedCheckpoint;
use crate::map::complete::{Completeness, CompletenessError};
use crate::map::MapKey;
use crate::note::VerifierKey;
use crate::policy::Policy;
use crate::statement::registry::RecordHead;
use crate::statement::{Date, ListingData, RecordId, Status};

/// The answer to a counterparty question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CounterpartyAnswer {
    /// The organisation's id in the programmes (`organisation.programme_id`).
    pub org: String,
    /// The kind of data asked about, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<ListingData>,
    /// The route answer, with its completeness part; its checkpoint is the
    /// answer's.
    pub route: RouteAnswer,
    /// One part per programme a recognition on the route requires.
    pub listings: Vec<ListingPart>,
}

/// The organisation's listing under one programme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListingPart {
    /// The programme.
    pub programme: String,
    /// The listing record's history (with its status on the day), when the
    /// programme ever listed the organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<RecordAnswer>,
    /// The map proof for `record <programme>/<org>`: its events, or its
    /// absence.
    pub completeness: Completeness,
}

/// Why a counterparty answer does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CounterpartyError {
    /// The route part, or a listing's entries, do not verify.
    #[error("{0}")]
    Answer(#[from] AnswerError),
    /// A part is not proven complete.
    #[error("{0}")]
    Incomplete(#[from] CompletenessError),
    /// The parts do not fit together.
    #[error("counterparty answer: {0}")]
    Inconsistent(String),
}

/// One listing-based basis of the route, judged for the organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListingBasis {
    /// The recognition that requires a listing.
    pub recognition: RecordId,
    /// Its status on the day (`None`: not yet in effect).
    pub recognition_status: Option<Status>,
    /// The programme.
    pub programme: RecordId,
    /// The listing's status on the day (`None`: never listed, or not yet).
    pub listing_status: Option<Status>,
    /// The kinds of data the listing covers on the day.
    pub listing_data: Vec<ListingData>,
    /// Whether this basis allows the transfer.
    pub applies: bool,
    /// Why, in words.
    pub reason: String,
}

/// The verdict over a verified counterparty answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CounterpartyVerdict {
    /// `listed`, `other_basis` or `none`.
    pub verdict: &'static str,
    /// The listing-based bases, each judged.
    pub bases: Vec<ListingBasis>,
    /// Recognitions in force that need no listing (fallbacks).
    pub other_bases: Vec<RecordId>,
}

/// A verified counterparty answer.
#[derive(Debug, Clone)]
pub struct VerifiedCounterparty {
    /// The route part, verified and proven complete.
    pub route: VerifiedRoute,
    /// Each programme's listing head (`None`: proven never listed).
    pub listings: Vec<(RecordId, Option<RecordHead>)>,
    /// The verdict.
    pub verdict: CounterpartyVerdict,
}

impl CounterpartyAnswer {
    /// Verifies both layers at the route's checkpoint: the route answer
    /// and its completeness, then for each programme the route's
    /// recognitions require (exactly those, each once) the listing's
    /// history and its completeness, or its proven absence; then computes
    /// the verdict.
    pub fn verify(
        &self,
        policy: &Policy,
        log_key: &VerifierKey,
    ) -> Result<VerifiedCounterparty, CounterpartyError> {
        let route = verify_route_part(&self.route, policy, log_key)?;
        self.verify_listings(route, log_key)
    }

    /// The second half of [`CounterpartyAnswer::verify`]: the listings
    /// against a route part already verified by [`verify_route_part`]
    /// (a batch that meets the same route answer again verifies it once).
    pub fn verify_listings(
        &self,
        route: VerifiedRoute,
        log_key: &VerifierKey,
    ) -> Result<VerifiedCounterparty, CounterpartyError> {
        let bad = |m: String| CounterpartyError::Inconsistent(m);
        let cp: &SignedCheckpoint = &route.checkpoint;
        let mut wanted: Vec<RecordId> = route
            .records
            .iter()
            .filter_map(|(h, _)| h.requires_listing.as_ref().map(|r| r.programme.clone()))
            .collect();
        wanted.sort();
        wanted.dedup();
        let mut given: Vec<&str> = self.listings.iter().map(|l| l.programme.as_str()).collect();
        given.sort_unstable();
        if !given
            .iter()
            .copied()
            .eq(wanted.iter().map(RecordId::as_str))
        {
            return Err(bad(format!(
                "the answer gives listings for [{}], the route's recognitions require [{}]",
                given.join(", "),
                wanted
                    .iter()
                    .map(RecordId::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let mut listings = Vec::with_capacity(self.listings.len());
        for part in &self.listings {
            let id = RecordId::new(&format!("{}/{}", part.programme, self.org))
                .map_err(|e| bad(format!("listing id: {e}")))?;
            let head = match &part.record {
                Some(r) => {
                    if r.record != id.as_str() {
                        return Err(bad(format!(
                            "the listing under {} is record {}, not {id}",
                            part.programme, r.record
                        )));
                    }
                    let head = r.verify(cp, Some(self.route.at))?;
                    if !head.is_listing() {
                        return Err(bad(format!("record {id} is not a listing")));
                    }
                    part.completeness.verify_record(cp, log_key, r)?;
                    Some(head)
                }
                None => {
                    part.completeness
                        .verify_absent(cp, log_key, &MapKey::Record(id.clone()))?;
                    None
                }
            };
            listings.push((id, head));
        }
        let verdict =
            CounterpartyVerdict::of(&route, &listings, &self.org, self.route.at, self.data);
        Ok(VerifiedCounterparty {
            route,
            listings,
            verdict,
        })
    }
}

/// The first half of [`CounterpartyAnswer::verify`]: the route part, its
/// checkpoint under `policy`, every proof, and its completeness.
pub fn verify_route_part(
    route: &RouteAnswer,
    policy: &Policy,
    log_key: &VerifierKey,
) -> Result<VerifiedRoute, CounterpartyError> {
    let verified = route.verify(policy)?;
    route
        .completeness
        .as_ref()
        .ok_or(CompletenessError::Missing)?
        .verify_route(&verified.checkpoint, log_key, route)?;
    Ok(verified)
}

impl CounterpartyVerdict {
    /// The verdict (module docs) over a verified route and listings.
    pub fn of(
        route: &VerifiedRoute,
        listings: &[(RecordId, Option<RecordHead>)],
        org: &str,
        at: Date,
        data: Option<ListingData>,
    ) -> CounterpartyVerdict {
        let mut bases = Vec::new();
        let mut other_bases = Vec::new();
        for (h, status) in &route.records {
            if h.is_rule() {
                continue;
            }
            let Some(req) = &h.requires_listing else {
                if *status == Status::InForce {
                    other_bases.push(h.record.clone());
                }
                continue;
            };
            let listing = listings
                .iter()
                .find(|(id, _)| id.as_str() == format!("{}/{org}", req.programme))
                .and_then(|(_, l)| l.as_ref());
            let listing_status = listing.and_then(|l| l.status_on(at));
            let listing_data = listing.map(|l| l.listing_data_on(at)).unwrap_or_default();
            let covers = match data {
                Some(d) => listing_data.contains(&d) && req.data.contains(&d),
                None => !listing_data.is_empty(),
            };
            let framework = *status == Status::InForce;
            let (applies, reason) = match (framework, listing_status) {
                (true, Some(Status::InForce)) if covers => (
                    true,
                    format!(
                        "{} is in force and the organisation is active on {}",
                        h.record, req.programme
                    ),
                ),
                (true, Some(Status::InForce)) => (
                    false,
                    format!(
                        "listed on {}, but not for {} data (listed for: {})",
                        req.programme,
                        data.map_or("any", |d| d.as_str()),
                        listing_data
                            .iter()
                            .map(|d| d.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ),
                (false, Some(Status::InForce)) => (
                    false,
                    format!(
                        "listing active but the framework is not in force ({} is {})",
                        h.record, status
                    ),
                ),
                (_, Some(Status::Inactive)) => (
                    false,
                    format!("lapsed on {}: no new transfers; obligations remain for data already received", req.programme),
                ),
                (_, Some(s)) => (
                    false,
                    format!("the listing on {} is {s} (withdrawn or removed)", req.programme),
                ),
                (_, None) => (false, format!("not listed on {}", req.programme)),
            };
            bases.push(ListingBasis {
                recognition: h.record.clone(),
                recognition_status: Some(*status),
                programme: req.programme.clone(),
                listing_status,
                listing_data,
                applies,
                reason,
            });
        }
        let verdict = if bases.iter().any(|b| b.applies) {
            "listed"
        } else if !other_bases.is_empty() {
            "other_basis"
        } else {
            "none"
        };
        CounterpartyVerdict {
            verdict,
            bases,
            other_bases,
        }
    }

    /// The verdict in words.
    pub fn words(&self) -> String {
        let mut out = match self.verdict {
            "listed" => "Allowed on a listing-based basis.".to_owned(),
            "other_basis" => {
                "No listing-based basis applies; bases that need no listing are in force."
                    .to_owned()
            }
            _ => "No basis in the registry allows it.".to_owned(),
        };
        for b in &self.bases {
            out.push_str(&format!(" {}: {}.", b.recognition, b.reason));
        }
        if !self.other_bases.is_empty() {
            let ids: Vec<&str> = self.other_bases.iter().map(RecordId::as_str).collect();
            out.push_str(&format!(" Other bases in force: {}.", ids.join(", ")));
        }
        out
    }
}
