//! Registry questions: routes, record histories and the authority listing, each
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
//! Every answer carries a `completeness` part (`dfft_core::map::complete`):
//! the index entry that is the checkpoint's last leaf, with its inclusion
//! proof, and a map proof for every key the answer depends on (a route's
//! keys `route <to> <from>` for every `to` covering the question's `to`
//! and every `from` covering its `from`, as `dfft_core::map::route_keys`
//! lists them; each record's `record <id>`). The map's nodes are read from
//! the map as it stood at the published checkpoint
//! (`crate::mapstate::MapVersions`: the store's nodes, where the sequencer
//! overwrites them batch by batch, under the old values of batches not yet
//! published): every proof is checked against the answer's index entry
//! before it is sent, and an answer caught by a batch landing meanwhile is
//! built again against the newer checkpoint (`MAP_RETRIES` times at most,
//! then 503).
//!
//! Route answers are cached per (published checkpoint, question) for the
//! last [`ROUTE_CACHED`] questions (`crate::cache`): the same question
//! against the same checkpoint costs a copy.
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
use dfft_core::counterparty::{CounterpartyAnswer, ListingPart as CounterpartyListing};
use dfft_core::map::complete::{Completeness, KeyProof};
use dfft_core::map::{route_keys, MapKey};
use dfft_core::merkle;
use dfft_core::statement::registry::{AuthorityState, RecordHead, RouteFilter, Submission};
use dfft_core::statement::{
    DataCategory, Date, Jurisdiction, ListingData, Mechanism, RecordId, Statement, Status, Summary,
};
use dfft_core::wire;
use std::collections::HashMap;
use std::sync::Arc;
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

/// Answers built again at most this many times when a batch lands while
/// one is built (see the module docs).
const MAP_RETRIES: usize = 8;

/// The completeness part for `keys` (each with the ids its value chains,
/// if any) against `published`; `None` if the store moved on to a newer
/// map meanwhile (build the answer again), or if the checkpoint's last
/// leaf is not an index entry (a log being upgraded).
fn completeness(
    app: &App,
    published: &Published,
    keys: Vec<(MapKey, Option<Vec<String>>)>,
) -> Result<Result<Completeness, Retry>, ApiError> {
    let store = &*app.shared.store;
    let Some((ix, bytes)) = crate::mapstate::index_entry_at(store, published.size)? else {
        return Err(ApiError::overloaded(
            "the log's last leaf is not an index entry yet (the index is being built); retry",
        ));
    };
    let hashes: Vec<merkle::Hash> = keys.iter().map(|(k, _)| k.hash()).collect();
    let nodes = app.shared.map.at(store, published.size);
    let Some(proofs) = crate::mapstate::prove_at(&nodes, &ix.map_root, &hashes)? else {
        return Ok(Err(Retry));
    };
    let index_proof = merkle::inclusion_proof(store, ix.last, published.size)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let keys = keys
        .into_iter()
        .zip(proofs)
        .map(|((k, ids), (value, proof))| KeyProof::new(&k, value, &proof, ids))
        .collect();
    Ok(Ok(Completeness {
        index_entry: base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &bytes),
        index_proof: wire::encode_hashes(&index_proof),
        keys,
        filtered: Vec::new(),
    }))
}

/// The map moved on while an answer was built.
struct Retry;

/// Builds an answer with `f` against the published checkpoint, again
/// against a newer one when the map moved on meanwhile.
fn with_retries<T>(
    app: &App,
    mut f: impl FnMut(&Arc<Published>) -> Result<Result<T, Retry>, ApiError>,
) -> Result<T, ApiError> {
    for _ in 0..MAP_RETRIES {
        let published = app.shared.published();
        if let Ok(t) = f(&published)? {
            return Ok(t);
        }
        std::thread::yield_now();
    }
    Err(ApiError::overloaded(
        "the map changed under every attempt to answer; retry",
    ))
}

/// `GET /v1/route?from=DE&to=JP&at=2024-01-01[&mechanism=adequacy][&data=personal]`.
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
    let data = match q.get("data") {
        Some(d) => {
            Some(DataCategory::new(d).map_err(|e| ApiError::malformed(format!("data: {e}")))?)
        }
        None => None,
    };
    let filter = RouteFilter { mechanism, data };
    let hit = with_retries(&app, |published| {
        cached_route(&app, published, &from, &to, at, filter)
    })?;
    Ok(json_bytes(hit.body))
}

/// The route answer against `published`, JSON and typed, from the route
/// cache when it holds one for this very checkpoint (`/v1/route` and the
/// counterparty answers, which ask the same route for every organisation),
/// else built and kept there under the tree it was built for. The one
/// home of the route cache.
fn cached_route(
    app: &App,
    published: &Published,
    from: &Jurisdiction,
    to: &Jurisdiction,
    at: Date,
    filter: RouteFilter,
) -> Result<Result<CachedRoute, Retry>, ApiError> {
    let key = RouteKey {
        size: published.size,
        from: from.clone(),
        to: to.clone(),
        at,
        filter,
    };
    if let Some(hit) = app.routes.get(&key) {
        if hit.checkpoint == published.text {
            return Ok(Ok(hit));
        }
    }
    let ans = match route_answer(app, published, from, to, at, filter)? {
        Ok(a) => a,
        Err(Retry) => return Ok(Err(Retry)),
    };
    let body = axum::body::Bytes::from(
        serde_json::to_vec(&ans).map_err(|e| ApiError::internal(format!("route: {e}")))?,
    );
    let built = CachedRoute {
        checkpoint: ans.checkpoint.clone(),
        body,
        typed: Arc::new(ans),
    };
    app.routes.put(key, built.clone());
    Ok(Ok(built))
}

/// The route answer for a question against the published checkpoint (a
/// newer one if the map moved on meanwhile), for pages built from the
/// typed answer (`crate::explorer`) rather than its JSON.
pub(crate) fn route_typed(
    app: &App,
    from: &Jurisdiction,
    to: &Jurisdiction,
    at: Date,
    filter: RouteFilter,
) -> Result<RouteAnswer, ApiError> {
    with_retries(app, |published| {
        route_answer(app, published, from, to, at, filter)
    })
}

/// Route answers kept (`crate::cache`): the last [`ROUTE_CACHED`]
/// questions, at most [`ROUTE_CACHED_BYTES`].
pub const ROUTE_CACHED: usize = 256;
/// See [`ROUTE_CACHED`].
pub const ROUTE_CACHED_BYTES: usize = 32 << 20;

/// The route cache's key: a question against one published tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteKey {
    size: u64,
    from: Jurisdiction,
    to: Jurisdiction,
    at: Date,
    filter: RouteFilter,
}

/// A cached route answer: its JSON and the checkpoint it was built
/// against (a hit must be for the published checkpoint itself, not only
/// its size: a tree's checkpoint can be published again with other
/// cosignatures).
#[derive(Debug, Clone)]
pub struct CachedRoute {
    checkpoint: String,
    body: axum::body::Bytes,
    /// The same answer, typed (for counterparty answers).
    typed: Arc<RouteAnswer>,
}

impl crate::cache::Weigh for CachedRoute {
    fn weight(&self) -> usize {
        // The typed copy holds about as much as the JSON.
        2 * self.body.len() + self.checkpoint.len()
    }
}

fn json_bytes(body: axum::body::Bytes) -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// The route answer against `published`, with its completeness part.
fn route_answer(
    app: &App,
    published: &Published,
    from: &Jurisdiction,
    to: &Jurisdiction,
    at: Date,
    filter: RouteFilter,
) -> Result<Result<RouteAnswer, Retry>, ApiError> {
    let state = RegistryState::new(&*app.shared.store);
    // Every record on the question's route keys, read once per `to`:
    // those that match, and those the answer must show it filtered out.
    let keys = route_keys(from, to, at);
    let mut by_to: HashMap<String, Vec<RecordHead>> = HashMap::new();
    let mut key_ids = Vec::with_capacity(keys.len());
    let mut matches: Vec<(RecordHead, Status)> = Vec::new();
    let mut filtered: Vec<RecordHead> = Vec::new();
    for key in keys {
        let MapKey::Route { to: kt, from: kf } = &key else {
            continue;
        };
        if !by_to.contains_key(kt.as_str()) {
            by_to.insert(
                kt.as_str().to_owned(),
                state.records_to(kt, published.size)?,
            );
        }
        let on_key: Vec<&RecordHead> = by_to[kt.as_str()]
            .iter()
            .filter(|h| &h.from == kf)
            .collect();
        let ids: Vec<String> = on_key.iter().map(|h| h.record.to_string()).collect();
        for h in on_key {
            match h.route_status(from, to, at, filter) {
                Some(status) => matches.push((h.clone(), status)),
                None => filtered.push(h.clone()),
            }
        }
        key_ids.push((key, Some(ids)));
    }
    matches.sort_by(|a, b| a.0.record.cmp(&b.0.record));
    filtered.sort_by(|a, b| a.record.cmp(&b.record));
    // The cap holds for the records the answer gives and, separately, for
    // those it must show it left out.
    let events: usize = matches.iter().map(|(h, _)| h.events.len()).sum();
    let left_out = filtered.len();
    if events > MAX_ANSWER_EVENTS || left_out > MAX_ANSWER_EVENTS {
        let how = match filter.mechanism {
            None => "narrow it with mechanism= (adequacy, scc, ...)",
            Some(_) => "read the records' entries from the log instead (GET /v1/entries/<index>, or dfft audit)",
        };
        return Err(ApiError::too_large(format!(
            "the answer for {from} -> {to} on {at} would cite more than \
             {MAX_ANSWER_EVENTS} events (with the records it must show it left out); {how}"
        )));
    }
    for (h, _) in &matches {
        key_ids.push((MapKey::Record(h.record.clone()), None));
    }
    let mut complete = match completeness(app, published, key_ids)? {
        Ok(c) => c,
        Err(Retry) => return Ok(Err(Retry)),
    };
    let mut records = Vec::with_capacity(matches.len());
    for (h, status) in &matches {
        records.push(answer(app, h, Some(*status), published)?);
    }
    // A record left out carries only its `granted` event: that fixes what
    // the filters read, and no event of it takes effect before it (the rules).
    for h in &filtered {
        let mut granted = h.clone();
        granted.events.truncate(1);
        let status = granted.status_on(at);
        complete
            .filtered
            .push(answer(app, &granted, status, published)?);
    }
    let summary = Summary::of(matches.iter().map(|(h, s)| (h, *s)));
    Ok(Ok(RouteAnswer {
        from: from.clone(),
        to: to.clone(),
        at,
        mechanism: filter.mechanism,
        data: filter.data,
        checkpoint: published.text.clone(),
        records,
        summary: Some(summary),
        completeness: Some(complete),
    }))
}

/// `GET /v1/counterparty?from=DE&to=US&org=ID&at=D[&data=hr|non_hr]`
/// (statements v2): the route answer and, for every programme a
/// recognition on the route requires, the organisation's listing record
/// `<programme>/<org>` with its history, or the map's proof that it has
/// none, all against one published checkpoint
/// (`dfft_core::counterparty`).
pub async fn counterparty(
    State(app): State<App>,
    ApiQuery(q): ApiQuery<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let answer = counterparty_typed(&app, &q)?;
    Ok(axum::Json(answer).into_response())
}

/// The counterparty answer for the query's parameters (the same errors as
/// `/v1/counterparty`), typed, for the API and the explorer's page.
pub(crate) fn counterparty_typed(
    app: &App,
    q: &HashMap<String, String>,
) -> Result<CounterpartyAnswer, ApiError> {
    let code = |k: &str| -> Result<Jurisdiction, ApiError> {
        let v = q
            .get(k)
            .ok_or_else(|| ApiError::malformed(format!("{k} is required")))?;
        Jurisdiction::new(v).map_err(|e| ApiError::malformed(format!("{k}: {e}")))
    };
    let from = code("from")?;
    let to = code("to")?;
    let at = date_param(q)?;
    let org = q
        .get("org")
        .ok_or_else(|| {
            ApiError::malformed("org is required (the programme's id for the organisation)")
        })?
        .clone();
    let data = match q.get("data") {
        Some(d) => {
            Some(ListingData::new(d).map_err(|e| ApiError::malformed(format!("data: {e}")))?)
        }
        None => None,
    };
    with_retries(app, |published| {
        let route = match cached_route(app, published, &from, &to, at, RouteFilter::NONE)? {
            Ok(r) => (*r.typed).clone(),
            Err(Retry) => return Ok(Err(Retry)),
        };
        let state = RegistryState::new(&*app.shared.store);
        let mut programmes: Vec<String> = Vec::new();
        for r in &route.records {
            if let Some(req) = &r.requires_listing {
                programmes.push(req.programme.to_string());
            }
        }
        programmes.sort();
        programmes.dedup();
        let mut listings = Vec::with_capacity(programmes.len());
        for programme in programmes {
            let id = RecordId::new(&format!("{programme}/{org}")).map_err(|e| {
                ApiError::malformed(format!("org: {org:?} does not make a listing id: {e}"))
            })?;
            let head = state.record_at(id.as_str(), published.size)?;
            let complete = match completeness(app, published, vec![(MapKey::Record(id), None)])? {
                Ok(c) => c,
                Err(Retry) => return Ok(Err(Retry)),
            };
            let record = match head {
                Some(h) => Some(answer(app, &h, h.status_on(at), published)?),
                None => None,
            };
            listings.push(CounterpartyListing {
                programme,
                record,
                completeness: complete,
            });
        }
        Ok(Ok(CounterpartyAnswer {
            org: org.clone(),
            data,
            route,
            listings,
        }))
    })
}

/// `GET /v1/records/<record>[?at=D]`: the whole history of one record (with
/// `at`, its status on D too); a 404
/// for a record the published tree does not hold carries the checkpoint
/// and the map proof of its absence.
pub async fn record(
    State(app): State<App>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    // `at=D`: the record also carries its status on D (the explorer's
    // record page checks the status it shows against it).
    let at = match q.get("at") {
        Some(_) => Some(date_param(&q)?),
        None => None,
    };
    let history = record_typed(&app, &id, at)?;
    Ok(axum::Json(history).into_response())
}

/// The history of record `id` against the published checkpoint (see
/// [`record`]), typed, for `/v1/records/<id>` and the explorer's pages;
/// with `at`, the record carries its status on that day.
pub(crate) fn record_typed(
    app: &App,
    id: &str,
    at: Option<Date>,
) -> Result<RecordHistory, ApiError> {
    with_retries(app, |published| {
        let Some(h) = RegistryState::new(&*app.shared.store).record_at(id, published.size)? else {
            // Proven absent: the map proof that `record <id>` has no value.
            let not_found = ApiError::not_found(format!("no record {id:?}"));
            let Ok(rid) = dfft_core::statement::RecordId::new(id) else {
                return Err(not_found);
            };
            return match completeness(app, published, vec![(MapKey::Record(rid), None)])? {
                Ok(c) => Err(not_found.with_absence(published.text.clone(), c)),
                Err(Retry) => Ok(Err(Retry)),
            };
        };
        if h.events.len() > MAX_ANSWER_EVENTS {
            return Err(ApiError::too_large(format!(
                "record {id:?} has {} events; one answer cites at most {MAX_ANSWER_EVENTS}: \
                 read its entries from the log (GET /v1/entries/<index>, or dfft audit)",
                h.events.len()
            )));
        }
        let complete = match completeness(
            app,
            published,
            vec![(MapKey::Record(h.record.clone()), None)],
        )? {
            Ok(c) => c,
            Err(Retry) => return Ok(Err(Retry)),
        };
        let record = answer(app, &h, at.and_then(|d| h.status_on(d)), published)?;
        Ok(Ok(RecordHistory {
            checkpoint: published.text.clone(),
            record,
            completeness: Some(complete),
        }))
    })
}

/// `GET /v1/authorities`: every authority ever enrolled in the published
/// tree, in its state there, with every statement about it and the
/// completeness part (keys `authorities` and each `authority <id>`).
pub async fn authorities(State(app): State<App>) -> Result<Response, ApiError> {
    let listing = authorities_typed(&app)?;
    Ok(axum::Json(listing).into_response())
}

/// The authority listing against the published checkpoint, typed, for
/// `/v1/authorities` and the explorer's authority pages.
pub(crate) fn authorities_typed(app: &App) -> Result<wire::Authorities, ApiError> {
    with_retries(app, |published| authorities_answer(app, published))
}

/// The authority listing against `published`.
fn authorities_answer(
    app: &App,
    published: &Published,
) -> Result<Result<wire::Authorities, Retry>, ApiError> {
    let log = RegistryState::new(&*app.shared.store).authority_log(published.size)?;
    let mut items = Vec::with_capacity(log.len());
    let mut keys = Vec::with_capacity(log.len() + 1);
    keys.push((
        MapKey::Authorities,
        Some(log.iter().map(|(id, _)| id.clone()).collect()),
    ));
    for (id, indices) in &log {
        let mut state: Option<AuthorityState> = None;
        let mut statements = Vec::with_capacity(indices.len());
        for &index in indices {
            let (entry, proof) = entry_with_proof(app, index, published)?;
            let sub = Submission::parse_entry(&entry)
                .map_err(|e| ApiError::internal(format!("entry {index}: {e}")))?;
            let Statement::Authority(a) = sub.statement() else {
                return Err(ApiError::internal(format!(
                    "entry {index} is in the authority log but is not an authority statement"
                )));
            };
            state = Some(AuthorityState::after(a, state.as_ref(), index));
            statements.push(wire::EntryProof::new(index, &entry, &proof));
        }
        let (Some(a), Some(last)) = (state, statements.last()) else {
            continue;
        };
        keys.push((MapKey::Authority(a.id.clone()), None));
        items.push(wire::AuthorityItem {
            authority: id.clone(),
            name: a.name.clone(),
            competence: a.competence.iter().map(|c| c.to_string()).collect(),
            keys: a.keys.iter().map(|k| k.to_string()).collect(),
            programmes: a.programmes.clone(),
            retired: a.retired,
            set_at_index: a.set_at_index,
            entry: last.entry.clone(),
            inclusion_proof: last.inclusion_proof.clone(),
            statements,
        });
    }
    items.sort_by(|a, b| a.authority.cmp(&b.authority));
    let complete = match completeness(app, published, keys)? {
        Ok(c) => c,
        Err(Retry) => return Ok(Err(Retry)),
    };
    Ok(Ok(wire::Authorities {
        checkpoint: published.text.clone(),
        authorities: items,
        completeness: Some(complete),
    }))
}
