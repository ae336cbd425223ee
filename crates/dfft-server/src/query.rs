//! Registry questions: routes, record histories, authorities and the
//! jurisdiction matrix, each answered against one published checkpoint.
//!
//! Record heads live in the store (namespace `r`), written in the same
//! atomic batch as their entries. A head may already hold events that the
//! published checkpoint does not cover yet (between the write and the
//! publication); answers keep only events below the checkpoint's size, so
//! they always describe exactly the tree the checkpoint signs.

use crate::error::{ApiError, ApiPath, ApiQuery};
use crate::sequencer::{route_key, Published, NS_RECORD, NS_ROUTE};
use crate::App;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use dfft_core::answer::{event_proof, RecordAnswer, RecordHistory, RouteAnswer};
use dfft_core::merkle;
use dfft_core::statement::registry::RecordHead;
use dfft_core::statement::{Date, Destination, Group, Jurisdiction, Mechanism, Status};
use std::collections::{BTreeMap, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

fn today() -> Date {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Date::today_from_unix_secs(secs).unwrap_or_else(|| Date::new(1970, 1, 1).expect("valid date"))
}

fn date_param(q: &HashMap<String, String>) -> Result<Date, ApiError> {
    match q.get("at") {
        None => Ok(today()),
        Some(s) => Date::parse(s).map_err(|e| ApiError::malformed(format!("at: {e}"))),
    }
}

/// A stored record head cut down to the events a tree of `size` covers;
/// `None` if it has none yet.
fn head_at(stored: &[u8], size: u64) -> Result<Option<RecordHead>, ApiError> {
    let mut h: RecordHead = serde_json::from_slice(stored)
        .map_err(|e| ApiError::internal(format!("record head: {e}")))?;
    h.events.retain(|e| e.index < size);
    Ok((!h.events.is_empty()).then_some(h))
}

/// All record heads, cut down to the events the checkpoint covers.
fn heads(app: &App, size: u64) -> Result<Vec<RecordHead>, ApiError> {
    let mut out = Vec::new();
    for (_, v) in app.shared.store.state_all(NS_RECORD)? {
        out.extend(head_at(&v, size)?);
    }
    Ok(out)
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
    // Candidate records from the route index: those to `to` itself, to a
    // group `to` belongs to on the date, and to `*`.
    let mut dests = vec![to.to_string(), "*".to_string()];
    for g in [Group::Eu, Group::Eea] {
        if g.has_member(to.as_str(), at) {
            dests.push(g.code().to_string());
        }
    }
    let mut ids = Vec::new();
    for d in &dests {
        for (k, _) in app.shared.store.state_prefix(NS_ROUTE, &route_key(d, ""))? {
            ids.push(k[d.len() + 1..].to_vec());
        }
    }
    ids.sort();
    ids.dedup();
    let mut records = Vec::new();
    for id in ids {
        let Some(v) = app.shared.store.state(NS_RECORD, &id)? else {
            continue;
        };
        let Some(h) = head_at(&v, published.size)? else {
            continue;
        };
        if let Some(status) = h.route_status(&from, &to, at, mechanism) {
            records.push(answer(&app, &h, Some(status), &published)?);
        }
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
    let v = app
        .shared
        .store
        .state(NS_RECORD, id.as_bytes())?
        .ok_or_else(|| ApiError::not_found(format!("no record {id:?}")))?;
    let h = head_at(&v, published.size)?
        .ok_or_else(|| ApiError::not_found(format!("no record {id:?}")))?;
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
    let mut out = Vec::new();
    for a in list {
        let (entry, proof) = entry_with_proof(&app, a.set_at_index, &published)?;
        out.push(serde_json::json!({
            "authority": a.id.as_str(),
            "name": a.name,
            "competence": a.competence,
            "keys": a.keys.iter().map(|k| k.to_string()).collect::<Vec<_>>(),
            "retired": a.retired,
            "set_at_index": a.set_at_index,
            "entry": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &entry),
            "inclusion_proof": proof.iter().map(|h| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, h)).collect::<Vec<_>>(),
        }));
    }
    Ok(
        axum::Json(serde_json::json!({"checkpoint": published.text, "authorities": out}))
            .into_response(),
    )
}

fn expand(j: &Jurisdiction, at: Date) -> Vec<String> {
    match j.group() {
        Some(g) => g.members_on(at).into_iter().map(str::to_string).collect(),
        None => vec![j.to_string()],
    }
}

/// `GET /v1/matrix?at=D`: for each (from, to) pair of jurisdictions, the
/// records in force on D (groups expanded to their members on D; `*` kept).
pub async fn matrix(
    State(app): State<App>,
    ApiQuery(q): ApiQuery<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let at = date_param(&q)?;
    let published = app.shared.published();
    let mut pairs: BTreeMap<(String, String), Vec<serde_json::Value>> = BTreeMap::new();
    for h in heads(&app, published.size)? {
        if h.status_on(at) != Some(Status::InForce) {
            continue;
        }
        let tos = match &h.to {
            Destination::Any => vec!["*".to_string()],
            Destination::Code(j) => expand(j, at),
        };
        for f in expand(&h.from, at) {
            for t in &tos {
                if &f == t {
                    continue;
                }
                pairs
                    .entry((f.clone(), t.clone()))
                    .or_default()
                    .push(serde_json::json!({
                        "record": h.record.as_str(),
                        "mechanism": h.mechanism,
                        "since_index": h.events.last().map(|e| e.index),
                    }));
            }
        }
    }
    let pairs: Vec<_> = pairs
        .into_iter()
        .map(|((f, t), recs)| serde_json::json!({"from": f, "to": t, "records": recs}))
        .collect();
    Ok(axum::Json(serde_json::json!({"at": at, "tree_size": published.size, "checkpoint": published.text, "pairs": pairs})).into_response())
}
