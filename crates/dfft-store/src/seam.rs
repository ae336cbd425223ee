//! The store seam: what the sequencer and the read API need from storage,
//! named by its guarantee, so that the RocksDB store and the in-memory
//! store of tests (which injects faults) are interchangeable.
//!
//! **The guarantee**: once [`LogStore::commit`] returns `Ok`, the whole
//! [`Commit`] is durable and atomic: after any crash the store holds all
//! of it or none of it. When it returns `Err`, the commit may or may not
//! have landed (a failed fsync can follow a write that reached the disk):
//! the caller must re-read the store before it trusts its own state. Reads
//! either return what was committed or an error; an implementation never
//! returns bytes it knows to be corrupt (RocksDB checks its block
//! checksums on every read).
//!
//! Leaves out: store-specific upkeep (the RocksDB layout migration, cache
//! warm-up and compaction are inherent methods of [`crate::Store`]).

use dfft_core::merkle::{Frontier, Hash, HashReader};

use crate::{Commit, KeyValue, StateVisitor, StateWrite, StoreError};

/// A log's storage (see the module docs for the guarantee).
pub trait LogStore: HashReader<Error = StoreError> + Send + Sync {
    /// Committed tree size.
    fn size(&self) -> Result<u64, StoreError>;
    /// The signed checkpoint for [`LogStore::size`], if any.
    fn checkpoint(&self) -> Result<Option<String>, StoreError>;
    /// The entry at `index`.
    fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, StoreError>;
    /// Entries `[begin, end)`, in order; fails if one is missing.
    fn entries(&self, begin: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError>;
    /// The index of the entry with this leaf hash.
    fn index_of_leaf(&self, leaf: &Hash) -> Result<Option<u64>, StoreError>;
    /// Stored hashes of `level`, indices `[begin, end)`, for tiles.
    fn hash_range(&self, level: u8, begin: u64, end: u64) -> Result<Vec<Hash>, StoreError>;
    /// A registry state value.
    fn state(&self, ns: u8, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// The state values of a namespace whose keys start with `prefix`, in
    /// key order (keys without the namespace byte).
    fn state_prefix(&self, ns: u8, prefix: &[u8]) -> Result<Vec<KeyValue>, StoreError>;
    /// Applies a commit: durable and atomic once it returns `Ok`.
    fn commit(&self, c: &Commit) -> Result<(), StoreError>;
    /// Writes registry state only, durably and atomically (one-time index
    /// builds); `None` deletes the key.
    fn put_state(&self, state: &[StateWrite]) -> Result<(), StoreError>;

    /// Calls `f` with each (key, value) of a namespace's state, in key
    /// order, until `f` breaks or the namespace ends. Implementations hold
    /// one value at a time where they can.
    fn state_scan(&self, ns: u8, f: &mut StateVisitor<'_>) -> Result<(), StoreError> {
        for (k, v) in self.state_prefix(ns, b"")? {
            if f(&k, &v).is_break() {
                break;
            }
        }
        Ok(())
    }
    /// Writes what is held in memory to the store's files, for a faster
    /// next open (commits are durable without it).
    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }
    /// All state values of a namespace, in key order.
    fn state_all(&self, ns: u8) -> Result<Vec<KeyValue>, StoreError> {
        self.state_prefix(ns, b"")
    }
    /// The right edge of the tree of `size`: O(log n) stored hashes.
    fn frontier(&self, size: u64) -> Result<Frontier, StoreError> {
        let peaks = self.read_hashes(&Frontier::peak_ids(size))?;
        Frontier::from_peaks(size, peaks).map_err(|e| StoreError::Corrupt(e.to_string()))
    }
}

impl LogStore for crate::Store {
    fn size(&self) -> Result<u64, StoreError> {
        crate::Store::size(self)
    }
    fn checkpoint(&self) -> Result<Option<String>, StoreError> {
        crate::Store::checkpoint(self)
    }
    fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        crate::Store::entry(self, index)
    }
    fn entries(&self, begin: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        crate::Store::entries(self, begin, end)
    }
    fn index_of_leaf(&self, leaf: &Hash) -> Result<Option<u64>, StoreError> {
        crate::Store::index_of_leaf(self, leaf)
    }
    fn hash_range(&self, level: u8, begin: u64, end: u64) -> Result<Vec<Hash>, StoreError> {
        crate::Store::hash_range(self, level, begin, end)
    }
    fn state(&self, ns: u8, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        crate::Store::state(self, ns, key)
    }
    fn state_prefix(&self, ns: u8, prefix: &[u8]) -> Result<Vec<KeyValue>, StoreError> {
        crate::Store::state_prefix(self, ns, prefix)
    }
    fn commit(&self, c: &Commit) -> Result<(), StoreError> {
        crate::Store::commit(self, c)
    }
    fn put_state(&self, state: &[StateWrite]) -> Result<(), StoreError> {
        crate::Store::put_state(self, state)
    }
    fn frontier(&self, size: u64) -> Result<Frontier, StoreError> {
        crate::Store::frontier(self, size)
    }
    fn flush(&self) -> Result<(), StoreError> {
        crate::Store::flush(self)
    }
    fn state_scan(&self, ns: u8, f: &mut StateVisitor<'_>) -> Result<(), StoreError> {
        crate::Store::state_scan(self, ns, f)
    }
}
