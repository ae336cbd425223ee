//! The one-time move of a store written before the grouped layout (every
//! stored hash under `h`) to the grouped layout (levels 0 to 3 under `g`),
//! crash-safe step by step, and the compaction that may follow it. Leaves
//! out the layout itself (`keys`) and when it runs ([`crate::Store::open_with`]).

use crate::keys::{
    hash_key, hash_of, node_of_key, GROUP_LEVELS, LAYOUT, META_LAYOUT, P_GROUP, P_HASH,
};
use crate::{Store, StoreError};
use rocksdb::{Direction, IteratorMode, ReadOptions, WriteBatch, WriteOptions, DB};

/// Moves the hashes of levels 0..[`GROUP_LEVELS`] of a store written before
/// the grouped layout from `h` keys to `g` keys, then records the layout.
/// Returns how many hashes it moved.
///
/// Crash safety, step by step:
/// 1. Read up to 65,536 old keys in key order.
/// 2. In ONE synced write batch, put each hash under its new key and delete
///    its old key; a crash leaves every hash under exactly one key.
/// 3. Repeat until no old key of those levels is left; a restart after a
///    crash simply resumes at step 1 (the layout key is not yet written,
///    and reads that open the store wait for this function).
/// 4. Write the layout key, synced. Only then is the store opened for use.
///
/// A store with no layout key and no entries is new and gets the key alone.
pub(crate) fn migrate_grouped(db: &DB) -> Result<u64, StoreError> {
    const CHUNK: usize = 1 << 16;
    let mut moved = 0u64;
    let mut wo = WriteOptions::default();
    wo.set_sync(true);
    // Each pass starts at the last key the previous one moved (now deleted),
    // not at the front, where the deletions' tombstones pile up.
    let mut resume = vec![P_HASH];
    loop {
        let mut ro = ReadOptions::default();
        ro.set_iterate_upper_bound(vec![P_HASH, GROUP_LEVELS]);
        let mut b = WriteBatch::default();
        let mut n = 0usize;
        for kv in db.iterator_opt(IteratorMode::From(&resume, Direction::Forward), ro) {
            let (k, v) = kv?;
            let id = node_of_key(&k)
                .ok_or_else(|| StoreError::Corrupt("stored-hash key of wrong form".into()))?;
            let h = hash_of(&v)?;
            b.put(hash_key(id), h);
            b.delete(&k);
            n += 1;
            if n == CHUNK {
                resume = k.to_vec();
                break;
            }
        }
        if n == 0 {
            break;
        }
        db.write_opt(b, &wo)?;
        moved += n as u64;
        if n < CHUNK {
            break;
        }
    }
    db.put_opt(META_LAYOUT, [LAYOUT], &wo)?;
    Ok(moved)
}

impl Store {
    /// Compacts the key range the grouped-layout migration rewrote (the new
    /// `g` keys and the old keys' tombstones) into the bottom level, so that
    /// a migrated store reads like a freshly written one. Only worth it after
    /// [`Store::migrated_hashes`] > 0; reads and commits go on meanwhile.
    pub fn compact_grouped(&self) {
        self.db
            .compact_range(Some(&[P_GROUP][..]), Some(&[P_HASH, GROUP_LEVELS][..]));
    }

    /// How many stored hashes opening this store moved to the grouped key
    /// layout (non-zero once, for a store written by an older dfft).
    pub fn migrated_hashes(&self) -> u64 {
        self.migrated
    }
}

#[cfg(test)]
mod tests {
    use crate::keys::{hash_key, GROUP_LEVELS, META_CHECKPOINT, META_LAYOUT, META_SIZE, P_HASH};
    use crate::{Store, StoreError};
    use dfft_core::merkle::{self, leaf_hash, Frontier, MemoryTree, NodeId};
    use rocksdb::{Direction, IteratorMode, DB};

    /// A store as an older dfft wrote it (every hash under `h`), except
    /// that a crash in the middle of its migration already moved the hashes
    /// of every third node: opening it finishes the move, and proofs,
    /// tiles and the frontier are then those of the in-memory tree.
    #[test]
    fn old_layout_is_migrated_once_even_after_a_crash_midway() {
        let dir = tempfile::tempdir().unwrap();
        let n = 700u64;
        let mut mem = MemoryTree::new();
        let mut f = Frontier::new();
        let mut nodes = Vec::new();
        for i in 0..n {
            let h = leaf_hash(format!("entry {i}").as_bytes());
            mem.push(h);
            f.append(h, |id, h| nodes.push((id, *h)));
        }
        let mut want_moved = 0u64;
        {
            let db = DB::open_default(dir.path()).unwrap();
            for (k, (id, h)) in nodes.iter().enumerate() {
                let mut old = vec![P_HASH, id.level];
                old.extend_from_slice(&id.index.to_be_bytes());
                if id.level < GROUP_LEVELS && k % 3 == 0 {
                    db.put(hash_key(*id), h).unwrap();
                } else {
                    want_moved += u64::from(id.level < GROUP_LEVELS);
                    db.put(old, h).unwrap();
                }
            }
            db.put(META_SIZE, n.to_be_bytes()).unwrap();
            db.put(META_CHECKPOINT, b"cp 700").unwrap();
        }
        assert!(want_moved > 500);
        let s = Store::open(dir.path()).unwrap();
        assert_eq!(s.migrated_hashes(), want_moved);
        s.compact_grouped();
        for (index, size) in [(0u64, 1u64), (17, 700), (255, 256), (699, 700), (300, 420)] {
            assert_eq!(
                merkle::inclusion_proof(&s, index, size).unwrap(),
                merkle::inclusion_proof(&mem, index, size).unwrap()
            );
        }
        assert_eq!(s.frontier(n).unwrap().root(), mem.root());
        for level in [0u8, 1, 3, 4, 8] {
            let len = n >> level;
            assert_eq!(
                s.hash_range(level, 0, len).unwrap(),
                (0..len)
                    .map(|i| mem.get(NodeId::new(level, i)).unwrap())
                    .collect::<Vec<_>>(),
                "level {level}"
            );
        }
        drop(s);
        // No `h` key of a grouped level is left, and a second open moves
        // nothing.
        let s = Store::open(dir.path()).unwrap();
        assert_eq!(s.migrated_hashes(), 0);
        let left =
            s.db.iterator(IteratorMode::From(&[P_HASH], Direction::Forward))
                .map(|kv| kv.unwrap().0)
                .take_while(|k| k[0] == P_HASH && k[1] < GROUP_LEVELS)
                .count();
        assert_eq!(left, 0);
        // A layout this build does not know is refused, not misread.
        drop(s);
        DB::open_default(dir.path())
            .unwrap()
            .put(META_LAYOUT, [9])
            .unwrap();
        assert!(matches!(
            Store::open(dir.path()),
            Err(StoreError::Corrupt(_))
        ));
    }
}
