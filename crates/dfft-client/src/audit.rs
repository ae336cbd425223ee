//! The auditor: replays the log from its entry bundles and trusts nothing
//! the log says about itself.
//!
//! For a target checkpoint it
//! 1. refuses a rollback or a same-size fork against the checkpoints it
//!    trusted before, and tries to prove from the log's tiles that the
//!    target extends them, so a fork is caught before the long part (broken
//!    tiles do not stop it: step 4 does not need them);
//! 2. fetches every entry it has not seen yet, hashes it into its own
//!    Merkle tree, and applies it to a [`Registry`], which checks the
//!    entry's signatures against the governance and authority state at its
//!    position and every registry rule; entry 0's genesis must name the
//!    log's origin. The work is a pipeline: one thread fetches, hashes and
//!    parses bundles and keeps a directory of every key any genesis or
//!    authority statement so far has listed; one worker per core runs the
//!    Ed25519 checks of each entry against the directory's keys for its
//!    keyids ([`Submission::preverify`]); this thread applies the entries
//!    in log order. The registry still decides, at each entry's position,
//!    which keys count; the workers only save it the curve arithmetic, so
//!    the verdicts are those of a one-thread replay;
//!    Alongside, it replays the map function (`dfft_core::map::index::MapReplay`)
//!    and recomputes every registry-appended `index` entry: signed by the
//!    log's key, covering the entries since the previous one, with the map
//!    root those entries give (a mismatch names the index entry);
//! 3. checks that its own tree's root equals the target's signed root;
//! 4. proves, from its own tree, that the target extends every checkpoint
//!    it trusted before (so a fork's evidence holds a proof anyone can check).
//!
//! An [`Auditor`] keeps its tree and registry, so a monitor can advance it
//! checkpoint by checkpoint; a fresh one replays from entry 0. Its memory
//! is 64 bytes per entry plus the registry.
//!
//! Leaves out: persisting the registry between runs (a new process replays
//! from entry 0 and reports what is new since the state's audited size).

use crate::client::Client;
use crate::error::{ClientError, Inconsistency, InconsistencyKind};
use crate::transport::Transport;
use dfft_core::answer::RouteAnswer;
use dfft_core::checkpoint::SignedCheckpoint;
use dfft_core::map::index::{IndexEntry, MapReplay};
use dfft_core::merkle::{self, Hash, MemoryTree};
use dfft_core::note::VerifierKey;
use dfft_core::statement::registry::{Change, RecordHead, Registry, RuleError, Submission};
use dfft_core::statement::Statement;
use dfft_core::statement::StatementError;
use dfft_core::tile::TILE_WIDTH;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Bundles fetched ahead of the one being checked.
const PREFETCH: usize = 8;

/// One fetched entry: leaf hash, parsed submission, the keys its
/// signatures might be by, and the entry bytes if it is an `index` entry.
type Fetched = (
    Hash,
    Result<Submission, RuleError>,
    Vec<VerifierKey>,
    Option<Vec<u8>>,
);

/// A fetched bundle: its index and its entries from the replay's start.
type Bundle = Result<(u64, Vec<Fetched>), ClientError>;

/// Every key any genesis or authority statement has listed, by keyid.
#[derive(Default)]
struct KeyDirectory(HashMap<String, Vec<VerifierKey>>);

impl KeyDirectory {
    fn add(&mut self, k: &VerifierKey) {
        let known = self.0.entry(k.keyid()).or_default();
        if !known.contains(k) {
            known.push(k.clone());
        }
    }

    fn learn(&mut self, s: &Submission) {
        let keys: &[VerifierKey] = match s.statement() {
            Statement::Genesis(g) => &g.governance.keys,
            Statement::Authority(a) => a.keys.as_deref().unwrap_or(&[]),
            Statement::Recognition(_) | Statement::Rule(_) | Statement::Listing(_) => &[],
        };
        keys.iter().for_each(|k| self.add(k));
    }

    fn candidates(&self, s: &Submission) -> Vec<VerifierKey> {
        let mut out: Vec<VerifierKey> = Vec::new();
        for sig in &s.envelope().signatures {
            for k in self.0.get(&sig.keyid).into_iter().flatten() {
                if !out.contains(k) {
                    out.push(k.clone());
                }
            }
        }
        out
    }
}

fn workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Progress of a replay, reported after each entry bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Entries checked so far in this replay.
    pub done: u64,
    /// Entries this replay will check.
    pub total: u64,
}

/// Entries checked, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Genesis statements (one).
    pub genesis: u64,
    /// Authority statements (enrol, update, retire).
    pub authority: u64,
    /// Recognition events.
    pub recognition: u64,
    /// Entries that repeat an earlier entry's statement under other
    /// signatures (no effect; a finding, see [`AuditReport::repeated`]).
    pub repeated: u64,
    /// Registry-appended `index` entries, each recomputed.
    pub index: u64,
}

/// What one [`Auditor::advance`] checked.
#[derive(Debug, Clone)]
pub struct AuditReport {
    /// The checkpoint now audited.
    pub checkpoint: SignedCheckpoint,
    /// The size the auditor started from.
    pub from_size: u64,
    /// Entries fetched, hashed and checked in this call.
    pub replayed: u64,
    /// All entries checked so far, by kind.
    pub counts: Counts,
    /// Authorities ever enrolled.
    pub authorities: usize,
    /// Records.
    pub records: usize,
    /// Findings: entries that repeat the statement of an earlier entry, as
    /// (index, first index), in the whole log so far. The rules give them
    /// no effect, but a registry that deduplicates statements never logs
    /// one: a log written before it did, or the registry misbehaved.
    pub repeated: Vec<(u64, u64)>,
    /// Each trusted checkpoint the target was proven to extend: its size
    /// and the number of hashes in the consistency proof.
    pub consistent_with: Vec<(u64, usize)>,
    /// Time taken.
    pub elapsed: Duration,
}

/// Replays a log and keeps its tree and registry state.
#[derive(Debug, Default)]
pub struct Auditor {
    tree: MemoryTree,
    registry: Registry,
    /// The map replay, from the first `advance` (it needs the log's key).
    map: Option<MapReplay>,
    counts: Counts,
    checkpoint: Option<SignedCheckpoint>,
    poisoned: bool,
}

impl Auditor {
    /// An auditor that has seen nothing (it starts at entry 0).
    pub fn new() -> Auditor {
        Auditor::default()
    }

    /// Entries replayed.
    pub fn size(&self) -> u64 {
        self.tree.size()
    }

    /// The registry state after the entries replayed.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The map replay (after the first [`Auditor::advance`]).
    pub fn map(&self) -> Option<&MapReplay> {
        self.map.as_ref()
    }

    /// The tree of the entries replayed.
    pub fn tree(&self) -> &MemoryTree {
        &self.tree
    }

    /// Whether a failed check stopped this auditor (it then refuses to
    /// continue: make a new one).
    pub fn is_stopped(&self) -> bool {
        self.poisoned
    }

    /// The last checkpoint fully audited.
    pub fn checkpoint(&self) -> Option<&SignedCheckpoint> {
        self.checkpoint.as_ref()
    }

    /// Audits the log up to `target` (see the module docs). `trusted` is a
    /// checkpoint verified earlier (say, from the state file) that `target`
    /// must extend. After an error the auditor refuses to continue: make a
    /// new one.
    pub fn advance<T: Transport>(
        &mut self,
        client: &Client<T>,
        target: &SignedCheckpoint,
        trusted: Option<&SignedCheckpoint>,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<AuditReport, ClientError> {
        if self.poisoned {
            return Err(ClientError::Usage(
                "this auditor stopped at a failed check; start a new one".into(),
            ));
        }
        let started = Instant::now();
        client.policy().verify(target)?;
        if self.map.is_none() {
            self.map = Some(MapReplay::new(
                client.policy().origin(),
                client.policy().log_key(),
            ));
        }
        let n = target.checkpoint.size;
        let from_size = self.size();
        let mut anchors: Vec<SignedCheckpoint> = Vec::new();
        for a in trusted.into_iter().chain(self.checkpoint.as_ref()) {
            if !anchors.iter().any(|b| b == a) {
                anchors.push(a.clone());
            }
        }
        // 1. Rollback, same-size fork, and a quick fork check from tiles.
        // Only evidence of inconsistency stops here: if the tiles are
        // broken or missing, the replay below rebuilds the tree itself.
        for a in &anchors {
            if a.checkpoint.size >= n {
                client.prove_consistency(a, target)?;
            }
        }
        if let Some(a) = anchors
            .iter()
            .filter(|a| a.checkpoint.size < n)
            .max_by_key(|a| a.checkpoint.size)
        {
            if let Err(e @ ClientError::Inconsistent(_)) = client.prove_consistency(a, target) {
                return Err(e);
            }
        }
        // 2. Replay.
        self.poisoned = true;
        let violation = self.replay(client, target, progress)?;
        // 3. Root.
        let computed = self.tree.root();
        if computed != target.checkpoint.root {
            return Err(ClientError::TreeMismatch {
                size: n,
                expected: target.checkpoint.root,
                computed,
            });
        }
        // 4. Consistency with every trusted checkpoint, from our own tree.
        let mut consistent_with = Vec::new();
        for a in &anchors {
            let m = a.checkpoint.size;
            if m == 0 || m >= n {
                continue;
            }
            let proof = merkle::consistency_proof(&self.tree, m, n)
                .map_err(|e| ClientError::malformed("own tree", e))?;
            if merkle::verify_consistency(m, n, &a.checkpoint.root, &target.checkpoint.root, &proof)
                .is_err()
            {
                let implied: Hash = merkle::tree_hash(&self.tree, m)
                    .map_err(|e| ClientError::malformed("own tree", e))?;
                return Err(ClientError::inconsistent(Inconsistency {
                    kind: InconsistencyKind::Fork,
                    trusted: a.clone(),
                    presented: target.clone(),
                    proof,
                    implied_root: Some(implied),
                }));
            }
            consistent_with.push((m, proof.len()));
        }
        if let Some(v) = violation {
            return Err(v);
        }
        self.poisoned = false;
        self.checkpoint = Some(target.clone());
        Ok(AuditReport {
            checkpoint: target.clone(),
            from_size,
            replayed: n - from_size,
            counts: self.counts,
            authorities: self.registry.authorities().count(),
            records: self.registry.records().count(),
            repeated: self.registry.repeated().to_vec(),
            consistent_with,
            elapsed: started.elapsed(),
        })
    }

    /// Fetches, hashes and checks entries `[self.size(), target size)`.
    /// Returns the first rule violation (hashing goes on after it, so the
    /// root is still checked).
    fn replay<T: Transport>(
        &mut self,
        client: &Client<T>,
        target: &SignedCheckpoint,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Option<ClientError>, ClientError> {
        let start = self.size();
        let n = target.checkpoint.size;
        if start >= n {
            return Ok(None);
        }
        let origin = target.checkpoint.origin.as_str();
        let total = n - start;
        let (first, last) = (start / TILE_WIDTH, (n - 1) / TILE_WIDTH);
        let mut violation = None;
        // Keys listed by the entries before `start`, which this auditor
        // already replayed.
        let mut directory = KeyDirectory::default();
        let governance = self.registry.governance().map(|g| &g.keys[..]);
        let authorities = self.registry.authorities().map(|a| &a.keys[..]);
        for k in governance.into_iter().chain(authorities).flatten() {
            directory.add(k);
        }
        std::thread::scope(|s| {
            // Fetcher -> workers (signatures, any order) -> this thread
            // (registry rules, log order). Each channel is bounded; when
            // this thread stops early it drops `done_rx`, the workers' sends
            // fail and they stop, which drops `work_rx` and stops the
            // fetcher, so the scope can end.
            let (work_tx, work_rx) = std::sync::mpsc::sync_channel::<Bundle>(PREFETCH);
            let (done_tx, done_rx) = std::sync::mpsc::sync_channel::<Bundle>(PREFETCH);
            s.spawn(move || {
                for b in first..=last {
                    let r = client.entry_bundle(b, n).map(|entries| {
                        let parsed: Vec<Fetched> = entries
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| b * TILE_WIDTH + *i as u64 >= start)
                            .map(|(_, e)| {
                                let sub = Submission::parse_entry(e);
                                let keys = match &sub {
                                    Ok(sub) => {
                                        let keys = directory.candidates(sub);
                                        directory.learn(sub);
                                        keys
                                    }
                                    Err(_) => Vec::new(),
                                };
                                let index_entry = match &sub {
                                    Err(RuleError::Statement(StatementError::ReservedKind {
                                        kind,
                                    })) if kind == "index" => Some(e.clone()),
                                    _ => None,
                                };
                                (merkle::leaf_hash(e), sub, keys, index_entry)
                            })
                            .collect();
                        (b, parsed)
                    });
                    let failed = r.is_err();
                    if work_tx.send(r).is_err() || failed {
                        break;
                    }
                }
            });
            let work_rx = Arc::new(Mutex::new(work_rx));
            for _ in 0..workers() {
                let (work_rx, done_tx) = (work_rx.clone(), done_tx.clone());
                s.spawn(move || loop {
                    let msg = {
                        let rx = work_rx.lock().unwrap_or_else(|p| p.into_inner());
                        rx.recv()
                    };
                    let Ok(mut msg) = msg else { break };
                    if let Ok((_, entries)) = &mut msg {
                        for (_, sub, keys, _) in entries.iter_mut() {
                            if let Ok(sub) = sub {
                                sub.preverify(|keyid| {
                                    keys.iter().filter(|k| k.keyid() == keyid).collect()
                                });
                            }
                        }
                    }
                    if done_tx.send(msg).is_err() {
                        break;
                    }
                });
            }
            drop(done_tx);
            // Bundles come back out of order; apply them in order.
            let mut next = first;
            let mut waiting: BTreeMap<u64, Vec<Fetched>> = BTreeMap::new();
            for msg in done_rx {
                let (b, parsed) = msg?;
                waiting.insert(b, parsed);
                while let Some(parsed) = waiting.remove(&next) {
                    let first_index = (next * TILE_WIDTH).max(start);
                    for (i, (leaf, submission, _, index_entry)) in parsed.into_iter().enumerate() {
                        let index = first_index + i as u64;
                        self.tree.push(leaf);
                        if violation.is_none() {
                            violation = self
                                .apply(index, &leaf, submission, index_entry, origin)
                                .err();
                        }
                    }
                    progress(Progress {
                        done: self.size() - start,
                        total,
                    });
                    next += 1;
                }
            }
            Ok::<(), ClientError>(())
        })?;
        if self.size() != n {
            return Err(ClientError::malformed(
                "entry bundles",
                format!("replay stopped at {} of {n} entries", self.size()),
            ));
        }
        Ok(violation)
    }

    fn apply(
        &mut self,
        index: u64,
        leaf: &Hash,
        submission: Result<Submission, RuleError>,
        index_entry: Option<Vec<u8>>,
        origin: &str,
    ) -> Result<(), ClientError> {
        let change = match &index_entry {
            Some(bytes) => IndexEntry::parse_entry(bytes)
                .map(|ix| self.registry.apply_index(ix))
                .map_err(RuleError::from),
            None => submission.and_then(|s| self.registry.append(s)),
        }
        .map_err(|source| ClientError::Rule { index, source })?;
        if let Some(map) = &mut self.map {
            map.apply(index, index_entry.as_deref().unwrap_or(&[]), leaf, &change)?;
        }
        match change {
            Change::Genesis { origin: g, .. } => {
                self.counts.genesis += 1;
                if g != origin {
                    return Err(ClientError::GenesisOrigin {
                        genesis: g,
                        log: origin.to_string(),
                    });
                }
            }
            Change::Authority(_) => self.counts.authority += 1,
            Change::Record(_) => self.counts.recognition += 1,
            Change::Repeated { .. } => self.counts.repeated += 1,
            Change::Index(_) => self.counts.index += 1,
        }
        Ok(())
    }
}

/// Checks a verified route answer against a registry replayed to the
/// answer's checkpoint: the answer must list exactly the records the log
/// holds for that route, each with all its events and the same status.
/// This is what proves an answer left nothing out.
pub fn check_route_complete(registry: &Registry, answer: &RouteAnswer) -> Result<(), ClientError> {
    let expected: BTreeMap<&str, _> = registry
        .route(&answer.from, &answer.to, answer.at, answer.filter())
        .into_iter()
        .map(|m| (m.record.record.as_str(), m))
        .collect();
    for r in &answer.records {
        let Some(m) = expected.get(r.record.as_str()) else {
            return Err(ClientError::WrongAnswer(format!(
                "the answer lists record {} but the log gives it no part in this route",
                r.record
            )));
        };
        if r.status != Some(m.status) {
            return Err(ClientError::WrongAnswer(format!(
                "record {}: the answer says {:?}, the log gives {}",
                r.record, r.status, m.status
            )));
        }
        let got: Vec<u64> = r.events.iter().map(|e| e.index).collect();
        let want: Vec<u64> = m.record.events.iter().map(|e| e.index).collect();
        if got != want {
            return Err(ClientError::WrongAnswer(format!(
                "record {}: the answer cites events {got:?}, the log has {want:?}",
                r.record
            )));
        }
    }
    for id in expected.keys() {
        if !answer.records.iter().any(|r| r.record == *id) {
            return Err(ClientError::WrongAnswer(format!(
                "the answer leaves out record {id}, which the log holds for this route"
            )));
        }
    }
    Ok(())
}

/// Checks a verified record against a registry replayed to its
/// checkpoint: same record, all its events.
pub fn check_record_complete(registry: &Registry, head: &RecordHead) -> Result<(), ClientError> {
    match registry.record(head.record.as_str()) {
        Some(h) if h == head => Ok(()),
        Some(h) => Err(ClientError::WrongAnswer(format!(
            "record {}: the answer cites events {:?}, the log has {:?}",
            head.record.as_str(),
            head.events.iter().map(|e| e.index).collect::<Vec<_>>(),
            h.events.iter().map(|e| e.index).collect::<Vec<_>>()
        ))),
        None => Err(ClientError::WrongAnswer(format!(
            "the log holds no record {}",
            head.record.as_str()
        ))),
    }
}
