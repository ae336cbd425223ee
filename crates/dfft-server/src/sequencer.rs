//! The sequencer: the log's only writer.
//!
//! Handlers authenticate a submission and check its syntax and signatures
//! in parallel, then queue it here. One thread takes whatever is queued (up
//! to `batch_max` entries, waiting at most `batch_delay` for more), and runs
//! [`Sequencer::process`] on the batch, in these named steps:
//!
//! 1. `dedup`: drops statements already logged, by statement id
//!    (SHA-256 of the DSSE PAE, whatever signatures carry it), in the store
//!    or earlier in the batch: they are answered with the first index;
//! 2. `apply_rules`: re-checks each statement against the
//!    registry state as it stands at its index (cheap: signer keys still
//!    current, record rules), applying accepted ones to the in-memory state
//!    so later entries of the batch see them, and appends the accepted
//!    leaves to the in-memory [`Frontier`], collecting every stored hash
//!    they complete;
//! 3. `index`: applies the batch's changes to the map (the core's map
//!    function, `dfft_core::map::MapBatch`, then one batch update of the
//!    tree hashing each changed node once, through the sequencer's node
//!    cache), adds the changed nodes (namespace `m`) to the commit, and
//!    appends the `index` entry (covering the entries since the previous
//!    one, with the new map root, signed by the log's key) as the batch's
//!    last leaf;
//! 4. `commit`: proves that the new tree is consistent with
//!    the last published checkpoint (from stored hashes plus this batch's)
//!    and refuses to go on if not (a Fatal error), signs a checkpoint of the
//!    new size, then writes entries (the index entry included), leaf
//!    index, hashes, registry state (statement ids and map nodes
//!    included), size and the signed checkpoint in ONE
//!    RocksDB write batch, synced (see `dfft_store`), and only then
//!    publishes the checkpoint;
//! 5. `answer`: answers every submitter, with the inclusion
//!    proofs of the batch's new entries.
//!
//! Crash safety, step by step: a crash before the write of step 3 returns
//! loses nothing that was acknowledged (nobody was answered; clients retry
//! and, thanks to step 1, a retry of an entry that did land gets its index).
//! A crash after it leaves the whole batch, its map nodes, its index entry
//! and its checkpoint on disk. There is no state in between (so the log's
//! last leaf is always an index entry, and the map in the store is always
//! the one that index entry's root names), so recovery ([`Sequencer::open`]) only re-reads
//! the size, the checkpoint and O(log n) hashes of the right edge, checks
//! that they agree (the stored tree's root at the checkpoint's size must
//! equal the checkpoint's root, signed by our key), and loads the registry's
//! small governance and authority state. Restart time does not grow with
//! the log (except once, on the upgrades that build the statement index,
//! the map and the authority log: `upgrade::build_statement_index`,
//! `upgrade::build_map`, `upgrade::build_authority_log`;
//! after the map build, `open` commits one batch holding only an index
//! entry, so that the published checkpoint's last leaf is one). The map's
//! node cache is dropped whenever the state is reloaded.
//!
//! Failures are typed by what happens next:
//! - **Retry** (a store error that may pass: I/O, descriptors): the batch is
//!   answered 503 with `Retry-After`; the in-memory state is reloaded from
//!   the store, including a checkpoint that did land although the write
//!   reported an error (failed but persisted), so retries find their
//!   entries. `/healthz` says "degraded" until a commit succeeds. If writes
//!   keep failing this way for longer than the configured bound, the
//!   process exits so that a supervisor restarts it with fresh descriptors.
//! - **No space**: as Retry, answered 507 Insufficient Storage; RocksDB
//!   resumes writing by itself once space is freed.
//! - **Fatal** (a consistency self-check failed, a stored hash or entry is
//!   corrupt): signing stops for good, every later submission gets 503
//!   `log_stopped`, `/healthz` answers 503 with the reason, and the metric
//!   `dfft_sequencer_fatal` is 1. An operator must look.
//!
//! Why this file is long: the single writer, its batching, its four steps and its
//! failure handling are one crash-safety argument, kept in one file so that
//! it can be read and reviewed whole (upgrades are in `upgrade`, the state
//! schema in `state`).

use crate::error::ApiError;
use crate::metrics::Metrics;
use dfft_core::checkpoint::{Checkpoint, SignedCheckpoint};
use dfft_core::map::index::IndexEntry;
use dfft_core::map::tree::{self, NodeStore as _};
use dfft_core::map::MapBatch;
use dfft_core::merkle::{self, Frontier, Hash, HashReader, NodeId};
use dfft_core::note::{SignerKey, VerifierKey};
use dfft_core::statement::registry::{check_rules, AuthorityState, Change, RecordHead, Verified};
use dfft_core::statement::Governance;
use dfft_store::{Commit, ErrorKind, LogStore, StoreError};
use std::collections::HashMap;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::oneshot;

use crate::mapstate::{node_write, store_error, MapVersions, OldNodes};
use crate::state::{record_write, statement_write, writes_for, RegistryState};
pub use crate::state::{route_key, NS_AUTHORITY, NS_GENESIS, NS_RECORD, NS_ROUTE, NS_STATEMENT};
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
    /// Inclusion proofs in this tree of the entries it newly covers, when
    /// they were built at once at publication (witnessing does: its
    /// receipts cannot come from the sequencer's batch proofs).
    pub proofs: HashMap<u64, Vec<Hash>>,
}

/// The registry state that signature checks need, shared with handlers.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Governance keys and threshold, once genesis is logged.
    pub governance: Option<Governance>,
    /// Authorities by id.
    pub authorities: HashMap<String, AuthorityState>,
    /// Every key the log knows (governance, and authorities' current keys,
    /// retired ones included) by keyid: what may sign anything here.
    pub keys: HashMap<String, Vec<VerifierKey>>,
}

impl Snapshot {
    fn new(governance: Option<Governance>, authorities: HashMap<String, AuthorityState>) -> Self {
        let mut keys: HashMap<String, Vec<VerifierKey>> = HashMap::new();
        let gov = governance.iter().flat_map(|g| g.keys.iter());
        let auth = authorities.values().flat_map(|a| a.keys.iter());
        for k in gov.chain(auth) {
            let v = keys.entry(k.keyid()).or_default();
            if !v.contains(k) {
                v.push(k.clone());
            }
        }
        Snapshot {
            governance,
            authorities,
            keys,
        }
    }

    /// The known keys with this keyid (see [`Snapshot::keys`]).
    pub fn keys_for(&self, keyid: &str) -> Vec<&VerifierKey> {
        self.keys
            .get(keyid)
            .map(|v| v.iter().collect())
            .unwrap_or_default()
    }
}

/// Whether the log can take writes, for `/healthz` and operators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// Commits succeed.
    Ok,
    /// The last commit failed with an error that may pass (storage full,
    /// I/O); writes are retried and resume by themselves.
    Degraded {
        /// What failed.
        reason: String,
    },
    /// Signing stopped for good (see the module docs).
    Fatal {
        /// What failed.
        reason: String,
    },
}

/// What the sequencer shares with the HTTP side.
pub struct Shared {
    /// The store (reads are safe from any thread).
    pub store: Arc<dyn LogStore>,
    /// Latest published checkpoint: what `/checkpoint`, reads and receipts
    /// use. Without witnesses it is the latest signed one; with a witness
    /// policy, the latest one its quorum cosigned (`crate::witnessing`).
    pub published: RwLock<Arc<Published>>,
    /// Latest signed checkpoint, durable in the store (the sequencer's own
    /// view; ahead of `published` while witnesses have not cosigned it).
    pub signed: RwLock<Arc<Published>>,
    /// The published size, for submissions waiting to be covered.
    pub published_size: tokio::sync::watch::Sender<u64>,
    /// The witnessing stage, when the log has a witness policy.
    pub witnessing: std::sync::OnceLock<Arc<crate::witnessing::Witnessing>>,
    /// Whether a checkpoint cosigned by the quorum was ever published (always
    /// true without witnesses).
    pub witnessed: std::sync::atomic::AtomicBool,
    /// Registry state for signature checks.
    pub snapshot: RwLock<Arc<Snapshot>>,
    /// Metrics.
    pub metrics: Metrics,
    /// The log's public key.
    pub log_vkey: VerifierKey,
    /// The origin.
    pub origin: String,
    /// Whether the log can take writes.
    pub health: RwLock<Health>,
    /// The map as the handlers read it at the published checkpoint.
    pub map: Arc<MapVersions>,
}

impl Shared {
    /// The latest published checkpoint.
    pub fn published(&self) -> Arc<Published> {
        self.published
            .read()
            .map(|p| p.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }
    /// The latest signed (durable) checkpoint.
    pub fn signed(&self) -> Arc<Published> {
        self.signed
            .read()
            .map(|p| p.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }
    /// Whether a checkpoint the witness quorum cosigned was ever published
    /// (always true without a witness policy).
    pub fn witnessed(&self) -> bool {
        self.witnessed.load(std::sync::atomic::Ordering::Acquire)
    }
    /// The witnessing stage, if any.
    pub fn witnessing(&self) -> Option<&Arc<crate::witnessing::Witnessing>> {
        self.witnessing.get()
    }
    /// Publishes `p` (never a smaller size than the published one).
    pub fn publish(&self, p: Arc<Published>) {
        let size = p.size;
        match self.published.write() {
            Ok(mut g) if g.size <= size => *g = p,
            Ok(_) => return,
            Err(poisoned) => *poisoned.into_inner() = p,
        }
        self.witnessed
            .store(true, std::sync::atomic::Ordering::Release);
        self.map.published(size);
        self.published_size.send_replace(size);
    }
    fn set_signed(&self, p: Arc<Published>) {
        let size = p.size;
        match self.signed.write() {
            Ok(mut g) => *g = p.clone(),
            Err(poisoned) => *poisoned.into_inner() = p.clone(),
        }
        match self.witnessing() {
            Some(w) => w.signed(size),
            None => self.publish(p),
        }
    }
    /// Waits until a published checkpoint covers entry `index` (at once
    /// without witnesses), at most `timeout`.
    pub async fn covering(
        &self,
        index: u64,
        timeout: std::time::Duration,
    ) -> Option<Arc<Published>> {
        let deadline = tokio::time::Instant::now() + timeout;
        // Subscribe before looking, so that no publication is missed.
        let mut rx = self.published_size.subscribe();
        loop {
            let p = self.published();
            if p.size > index && self.witnessed() {
                return Some(p);
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => continue,
                _ => return None,
            }
        }
    }
    /// The latest registry snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot
            .read()
            .map(|p| p.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }
    /// Whether the log can take writes.
    pub fn health(&self) -> Health {
        self.health
            .read()
            .map(|h| h.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }
    fn set_health(&self, h: Health) {
        match self.health.write() {
            Ok(mut g) => *g = h,
            Err(p) => *p.into_inner() = h,
        }
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
    /// Exit the process when commits have failed with retryable errors
    /// (other than a full disk) for this long, so that a supervisor
    /// restarts it (`None`: never).
    pub exit_after_failing: Option<Duration>,
}

/// The single writer.
pub struct Sequencer {
    shared: Arc<Shared>,
    key: SignerKey,
    frontier: Frontier,
    governance: Option<Governance>,
    authorities: HashMap<String, AuthorityState>,
    records: HashMap<String, RecordHead>,
    /// Since when commits fail with retryable errors.
    failing_since: Option<Instant>,
    /// Governance or authorities changed in the batch being committed.
    snapshot_dirty: bool,
    exit_after_failing: Option<Duration>,
    /// The changes of the batch being sequenced, (index, change), for the
    /// `index` step.
    changes: Vec<(u64, Change)>,
    /// The map's hot nodes, and what batches not yet published overwrote
    /// (shared with the handlers as `Shared::map`).
    map: Arc<MapVersions>,
    /// The index of the log's last index entry (`None` before the first).
    last_index_entry: Option<u64>,
    /// The map part of the batch being committed: kept once the commit is
    /// durable.
    pending_map: Option<PendingMap>,
}

/// The map part of a batch between the `index` and `commit` steps.
struct PendingMap {
    /// Its index entry's index.
    last: u64,
    /// The nodes it writes.
    nodes: Vec<(tree::NodeId, tree::Node)>,
    /// What they held before (for the handlers, `MapVersions`).
    old: Arc<OldNodes>,
}

/// Why a batch was not committed.
#[derive(Debug)]
enum CommitError {
    /// The log must stop signing (see the module docs).
    Fatal(String),
    /// The store refused the write.
    Store(StoreError),
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
        store: Arc<dyn LogStore>,
        key: SignerKey,
        origin: String,
        metrics: Metrics,
    ) -> Result<Sequencer, OpenError> {
        let size = store.size()?;
        let frontier = store.frontier(size)?;
        let root = frontier.root();
        crate::upgrade::build_statement_index(&*store, size)?;
        crate::upgrade::build_map(&*store, size)?;
        crate::upgrade::build_authority_log(&*store, size)?;
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
                    proofs: HashMap::new(),
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
                    proofs: HashMap::new(),
                }
            }
            None => return Err(OpenError::Inconsistent("entries but no checkpoint".into())),
        };
        let published = Arc::new(published);
        let map = Arc::new(MapVersions::default());
        let shared = Arc::new(Shared {
            store,
            published_size: tokio::sync::watch::Sender::new(published.size),
            signed: RwLock::new(published.clone()),
            published: RwLock::new(published),
            witnessing: std::sync::OnceLock::new(),
            witnessed: std::sync::atomic::AtomicBool::new(true),
            snapshot: RwLock::new(Arc::new(Snapshot::default())),
            metrics,
            log_vkey: key.verifier(),
            origin,
            health: RwLock::new(Health::Ok),
            map: map.clone(),
        });
        let mut s = Sequencer {
            shared,
            key,
            frontier,
            governance: None,
            authorities: HashMap::new(),
            records: HashMap::new(),
            failing_since: None,
            snapshot_dirty: false,
            exit_after_failing: None,
            changes: Vec::new(),
            map,
            last_index_entry: None,
            pending_map: None,
        };
        s.load_state()?;
        s.index_upgraded_log()?;
        Ok(s)
    }

    /// Switches publication to the witnessing stage (`crate::witnessing`):
    /// from now on a checkpoint is published only once the policy's quorum
    /// cosigned it. The published checkpoint becomes the stored cosigned
    /// one, if there is one and it is a checkpoint of this tree; until the
    /// first quorum, `/checkpoint` answers 503.
    pub fn enable_witnessing(
        &mut self,
        w: Arc<crate::witnessing::Witnessing>,
    ) -> Result<(), OpenError> {
        let store = &self.shared.store;
        let stored = store.state(NS_GENESIS, crate::witnessing::WITNESSED_CHECKPOINT)?;
        let signed = self.shared.signed();
        let mut published = None;
        if let Some(bytes) = stored {
            let cp = SignedCheckpoint::parse(&bytes)
                .map_err(|e| OpenError::Inconsistent(format!("stored cosigned checkpoint: {e}")))?;
            cp.verify(&self.key.verifier(), &[], 0)
                .map_err(|e| OpenError::Inconsistent(format!("stored cosigned checkpoint: {e}")))?;
            let size = cp.checkpoint.size;
            if size > signed.size || store.frontier(size)?.root() != cp.checkpoint.root {
                return Err(OpenError::Inconsistent(format!(
                    "the stored cosigned checkpoint (size {size}) is not a checkpoint of this tree"
                )));
            }
            // A policy may have changed since: publish it only if it still
            // meets the quorum, else wait for a new round.
            let policy = &w.options.policy;
            if policy.quorum_met(&crate::witnessing::cosigners(policy, &cp)) {
                published = Some(Published {
                    text: String::from_utf8_lossy(&bytes).into_owned(),
                    size,
                    root: cp.checkpoint.root,
                    signed: cp,
                    proofs: HashMap::new(),
                });
            }
        }
        let _ = self.shared.witnessing.set(w);
        match published {
            Some(p) => {
                let p = Arc::new(p);
                match self.shared.published.write() {
                    Ok(mut g) => *g = p.clone(),
                    Err(poisoned) => *poisoned.into_inner() = p.clone(),
                }
                self.shared.published_size.send_replace(p.size);
            }
            None => self
                .shared
                .witnessed
                .store(false, std::sync::atomic::Ordering::Release),
        }
        Ok(())
    }

    /// What the HTTP side shares.
    pub fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }

    /// (Re)loads the registry state and the frontier from the store, and
    /// publishes a stored checkpoint newer than the published one (a commit
    /// that reported an error but landed).
    fn load_state(&mut self) -> Result<(), StoreError> {
        let store = &self.shared.store;
        let size = store.size()?;
        self.frontier = store.frontier(size)?;
        if size > self.shared.signed().size {
            let text = store
                .checkpoint()?
                .ok_or_else(|| StoreError::Corrupt("entries but no checkpoint".into()))?;
            let signed = SignedCheckpoint::parse(text.as_bytes())
                .map_err(|e| StoreError::Corrupt(format!("stored checkpoint: {e}")))?;
            signed
                .verify(&self.key.verifier(), &[], 0)
                .map_err(|e| StoreError::Corrupt(format!("stored checkpoint: {e}")))?;
            if signed.checkpoint.size != size || signed.checkpoint.root != self.frontier.root() {
                return Err(StoreError::Corrupt(
                    "the stored checkpoint does not match the stored tree".into(),
                ));
            }
            tracing::warn!(
                size,
                "a commit that reported an error had landed; publishing it"
            );
            self.shared.set_signed(Arc::new(Published {
                text,
                size,
                root: signed.checkpoint.root,
                signed,
                proofs: HashMap::new(),
            }));
        }
        let state = RegistryState::new(&**store);
        self.governance = state.governance()?;
        self.authorities = state.authorities()?;
        self.records.clear();
        self.map.cache().clear();
        self.changes.clear();
        self.last_index_entry = crate::mapstate::last_index_entry(&**store, size)?;
        self.publish_snapshot();
        Ok(())
    }

    /// On open, a log whose last leaf is not an index entry (written before
    /// the index; its map was just built by `upgrade::build_map`) gets one,
    /// alone in its batch, so that the published checkpoint commits to the
    /// map. Crash safety: the batch is one commit like any other; a crash
    /// before it repeats this on the next open.
    fn index_upgraded_log(&mut self) -> Result<(), OpenError> {
        let size = self.frontier.size();
        if size == 0 || self.last_index_entry == Some(size - 1) {
            return Ok(());
        }
        tracing::info!(size, "appending the first index entry of an upgraded log");
        let mut commit = Commit {
            first_index: size,
            ..Default::default()
        };
        self.index(&mut commit).map_err(OpenError::Store)?;
        let batch_nodes: HashMap<NodeId, Hash> = commit.nodes.iter().copied().collect();
        match self.commit(&mut commit, &batch_nodes) {
            Ok(_) => Ok(()),
            Err(CommitError::Store(e)) => Err(OpenError::Store(e)),
            Err(CommitError::Fatal(r)) => Err(OpenError::Inconsistent(r)),
        }
    }

    fn publish_snapshot(&self) {
        let snap = Arc::new(Snapshot::new(
            self.governance.clone(),
            self.authorities.clone(),
        ));
        match self.shared.snapshot.write() {
            Ok(mut g) => *g = snap,
            Err(p) => *p.into_inner() = snap,
        }
    }

    fn record(&mut self, id: &str) -> Result<Option<RecordHead>, StoreError> {
        if let Some(r) = self.records.get(id) {
            return Ok(Some(r.clone()));
        }
        let r = RegistryState::new(&*self.shared.store).record(id)?;
        if let Some(r) = &r {
            self.records.insert(id.to_string(), r.clone());
        }
        Ok(r)
    }

    /// Runs the sequencing loop until every sender is dropped.
    pub fn run(mut self, rx: Receiver<Job>, limits: BatchLimits) {
        self.exit_after_failing = limits.exit_after_failing;
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
    /// the genesis statement): the four steps of the module docs.
    pub fn process(&mut self, batch: Vec<Job>) {
        if let Health::Fatal { reason } = self.shared.health() {
            for job in batch {
                self.shared.metrics.submission("log_stopped");
                let _ = job.reply.send(Err(ApiError::log_stopped(format!(
                    "the log stopped signing: {reason}"
                ))));
            }
            return;
        }
        let mut commit = Commit {
            first_index: self.frontier.size(),
            ..Default::default()
        };
        let results = self.dedup_and_apply(&batch, &mut commit);
        let wrote = !commit.entries.is_empty();
        if wrote {
            if let Err(e) = self.index(&mut commit) {
                self.failed(batch, CommitError::Store(e));
                return;
            }
        }
        // The batch's new hashes, for proofs over the stored tree plus this
        // batch (the consistency check before signing, then the receipts).
        let batch_nodes: HashMap<NodeId, Hash> = commit.nodes.iter().copied().collect();
        let published = if wrote {
            self.commit(&mut commit, &batch_nodes)
        } else {
            Ok(self.shared.signed())
        };
        match published {
            Ok(p) => {
                if wrote {
                    self.recovered();
                }
                if self.records.len() > RECORD_CACHE {
                    self.records.clear();
                }
                self.answer(batch, results, &p, &batch_nodes);
            }
            Err(e) => self.failed(batch, e),
        }
    }

    /// Steps 1 and 2 for every job of the batch, in order: what each one
    /// came to, with the accepted entries, hashes and state in `commit`.
    fn dedup_and_apply(&mut self, batch: &[Job], commit: &mut Commit) -> Vec<Pending> {
        let mut in_batch: HashMap<[u8; 32], u64> = HashMap::new();
        let mut results: Vec<Pending> = Vec::with_capacity(batch.len());
        let mut state_changed = false;
        let mut touched_records: Vec<String> = Vec::new();
        for job in batch {
            let id = *job.verified.submission().statement_id();
            match self.dedup(&id, &in_batch) {
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
            let index = self.frontier.size();
            match self.apply_rules(index, &job.verified, commit) {
                Ok(Applied::State) => state_changed = true,
                Ok(Applied::Record(rid)) => {
                    if !touched_records.contains(&rid) {
                        touched_records.push(rid);
                    }
                }
                Err(e) => {
                    results.push(Pending::Err(e));
                    continue;
                }
            }
            self.frontier
                .append(job.leaf, |id, h| commit.nodes.push((id, *h)));
            commit
                .entries
                .push((job.verified.entry().to_vec(), job.leaf));
            commit.state.push(statement_write(&id, index));
            in_batch.insert(id, index);
            results.push(Pending::New(index));
        }
        for id in &touched_records {
            if let Some(r) = self.records.get(id) {
                commit.state.push(record_write(r));
            }
        }
        if state_changed {
            // Published only once the commit is durable; see `recovered`.
            self.snapshot_dirty = true;
        }
        results
    }

    /// Step 1: the index of this statement if it is logged already (in the
    /// store or earlier in this batch).
    fn dedup(
        &self,
        id: &[u8; 32],
        in_batch: &HashMap<[u8; 32], u64>,
    ) -> Result<Option<u64>, StoreError> {
        if let Some(&i) = in_batch.get(id) {
            return Ok(Some(i));
        }
        RegistryState::new(&*self.shared.store).statement_index(id)
    }

    /// Step 2: the registry rules at `index`; on success the in-memory state
    /// and `commit.state` hold the change.
    fn apply_rules(
        &mut self,
        index: u64,
        verified: &Verified,
        commit: &mut Commit,
    ) -> Result<Applied, ApiError> {
        let st = verified.statement();
        let authority = st
            .authority()
            .and_then(|a| self.authorities.get(a.as_str()))
            .cloned();
        let record = match st.record().map(|r| r.to_string()) {
            Some(id) => self.record(&id)?,
            None => None,
        };
        let change = check_rules(
            index,
            verified,
            Some(&self.shared.origin),
            self.governance.as_ref(),
            authority.as_ref(),
            record.as_ref(),
        )?;
        if let Change::Genesis { origin, .. } = &change {
            if origin != &self.shared.origin {
                return Err(ApiError::malformed(format!(
                    "genesis origin {origin:?} is not this log's origin {:?}",
                    self.shared.origin
                )));
            }
        }
        // For the `index` step.
        self.changes.push((index, change.clone()));
        // Record heads are written once per batch, with their last event
        // (`dedup_and_apply`); everything else now.
        for w in writes_for(&change, record.is_none()) {
            if w.0 != NS_RECORD {
                commit.state.push(w);
            }
        }
        match change {
            Change::Genesis { governance, .. } => {
                self.governance = Some(governance);
                Ok(Applied::State)
            }
            Change::Authority(a) => {
                self.authorities.insert(a.id.to_string(), a);
                Ok(Applied::State)
            }
            Change::Record(r) => {
                let id = r.record.to_string();
                self.records.insert(id.clone(), r);
                Ok(Applied::Record(id))
            }
            // `check_rules` judges statements as new; repeats never reach it.
            Change::Repeated { first } => Err(ApiError::internal(format!(
                "rules reported a repeat of entry {first}"
            ))),
            // Nobody can submit an index entry (the parser refuses the kind).
            Change::Index(_) => Err(ApiError::internal("rules accepted an index entry")),
        }
    }

    /// Step 5: answers every job, with the receipts' proofs built at once (a
    /// failure here only leaves them to the handlers).
    fn answer(
        &self,
        batch: Vec<Job>,
        results: Vec<Pending>,
        published: &Arc<Published>,
        batch_nodes: &HashMap<NodeId, Hash>,
    ) {
        let new: Vec<u64> = results
            .iter()
            .filter_map(|r| match r {
                Pending::New(i) => Some(*i),
                _ => None,
            })
            .collect();
        // With witnesses, receipts are proven against the cosigned
        // checkpoint that will cover them, by the handlers.
        let mut proofs = if new.is_empty() || self.shared.witnessing().is_some() {
            Vec::new()
        } else {
            let overlay = Overlay {
                store: &*self.shared.store,
                batch: batch_nodes,
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

    /// After a successful commit: publish a changed snapshot, clear a
    /// degraded state.
    fn recovered(&mut self) {
        if self.snapshot_dirty {
            self.publish_snapshot();
            self.snapshot_dirty = false;
        }
        if self.failing_since.take().is_some() {
            tracing::info!("commits succeed again");
            self.shared.set_health(Health::Ok);
        }
    }

    /// A batch that was not committed: answer it by the kind of failure,
    /// reload what the store holds, and stop for good on a Fatal error.
    fn failed(&mut self, batch: Vec<Job>, e: CommitError) {
        self.snapshot_dirty = false;
        self.pending_map = None;
        let (answer, kind) = match &e {
            CommitError::Fatal(reason) => (ApiError::log_stopped(reason.clone()), "corruption"),
            CommitError::Store(se) => match se.kind() {
                ErrorKind::NoSpace => (
                    ApiError::insufficient_storage(
                        "the registry's storage is full; nothing of this batch was logged; retry later",
                    ),
                    "no_space",
                ),
                ErrorKind::Corruption => (
                    ApiError::log_stopped(format!("the store is corrupt: {se}")),
                    "corruption",
                ),
                ErrorKind::Transient => (
                    ApiError::overloaded(
                        "the log could not commit this batch (storage error); retry",
                    ),
                    "transient",
                ),
            },
        };
        self.shared.metrics.store_error(kind);
        tracing::error!(error = ?e, kind, "batch not committed; reloading state");
        let reload = self.load_state();
        let fatal = match (&e, &reload) {
            (CommitError::Fatal(r), _) => Some(r.clone()),
            (CommitError::Store(se), _) if se.kind() == ErrorKind::Corruption => {
                Some(se.to_string())
            }
            (_, Err(re)) if re.kind() == ErrorKind::Corruption => Some(re.to_string()),
            _ => None,
        };
        if let Some(reason) = fatal {
            tracing::error!(%reason, "FATAL: the sequencer stops signing; an operator must look");
            self.shared
                .metrics
                .fatal
                .store(1, std::sync::atomic::Ordering::Relaxed);
            self.shared.set_health(Health::Fatal { reason });
        } else {
            let since = *self.failing_since.get_or_insert_with(Instant::now);
            self.shared.set_health(Health::Degraded {
                reason: format!("commits are failing ({kind}): {}", answer.message),
            });
            if kind == "transient" {
                if let Some(limit) = self.exit_after_failing {
                    if since.elapsed() >= limit {
                        tracing::error!(
                            seconds = since.elapsed().as_secs(),
                            "commits have failed for too long; exiting so that a supervisor restarts the registry"
                        );
                        std::process::exit(75);
                    }
                }
            }
        }
        for job in batch {
            self.shared.metrics.submission(outcome_of(&answer));
            let _ = job.reply.send(Err(answer.clone()));
        }
    }

    /// Step 3 for a non-empty batch: the map update and the index entry as
    /// the batch's last leaf (see the module docs). Only `commit` changes
    /// (and the frontier, which a failed commit reloads).
    fn index(&mut self, commit: &mut Commit) -> Result<(), StoreError> {
        let changes = std::mem::take(&mut self.changes);
        let store = &*self.shared.store;
        let nodes = self.map.cache().view(store);
        let mut batch = MapBatch::new();
        for (index, change) in &changes {
            let at = index
                .checked_sub(commit.first_index)
                .and_then(|i| commit.entries.get(i as usize))
                .ok_or_else(|| StoreError::Corrupt(format!("entry {index} is not in the batch")))?;
            batch.apply(*index, &at.1, change, |k| {
                tree::get(&nodes, k).map_err(store_error)
            })?;
        }
        let update = tree::update(&nodes, batch.updates()).map_err(store_error)?;
        // What the batch overwrites, for handlers answering for an older
        // published checkpoint (nearly all in the cache: the update read them).
        let mut old = OldNodes::with_capacity(update.nodes.len());
        for (id, _) in &update.nodes {
            old.insert(*id, nodes.node(id)?);
        }
        // In key order: RocksDB's memtable inserts keys that follow each
        // other cheaply (its skip list keeps the last insert's position),
        // and a batch's nodes come out of the tree in depth-first order.
        let mut writes: Vec<_> = update
            .nodes
            .iter()
            .map(|(id, n)| node_write(id, n))
            .collect();
        writes.sort_unstable_by(|a, b| a.1.cmp(&b.1));
        commit.state.extend(writes);
        let first = self.last_index_entry.map_or(0, |l| l + 1);
        let ix = IndexEntry {
            log: self.shared.origin.clone(),
            first,
            last: self.frontier.size(),
            map_root: update.root,
            previous: self.last_index_entry,
        };
        let entry = ix
            .sign(&self.key)
            .map_err(|e| StoreError::Corrupt(format!("signing the index entry: {e}")))?;
        let leaf = merkle::leaf_hash(&entry);
        self.frontier
            .append(leaf, |id, h| commit.nodes.push((id, *h)));
        commit.entries.push((entry, leaf));
        self.pending_map = Some(PendingMap {
            last: ix.last,
            nodes: update.nodes,
            old: Arc::new(old),
        });
        Ok(())
    }

    /// Step 4 for a non-empty batch: consistency self-check, signature, one
    /// synced write, publication. Returns the new published checkpoint.
    fn commit(
        &mut self,
        commit: &mut Commit,
        batch_nodes: &HashMap<NodeId, Hash>,
    ) -> Result<Arc<Published>, CommitError> {
        let size = self.frontier.size();
        let root = self.frontier.root();
        let prev = self.shared.signed();
        // Never sign a checkpoint that does not extend the last one.
        if prev.size > 0 {
            let overlay = Overlay {
                store: &*self.shared.store,
                batch: batch_nodes,
            };
            let proof = match merkle::consistency_proof(&overlay, prev.size, size) {
                Ok(p) => p,
                Err(merkle::BuildError::Storage(e)) if e.kind() != ErrorKind::Corruption => {
                    return Err(CommitError::Store(e))
                }
                Err(e) => return Err(CommitError::Fatal(format!("consistency proof: {e}"))),
            };
            merkle::verify_consistency(prev.size, size, &prev.root, &root, &proof).map_err(
                |e| {
                    CommitError::Fatal(format!(
                        "new tree is not consistent with the published checkpoint: {e}"
                    ))
                },
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
            .map_err(|e| CommitError::Fatal(format!("signing the checkpoint: {e}")))?;
        let text = signed.to_text();
        commit.checkpoint = text.clone();
        let n = commit.entries.len();
        // The old values of the map nodes this batch overwrites are kept
        // for the handlers BEFORE the write (they read the store at any
        // time), and dropped again if it fails.
        if let Some(m) = &self.pending_map {
            self.map.overwriting(size, m.old.clone());
        }
        // One synced write: after it returns, the batch is durable.
        let t = Instant::now();
        if let Err(e) = self.shared.store.commit(commit) {
            self.map.not_committed(size);
            return Err(CommitError::Store(e));
        }
        if let Some(m) = self.pending_map.take() {
            self.map.cache().committed(&m.nodes);
            self.last_index_entry = Some(m.last);
        }
        self.shared
            .metrics
            .commit_seconds
            .observe(t.elapsed().as_secs_f64());
        self.shared.metrics.batch_size.observe(n as f64);
        // Only now publish (with witnesses: hand it to the witnessing
        // stage, which publishes it once the quorum cosigned it).
        let p = Arc::new(Published {
            text,
            size,
            root,
            signed,
            proofs: HashMap::new(),
        });
        self.shared.set_signed(p.clone());
        Ok(p)
    }
}

/// How one job of a batch ended in steps 1 and 2.
enum Pending {
    New(u64),
    Dup(u64),
    Err(ApiError),
}

/// What an accepted entry changed.
enum Applied {
    /// Governance or an authority (the shared snapshot must be republished).
    State,
    /// This record.
    Record(String),
}

/// The metrics outcome of an error.
pub fn outcome_of(e: &ApiError) -> &'static str {
    // Codes that share a status with another outcome, first.
    match e.code {
        "insufficient_storage" => return "insufficient_storage",
        "log_stopped" => return "log_stopped",
        "awaiting_witnesses" => return "awaiting_witnesses",
        _ => {}
    }
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
    store: &'a dyn LogStore,
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
