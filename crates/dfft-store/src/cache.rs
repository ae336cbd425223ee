//! The in-memory copy of the stored hashes of the upper Merkle levels
//! (levels >= [`StoreOptions::memory_from_level`]): how reads use it, how
//! commits extend it and how it is warmed after a restart. The hashes are
//! in RocksDB all the same; this is only a cache, and leaves out what is
//! durable.

#[cfg(doc)]
use crate::StoreOptions;
use crate::{Store, StoreError};
use dfft_core::merkle::{Hash, NodeId};

/// The lowest Merkle level kept in memory by default.
pub const CACHED_LEVEL: u8 = 4;

impl Store {
    pub(crate) fn cached_range(&self, level: u8, begin: u64, end: u64) -> Option<Vec<Hash>> {
        let lvl = self
            .upper
            .get(usize::from(level.checked_sub(self.cached_level)?))?;
        let v = lvl.read().unwrap_or_else(|p| p.into_inner());
        v.get(usize::try_from(begin).ok()?..usize::try_from(end).ok()?)
            .map(|s| s.to_vec())
    }

    pub(crate) fn cached(&self, id: NodeId) -> Option<Hash> {
        let lvl = self
            .upper
            .get(usize::from(id.level.checked_sub(self.cached_level)?))?;
        let v = lvl.read().unwrap_or_else(|p| p.into_inner());
        v.get(usize::try_from(id.index).ok()?).copied()
    }

    /// Extends the in-memory levels with hashes that just became durable.
    pub(crate) fn cache_nodes(&self, nodes: &[(NodeId, Hash)]) {
        for (id, h) in nodes {
            let Some(lvl) = id
                .level
                .checked_sub(self.cached_level)
                .and_then(|l| self.upper.get(usize::from(l)))
            else {
                continue;
            };
            let mut v = lvl.write().unwrap_or_else(|p| p.into_inner());
            if v.len() as u64 == id.index {
                v.push(*h);
            }
        }
    }

    /// Loads the cached levels from disk, in chunks, highest level first.
    /// Meant for a background thread after open: until it is done, reads of
    /// those levels fall back to RocksDB, so start-up does not wait for it.
    pub fn warm_cache(&self) -> Result<(), StoreError> {
        const CHUNK: usize = 8192;
        for level in (self.cached_level..64).rev() {
            let lvl = &self.upper[usize::from(level - self.cached_level)];
            loop {
                // Bulk of the level without holding the lock.
                let from = lvl.read().unwrap_or_else(|p| p.into_inner()).len() as u64;
                let chunk = self.scan_level(level, from, CHUNK)?;
                if chunk.len() == CHUNK {
                    let mut v = lvl.write().unwrap_or_else(|p| p.into_inner());
                    if v.len() as u64 == from {
                        v.extend_from_slice(&chunk);
                    }
                    continue;
                }
                // The tail under the lock: a commit either wrote its hashes
                // before this scan (then the scan sees them) or will append
                // them after it (then the length matches its index).
                let mut v = lvl.write().unwrap_or_else(|p| p.into_inner());
                let from = v.len() as u64;
                let tail = self.scan_level(level, from, usize::MAX)?;
                v.extend_from_slice(&tail);
                break;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::tests::commit_n;
    use crate::{Store, StoreOptions};
    use dfft_core::merkle::{self, leaf_hash, Frontier, MemoryTree};

    #[test]
    fn every_memory_level_choice_gives_the_same_proofs() {
        let dir = tempfile::tempdir().unwrap();
        let mut mem = MemoryTree::new();
        for i in 0..700u64 {
            mem.push(leaf_hash(format!("entry {i}").as_bytes()));
        }
        {
            let s = Store::open(dir.path()).unwrap();
            let mut f = Frontier::new();
            commit_n(&s, &mut f, 0, 500);
        }
        for level in [1u8, 2, 4, 9] {
            let so = StoreOptions {
                memory_from_level: level,
                ..StoreOptions::default()
            };
            let s = Store::open_with(dir.path(), so).unwrap();
            // Proofs before the warm-up (RocksDB), after it (memory), and
            // after a commit that extends the in-memory levels.
            for warm in [false, true] {
                if warm {
                    s.warm_cache().unwrap();
                }
                for (index, size) in [(0u64, 1u64), (17, 500), (255, 256), (499, 500), (300, 420)] {
                    assert_eq!(
                        merkle::inclusion_proof(&s, index, size).unwrap(),
                        merkle::inclusion_proof(&mem, index, size).unwrap(),
                        "level {level}, warm {warm}, {index} in {size}"
                    );
                }
            }
            if level == 1 {
                let mut f = s.frontier(500).unwrap();
                commit_n(&s, &mut f, 500, 200);
                for (index, size) in [(600u64, 700u64), (3, 700), (699, 700)] {
                    assert_eq!(
                        merkle::inclusion_proof(&s, index, size).unwrap(),
                        merkle::inclusion_proof(&mem, index, size).unwrap()
                    );
                }
                assert_eq!(merkle::tree_hash(&s, 700).unwrap(), mem.root());
            }
        }
    }
}
