//! The witness's HTTP interface and its connection loop.
//!
//! - `POST /add-checkpoint`: C2SP tlog-witness; 200 with one cosignature
//!   line per witness key (text/plain), or an error of `error`.
//! - `GET /<origin hash>/checkpoint`: the latest cosigned checkpoint of the
//!   log whose origin's SHA-256 is the lowercase hex `<origin hash>`, with
//!   the log's verified signatures and the witness's cosignatures; 404 if
//!   none. It is always the durable state (published after the fsync).
//! - `GET /healthz`: 200 `ok`, or 503 once the state cannot be written.
//!
//! Connections: HTTP/1.1 keep-alive; a request head must arrive within the
//! header timeout, a body within the body timeout and under the body
//! limit (checked against Content-Length first, then while reading).
//!
//! Leaves out: the checks (`verdict`), the state (`journal`).

use crate::error::WitnessError;
use crate::journal::{Entry, Outcome};
use crate::request::AddCheckpoint;
use crate::verdict;
use crate::Inner;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use dfft_core::note::Note;
use std::sync::Arc;

/// Longest wait for the fsync that makes a cosignature durable.
const COMMIT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

pub(crate) fn router(inner: Arc<Inner>) -> Router {
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .route("/{hash}/checkpoint", get(checkpoint))
        .route("/healthz", get(healthz))
        .with_state(inner)
}

fn text(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

async fn read_body(w: &Inner, headers: &HeaderMap, body: Body) -> Result<Bytes, WitnessError> {
    let limit = w.config.max_body;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(WitnessError::TooLarge(limit));
    }
    let t = w.config.body_timeout;
    match tokio::time::timeout(t, axum::body::to_bytes(body, limit)).await {
        Err(_) => Err(WitnessError::Timeout(t.as_secs())),
        Ok(Ok(b)) => Ok(b),
        Ok(Err(e)) => {
            let mut src: Option<&(dyn std::error::Error + 'static)> = Some(&e);
            while let Some(s) = src {
                if s.is::<http_body_util::LengthLimitError>() {
                    return Err(WitnessError::TooLarge(limit));
                }
                src = s.source();
            }
            Err(WitnessError::Body(e.to_string()))
        }
    }
}

async fn add_checkpoint(State(w): State<Arc<Inner>>, headers: HeaderMap, body: Body) -> Response {
    match cosign(&w, &headers, body).await {
        Ok(lines) => text(StatusCode::OK, lines),
        Err(e) => e.into_response(),
    }
}

/// Everything between the body and the cosignature lines.
async fn cosign(w: &Inner, headers: &HeaderMap, body: Body) -> Result<String, WitnessError> {
    if w.journal.failed() {
        return Err(WitnessError::Unavailable(
            "the witness cannot write its state and has stopped cosigning".into(),
        ));
    }
    let body = read_body(w, headers, body).await?;
    let req = AddCheckpoint::parse(&body).map_err(|e| {
        tracing::info!(outcome = "malformed", error = %e, "add-checkpoint refused");
        WitnessError::Malformed(e)
    })?;
    let cp = &req.checkpoint.checkpoint;
    let origin = cp.origin.as_str();
    let logs = w.logs();
    let latest = w.journal.get(origin).map(|e| e.latest());
    let accepted = verdict::check(&req, &logs, latest).map_err(|r| {
        let e = WitnessError::Refused(r);
        let latest = latest.map_or(0, |l| l.size);
        if matches!(e, WitnessError::Refused(verdict::Refusal::Inconsistent(_))) {
            // Possible evidence of a misbehaving log (the spec allows keeping it).
            tracing::warn!(origin, old = req.old, size = cp.size, latest, outcome = e.outcome(), error = %e, checkpoint = %req.checkpoint.to_text(), "add-checkpoint refused");
        } else {
            tracing::info!(origin, old = req.old, size = cp.size, latest, outcome = e.outcome(), error = %e, "add-checkpoint refused");
        }
        e
    })?;
    let timestamp = dfft_keys::unix_now().max(1);
    let text = req.checkpoint.note.text();
    let cosigs = w
        .cosigners
        .cosign(text, timestamp)
        .map_err(|e| WitnessError::Unavailable(format!("signing failed: {e}")))?;
    // What the monitoring endpoint serves: the log's verified signatures,
    // then the witness's cosignatures.
    let mut note = Note::sign(text, &[], timestamp)
        .map_err(|e| WitnessError::Unavailable(format!("building the note failed: {e}")))?;
    for s in accepted.log_signatures.iter().chain(cosigs.iter()) {
        note.add_signature(s.clone());
    }
    let entry = Entry {
        size: accepted.new.size,
        root: accepted.new.root,
        note: note.to_text(),
    };
    // A disk that does not answer: 503 after a bound (the record may still
    // land; the client then learns the new size from a 409).
    let outcome = tokio::time::timeout(
        COMMIT_TIMEOUT,
        w.journal
            .propose(origin.to_string(), accepted.expect, entry),
    )
    .await
    .unwrap_or_else(|_| {
        Outcome::Failed(format!(
            "the state write did not finish within {} s; retry",
            COMMIT_TIMEOUT.as_secs()
        ))
    });
    match outcome {
        Outcome::Committed => {
            tracing::debug!(
                origin,
                old = req.old,
                size = cp.size,
                outcome = "cosigned",
                "add-checkpoint"
            );
            Ok(cosigs.iter().map(|s| s.to_line()).collect())
        }
        Outcome::Conflict(latest) => {
            tracing::info!(
                origin,
                old = req.old,
                size = cp.size,
                latest,
                outcome = "conflict",
                "add-checkpoint refused (a concurrent request won)"
            );
            Err(WitnessError::Refused(verdict::Refusal::Conflict {
                old: req.old,
                latest,
            }))
        }
        Outcome::Failed(why) => {
            tracing::error!(origin, old = req.old, size = cp.size, outcome = "unavailable", error = %why, "add-checkpoint not cosigned");
            Err(WitnessError::Unavailable(why))
        }
    }
}

async fn checkpoint(State(w): State<Arc<Inner>>, Path(hash): Path<String>) -> Response {
    // Lowercase only, as the spec writes it.
    let parsed = hash
        .bytes()
        .all(|b| !b.is_ascii_uppercase())
        .then(|| dfft_core::hex::decode32(&hash))
        .flatten();
    let Some(h) = parsed else {
        return WitnessError::BadOriginHash.into_response();
    };
    match w.journal.get_by_origin_hash(&h) {
        Some(e) => text(StatusCode::OK, e.note.clone()),
        None => WitnessError::NoCheckpoint.into_response(),
    }
}

async fn healthz(State(w): State<Arc<Inner>>) -> Response {
    if w.journal.failed() {
        text(
            StatusCode::SERVICE_UNAVAILABLE,
            "failed: the state cannot be written; restart the witness\n".into(),
        )
    } else {
        text(StatusCode::OK, "ok\n".into())
    }
}
