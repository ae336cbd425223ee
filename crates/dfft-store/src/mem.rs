//! An in-memory [`LogStore`] that injects faults, for testing what the
//! sequencer acknowledges, publishes and does next under each failure.
//!
//! Faults ([`Fault`]) are armed for the next commit or for reads, and say
//! what the store does: refuse and persist nothing; persist and then report
//! an error (a failed fsync after the write reached the disk); report a
//! full disk; fail reads; or return corrupt bytes on reads (a flipped byte
//! that a checksum would catch is reported as [`StoreError::Corrupt`]).
//!
//! Leaves out: durability across processes (it is memory) and the RocksDB
//! layout; it keeps the same logical content as [`crate::Store`].

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use dfft_core::merkle::{Hash, HashReader, NodeId};

use crate::{Commit, KeyValue, LogStore, StateWrite, StoreError};

/// A fault to inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The next commits fail and persist nothing (a transient I/O error).
    CommitFailsNothingPersisted,
    /// The next commit persists everything, then reports an error.
    CommitFailsButPersisted,
    /// The next commits fail for lack of space and persist nothing.
    NoSpace,
    /// Reads of stored hashes fail (a transient I/O error).
    ReadFails,
    /// Reads of stored hashes find corrupt data (a checksum mismatch).
    CorruptRead,
}

#[derive(Default)]
struct Inner {
    entries: Vec<Vec<u8>>,
    leaves: HashMap<Hash, u64>,
    hashes: HashMap<NodeId, Hash>,
    checkpoint: Option<String>,
    state: BTreeMap<(u8, Vec<u8>), Vec<u8>>,
    /// Armed faults and how many more commits or reads each applies to.
    faults: Vec<(Fault, u32)>,
    commits: u64,
}

/// The in-memory store (see the module docs).
#[derive(Default)]
pub struct MemStore {
    inner: Mutex<Inner>,
}

fn io_error(what: &str) -> StoreError {
    StoreError::Injected(what.to_owned())
}

impl MemStore {
    /// An empty store.
    pub fn new() -> MemStore {
        MemStore::default()
    }

    /// Arms `fault` for the next `times` commits (commit faults) or reads
    /// (read faults).
    pub fn inject(&self, fault: Fault, times: u32) {
        self.lock().faults.push((fault, times));
    }

    /// Disarms every fault.
    pub fn heal(&self) {
        self.lock().faults.clear();
    }

    /// Commits that persisted (whatever they reported).
    pub fn commits(&self) -> u64 {
        self.lock().commits
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes one use of the first armed fault among `kinds`.
    fn take(inner: &mut Inner, kinds: &[Fault]) -> Option<Fault> {
        let pos = inner
            .faults
            .iter()
            .position(|(f, n)| *n > 0 && kinds.contains(f))?;
        let f = inner.faults[pos].0;
        inner.faults[pos].1 -= 1;
        if inner.faults[pos].1 == 0 {
            inner.faults.remove(pos);
        }
        Some(f)
    }

    fn apply(inner: &mut Inner, c: &Commit) {
        for (i, (bytes, leaf)) in c.entries.iter().enumerate() {
            inner.entries.push(bytes.clone());
            inner.leaves.insert(*leaf, c.first_index + i as u64);
        }
        for (id, h) in &c.nodes {
            inner.hashes.insert(*id, *h);
        }
        for (ns, k, v) in &c.state {
            inner.state.insert((*ns, k.clone()), v.clone());
        }
        inner.checkpoint = Some(c.checkpoint.clone());
        inner.commits += 1;
    }
}

impl HashReader for MemStore {
    type Error = StoreError;
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, StoreError> {
        let mut inner = self.lock();
        match MemStore::take(&mut inner, &[Fault::ReadFails, Fault::CorruptRead]) {
            Some(Fault::ReadFails) => return Err(io_error("read failed")),
            Some(_) => {
                return Err(StoreError::Corrupt(
                    "checksum mismatch in a stored hash (injected)".into(),
                ))
            }
            None => {}
        }
        ids.iter()
            .map(|id| {
                inner.hashes.get(id).copied().ok_or_else(|| {
                    StoreError::Corrupt(format!(
                        "missing hash level {} index {}",
                        id.level, id.index
                    ))
                })
            })
            .collect()
    }
}

impl LogStore for MemStore {
    fn size(&self) -> Result<u64, StoreError> {
        Ok(self.lock().entries.len() as u64)
    }
    fn checkpoint(&self) -> Result<Option<String>, StoreError> {
        Ok(self.lock().checkpoint.clone())
    }
    fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(usize::try_from(index)
            .ok()
            .and_then(|i| self.lock().entries.get(i).cloned()))
    }
    fn entries(&self, begin: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        let inner = self.lock();
        (begin..end)
            .map(|i| {
                usize::try_from(i)
                    .ok()
                    .and_then(|i| inner.entries.get(i).cloned())
                    .ok_or_else(|| StoreError::Corrupt(format!("entry {i} missing")))
            })
            .collect()
    }
    fn index_of_leaf(&self, leaf: &Hash) -> Result<Option<u64>, StoreError> {
        Ok(self.lock().leaves.get(leaf).copied())
    }
    fn hash_range(&self, level: u8, begin: u64, end: u64) -> Result<Vec<Hash>, StoreError> {
        let ids: Vec<NodeId> = (begin..end).map(|i| NodeId::new(level, i)).collect();
        self.read_hashes(&ids)
    }
    fn state(&self, ns: u8, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock().state.get(&(ns, key.to_vec())).cloned())
    }
    fn state_prefix(&self, ns: u8, prefix: &[u8]) -> Result<Vec<KeyValue>, StoreError> {
        Ok(self
            .lock()
            .state
            .range((ns, prefix.to_vec())..)
            .take_while(|((n, k), _)| *n == ns && k.starts_with(prefix))
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect())
    }
    fn commit(&self, c: &Commit) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if c.first_index != inner.entries.len() as u64 {
            return Err(StoreError::NotContiguous {
                got: c.first_index,
                want: inner.entries.len() as u64,
            });
        }
        match MemStore::take(
            &mut inner,
            &[
                Fault::CommitFailsNothingPersisted,
                Fault::CommitFailsButPersisted,
                Fault::NoSpace,
            ],
        ) {
            Some(Fault::CommitFailsNothingPersisted) => Err(io_error("write failed")),
            Some(Fault::NoSpace) => Err(StoreError::NoSpace(
                "No space left on device (injected)".into(),
            )),
            Some(_) => {
                MemStore::apply(&mut inner, c);
                Err(io_error("fsync failed after the write"))
            }
            None => {
                MemStore::apply(&mut inner, c);
                Ok(())
            }
        }
    }
    fn put_state(&self, state: &[StateWrite]) -> Result<(), StoreError> {
        let mut inner = self.lock();
        for (ns, k, v) in state {
            match v {
                Some(v) => inner.state.insert((*ns, k.clone()), v.clone()),
                None => inner.state.remove(&(*ns, k.clone())),
            };
        }
        Ok(())
    }
}
