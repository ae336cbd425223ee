//! The status of a record on a date (statements-v1, "Status of a record on a
//! date D"), as a pure function of the record's events.
//!
//! Take the events with `effective <= D`, ordered by `effective`, then by log
//! index. The last one decides:
//! - `granted`, `amended`, `renewed`, `reinstated`: [`Status::InForce`],
//!   unless the record's expiry (below) is before `D`: [`Status::Expired`].
//! - `suspended`: [`Status::Suspended`].
//! - `invalidated`, `revoked`: [`Status::Ended`]; `expired`: [`Status::Expired`].
//! - Listings (v2): `listed`, `recertified`, `scope_changed` as `granted`;
//!   `lapsed`: [`Status::Inactive`]; `withdrawn`, `removed`: [`Status::Ended`].
//! - No event yet: `None`, the record does not apply on `D`.
//!
//! # Which `expires` counts
//! The spec says "the most recent `expires` given by those events". We read
//! it as: among the events with `effective <= D` whose action is `granted`,
//! `amended`, `renewed` or `reinstated` *and that state the field* (a date or
//! `null`), the last in the order above sets the expiry; `null` means none.
//! An event that leaves `expires` out keeps the earlier expiry, and the
//! `expires` of a `suspended`, `invalidated`, `revoked` or `expired` event does
//! not change it (such an event decides the status by itself while it is the
//! last one; the `expires` it carries is information, such as the end of a
//! transition period). `expires` is the last day in force: the record is
//! expired from the day after.
//!
//! Leaves out: checking the events against the record rules (see
//! [`super::registry`]).

use serde::{Deserialize, Serialize};

use super::date::Date;
use super::types::Action;

/// A record's status on a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// `in_force`: the recognition applies.
    InForce,
    /// `suspended`: it does not apply for now.
    Suspended,
    /// `ended`: invalidated or revoked.
    Ended,
    /// `expired`: past its expiry, or ended by an `expired` event.
    Expired,
    /// `inactive` (listings, v2): lapsed: the organisation may not receive
    /// new data under the listing, and stays bound for data received.
    Inactive,
}

impl Status {
    /// The JSON spelling (`in_force`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::InForce => "in_force",
            Status::Suspended => "suspended",
            Status::Ended => "ended",
            Status::Expired => "expired",
            Status::Inactive => "inactive",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the status rule needs of one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusEvent {
    /// The event's log index (breaks ties between equal `effective` dates).
    pub index: u64,
    /// The event's action.
    pub action: Action,
    /// The day it takes effect.
    pub effective: Date,
    /// `None`: field absent; `Some(None)`: `null`; `Some(Some(d))`: a date.
    pub expires: Option<Option<Date>>,
}

/// The status on `date` of a record with these events (in any order), or
/// `None` if no event is effective yet. See the module docs for the rule.
pub fn status_on(events: &[StatusEvent], date: Date) -> Option<Status> {
    let key = |e: &&StatusEvent| (e.effective, e.index);
    let effective = || events.iter().filter(|e| e.effective <= date);
    let last = effective().max_by_key(key)?;
    Some(match last.action {
        Action::Suspended => Status::Suspended,
        Action::Invalidated | Action::Revoked | Action::Withdrawn | Action::Removed => {
            Status::Ended
        }
        Action::Expired => Status::Expired,
        Action::Lapsed => Status::Inactive,
        Action::Granted
        | Action::Amended
        | Action::Renewed
        | Action::Reinstated
        | Action::Listed
        | Action::Recertified
        | Action::ScopeChanged => {
            let expiry = effective()
                .filter(|e| e.action.keeps_in_force() && e.expires.is_some())
                .max_by_key(key)
                .and_then(|e| e.expires.flatten());
            match expiry {
                Some(x) if x < date => Status::Expired,
                _ => Status::InForce,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }
    fn ev(
        index: u64,
        action: Action,
        effective: &str,
        expires: Option<Option<&str>>,
    ) -> StatusEvent {
        StatusEvent {
            index,
            action,
            effective: d(effective),
            expires: expires.map(|o| o.map(d)),
        }
    }

    #[test]
    fn last_event_decides() {
        let events = [
            ev(1, Action::Granted, "2000-01-01", Some(None)),
            ev(5, Action::Suspended, "2001-01-01", None),
            ev(7, Action::Reinstated, "2002-01-01", None),
            ev(9, Action::Revoked, "2003-01-01", None),
        ];
        assert_eq!(status_on(&events, d("1999-12-31")), None);
        assert_eq!(status_on(&events, d("2000-01-01")), Some(Status::InForce));
        assert_eq!(status_on(&events, d("2000-12-31")), Some(Status::InForce));
        assert_eq!(status_on(&events, d("2001-01-01")), Some(Status::Suspended));
        assert_eq!(status_on(&events, d("2002-01-01")), Some(Status::InForce));
        assert_eq!(status_on(&events, d("2003-01-01")), Some(Status::Ended));
        let expired = [
            ev(1, Action::Granted, "2000-01-01", None),
            ev(2, Action::Expired, "2001-01-01", Some(Some("2002-01-01"))),
        ];
        assert_eq!(status_on(&expired, d("2001-01-01")), Some(Status::Expired));
    }

    #[test]
    fn index_breaks_ties_and_order_of_input_does_not_matter() {
        let a = ev(3, Action::Suspended, "2001-01-01", None);
        let b = ev(4, Action::Reinstated, "2001-01-01", None);
        let g = ev(1, Action::Granted, "2000-01-01", None);
        assert_eq!(
            status_on(&[g, a, b], d("2001-01-01")),
            Some(Status::InForce)
        );
        assert_eq!(
            status_on(&[b, a, g], d("2001-01-01")),
            Some(Status::InForce)
        );
        // A later-logged event with an earlier effective date is ordered by date.
        let late = ev(10, Action::Revoked, "2000-06-01", None);
        assert_eq!(
            status_on(&[g, late, a, b], d("2000-06-01")),
            Some(Status::Ended)
        );
        assert_eq!(
            status_on(&[g, late, a, b], d("2001-01-01")),
            Some(Status::InForce)
        );
    }

    #[test]
    fn expiry() {
        let g = ev(1, Action::Granted, "2021-06-28", Some(Some("2025-06-27")));
        assert_eq!(status_on(&[g], d("2025-06-27")), Some(Status::InForce));
        assert_eq!(status_on(&[g], d("2025-06-28")), Some(Status::Expired));
        // A later event with a new date extends it.
        let a = ev(2, Action::Amended, "2025-06-24", Some(Some("2025-12-27")));
        assert_eq!(status_on(&[g, a], d("2025-06-28")), Some(Status::InForce));
        assert_eq!(status_on(&[g, a], d("2025-12-28")), Some(Status::Expired));
        // Leaving the field out keeps the expiry; null clears it.
        let keep = ev(3, Action::Renewed, "2025-07-01", None);
        assert_eq!(
            status_on(&[g, a, keep], d("2025-12-28")),
            Some(Status::Expired)
        );
        let clear = ev(3, Action::Renewed, "2025-07-01", Some(None));
        assert_eq!(
            status_on(&[g, a, clear], d("2030-01-01")),
            Some(Status::InForce)
        );
        // A suspension's `expires` does not change the expiry.
        let s = ev(4, Action::Suspended, "2025-08-01", Some(None));
        let r = ev(5, Action::Reinstated, "2025-09-01", None);
        assert_eq!(
            status_on(&[g, a, s, r], d("2025-12-28")),
            Some(Status::Expired)
        );
        assert_eq!(
            status_on(&[g, a, s, r], d("2025-12-27")),
            Some(Status::InForce)
        );
    }
}
