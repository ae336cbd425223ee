//! `GET /v1/matrix?at=D[&from=X]`: for each (from, to) pair of countries,
//! the records in force on D, against one published checkpoint.
//!
//! A record's `from` and `to` are expanded to the codes they cover on D
//! that are not groups: a group's members on D, any other code itself;
//! `*` stays `*`. Pairs with the same code on both sides are left out.
//! `from=X` keeps the pairs whose `from` X covers on D (`DE`, or `EEA` for
//! all its members), by the core's `Jurisdiction::covers`.
//!
//! The answer is compact: each record in force appears once in `records`,
//! and each pair lists positions in that table. It is bounded: more than
//! [`MAX_CELLS`] (pair, record) cells is refused with 413 `too_large`
//! before anything is built, and the message says how to narrow it
//! (`from=`). It is computed on a blocking thread, one computation at a
//! time, reading one record head at a time, and the serialised answer (or
//! the refusal) is cached per (tree size, D, X) for the last [`CACHED`]
//! questions (at most [`CACHED_BYTES`]; `crate::cache`), so repeated
//! questions against one checkpoint cost a copy.
//!
//! Leaves out: proofs in the matrix itself (it is an overview): each cell
//! is proven by the complete route answer of its pair (`/v1/route`), which
//! a client checks against the cell with `wire::Matrix::check_cell`; and
//! paging.

use crate::error::ApiError;
use crate::error::ApiQuery;
use crate::query::date_param;
use crate::sequencer::Published;
use crate::state::RegistryState;
use crate::App;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use dfft_core::statement::{Date, Destination, Jurisdiction, Status};
use dfft_core::wire;
use std::collections::{BTreeMap, HashMap};
use std::ops::ControlFlow;
use std::sync::Arc;

/// Most (pair, record) cells in one answer (about 10 bytes each, plus the
/// records they name).
pub const MAX_CELLS: usize = 100_000;

/// How many answers the cache keeps.
pub const CACHED: usize = 8;

/// Most bytes of answers the cache keeps (the newest is always kept).
pub const CACHED_BYTES: usize = 64 << 20;

/// What one question is cached under.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Key {
    size: u64,
    at: Date,
    from: Option<Jurisdiction>,
}

/// A computed answer: the typed matrix (for the explorer's page) and its
/// JSON body, or the refusal's message.
#[derive(Debug)]
pub(crate) enum Answer {
    Built(Box<wire::Matrix>, Bytes),
    TooLarge(String),
}

impl Answer {
    fn len(&self) -> usize {
        match self {
            // The typed copy weighs about as much as its JSON.
            Answer::Built(_, b) => 2 * b.len(),
            Answer::TooLarge(m) => m.len(),
        }
    }

    fn respond(&self) -> Response {
        match self {
            Answer::Built(_, b) => (
                [(header::CONTENT_TYPE, "application/json")],
                Bytes::clone(b),
            )
                .into_response(),
            Answer::TooLarge(m) => ApiError::too_large(m.clone()).into_response(),
        }
    }

    /// The typed matrix, or the refusal as an error.
    pub(crate) fn typed(&self) -> Result<&wire::Matrix, ApiError> {
        match self {
            Answer::Built(m, _) => Ok(m),
            Answer::TooLarge(m) => Err(ApiError::too_large(m.clone())),
        }
    }
}

impl crate::cache::Weigh for Arc<Answer> {
    fn weight(&self) -> usize {
        self.len()
    }
}

/// The last [`CACHED`] matrix answers, and the permit to compute one.
#[derive(Debug)]
pub struct MatrixCache {
    answers: crate::cache::Lru<Key, Arc<Answer>>,
    compute: tokio::sync::Semaphore,
}

impl Default for MatrixCache {
    fn default() -> Self {
        MatrixCache {
            answers: crate::cache::Lru::new(CACHED, CACHED_BYTES),
            compute: tokio::sync::Semaphore::new(1),
        }
    }
}

impl MatrixCache {
    fn get(&self, key: &Key) -> Option<Arc<Answer>> {
        self.answers.get(key)
    }

    fn put(&self, key: Key, answer: Arc<Answer>) {
        self.answers.put(key, answer)
    }
}

/// The codes `j` covers on `at` that are not groups.
fn expand(j: &Jurisdiction, at: Date) -> Vec<String> {
    match j.group() {
        Some(g) => g.members_on(at).into_iter().map(str::to_string).collect(),
        None => vec![j.to_string()],
    }
}

/// Builds the answer for `published` (see the module docs).
fn build(
    app: &App,
    published: &Published,
    at: Date,
    from: Option<&Jurisdiction>,
) -> Result<Answer, ApiError> {
    // One pass over the heads, keeping only what the answer shows; the
    // count of cells is known per record, so a refusal comes before any
    // pair is built.
    let mut table: Vec<wire::MatrixRecord> = Vec::new();
    // Per row of the table, the codes on each side.
    let mut sides: Vec<(Vec<String>, Vec<String>)> = Vec::new();
    let mut cells = 0usize;
    let mut too_large = false;
    RegistryState::new(&*app.shared.store).scan_records_at(published.size, |h| {
        if h.status_on(at) != Some(Status::InForce) {
            return ControlFlow::Continue(());
        }
        let mut froms = expand(&h.from, at);
        if let Some(x) = from {
            froms.retain(|f| Jurisdiction::new(f).is_ok_and(|f| x.covers(&f, at)));
        }
        let tos = match &h.to {
            Destination::Any => vec!["*".to_string()],
            Destination::Code(j) => expand(j, at),
        };
        let both = froms.iter().filter(|f| tos.contains(f)).count();
        let n = froms.len() * tos.len() - both;
        if n == 0 {
            return ControlFlow::Continue(());
        }
        cells += n;
        if cells > MAX_CELLS {
            too_large = true;
            return ControlFlow::Break(());
        }
        let row = wire::MatrixRecord {
            record: h.record.to_string(),
            mechanism: h.mechanism,
            requires: h.rule.as_ref().map(|t| t.requires),
            from: h.from.clone(),
            to: h.to.clone(),
            since_index: h.events.last().map(|e| e.index),
        };
        table.push(row);
        sides.push((froms, tos));
        ControlFlow::Continue(())
    })?;
    if too_large {
        let narrow = match from {
            None => "ask for one origin at a time with from= (a country such as from=DE, or a group)",
            Some(_) => "ask for a narrower from= (a country rather than a group), or use /v1/route for one pair",
        };
        return Ok(Answer::TooLarge(format!(
            "the matrix on {at} has more than {MAX_CELLS} (pair, record) cells; {narrow}"
        )));
    }
    let mut pairs: BTreeMap<(&str, &str), Vec<u32>> = BTreeMap::new();
    for (i, (froms, tos)) in sides.iter().enumerate() {
        let Ok(i) = u32::try_from(i) else {
            return Err(ApiError::internal("matrix: too many records"));
        };
        for f in froms {
            for t in tos {
                if f != t {
                    pairs.entry((f, t)).or_default().push(i);
                }
            }
        }
    }
    let pairs = pairs
        .into_iter()
        .map(|((from, to), records)| wire::MatrixPair {
            from: from.to_owned(),
            to: to.to_owned(),
            records,
        })
        .collect();
    let body = wire::Matrix {
        at,
        from: from.cloned(),
        tree_size: published.size,
        checkpoint: published.text.clone(),
        records: table,
        pairs,
    };
    let json = serde_json::to_vec(&body).map_err(|e| ApiError::internal(format!("matrix: {e}")))?;
    Ok(Answer::Built(Box::new(body), Bytes::from(json)))
}

/// `GET /v1/matrix?at=D[&from=X]` (see the module docs).
pub async fn matrix(
    State(app): State<App>,
    ApiQuery(q): ApiQuery<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let at = date_param(&q)?;
    let from = q
        .get("from")
        .map(|s| Jurisdiction::new(s))
        .transpose()
        .map_err(|e| ApiError::malformed(format!("from: {e}")))?;
    Ok(matrix_typed(&app, at, from).await?.respond())
}

/// The matrix on `at` (from `from` only, if given) against the published
/// checkpoint, from the cache or computed: for `/v1/matrix` and the
/// explorer's matrix page.
pub(crate) async fn matrix_typed(
    app: &App,
    at: Date,
    from: Option<Jurisdiction>,
) -> Result<Arc<Answer>, ApiError> {
    let published = app.shared.published();
    let key = Key {
        size: published.size,
        at,
        from,
    };
    if let Some(a) = app.matrix.get(&key) {
        return Ok(a);
    }
    // One computation at a time; a question asked meanwhile finds the
    // answer in the cache once the permit is free.
    let _permit = app
        .matrix
        .compute
        .acquire()
        .await
        .map_err(|_| ApiError::internal("matrix: closed"))?;
    if let Some(a) = app.matrix.get(&key) {
        return Ok(a);
    }
    let app2 = app.clone();
    let from = key.from.clone();
    let answer = tokio::task::spawn_blocking(move || build(&app2, &published, at, from.as_ref()))
        .await
        .map_err(|e| ApiError::internal(format!("matrix: {e}")))??;
    let answer = Arc::new(answer);
    app.matrix.put(key, answer.clone());
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(size: u64) -> Key {
        Key {
            size,
            at: Date::new(2024, 1, 1).expect("valid date"),
            from: None,
        }
    }

    #[test]
    fn another_tree_or_origin_is_another_question() {
        let c = MatrixCache::default();
        c.put(key(1), Arc::new(Answer::TooLarge("x".into())));
        assert!(c.get(&key(1)).is_some());
        assert!(c.get(&key(2)).is_none());
        let de = Key {
            from: Jurisdiction::new("DE").ok(),
            ..key(1)
        };
        assert!(c.get(&de).is_none());
    }
}
