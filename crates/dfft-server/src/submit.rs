//! Submissions: `POST /v1/entries` and `POST /v1/entries/batch`, from the
//! body to the receipt (the life of one submission in ARCHITECTURE.md):
//! body limits, the checks cheapest first on a permit per core, the queue
//! to the sequencer, and receipts for new and already-logged statements.
//!
//! Leaves out: the rules (dfft-core), sequencing (`sequencer`), and the
//! read API (`api`).

use crate::error::ApiError;
use crate::sequencer::{outcome_of, Job, Outcome, Published};
use crate::state::RegistryState;
use crate::App;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use dfft_core::hex;
use dfft_core::merkle::{self, Hash};
use dfft_core::statement::admission::admit;
use dfft_core::statement::dsse::{DsseError, Envelope};
use dfft_core::statement::registry::{verify_signatures, RuleError, Submission, Verified};
use dfft_core::tile::MAX_ENTRY_SIZE;
use dfft_core::tlog_proof::TlogProof;
use dfft_core::wire;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::mpsc::TrySendError;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::oneshot;

/// What a receipt says about an entry that was logged before.
fn duplicate_note(l: &Landed) -> Option<String> {
    l.other_envelope.then(|| {
        format!(
            "this statement was logged at index {} under another signature set; nothing new was logged (a statement is logged once)",
            l.index
        )
    })
}

fn receipt(app: &App, l: Landed) -> Result<wire::Receipt, ApiError> {
    let note = duplicate_note(&l);
    let Landed {
        index,
        entry,
        leaf,
        published,
        proof,
        ..
    } = l;
    let proof = match proof {
        Some(p) => p,
        None => merkle::inclusion_proof(&*app.shared.store, index, published.size)
            .map_err(|e| ApiError::internal(format!("proof: {e}")))?,
    };
    let checkpoint = published.signed.clone();
    let inclusion_proof = wire::encode_hashes(&proof);
    let tp = TlogProof {
        extra: Some(entry),
        index,
        proof,
        checkpoint,
    };
    Ok(wire::Receipt {
        index,
        leaf_hash: hex::encode(&leaf),
        checkpoint: published.text.clone(),
        inclusion_proof,
        tlog_proof: tp.to_text(),
        note,
    })
}

fn json_status<T: Serialize>(status: StatusCode, v: &T) -> Response {
    (status, axum::Json(v)).into_response()
}

/// `POST /v1/entries`: a DSSE envelope.
pub async fn submit(State(app): State<App>, req: Request) -> Response {
    match submit_inner(&app, req).await {
        Ok(r) => r,
        Err(e) => {
            app.shared.metrics.submission(outcome_of(&e));
            e.into_response()
        }
    }
}

fn content_type_ok(headers: &HeaderMap) -> bool {
    let Some(ct) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || mime == "application/vnd.dsse.envelope.v1+json"
}

/// A request body, holding its share of the body memory bound
/// ([`crate::Limits::max_body_memory`]) until dropped.
struct HeldBody {
    bytes: axum::body::Bytes,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl std::ops::Deref for HeldBody {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

/// Reads a JSON request body of at most `limit` bytes, within the body
/// timeout, once its declared length (or `limit` if it declares none) fits
/// in the body memory bound; 503 at once if it does not.
async fn read_body(app: &App, req: Request, limit: usize) -> Result<HeldBody, ApiError> {
    if !content_type_ok(req.headers()) {
        return Err(ApiError::unsupported_type(
            "send DSSE envelopes as application/json",
        ));
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(len) = declared {
        if len > limit {
            return Err(ApiError::too_large(format!(
                "body of {len} bytes exceeds the limit of {limit}"
            )));
        }
    }
    // A body larger than the whole bound takes all of it, so that a small
    // bound slows large bodies down rather than refusing them forever.
    let want = declared
        .unwrap_or(limit)
        .min(app.limits.max_body_memory)
        .min(u32::MAX as usize) as u32;
    let permit = app
        .body_memory
        .clone()
        .try_acquire_many_owned(want)
        .map_err(|_| ApiError::overloaded("too many request bodies in flight; retry later"))?;
    let body: Body = req.into_body();
    match tokio::time::timeout(app.limits.body_timeout, axum::body::to_bytes(body, limit)).await {
        Err(_) => Err(ApiError::timeout(format!(
            "body not received within {:?}",
            app.limits.body_timeout
        ))),
        Ok(Err(e)) => {
            let too_big = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            Err(if too_big {
                ApiError::too_large(format!("body exceeds the limit of {limit} bytes"))
            } else {
                ApiError::malformed(format!("could not read body: {e}"))
            })
        }
        Ok(Ok(bytes)) => Ok(HeldBody {
            bytes,
            _permit: permit,
        }),
    }
}

/// Where one envelope stands after [`check`].
enum Checked {
    /// Already covered by the published checkpoint at this index.
    Logged(u64, Arc<Published>),
    /// Signatures verified; ready for the sequencer.
    Ready(Box<Verified>),
}

/// Where one envelope stands after [`enqueue`].
enum Prepared {
    /// Already covered by the published checkpoint at this index.
    Logged(u64, Arc<Published>),
    /// Queued for the sequencer.
    Queued(oneshot::Receiver<Result<Outcome, ApiError>>),
}

/// One envelope that made it into the log.
struct Landed {
    status: StatusCode,
    index: u64,
    entry: Vec<u8>,
    leaf: Hash,
    published: Arc<Published>,
    /// The inclusion proof in `published`, when the sequencer built it.
    proof: Option<Vec<Hash>>,
    /// The logged entry is another envelope of the same statement (then
    /// `entry` and `leaf` are the logged entry's).
    other_envelope: bool,
}

fn rule_error(e: RuleError) -> ApiError {
    match e {
        RuleError::Envelope(DsseError::TooLarge { len }) => ApiError::too_large(format!(
            "canonical entry of {len} bytes exceeds {MAX_ENTRY_SIZE}"
        )),
        e => e.into(),
    }
}

/// The CPU part of a submission, cheapest checks first: parse the envelope
/// (linear, bounded); answer a statement logged already (one point read);
/// refuse signatures by keys the log does not know and verify the others
/// before the statement is even parsed; then parse, admit (clock skew, v2
/// fields), verify against the keys this statement needs, and apply the
/// rate limit. Returns the entry and its leaf hash.
fn check(app: &App, bytes: &[u8]) -> Result<(Checked, Vec<u8>, Hash), ApiError> {
    let envelope = Envelope::parse(bytes).map_err(|e| rule_error(e.into()))?;
    // Fast path for statements already covered by the published checkpoint,
    // under whatever signatures.
    if let Some(index) =
        RegistryState::new(&*app.shared.store).statement_index(&envelope.statement_id())?
    {
        let published = app.shared.published();
        if index < published.size {
            let entry = envelope.to_entry().map_err(|e| rule_error(e.into()))?;
            let leaf = merkle::leaf_hash(&entry);
            return Ok((Checked::Logged(index, published), entry, leaf));
        }
    }
    let snapshot = app.shared.snapshot();
    let submission =
        Submission::from_envelope_authenticated(envelope, |keyid| snapshot.keys_for(keyid))
            .map_err(rule_error)?;
    admit(
        submission.statement(),
        crate::unix_now(),
        &app.limits.admission,
    )?;
    let leaf = merkle::leaf_hash(submission.entry());
    let authority = submission
        .statement()
        .authority()
        .and_then(|a| snapshot.authorities.get(a.as_str()));
    let verified = verify_signatures(submission, snapshot.governance.as_ref(), authority)?;
    // Rate limits count per signing key, after the signature verified, so
    // that nobody can spend an authority's allowance by naming its key.
    if let Some(key) = verified.signers().first() {
        if let Err(wait) = app.rate.check(&key.keyid()) {
            return Err(ApiError::rate_limited(wait));
        }
    }
    let entry = verified.entry().to_vec();
    Ok((Checked::Ready(Box::new(verified)), entry, leaf))
}

/// Hands a checked envelope to the sequencer (503 if its queue is full).
/// Does not wait.
fn enqueue(
    app: &App,
    checked: (Checked, Vec<u8>, Hash),
) -> Result<(Prepared, Vec<u8>, Hash), ApiError> {
    let (checked, entry, leaf) = checked;
    let verified = match checked {
        Checked::Logged(i, p) => return Ok((Prepared::Logged(i, p), entry, leaf)),
        Checked::Ready(v) => *v,
    };
    // Fail closed: while the witnesses lag too far behind, take nothing new.
    if let Some(w) = app.shared.witnessing() {
        let behind = app
            .shared
            .signed()
            .size
            .saturating_sub(app.shared.published().size);
        if behind > w.options.max_unwitnessed {
            let why = w.status().reason.unwrap_or_default();
            return Err(ApiError::awaiting_witnesses(format!(
                "{behind} logged entries wait for the witness quorum to cosign them; new submissions are refused until it does ({why})"
            )));
        }
    }
    let (tx, rx) = oneshot::channel();
    let job = Job {
        verified,
        leaf,
        queued: Instant::now(),
        reply: tx,
    };
    match app.queue.try_send(job) {
        Ok(()) => Ok((Prepared::Queued(rx), entry, leaf)),
        Err(TrySendError::Full(_)) => {
            Err(ApiError::overloaded("the sequencing queue is full; retry"))
        }
        Err(TrySendError::Disconnected(_)) => {
            Err(ApiError::overloaded("the sequencer is not running"))
        }
    }
}

/// Waits for the sequencer's answer to a prepared envelope.
async fn land(app: &App, prepared: (Prepared, Vec<u8>, Hash)) -> Result<Landed, ApiError> {
    let (prepared, mut entry, mut leaf) = prepared;
    let (status, index, published, proof) = match prepared {
        Prepared::Logged(index, published) => {
            app.shared.metrics.submission("duplicate");
            (StatusCode::OK, index, published, None)
        }
        Prepared::Queued(rx) => match rx
            .await
            .map_err(|_| ApiError::overloaded("the sequencer stopped"))??
        {
            Outcome::Created(i, p, proof) => (StatusCode::CREATED, i, p, proof),
            Outcome::Duplicate(i, p) => (StatusCode::OK, i, p, None),
        },
    };
    // With witnesses, the receipt needs a checkpoint their quorum cosigned.
    let (published, proof) = match app.shared.witnessing() {
        None => (published, proof),
        Some(w) => match app.shared.covering(index, w.options.wait).await {
            Some(p) => {
                let proof = p.proofs.get(&index).cloned();
                (p, proof)
            }
            None => {
                let why = w.status().reason.unwrap_or_default();
                return Err(ApiError::awaiting_witnesses(format!(
                    "entry {index} is logged, but no checkpoint cosigned by the witness quorum covers it yet ({why}); retry later to get its receipt"
                )));
            }
        },
    };
    // A statement logged before: the receipt is for the logged entry, which
    // may be another envelope of it.
    let mut other_envelope = false;
    if status == StatusCode::OK {
        let stored = app
            .shared
            .store
            .entry(index)?
            .ok_or_else(|| ApiError::internal("logged entry missing"))?;
        if stored != entry {
            other_envelope = true;
            leaf = merkle::leaf_hash(&stored);
            entry = stored;
        }
    }
    Ok(Landed {
        status,
        index,
        entry,
        leaf,
        published,
        proof,
        other_envelope,
    })
}

/// Runs [`check`] with a verification permit: at most as many envelopes
/// are verified at once as the machine has cores, whatever the number of
/// connections. Verification runs on the async worker that holds the permit
/// and yields after each envelope, so reads queued on that worker wait for
/// at most one verification (about 60 µs). Handing each check to the
/// blocking pool instead (`spawn_blocking`) was measured: it cost about
/// 30 µs more per envelope, a quarter of the ingest rate
/// (docs/benchmarks.md, 2026-12-02).
async fn check_pooled(
    app: &App,
    bodies: Vec<axum::body::Bytes>,
) -> Result<Vec<Result<(Checked, Vec<u8>, Hash), ApiError>>, ApiError> {
    let _permit = app
        .verify_pool
        .acquire()
        .await
        .map_err(|_| ApiError::overloaded("the verification pool is closed"))?;
    let mut out = Vec::with_capacity(bodies.len());
    for (i, b) in bodies.iter().enumerate() {
        if i > 0 {
            tokio::task::yield_now().await;
        }
        out.push(check(app, b));
    }
    Ok(out)
}

async fn submit_inner(app: &App, req: Request) -> Result<Response, ApiError> {
    // The body's memory reservation is held until the answer.
    let body = read_body(app, req, app.limits.max_body).await?;
    let checked = check_pooled(app, vec![body.bytes.clone()])
        .await?
        .pop()
        .ok_or_else(|| ApiError::internal("no check result"))??;
    let prepared = enqueue(app, checked)?;
    let l = land(app, prepared).await?;
    let status = l.status;
    let r = receipt(app, l)?;
    Ok(json_status(status, &r))
}

/// Envelopes verified by one task of a batch.
const BATCH_CHUNK: usize = 16;

/// `POST /v1/entries/batch`: a JSON array of DSSE envelopes, each handled
/// as `POST /v1/entries` would handle it: same checks, same status. The
/// signatures of all of them are checked against the registry as published
/// when the batch arrives (an enrolment and the new authority's first
/// statements need two requests); the sequencer then takes them in array
/// order, so a record's grant and its later events may share a batch.
/// Answers 200 with one checkpoint covering every logged entry and a result
/// per envelope; the request as a whole fails only if the body is not a
/// non-empty array within the limits.
pub async fn submit_batch(State(app): State<App>, req: Request) -> Response {
    match batch_inner(&app, req).await {
        Ok(r) => r,
        Err(e) => {
            app.shared.metrics.submission(outcome_of(&e));
            e.into_response()
        }
    }
}

async fn batch_inner(app: &App, req: Request) -> Result<Response, ApiError> {
    let bytes = read_body(app, req, app.limits.max_batch_body).await?;
    let items: Vec<Box<serde_json::value::RawValue>> =
        serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::malformed(format!(
                "the body must be a JSON array of DSSE envelopes: {e}"
            ))
        })?;
    if items.is_empty() {
        return Err(ApiError::malformed("the batch is empty"));
    }
    if items.len() > app.limits.max_batch_entries {
        return Err(ApiError::too_large(format!(
            "{} envelopes in one batch; at most {}",
            items.len(),
            app.limits.max_batch_entries
        )));
    }
    // The same envelope twice in one batch is checked once; its later
    // copies get what a resubmission would (200 and the first's index, or
    // the first's error).
    let mut first_of: HashMap<&str, usize> = HashMap::new();
    let mut copy_of: Vec<Option<usize>> = Vec::with_capacity(items.len());
    let mut unique: Vec<axum::body::Bytes> = Vec::new();
    for (pos, raw) in items.iter().enumerate() {
        let text = raw.get();
        match first_of.get(text) {
            Some(&first) => copy_of.push(Some(first)),
            None => {
                first_of.insert(text, pos);
                copy_of.push(None);
                unique.push(axum::body::Bytes::copy_from_slice(text.as_bytes()));
            }
        }
    }
    // Verify on the bounded pool, chunk by chunk; queue in array order.
    let mut tasks = Vec::new();
    let mut rest = unique;
    while !rest.is_empty() {
        let chunk: Vec<_> = rest.drain(..rest.len().min(BATCH_CHUNK)).collect();
        let app = app.clone();
        tasks.push(tokio::task::spawn(async move {
            check_pooled(&app, chunk).await
        }));
    }
    let mut queued = Vec::new();
    for t in tasks {
        let checked = t
            .await
            .map_err(|e| ApiError::internal(format!("batch task: {e}")))??;
        queued.extend(checked.into_iter().map(|c| c.and_then(|c| enqueue(app, c))));
    }
    let mut unique_outcomes = Vec::with_capacity(queued.len());
    for q in queued {
        unique_outcomes.push(match q {
            Ok(p) => land(app, p).await,
            Err(e) => Err(e),
        });
    }
    let mut outcomes: Vec<Result<Landed, ApiError>> = Vec::with_capacity(items.len());
    let mut unique_iter = unique_outcomes.into_iter();
    for c in &copy_of {
        outcomes.push(match c {
            None => unique_iter
                .next()
                .ok_or_else(|| ApiError::internal("batch outcome missing"))?,
            Some(first) => match &outcomes[*first] {
                Ok(l) => Ok(Landed {
                    status: StatusCode::OK,
                    index: l.index,
                    entry: l.entry.clone(),
                    leaf: l.leaf,
                    published: l.published.clone(),
                    proof: l.proof.clone(),
                    other_envelope: l.other_envelope,
                }),
                Err(e) => Err(e.clone()),
            },
        });
    }
    // Publication is monotonic: the newest checkpoint among the results
    // covers all of them. Entries the sequencer sequenced under it come with
    // their proofs; the others (duplicates, entries of an earlier sequencer
    // batch) are proven here, reading each stored hash once.
    let published = outcomes
        .iter()
        .filter_map(|o| o.as_ref().ok().map(|l| &l.published))
        .max_by_key(|p| p.size)
        .cloned()
        .unwrap_or_else(|| app.shared.published());
    let own_proof = |l: &Landed| l.proof.is_some() && l.published.size == published.size;
    let missing: Vec<u64> = outcomes
        .iter()
        .filter_map(|o| o.as_ref().ok())
        .filter(|l| !own_proof(l))
        .map(|l| l.index)
        .collect();
    let mut proven = merkle::inclusion_proofs(&*app.shared.store, &missing, published.size)
        .map_err(|e| ApiError::internal(format!("proof: {e}")))?
        .into_iter();
    let mut results = Vec::with_capacity(outcomes.len());
    for o in outcomes {
        results.push(match o {
            Ok(l) => {
                let own = own_proof(&l);
                let note = duplicate_note(&l);
                let logged_entry = l.other_envelope.then(|| B64.encode(&l.entry));
                let proof = match l.proof {
                    Some(p) if own => p,
                    _ => proven
                        .next()
                        .ok_or_else(|| ApiError::internal("proof missing"))?,
                };
                wire::BatchItem {
                    status: l.status.as_u16(),
                    index: Some(l.index),
                    leaf_hash: Some(hex::encode(&l.leaf)),
                    inclusion_proof: Some(wire::encode_hashes(&proof)),
                    error: None,
                    message: None,
                    entry: logged_entry,
                    note,
                }
            }
            Err(e) => {
                app.shared.metrics.submission(outcome_of(&e));
                wire::BatchItem {
                    status: e.status.as_u16(),
                    error: Some(e.code.to_owned()),
                    message: Some(e.message),
                    ..wire::BatchItem::default()
                }
            }
        });
    }
    Ok(json_status(
        StatusCode::OK,
        &wire::BatchReceipt {
            checkpoint: published.text.clone(),
            tree_size: published.size,
            results,
        },
    ))
}
