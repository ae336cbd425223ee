//! HTTP handlers of the read API: C2SP tlog-tiles reads, entries, proofs,
//! info, health and metrics. Submissions are in `submit`.

use crate::error::{ApiError, ApiPath, ApiQuery};
use crate::sequencer::Health;
use crate::App;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use dfft_core::hex;
use dfft_core::merkle::{self, Hash, NodeId};
use dfft_core::tile::{self, Tile};
use dfft_core::wire;
use std::collections::HashMap;

/// Long-lived caching for immutable tiles.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

fn text(body: String, cache: &'static str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        body,
    )
        .into_response()
}

/// `GET /checkpoint`.
pub async fn checkpoint(State(app): State<App>) -> Response {
    if !app.shared.witnessed() {
        return ApiError::awaiting_witnesses(
            "no checkpoint of this log has been cosigned by its witness quorum yet",
        )
        .into_response();
    }
    text(app.shared.published().text.clone(), "no-cache")
}

/// `GET /tile/<L>/<N>[.p/<W>]` and `GET /tile/entries/<N>[.p/<W>]`.
pub async fn tile(
    State(app): State<App>,
    ApiPath(rest): ApiPath<String>,
) -> Result<Response, ApiError> {
    let t = Tile::parse_path(&format!("tile/{rest}"))
        .map_err(|e| ApiError::not_found(e.to_string()))?;
    let size = app.shared.published().size;
    let store = &app.shared.store;
    let body = match t.level {
        Some(level) => {
            let count = size.checked_shr(u32::from(level) * 8).unwrap_or(0);
            let available = available(t.index, count);
            if u64::from(t.width) > available {
                return Err(ApiError::not_found("no such tile in the published tree"));
            }
            let first = t.index * tile::TILE_WIDTH;
            let hashes =
                store.hash_range(level * tile::TILE_HEIGHT, first, first + u64::from(t.width))?;
            let mut out = Vec::with_capacity(32 * hashes.len());
            for h in hashes {
                out.extend_from_slice(&h);
            }
            out
        }
        None => {
            if u64::from(t.width) > available(t.index, size) {
                return Err(ApiError::not_found(
                    "no such entry bundle in the published tree",
                ));
            }
            let first = t.index * tile::TILE_WIDTH;
            let entries = store.entries(first, first + u64::from(t.width))?;
            tile::encode_bundle(entries.iter().map(|e| e.as_slice()))
                .map_err(|e| ApiError::internal(e.to_string()))?
        }
    };
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static(if t.is_full() {
                    IMMUTABLE
                } else {
                    "public, max-age=3600"
                }),
            ),
        ],
        body,
    )
        .into_response())
}

/// How many hashes (or entries) tile `index` has, given `count` at its level.
fn available(index: u64, count: u64) -> u64 {
    count
        .saturating_sub(index.saturating_mul(tile::TILE_WIDTH))
        .min(tile::TILE_WIDTH)
}

fn param<'a>(q: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    q.get(name).map(|s| s.as_str())
}

fn parse_u64(q: &HashMap<String, String>, name: &str) -> Result<Option<u64>, ApiError> {
    match param(q, name) {
        None => Ok(None),
        Some(v) => v
            .parse::<u64>()
            .map(Some)
            .map_err(|_| ApiError::malformed(format!("{name} must be a non-negative integer"))),
    }
}

/// `GET /v1/entries/<index>`.
pub async fn entry(
    State(app): State<App>,
    ApiPath(index): ApiPath<String>,
) -> Result<Response, ApiError> {
    let index: u64 = index
        .parse()
        .map_err(|_| ApiError::malformed("index must be a non-negative integer"))?;
    let published = app.shared.published();
    let bytes = published_entry(&app, index, published.size)?;
    // A statement or a registry-appended index entry: both are canonical
    // DSSE envelopes.
    let env = dfft_core::statement::dsse::Envelope::parse_canonical(&bytes)
        .map_err(|e| ApiError::internal(format!("stored entry does not parse: {e}")))?;
    let statement: serde_json::Value =
        serde_json::from_slice(&env.payload).unwrap_or(serde_json::Value::Null);
    Ok(axum::Json(serde_json::json!({
        "index": index,
        "leaf_hash": hex::encode(&merkle::leaf_hash(&bytes)),
        "entry": B64.encode(&bytes),
        "envelope": serde_json::from_slice::<serde_json::Value>(&bytes).unwrap_or(serde_json::Value::Null),
        "statement": statement,
    }))
    .into_response())
}

/// `GET /v1/proof/inclusion?index=&size=` or `?leaf_hash=&size=`.
pub async fn inclusion(
    State(app): State<App>,
    ApiQuery(q): ApiQuery<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let published = app.shared.published();
    let size = parse_u64(&q, "size")?.unwrap_or(published.size);
    if size > published.size || size == 0 {
        return Err(ApiError::not_found(format!(
            "size must be 1..={}",
            published.size
        )));
    }
    let index = match (parse_u64(&q, "index")?, param(&q, "leaf_hash")) {
        (Some(i), None) => i,
        (None, Some(h)) => {
            let h = hex::decode32(h)
                .ok_or_else(|| ApiError::malformed("leaf_hash must be 64 hex digits"))?;
            app.shared
                .store
                .index_of_leaf(&h)?
                .ok_or_else(|| ApiError::not_found("no entry with that leaf hash"))?
        }
        _ => {
            return Err(ApiError::malformed(
                "give exactly one of index and leaf_hash",
            ))
        }
    };
    if index >= size {
        return Err(ApiError::not_found(format!(
            "entry {index} is not in the tree of size {size}"
        )));
    }
    // The proof's stored hashes and the leaf's, in one read.
    let plan =
        merkle::inclusion_plan(index, size).map_err(|e| ApiError::internal(e.to_string()))?;
    let mut ids = plan.ids().to_vec();
    ids.push(NodeId::new(0, index));
    let mut hashes = app.shared.store.read_hashes(&ids)?;
    let leaf = hashes
        .pop()
        .ok_or_else(|| ApiError::internal("leaf hash missing"))?;
    let proof = plan
        .assemble(&hashes)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let body = inclusion_body(index, size, &leaf, &proof);
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response())
}

/// The body of a `GET /v1/proof/inclusion` answer, a
/// [`wire::InclusionProof`] written directly: this is the hottest read of
/// a log.
fn inclusion_body(index: u64, size: u64, leaf: &Hash, proof: &[Hash]) -> String {
    let mut body = String::with_capacity(96 + 48 * proof.len());
    body.push_str("{\"index\":");
    body.push_str(&index.to_string());
    body.push_str(",\"size\":");
    body.push_str(&size.to_string());
    body.push_str(",\"leaf_hash\":\"");
    body.push_str(&hex::encode(leaf));
    body.push_str("\",\"proof\":[");
    for (i, h) in proof.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push('"');
        B64.encode_string(h, &mut body);
        body.push('"');
    }
    body.push_str("]}");
    body
}

/// `GET /v1/proof/consistency?from=&to=`.
pub async fn consistency(
    State(app): State<App>,
    ApiQuery(q): ApiQuery<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let published = app.shared.published();
    let from = parse_u64(&q, "from")?.ok_or_else(|| ApiError::malformed("from is required"))?;
    let to = parse_u64(&q, "to")?.unwrap_or(published.size);
    if to > published.size {
        return Err(ApiError::not_found(format!(
            "to must be at most {}",
            published.size
        )));
    }
    if from == 0 || from > to {
        return Err(ApiError::malformed("need 0 < from <= to"));
    }
    let proof = merkle::consistency_proof(&*app.shared.store, from, to)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(axum::Json(wire::ConsistencyProof {
        from,
        to,
        proof: wire::encode_hashes(&proof),
    })
    .into_response())
}

/// Entry `index` of the published tree of `size` entries (404 beyond it).
fn published_entry(app: &App, index: u64, size: u64) -> Result<Vec<u8>, ApiError> {
    if index >= size {
        return Err(ApiError::not_found(format!(
            "no entry {index}; the tree has {size} entries"
        )));
    }
    app.shared
        .store
        .entry(index)?
        .ok_or_else(|| ApiError::internal("entry missing from store"))
}

/// `GET /v1/proof/tlog?index=N`: entry N as a c2sp.org/tlog-proof file
/// (the entry as `extra`, its inclusion proof, the published checkpoint),
/// evidence to keep that `dfft verify` and any tlog-proof verifier check
/// offline. The explorer links it from every event.
pub async fn tlog_proof(
    State(app): State<App>,
    ApiQuery(q): ApiQuery<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let published = app.shared.published();
    let index = parse_u64(&q, "index")?.ok_or_else(|| ApiError::malformed("index is required"))?;
    let entry = published_entry(&app, index, published.size)?;
    let proof = merkle::inclusion_proof(&*app.shared.store, index, published.size)
        .map_err(|e| ApiError::internal(format!("proof: {e}")))?;
    let text = dfft_core::tlog_proof::TlogProof {
        extra: Some(entry),
        index,
        proof,
        checkpoint: published.signed.clone(),
    }
    .to_text();
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                &format!("attachment; filename=\"entry-{index}.tlog-proof\""),
            ),
        ],
        text,
    )
        .into_response())
}

/// `GET /v1/info`.
pub async fn info(State(app): State<App>) -> Response {
    let snap = app.shared.snapshot();
    let published = app.shared.published();
    axum::Json(wire::Info {
        origin: app.shared.origin.clone(),
        log_vkey: app.shared.log_vkey.to_string(),
        governance: snap.governance.as_ref().map(|g| wire::GovernanceInfo {
            keys: g.keys.iter().map(|k| k.to_string()).collect(),
            threshold: g.threshold,
        }),
        tree_size: published.size,
        root_hash: hex::encode(&published.root),
    })
    .into_response()
}

/// `GET /healthz`: 200 `ok`; 200 `degraded: <reason>` while commits fail
/// with errors that pass by themselves (a full disk: reads are served,
/// writes get 507 and resume once space is freed); 503 `fatal: <reason>`
/// once the sequencer stopped signing, or `sequencer stopped`.
pub async fn healthz(State(app): State<App>) -> Response {
    if !app.queue_alive() {
        return (StatusCode::SERVICE_UNAVAILABLE, "sequencer stopped\n").into_response();
    }
    let witnessing = app
        .shared
        .witnessing()
        .map(|w| w.status())
        .filter(|s| !s.quorum && s.reason.is_some());
    match app.shared.health() {
        Health::Ok if witnessing.is_some() => {
            let reason = witnessing.and_then(|s| s.reason).unwrap_or_default();
            (StatusCode::OK, format!("degraded: {reason}\n")).into_response()
        }
        Health::Ok => (StatusCode::OK, "ok\n".to_owned()).into_response(),
        Health::Degraded { reason } => {
            (StatusCode::OK, format!("degraded: {reason}\n")).into_response()
        }
        Health::Fatal { reason } => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("fatal: {reason}\n"),
        )
            .into_response(),
    }
}

/// `GET /metrics`.
pub async fn metrics(State(app): State<App>) -> Response {
    let size = app.shared.published().size;
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.shared.metrics.render(size) + &witness_metrics(&app) + &app.conn_stats.render(),
    )
        .into_response()
}

fn witness_metrics(app: &App) -> String {
    let mut out = String::new();
    if let Some(w) = app.shared.witnessing() {
        w.render(
            &mut out,
            app.shared.signed().size,
            app.shared.published().size,
        );
    }
    out
}

/// Fallback: JSON 404.
pub async fn fallback() -> ApiError {
    ApiError::not_found("no such endpoint")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hand_written_inclusion_body_is_the_wire_type() {
        for n in [0usize, 1, 5] {
            let leaf = merkle::leaf_hash(b"leaf");
            let proof: Vec<Hash> = (0..n).map(|i| merkle::leaf_hash(&[i as u8])).collect();
            let body = inclusion_body(9, 12, &leaf, &proof);
            let parsed: wire::InclusionProof = serde_json::from_str(&body).unwrap();
            assert_eq!((parsed.index, parsed.size), (9, 12));
            assert_eq!(parsed.leaf(), Ok(leaf));
            assert_eq!(parsed.proof_hashes(), Ok(proof.clone()));
            // Byte for byte what serde would write.
            assert_eq!(serde_json::to_string(&parsed).unwrap(), body);
        }
    }
}
