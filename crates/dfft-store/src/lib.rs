//! # dfft-store
//!
//! Durable storage of one dfft-registry log in RocksDB.
//!
//! **Guarantee**: [`Store::commit`] applies a whole [`Commit`] (entries,
//! their leaf-hash index, the stored Merkle hashes they complete, the new tree
//! size, the signed checkpoint for that size, and any registry state the
//! entries change) as one RocksDB write batch, synced to disk (WAL fsync)
//! before it returns. After a crash the store holds either all of a commit
//! or none of it, so the checkpoint, the tree and the registry indexes can
//! never disagree.
//!
//! Keys (all in the default column family, each prefixed by one byte):
//! - `e` index(u64 BE) -> entry bytes
//! - `g` group(u64 BE) level(u8) offset(u8) -> 32-byte stored hash of a
//!   node of level 0 to 3 ([`dfft_core::merkle::NodeId`]), grouped by the
//!   16-leaf subtree (`group` = leaf index / 16) it lies in, so that the
//!   four of them an inclusion proof needs are neighbours in one data
//!   block: one block read per proof instead of four on a log too large
//!   for the block cache
//! - `h` level(u8) index(u64 BE) -> 32-byte stored hash of levels >= 4
//! - `l` leaf hash -> index (u64 BE), to answer re-submissions
//! - `m` name -> metadata (`size`, `checkpoint`, `layout`)
//! - `s` namespace byte, key -> registry state value (opaque JSON to this crate)
//!
//! Stores written before the grouped layout (no `layout` key) keep levels
//! 0 to 3 under `h` too; [`Store::open_with`] moves them once, crash-safely
//! (the steps are written down at `migrate_grouped`, in `migrate.rs`).
//!
//! Where each part lives: the [`Store`] API here; its errors in `error.rs`;
//! the key layout above in `keys.rs`; the layout migration in `migrate.rs`;
//! the in-memory copy of the upper Merkle levels in `cache.rs`;
//! [`StoreOptions`] in `options.rs`; the [`LogStore`] seam in `seam.rs` and
//! its in-memory implementation in `mem.rs`.
//!
//! The seam the sequencer and the read API use is the [`LogStore`] trait,
//! named by this guarantee; [`mem::MemStore`] implements it in memory with
//! injected faults, for tests.
//!
//! Leaves out: what entries and state mean, signing, and the order of
//! writes (the sequencer owns that; it is the only writer).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use dfft_core::merkle::{Frontier, Hash, HashReader, NodeId};
use keys::{
    entry_key, hash_key, hash_of, leaf_key, node_of_key, state_key, u64_of, HashKey, GROUP_LEVELS,
    LAYOUT, META_CHECKPOINT, META_LAYOUT, META_SIZE, P_GROUP, P_HASH,
};
use migrate::migrate_grouped;
use rocksdb::{
    BlockBasedOptions, Cache, Direction, IteratorMode, Options, ReadOptions, WriteBatch,
    WriteOptions, DB,
};
use std::path::Path;
use std::sync::RwLock;

mod cache;
mod error;
mod keys;
pub mod mem;
mod migrate;
mod options;
mod seam;
pub use cache::CACHED_LEVEL;
pub use error::{ErrorKind, StoreError};
pub use options::StoreOptions;
pub use seam::LogStore;

/// A key and its value.
pub type KeyValue = (Vec<u8>, Vec<u8>);

/// One registry state write of [`LogStore::put_state`]: (namespace, key,
/// value), `None` deleting the key.
pub type StateWrite = (u8, Vec<u8>, Option<Vec<u8>>);

/// The visitor of [`LogStore::state_scan`]: called with each (key, value).
pub type StateVisitor<'a> = dyn FnMut(&[u8], &[u8]) -> std::ops::ControlFlow<()> + 'a;

/// One atomic step of the log: appended entries and everything derived.
#[derive(Debug, Default)]
pub struct Commit {
    /// Index of the first entry (must equal the current size).
    pub first_index: u64,
    /// Entry bytes and their leaf hashes, in order.
    pub entries: Vec<(Vec<u8>, Hash)>,
    /// Stored hashes the entries complete.
    pub nodes: Vec<(NodeId, Hash)>,
    /// The signed checkpoint note for the new size.
    pub checkpoint: String,
    /// Registry state to write: (namespace, key, value).
    pub state: Vec<(u8, Vec<u8>, Vec<u8>)>,
}

/// The RocksDB store of one log.
pub struct Store {
    db: DB,
    /// Stored hashes of levels >= `cached_level`, in memory: level
    /// `cached_level + i` at `upper[i]`, indices `0..len` (a prefix, filled
    /// by commits and by [`Store::warm_cache`]). About 2n/16 hashes, 4 MiB
    /// per million entries; proofs then read only levels 0..3 from RocksDB.
    upper: Vec<RwLock<Vec<Hash>>>,
    /// The lowest level in `upper`.
    cached_level: u8,
    /// Hashes moved to the grouped layout when this store was opened.
    migrated: u64,
}

impl Store {
    /// Opens (creating if missing) the store in `dir` with default options.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        Store::open_with(dir, StoreOptions::default())
    }

    /// Opens (creating if missing) the store in `dir`.
    pub fn open_with(dir: &Path, so: StoreOptions) -> Result<Store, StoreError> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        // A damaged WAL record that is not the last one means lost or
        // corrupt data: refuse to open rather than silently recover to an
        // earlier point (which would roll back acknowledged commits). Only
        // a torn last record, a write that never returned, is dropped.
        opts.set_wal_recovery_mode(rocksdb::DBRecoveryMode::TolerateCorruptedTailRecords);
        opts.set_max_open_files(i32::try_from(so.max_open_files.max(16)).unwrap_or(i32::MAX));
        opts.set_keep_log_file_num(4);
        opts.set_compression_type(rocksdb::DBCompressionType::Lz4);
        let mut t = BlockBasedOptions::default();
        t.set_block_cache(&Cache::new_lru_cache(so.block_cache_bytes));
        // Bloom filters make the lookups of new leaf hashes and new record
        // ids (almost always misses) cheap. Index and filter blocks stay in
        // the table readers' memory (about 1.3 bytes per key) rather than
        // competing with data blocks in the block cache, where every
        // evicted filter meant re-reading it from disk on the next lookup.
        t.set_bloom_filter(10.0, false);
        t.set_cache_index_and_filter_blocks(false);
        opts.set_block_based_table_factory(&t);
        opts.set_write_buffer_size(32 << 20);
        // A Bloom filter over whole keys in the memtable too: every
        // submission looks up its leaf hash (and a new record id), almost
        // always a miss, and without it each miss walked the memtable's
        // skip list (about 7% of ingest CPU).
        opts.set_memtable_whole_key_filtering(true);
        opts.set_memtable_prefix_bloom_ratio(0.1);
        // Write back flushed and compacted files a megabyte at a time
        // rather than in one burst at the end, so that a commit's WAL fsync
        // has less dirty data to wait behind.
        opts.set_bytes_per_sync(1 << 20);
        opts.set_allow_mmap_reads(so.mmap_reads);
        let db = DB::open(&opts, dir)?;
        let migrated = match db.get(META_LAYOUT)?.as_deref() {
            Some([LAYOUT]) => 0,
            None => migrate_grouped(&db)?,
            Some(v) => {
                return Err(StoreError::Corrupt(format!(
                "store layout {v:?}; this build reads layout [{LAYOUT}] (a newer dfft wrote it?)"
            )))
            }
        };
        let cached_level = so.memory_from_level.clamp(1, 63);
        let upper = (cached_level..64)
            .map(|_| RwLock::new(Vec::new()))
            .collect();
        Ok(Store {
            db,
            upper,
            cached_level,
            migrated,
        })
    }

    /// Number of entries in the log.
    pub fn size(&self) -> Result<u64, StoreError> {
        match self.db.get_pinned(META_SIZE)? {
            Some(v) => u64_of(&v),
            None => Ok(0),
        }
    }

    /// The latest signed checkpoint note, if any.
    pub fn checkpoint(&self) -> Result<Option<String>, StoreError> {
        match self.db.get(META_CHECKPOINT)? {
            Some(v) => String::from_utf8(v)
                .map(Some)
                .map_err(|_| StoreError::Corrupt("checkpoint not UTF-8".into())),
            None => Ok(None),
        }
    }

    /// The entry at `index`.
    pub fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.get(entry_key(index))?)
    }

    /// Entries `[begin, end)`, in order; fails if one is missing.
    pub fn entries(&self, begin: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut out = Vec::with_capacity((end.saturating_sub(begin)) as usize);
        let mut ro = ReadOptions::default();
        ro.set_iterate_upper_bound(entry_key(end).to_vec());
        let it = self.db.iterator_opt(
            IteratorMode::From(&entry_key(begin), Direction::Forward),
            ro,
        );
        for (i, kv) in it.enumerate() {
            let (k, v) = kv?;
            if k.len() != 9 || u64_of(&k[1..])? != begin + i as u64 {
                return Err(StoreError::Corrupt(format!(
                    "entry {} missing",
                    begin + i as u64
                )));
            }
            out.push(v.to_vec());
        }
        if out.len() as u64 != end - begin {
            return Err(StoreError::Corrupt(format!(
                "entries {begin}..{end}: found {}",
                out.len()
            )));
        }
        Ok(out)
    }

    /// Index of the entry with this leaf hash, if logged.
    pub fn index_of_leaf(&self, leaf: &Hash) -> Result<Option<u64>, StoreError> {
        match self.db.get_pinned(leaf_key(leaf))? {
            Some(v) => Ok(Some(u64_of(&v)?)),
            None => Ok(None),
        }
    }

    /// Consecutive stored hashes at `level`, indices `[begin, end)` (a tile):
    /// from memory for cached levels, else one RocksDB range scan.
    pub fn hash_range(&self, level: u8, begin: u64, end: u64) -> Result<Vec<Hash>, StoreError> {
        if let Some(v) = self.cached_range(level, begin, end) {
            return Ok(v);
        }
        let want = end.saturating_sub(begin);
        let out = self.scan_level(level, begin, usize::try_from(want).unwrap_or(usize::MAX))?;
        if out.len() as u64 != want {
            return Err(StoreError::Corrupt(format!(
                "missing hash level {level} index {}",
                begin + out.len() as u64
            )));
        }
        Ok(out)
    }

    /// Up to `max` consecutive stored hashes of `level` from index `from`,
    /// stopping at the first one missing. In the grouped layout the scan
    /// steps over the other levels' hashes of each group.
    fn scan_level(&self, level: u8, from: u64, max: usize) -> Result<Vec<Hash>, StoreError> {
        let mut ro = ReadOptions::default();
        ro.set_iterate_upper_bound(if level < GROUP_LEVELS {
            vec![P_GROUP + 1]
        } else {
            vec![P_HASH, level.wrapping_add(1)]
        });
        let start = hash_key(NodeId::new(level, from));
        let mut out = Vec::new();
        if max == 0 {
            return Ok(out);
        }
        let mut it = self.db.raw_iterator_opt(ro);
        it.seek(start.as_ref());
        while let (Some(k), Some(v)) = (it.key(), it.value()) {
            let Some(id) = node_of_key(k) else { break };
            if id.level != level {
                if level >= GROUP_LEVELS {
                    break;
                }
                // A grouped key of another level: seek to this level's
                // first hash in this group (if it lies ahead) or the next,
                // rather than step over up to 28 other hashes one by one.
                let group = id.index >> (GROUP_LEVELS - id.level);
                let Some(target) = (if id.level < level {
                    Some(group)
                } else {
                    group.checked_add(1)
                }) else {
                    break;
                };
                let Some(first) = target.checked_mul(1 << (GROUP_LEVELS - level)) else {
                    break;
                };
                it.seek(hash_key(NodeId::new(level, first)).as_ref());
                continue;
            }
            if id.index != from + out.len() as u64 {
                break;
            }
            out.push(hash_of(v)?);
            if out.len() == max {
                break;
            }
            it.next();
        }
        it.status()?;
        Ok(out)
    }

    /// The frontier (right edge) of the tree of `size`, rebuilt from
    /// O(log n) stored hashes.
    pub fn frontier(&self, size: u64) -> Result<Frontier, StoreError> {
        let peaks = self.read_hashes(&Frontier::peak_ids(size))?;
        Frontier::from_peaks(size, peaks).map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    /// A registry state value.
    pub fn state(&self, ns: u8, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.get(state_key(ns, key))?)
    }

    /// All registry state values of a namespace, in key order.
    pub fn state_all(&self, ns: u8) -> Result<Vec<KeyValue>, StoreError> {
        self.state_prefix(ns, b"")
    }

    /// The registry state values of a namespace whose keys start with
    /// `prefix`, in key order.
    pub fn state_prefix(&self, ns: u8, prefix: &[u8]) -> Result<Vec<KeyValue>, StoreError> {
        let mut out = Vec::new();
        self.scan_prefix(ns, prefix, |k, v| {
            out.push((k.to_vec(), v.to_vec()));
            std::ops::ControlFlow::Continue(())
        })?;
        Ok(out)
    }

    /// Calls `f` with each (key without the namespace, value) of namespace
    /// `ns` whose key starts with `prefix`, in key order, until it breaks.
    fn scan_prefix(
        &self,
        ns: u8,
        prefix: &[u8],
        mut f: impl FnMut(&[u8], &[u8]) -> std::ops::ControlFlow<()>,
    ) -> Result<(), StoreError> {
        let start = state_key(ns, prefix);
        let skip = state_key(ns, b"").len();
        for kv in self
            .db
            .iterator(IteratorMode::From(&start, Direction::Forward))
        {
            let (k, v) = kv?;
            if !k.starts_with(&start) {
                break;
            }
            if f(&k[skip..], &v).is_break() {
                break;
            }
        }
        Ok(())
    }

    /// Calls `f` with each (key, value) of a namespace's state, in key
    /// order, holding one value at a time (unlike [`Store::state_all`]),
    /// until `f` breaks or the namespace ends.
    pub fn state_scan(
        &self,
        ns: u8,
        f: impl FnMut(&[u8], &[u8]) -> std::ops::ControlFlow<()>,
    ) -> Result<(), StoreError> {
        self.scan_prefix(ns, b"", f)
    }

    /// Applies a commit atomically and durably (see the crate docs).
    pub fn commit(&self, c: &Commit) -> Result<(), StoreError> {
        let size = self.size()?;
        if c.first_index != size {
            return Err(StoreError::NotContiguous {
                got: c.first_index,
                want: size,
            });
        }
        let mut b = WriteBatch::default();
        for (i, (bytes, leaf)) in c.entries.iter().enumerate() {
            let index = c.first_index + i as u64;
            b.put(entry_key(index), bytes);
            b.put(leaf_key(leaf), index.to_be_bytes());
        }
        for (id, h) in &c.nodes {
            b.put(hash_key(*id), h);
        }
        for (ns, k, v) in &c.state {
            b.put(state_key(*ns, k), v);
        }
        let new_size = c.first_index + c.entries.len() as u64;
        b.put(META_SIZE, new_size.to_be_bytes());
        b.put(META_CHECKPOINT, c.checkpoint.as_bytes());
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        self.db.write_opt(b, &wo)?;
        self.cache_nodes(&c.nodes);
        Ok(())
    }

    /// Writes registry state only (no entries, size or checkpoint), as one
    /// synced write batch: for one-time index builds on upgrade. `None`
    /// deletes the key.
    pub fn put_state(&self, state: &[StateWrite]) -> Result<(), StoreError> {
        let mut b = WriteBatch::default();
        for (ns, k, v) in state {
            match v {
                Some(v) => b.put(state_key(*ns, k), v),
                None => b.delete(state_key(*ns, k)),
            }
        }
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        self.db.write_opt(b, &wo)?;
        Ok(())
    }

    /// Writes raw bytes behind the sequencer's back. Only for tests that
    /// plant corruption to check that auditors notice.
    #[doc(hidden)]
    pub fn tamper_entry(&self, index: u64, bytes: &[u8]) -> Result<(), StoreError> {
        Ok(self.db.put(entry_key(index), bytes)?)
    }

    /// Flushes the memtable into table files (a clean shutdown does this,
    /// so that the next open replays no WAL).
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    /// Approximate bytes on disk (SST files and WAL).
    pub fn disk_bytes(&self) -> Option<u64> {
        self.db
            .property_int_value("rocksdb.total-sst-files-size")
            .ok()
            .flatten()
    }
}

impl HashReader for Store {
    type Error = StoreError;
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, StoreError> {
        let mut out: Vec<Option<Hash>> = ids.iter().map(|id| self.cached(*id)).collect();
        let missing: Vec<usize> = (0..ids.len()).filter(|&i| out[i].is_none()).collect();
        if !missing.is_empty() {
            let keys: Vec<HashKey> = missing.iter().map(|&i| hash_key(ids[i])).collect();
            for (&i, v) in missing.iter().zip(self.db.multi_get(&keys)) {
                let id = ids[i];
                let v = v?.ok_or_else(|| {
                    StoreError::Corrupt(format!(
                        "missing hash level {} index {}",
                        id.level, id.index
                    ))
                })?;
                out[i] = Some(hash_of(&v)?);
            }
        }
        Ok(out.into_iter().map(|h| h.unwrap_or_default()).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dfft_core::merkle::{self, leaf_hash, MemoryTree, NodeId};

    pub(crate) fn commit_n(s: &Store, f: &mut Frontier, from: u64, n: u64) {
        let mut c = Commit {
            first_index: from,
            ..Default::default()
        };
        for i in from..from + n {
            let e = format!("entry {i}").into_bytes();
            let h = leaf_hash(&e);
            f.append(h, |id, h| c.nodes.push((id, *h)));
            c.entries.push((e, h));
        }
        c.checkpoint = format!("cp {}", f.size());
        s.commit(&c).unwrap();
    }

    #[test]
    fn commits_persist_and_proofs_match_memory() {
        let dir = tempfile::tempdir().unwrap();
        let mut mem = MemoryTree::new();
        for i in 0..1000u64 {
            mem.push(leaf_hash(format!("entry {i}").as_bytes()));
        }
        {
            let s = Store::open(dir.path()).unwrap();
            let mut f = Frontier::new();
            commit_n(&s, &mut f, 0, 300);
            commit_n(&s, &mut f, 300, 700);
            assert!(matches!(
                s.commit(&Commit {
                    first_index: 5,
                    ..Default::default()
                }),
                Err(StoreError::NotContiguous { .. })
            ));
        }
        let s = Store::open(dir.path()).unwrap();
        assert_eq!(s.size().unwrap(), 1000);
        assert_eq!(s.checkpoint().unwrap().unwrap(), "cp 1000");
        assert_eq!(s.frontier(1000).unwrap().root(), mem.root());
        for size in [1u64, 7, 256, 999, 1000] {
            assert_eq!(
                merkle::tree_hash(&s, size).unwrap(),
                merkle::tree_hash(&mem, size).unwrap()
            );
            assert_eq!(
                merkle::inclusion_proof(&s, size - 1, size).unwrap(),
                merkle::inclusion_proof(&mem, size - 1, size).unwrap()
            );
            assert_eq!(
                merkle::consistency_proof(&s, 1, size).unwrap(),
                merkle::consistency_proof(&mem, 1, size).unwrap()
            );
        }
        assert_eq!(s.entries(254, 258).unwrap()[2], b"entry 256".to_vec());
        assert!(s.entries(998, 1001).is_err());
        assert_eq!(s.index_of_leaf(&leaf_hash(b"entry 42")).unwrap(), Some(42));
        assert_eq!(s.index_of_leaf(&leaf_hash(b"nope")).unwrap(), None);
        assert_eq!(s.hash_range(8, 0, 3).unwrap().len(), 3);
        // Before warm-up (fresh open) the cached levels come from RocksDB;
        // after it, from memory: both agree with the in-memory tree.
        s.warm_cache().unwrap();
        assert_eq!(merkle::tree_hash(&s, 1000).unwrap(), mem.root());
        assert_eq!(
            s.hash_range(4, 0, 62).unwrap(),
            (0..62)
                .map(|i| mem.get(NodeId::new(4, i)).unwrap())
                .collect::<Vec<_>>()
        );
        assert_eq!(
            s.hash_range(0, 250, 260).unwrap(),
            (250..260)
                .map(|i| mem.get(NodeId::new(0, i)).unwrap())
                .collect::<Vec<_>>()
        );
        assert!(s.hash_range(0, 995, 1001).is_err());
        assert!(s.hash_range(8, 0, 4).is_err());
    }

    #[test]
    fn state_namespaces() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let c = Commit {
            first_index: 0,
            checkpoint: "cp".into(),
            state: vec![
                (b'a', b"x".to_vec(), b"1".to_vec()),
                (b'a', b"y".to_vec(), b"2".to_vec()),
                (b'b', b"x".to_vec(), b"3".to_vec()),
            ],
            ..Default::default()
        };
        s.commit(&c).unwrap();
        assert_eq!(s.state(b'a', b"y").unwrap(), Some(b"2".to_vec()));
        assert_eq!(s.state_all(b'a').unwrap().len(), 2);
        assert_eq!(
            s.state_all(b'b').unwrap(),
            vec![(b"x".to_vec(), b"3".to_vec())]
        );
        assert_eq!(
            s.state_prefix(b'a', b"y").unwrap(),
            vec![(b"y".to_vec(), b"2".to_vec())]
        );
        assert!(s.state_prefix(b'a', b"z").unwrap().is_empty());
    }
}
