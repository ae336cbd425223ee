//! Admission: what a registry requires of a statement it is asked to log
//! *now*, beyond the registry rules every logged entry obeys.
//!
//! Covers the checks that need the registry's clock or apply only to new
//! entries, so that logs written before them stay valid for auditors:
//! - `issued_at` no more than a configured skew ahead of the clock;
//! - authority statements in their v2 form: `log` (binds them to this log)
//!   and, for `update` and `retire`, `supersedes` (makes an old decision
//!   impossible to apply again; the rule itself is in
//!   [`super::registry::check_rules`]).
//!
//! Leaves out: the clock itself (the caller passes the time), signatures,
//! and the registry rules ([`super::registry`]). An auditor replaying a log
//! does not apply these: it cannot know the registry's clock at the time.

use super::registry::RuleError;
use super::types::AuthorityAction;
use super::{Statement, Timestamp};

/// What a registry admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdmissionPolicy {
    /// How far ahead of the registry's clock `issued_at` may be, seconds.
    pub max_future_skew_secs: u64,
}

impl Default for AdmissionPolicy {
    fn default() -> Self {
        AdmissionPolicy {
            max_future_skew_secs: 600,
        }
    }
}

/// Checks `statement` for admission at `now_unix_secs` (see the module docs).
/// Errors are [`RuleError::IssuedInFuture`] and
/// [`RuleError::V2FieldRequired`], both HTTP 422.
pub fn admit(
    statement: &Statement,
    now_unix_secs: u64,
    policy: &AdmissionPolicy,
) -> Result<(), RuleError> {
    let issued = statement.issued_at().unix_secs();
    let limit = i64::try_from(now_unix_secs.saturating_add(policy.max_future_skew_secs))
        .unwrap_or(i64::MAX);
    if issued > limit {
        return Err(RuleError::IssuedInFuture {
            issued_at: statement.issued_at().as_str().to_owned(),
            now: Timestamp::from_unix_secs(now_unix_secs)
                .map(|t| t.as_str().to_owned())
                .unwrap_or_else(|| now_unix_secs.to_string()),
            skew_secs: policy.max_future_skew_secs,
        });
    }
    if let Statement::Authority(a) = statement {
        if a.log.is_none() {
            return Err(RuleError::V2FieldRequired {
                kind: "authority",
                field: "log",
                why: "the origin of this log, so that the statement cannot be replayed into another log",
            });
        }
        if a.action != AuthorityAction::Enroll && a.supersedes.is_none() {
            return Err(RuleError::V2FieldRequired {
                kind: "authority",
                field: "supersedes",
                why: "the index of the authority's current state (set_at_index in /v1/authorities), so that an old decision cannot be applied again",
            });
        }
    }
    Ok(())
}
