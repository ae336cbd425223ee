//! Registry questions: routes, record histories and authorities, each
//! answered against one published checkpoint (the jurisdiction matrix is
//! in [`crate::matrix`]).
//!
//! A route's candidate records come from the route index (namespace `t`,
//! keyed by a record's `to`) under every destination that covers the
//! question's `to` on its date, as the core's
//! `Destination::covering` lists them; the core's
//! [`RecordHead::route_status`] then decides, so the answer is the one the
//! core's `Registry::route` gives over the same entries.
//!
//! One answer cites at most [`MAX_ANSWER_EVENTS`] events; a larger one is
//! refused with 413 `too_large`, saying how to narrow the question.
//!
//! Record heads live in the store (namespace `r`), written in the same
//! atomic batch as their entries. A head may already hold events that the
//! published checkpoint does not cover yet (between the write and the
//! publication); answers keep only events below the checkpoint's size, so
//! they always describe exactly the tree the checkpoint signs.

use crate::error::{ApiError, ApiPath, ApiQuery};
use crate::sequencer::Published;
use crate::state::RegistryState;
use crate::App;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use dfft_core::answer::{event_proof, RecordAnswer, RecordHistory, RouteAnswer};
use dfft_core::merkle;
use dfft_core::statement::registry::RecordHead;
use dfft_core::statement::{Date, Jurisdiction, Mechanism, Status};
use dfft_core::wire;
use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

fn today() -> Date {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Date::today_from_unix_secs(secs).unwrap_or_else(|| Date::new(1970, 1, 1).expect("valid date"))
}

/// Most events one route or record answer cites (each with its entry and
/// inclusion proof, about 1.5 KiB).
pub const MAX_ANSWER_EVENTS: usize = 10_000;

/// The `at=` parameter, today (UTC) if absent.
pub(crate) fn date_param(q: &HashMap<String, String>) -> Result<Date, ApiError> {
    match q.get("at") {
        None => Ok(today()),
        Some(s) => Date::parse(s).map_err(|e| ApiError::malformed(format!("at: {e}"))),
    }
}

/// A logged entry and its inclusion proof against the published checkpoint.
fn entry_with_proof(
    app: &App,
    index: u64,
    published: &Published,
) -> Result<(Vec<u8>, Vec<merkle::Hash>), ApiError> {
    let entry = app
        .shared
        .store
        .entry(index)?
        .ok_or_else(|| ApiError::internal("entry missing"))?;
    let proof = merkle::inclusion_proof(&*app.shared.store, index, published.size)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok((entry, proof))
}

fn answer(
    app: &App,
    head: &RecordHead,
    status: Option<Status>,
    published: &Published,
) -> Result<RecordAnswer, ApiError> {
    let mut events = Vec::with_capacity(head.events.len());
    for e in &head.events {
        let (entry, proof) = entry_with_proof(app, e.index, published)?;
        events.push(event_proof(e, &entry, &proof));
    }
    Ok(RecordAnswer::new(head, status, events))
}

/// `GET /v1/route?from=DE&to=JP&at=2024-01-01[&mechanism=adequacy]`.
pub async fn route(
    State(app): State<App>,
    ApiQuery(q): ApiQuery<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let from = Jurisdiction::new(
        q.get("from")
            .ok_or_else(|| ApiError::malformed("from is required"))?,
    )
    .map_err(|e| ApiError::malformed(format!("from: {e}")))?;
    let to = Jurisdiction::new(
        q.get("to")
            .ok_or_else(|| ApiError::malformed("to is required"))?,
    )
    .map_err(|e| ApiError::malformed(format!("to: {e}")))?;
    let at = date_param(&q)?;
    let mechanism = match q.get("mechanism") {
        Some(m) => {
            Some(Mechanism::new(m).map_err(|e| ApiError::malformed(format!("mechanism: {e}")))?)
        }
        None => None,
    };
    let published = app.shared.published();
    // Candidates from the route index under every destination that covers
    // `to`, kept by the core's route rule (`state::RegistryState::route`).
    let matches =
        RegistryState::new(&*app.shared.store).route(&from, &to, at, mechanism, published.size)?;
    let events: usize = matches.iter().map(|(h, _)| h.events.len()).sum();
    if events > MAX_ANSWER_EVENTS {
        let how = match mechanism {
            None => "narrow it with mechanism= (adequacy, scc, ...)",
            Some(_) => "read the records' entries from the log instead (GET /v1/entries/<index>, or dfft audit)",
        };
        return Err(ApiError::too_large(format!(
            "the answer for {from} -> {to} on {at} would cite more than \
             {MAX_ANSWER_EVENTS} events; {how}"
        )));
    }
    let mut records = Vec::with_capacity(matches.len());
    for (h, status) in &matches {
        records.push(answer(&app, h, Some(*status), &published)?);
    }
    let ans = RouteAnswer {
        from,
        to,
        at,
        mechanism,
        checkpoint: published.text.clone(),
        records,
    };
    Ok(axum::Json(ans).into_response())
}

/// `GET /v1/records/<record>`: the whole history of one record.
pub async fn record(
    State(app): State<App>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let published = app.shared.published();
    let h = RegistryState::new(&*app.shared.store)
        .record_at(&id, published.size)?
        .ok_or_else(|| ApiError::not_found(format!("no record {id:?}")))?;
    if h.events.len() > MAX_ANSWER_EVENTS {
        return Err(ApiError::too_large(format!(
            "record {id:?} has {} events; one answer cites at most {MAX_ANSWER_EVENTS}: \
             read its entries from the log (GET /v1/entries/<index>, or dfft audit)",
            h.events.len()
        )));
    }
    let record = answer(&app, &h, None, &published)?;
    Ok(axum::Json(RecordHistory {
        checkpoint: published.text.clone(),
        record,
    })
    .into_response())
}

/// `GET /v1/authorities`: current authorities, with the index of the
/// statement that set each.
pub async fn authorities(State(app): State<App>) -> Result<Response, ApiError> {
    let published = app.shared.published();
    let snap = app.shared.snapshot();
    let mut list: Vec<_> = snap
        .authorities
        .values()
        .filter(|a| a.set_at_index < published.size)
        .collect();
    list.sort_by(|a, b| a.id.cmp(&b.id));
    let mut out = Vec::with_capacity(list.len());
    for a in list {
        let (entry, proof) = entry_with_proof(&app, a.set_at_index, &published)?;
        out.push(wire::AuthorityItem {
            authority: a.id.to_string(),
            name: a.name.clone(),
            competence: a.competence.iter().map(|c| c.to_string()).collect(),
            keys: a.keys.iter().map(|k| k.to_string()).collect(),
            retired: a.retired,
            set_at_index: a.set_at_index,
            entry: base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &entry),
            inclusion_proof: wire::encode_hashes(&proof),
        });
    }
    Ok(axum::Json(wire::Authorities {
        checkpoint: published.text.clone(),
        authorities: out,
    })
    .into_response())
}
