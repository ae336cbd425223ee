//! The sequencer: the log's only writer.
//!
//! Handlers check a submission's syntax and signatures in parallel, then
//! queue it here. One thread takes whatever is queued (up to `batch_max`
//! entries, waiting at most `batch_delay` for more), and for the batch:
//!
//! 1. drops re-submissions (same leaf hash in the store or earlier in the
//!    batch): they are answered with the first index;
//! 2. re-checks each statement against the registry state as it stands at
//!    its index (cheap: signer keys still current, record rules), applying
//!    accepted ones to the in-memory state so later entries of the batch see
//!    them;
//! 3. appends the accepted leaves to the in-memory [`Frontier`], collecting
//!    every stored hash they complete, and signs a checkpoint of the new size;
//! 4. proves that the new checkpoint is consistent with the last published
//!    one (from stored hashes plus this batch's) and refuses to go on if not;
//! 5. writes entries, leaf index, hashes, registry state, size and the signed
//!    checkpoint in ONE RocksDB write batch, synced (see `dfft_store`);
//! 6. only then publishes the checkpoint and answers every submitter, with
//!    the inclusion proofs of the batch's new entries.
//!
//! Crash safety, step by step: a crash before step 5 returns loses nothing
//! that was acknowledged (nobody was answered; clients retry and, thanks to
//! step 1, a retry of an entry that did land gets its index). A crash after
//! step 5 leaves the whole batch and its checkpoint on disk. There is no
//! state in between, so recovery ([`Sequencer::open`]) only re-reads the size,
//! the checkpoint and O(log n) hashes of the right edge, checks that they
//! agree (the stored tree's root at the checkpoint's size must equal the
//! checkpoint's root, signed by our key), and loads the registry's small
//! governance and authority state. Restart time does not grow with the log.
//!
//! If a write fails, the in-memory state may be ahead of the disk: the
//! sequencer answers the batch with 503 and reloads its state from the store
//! before taking the next batch.
//!
//! Extension point: statements-v1 reserves an `index` entry that the
//! registry will append at the end of each batch; it belongs between steps 2
//! and 3 (`close_batch`).

use crate::error::ApiError;
use crate::metrics::Metrics;
use dfft_core::checkpoint::{Checkpoint, SignedCheckpoint};
use dfft_core::merkle::{self, Frontier, Hash, HashReader, NodeId};
use dfft_core::note::{SignerKey, VerifierKey};
use dfft_core::statement::registry::{check_rules, AuthorityState, Change, RecordHead, Verified};
use dfft_core::statement::Governance;
use dfft_store::{Commit, Store, StoreError};
use std::collections::HashMap;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::oneshot;

/// State namespace: governance and origin.
pub const NS_GENESIS: u8 = b'g';
/// State namespace: authorities by id.
pub const NS_AUTHORITY: u8 = b'a';
/// State namespace: record heads by record id.
pub const NS_RECORD: u8 = b'r';
/// State namespace: route index, `<to>\0<record>` -> empty, written when a
/// record is granted (a record's `to` never changes).
pub const NS_ROUTE: u8 = b't';
/// Record heads kept in memory by the sequencer before the cache is dropped.
const RECORD_CACHE: usize = 50_000;

/// A signed checkpoint as published.
#[derive(Debug, Clone)]
pub struct Published {
    /// The signed note text.
    pub text: String,
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: Hash,
    /// The parsed checkpoint, for building proofs without re-parsing.
    pub signed: SignedCheckpoint,
}

/// The registry state that signature checks need, shared with handlers.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Governance keys and threshold, once genesis is logged.
    pub governance: Option<Governance>,
    /// Authorities by id.
    pub authorities: HashMap<String, AuthorityState>,
}

/// What the sequencer shares with the HTTP side.
pub struct Shared {
    /// The store (reads are safe from any thread).
    pub store: Arc<Store>,
    /// Latest published checkpoint.
    pub published: RwLock<Arc<Published>>,
    /// Registry state for signature checks.
    pub snapshot: RwLock<Arc<Snapshot>>,
    /// Metrics.
    pub metrics: Metrics,
    /// The log's public key.
    pub log_vkey: VerifierKey,
    /// The origin.
    pub origin: String,
}

impl Shared {
    /// The latest published checkpoint.
    pub fn published(&self) -> Arc<Published> {
        self.published
            .read()
            .map(|p| p.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }
    /// The latest registry snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot
            .read()
            .map(|p| p.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }
}

/// How a queued submission ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Newly logged at this index, covered by this checkpoint, with its
    /// inclusion proof in that checkpoint's tree when the sequencer could
    /// build it (it builds them for a whole batch at once, from the batch's
    /// own new hashes and one read of the older ones).
    Created(u64, Arc<Published>, Option<Vec<Hash>>),
    /// Already logged at this index.
    Duplicate(u64, Arc<Published>),
}

/// A submission waiting for the sequencer.
pub struct Job {
    /// Statement with verified signatures.
    pub verified: Verified,
    /// Its leaf hash.
    pub leaf: Hash,
    /// When it was queued.
    pub queued: Instant,
    /// Where to answer.
    pub reply: oneshot::Sender<Result<Outcome, ApiError>>,
}

/// Batching limits.
#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    /// Most entries per batch.
    pub max: usize,
    /// Longest wait for more entries once one is queued.
    pub delay: Duration,
}

/// The single writer.
pub struct Sequencer {
    shared: Arc<Shared>,
    key: SignerKey,
    frontier: Frontier,
    governance: Option<Governance>,
    authorities: HashMap<String, AuthorityState>,
    records: HashMap<String, RecordHead>,
}

/// Errors that stop the server from starting.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store disagrees with itself or with our key.
    #[error("refusing to start: {0}")]
    Inconsistent(String),
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Sequencer {
    /// Recovers the sequencer from the store (see the module docs).
    pub fn open(
        store: Arc<Store>,
        key: SignerKey,
        origin: String,
        metrics: Metrics,
    ) -> Result<Sequencer, OpenError> {
        let size = store.size()?;
        let frontier = store.frontier(size)?;
        let root = frontier.root();
        let published = match store.checkpoint()? {
            Some(text) => {
                let cp = SignedCheckpoint::parse(text.as_bytes())
                    .map_err(|e| OpenError::Inconsistent(format!("stored checkpoint: {e}")))?;
                cp.verify(&key.verifier(), &[], 0)
                    .map_err(|e| OpenError::Inconsistent(format!("stored checkpoint: {e}")))?;
                if cp.checkpoint.size != size || cp.checkpoint.root != root {
                    return Err(OpenError::Inconsistent(format!(
                        "stored checkpoint is for size {} but the tree has {size} entries or another root",
                        cp.checkpoint.size
                    )));
                }
                Published {
                    text,
                    size,
                    root,
                    signed: cp,
                }
            }
            None if size == 0 => {
                let cp = Checkpoint {
                    origin: origin.clone(),
                    size: 0,
                    root,
                    extensions: vec![],
                };
                let signed = cp
                    .sign(&[&key], now_secs())
                    .map_err(|e| OpenError::Inconsistent(e.to_string()))?;
                Published {
                    text: signed.to_text(),
                    size: 0,
                    root,
                    signed,
                }
            }
            None => return Err(OpenError::Inconsistent("entries but no checkpoint".into())),
        };
        let shared = Arc::new(Shared {
            store,
            published: RwLock::new(Arc::new(published)),
            snapshot: RwLock::new(Arc::new(Snapshot::default())),
            metrics,
            log_vkey: key.verifier(),
            origin,
        });
        let mut s = Sequencer {
            shared,
            key,
            frontier,
            governance: None,
            authorities: HashMap::new(),
            records: HashMap::new(),
        };
        s.load_state()?;
        Ok(s)
    }

    /// What the HTTP side shares.
    pub fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }

    /// (Re)loads the registry state and the frontier from the store.
    fn load_state(&mut self) -> Result<(), StoreError> {
        let store = &self.shared.store;
        let size = store.size()?;
        self.frontier = store.frontier(size)?;
        self.governance = match store.state(NS_GENESIS, b"governance")? {
            Some(v) => Some(
                serde_json::from_slice(&v)
                    .map_err(|e| StoreError::Corrupt(format!("governance: {e}")))?,
            ),
            None => None,
        };
        self.authorities.clear();
        for (_, v) in store.state_all(NS_AUTHORITY)? {
            let a: AuthorityState = serde_json::from_slice(&v)
                .map_err(|e| StoreError::Corrupt(format!("authority: {e}")))?;
            self.authorities.insert(a.id.to_string(), a);
        }
        self.records.clear();
        self.publish_snapshot();
        Ok(())
    }

    fn publish_snapshot(&self) {
        let snap = Arc::new(Snapshot {
            governance: self.governance.clone(),
            authorities: self.authorities.clone(),
        });
        match self.shared.snapshot.write() {
            Ok(mut g) => *g = snap,
            Err(p) => *p.into_inner() = snap,
        }
    }

    fn record(&mut self, id: &str) -> Result<Option<RecordHead>, StoreError> {
        if let Some(r) = self.records.get(id) {
            return Ok(Some(r.clone()));
        }
        match self.shared.store.state(NS_RECORD, id.as_bytes())? {
            Some(v) => {
                let r: RecordHead = serde_json::from_slice(&v)
                    .map_err(|e| StoreError::Corrupt(format!("record {id}: {e}")))?;
                self.records.insert(id.to_string(), r.clone());
                Ok(Some(r))
            }
            None => Ok(None),
        }
    }

    /// Runs the sequencing loop until every sender is dropped.
    pub fn run(mut self, rx: Receiver<Job>, limits: BatchLimits) {
        while let Ok(first) = rx.recv() {
            let mut batch = vec![first];
            let deadline = Instant::now() + limits.delay;
            while batch.len() < limits.max {
                // Take what is already queued without waiting; then wait
                // until the deadline for more.
                match rx.try_recv() {
                    Ok(j) => {
                        batch.push(j);
                        continue;
                    }
                    Err(_) if limits.delay.is_zero() => break,
                    Err(_) => {}
                }
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                match rx.recv_timeout(left) {
                    Ok(j) => batch.push(j),
                    Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => break,
                }
            }
            self.process(batch);
        }
        tracing::info!("sequencer stopped");
    }

    /// Sequences one batch synchronously (also used at first start to log
    /// the genesis statement).
    pub fn process(&mut self, batch: Vec<Job>) {
        enum Pending {
            New(u64),
            Dup(u64),
            Err(ApiError),
        }
        let start_size = self.frontier.size();
        let mut commit = Commit {
            first_index: start_size,
            ..Default::default()
        };
        let mut in_batch: HashMap<Hash, u64> = HashMap::new();
        let mut results: Vec<Pending> = Vec::with_capacity(batch.len());
        let mut state_changed = false;
        let mut touched_records: Vec<String> = Vec::new();
        for job in &batch {
            // Step 1: re-submissions.
            if let Some(&i) = in_batch.get(&job.leaf) {
                results.push(Pending::Dup(i));
                continue;
            }
            match self.shared.store.index_of_leaf(&job.leaf) {
                Ok(Some(i)) => {
                    results.push(Pending::Dup(i));
                    continue;
                }
                Ok(None) => {}
                Err(e) => {
                    results.push(Pending::Err(e.into()));
                    continue;
                }
            }
            // Step 2: the rules at this index.
            let index = self.frontier.size();
            let st = job.verified.statement();
            let authority = st
                .authority()
                .and_then(|a| self.authorities.get(a.as_str()))
                .cloned();
            let record = match st.record().map(|r| r.to_string()) {
                Some(id) => match self.record(&id) {
                    Ok(r) => r,
                    Err(e) => {
                        results.push(Pending::Err(e.into()));
                        continue;
                    }
                },
                None => None,
            };
            let change = match check_rules(
                index,
                &job.verified,
                self.governance.as_ref(),
                authority.as_ref(),
                record.as_ref(),
            ) {
                Ok(c) => c,
                Err(e) => {
                    results.push(Pending::Err(e.into()));
                    continue;
                }
            };
            match change {
                Change::Genesis { origin, governance } => {
                    if origin != self.shared.origin {
                        results.push(Pending::Err(ApiError::malformed(format!(
                            "genesis origin {origin:?} is not this log's origin {:?}",
                            self.shared.origin
                        ))));
                        continue;
                    }
                    commit
                        .state
                        .push((NS_GENESIS, b"origin".to_vec(), origin.into_bytes()));
                    commit
                        .state
                        .push((NS_GENESIS, b"governance".to_vec(), json(&governance)));
                    self.governance = Some(governance);
                    state_changed = true;
                }
                Change::Authority(a) => {
                    commit
                        .state
                        .push((NS_AUTHORITY, a.id.as_str().as_bytes().to_vec(), json(&a)));
                    self.authorities.insert(a.id.to_string(), a);
                    state_changed = true;
                }
                Change::Record(r) => {
                    let id = r.record.to_string();
                    if record.is_none() {
                        commit
                            .state
                            .push((NS_ROUTE, route_key(r.to.as_str(), &id), Vec::new()));
                    }
                    self.records.insert(id.clone(), r);
                    if !touched_records.contains(&id) {
                        touched_records.push(id);
                    }
                }
            }
            // Step 3: the tree.
            self.frontier
                .append(job.leaf, |id, h| commit.nodes.push((id, *h)));
            commit
                .entries
                .push((job.verified.entry().to_vec(), job.leaf));
            in_batch.insert(job.leaf, index);
            results.push(Pending::New(index));
        }
        for id in &touched_records {
            if let Some(r) = self.records.get(id) {
                commit
                    .state
                    .push((NS_RECORD, id.as_bytes().to_vec(), json(r)));
            }
        }

        // The batch's new hashes, for proofs over the stored tree plus this
        // batch (the consistency check before signing, then the receipts).
        let batch_nodes: HashMap<NodeId, Hash> = commit.nodes.iter().copied().collect();
        let published = if commit.entries.is_empty() {
            Ok(self.shared.published())
        } else {
            self.commit(&mut commit, &batch_nodes)
        };
        let published = match published {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "batch not committed; reloading state");
                if let Err(e) = self.load_state() {
                    tracing::error!(error = %e, "cannot reload state from the store");
                }
                for job in batch {
                    self.shared.metrics.submission("overloaded");
                    let _ = job.reply.send(Err(ApiError::overloaded(
                        "the log could not commit this batch; retry",
                    )));
                }
                return;
            }
        };
        if state_changed {
            self.publish_snapshot();
        }
        if self.records.len() > RECORD_CACHE {
            self.records.clear();
        }
        // The receipts' proofs, all at once (a failure here only leaves them
        // to the handlers).
        let new: Vec<u64> = results
            .iter()
            .filter_map(|r| match r {
                Pending::New(i) => Some(*i),
                _ => None,
            })
            .collect();
        let mut proofs = if new.is_empty() {
            Vec::new()
        } else {
            let overlay = Overlay {
                store: &self.shared.store,
                batch: &batch_nodes,
            };
            merkle::inclusion_proofs(&overlay, &new, published.size).unwrap_or_default()
        }
        .into_iter();
        let now = Instant::now();
        for (job, r) in batch.into_iter().zip(results) {
            let answer = match r {
                Pending::New(i) => {
                    self.shared.metrics.submission("created");
                    self.shared
                        .metrics
                        .sequencing_seconds
                        .observe(now.duration_since(job.queued).as_secs_f64());
                    Ok(Outcome::Created(i, published.clone(), proofs.next()))
                }
                Pending::Dup(i) => {
                    self.shared.metrics.submission("duplicate");
                    Ok(Outcome::Duplicate(i, published.clone()))
                }
                Pending::Err(e) => {
                    self.shared.metrics.submission(outcome_of(&e));
                    Err(e)
                }
            };
            let _ = job.reply.send(answer);
        }
    }

    /// Steps 3 (signature), 4 and 5 for a non-empty batch; returns the new
    /// published checkpoint.
    fn commit(
        &mut self,
        commit: &mut Commit,
        batch_nodes: &HashMap<NodeId, Hash>,
    ) -> Result<Arc<Published>, String> {
        let size = self.frontier.size();
        let root = self.frontier.root();
        let prev = self.shared.published();
        // Step 4: never sign a checkpoint that does not extend the last one.
        if prev.size > 0 {
            let overlay = Overlay {
                store: &self.shared.store,
                batch: batch_nodes,
            };
            let proof = merkle::consistency_proof(&overlay, prev.size, size)
                .map_err(|e| format!("consistency proof: {e}"))?;
            merkle::verify_consistency(prev.size, size, &prev.root, &root, &proof).map_err(
                |e| format!("new tree is not consistent with the published checkpoint: {e}"),
            )?;
        }
        let cp = Checkpoint {
            origin: self.shared.origin.clone(),
            size,
            root,
            extensions: vec![],
        };
        let signed = cp
            .sign(&[&self.key], now_secs())
            .map_err(|e| e.to_string())?;
        let text = signed.to_text();
        commit.checkpoint = text.clone();
        let n = commit.entries.len();
        // Step 5: one synced write.
        let t = Instant::now();
        self.shared
            .store
            .commit(commit)
            .map_err(|e| e.to_string())?;
        self.shared
            .metrics
            .commit_seconds
            .observe(t.elapsed().as_secs_f64());
        self.shared.metrics.batch_size.observe(n as f64);
        // Step 6: publish.
        let p = Arc::new(Published {
            text,
            size,
            root,
            signed,
        });
        match self.shared.published.write() {
            Ok(mut g) => *g = p.clone(),
            Err(poisoned) => *poisoned.into_inner() = p.clone(),
        }
        Ok(p)
    }
}

/// Key of the route index.
pub fn route_key(to: &str, record: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(to.len() + 1 + record.len());
    k.extend_from_slice(to.as_bytes());
    k.push(0);
    k.extend_from_slice(record.as_bytes());
    k
}

fn json<T: serde::Serialize>(v: &T) -> Vec<u8> {
    // Serialising our own plain data types cannot fail.
    serde_json::to_vec(v).unwrap_or_default()
}

/// The metrics outcome of an error.
pub fn outcome_of(e: &ApiError) -> &'static str {
    match e.status.as_u16() {
        400 => "malformed",
        403 => "unauthorized",
        422 => "rejected",
        413 => "too_large",
        429 => "rate_limited",
        503 => "overloaded",
        _ => "error",
    }
}

/// Stored hashes plus the hashes of the batch being committed.
struct Overlay<'a> {
    store: &'a Store,
    batch: &'a HashMap<NodeId, Hash>,
}

impl HashReader for Overlay<'_> {
    type Error = StoreError;
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, StoreError> {
        let missing: Vec<NodeId> = ids
            .iter()
            .filter(|id| !self.batch.contains_key(id))
            .copied()
            .collect();
        let mut stored = self.store.read_hashes(&missing)?.into_iter();
        ids.iter()
            .map(|id| match self.batch.get(id) {
                Some(h) => Ok(*h),
                None => stored
                    .next()
                    .ok_or_else(|| StoreError::Corrupt("short read".into())),
            })
            .collect()
    }
}
