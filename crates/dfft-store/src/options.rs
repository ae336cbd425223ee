//! [`StoreOptions`]: the tuning of a [`crate::Store`] (block cache, mmap
//! reads, the in-memory levels, open files). None of it changes what is
//! stored; how RocksDB is configured from it is in
//! [`crate::Store::open_with`].

use crate::cache::CACHED_LEVEL;
#[cfg(doc)]
use crate::Store;

/// Tuning of a [`Store`]; none of it changes what is stored.
#[derive(Debug, Clone, Copy)]
pub struct StoreOptions {
    /// RocksDB block cache for data blocks, bytes.
    pub block_cache_bytes: usize,
    /// Read SST files through `mmap` instead of `pread`: about 30% more
    /// inclusion proofs per second on a 10M-entry log whose files are in
    /// the OS page cache, but the mapped pages then count in the process's
    /// RSS (they are page cache either way).
    pub mmap_reads: bool,
    /// Keep the stored hashes of levels >= this one in memory (1 to 63).
    /// Level `l` holds n / 2^l hashes of 32 bytes: the default,
    /// [`CACHED_LEVEL`] (4), costs about 4 MiB per million entries and
    /// leaves 4 RocksDB reads per inclusion proof, all in one data block
    /// (the grouped layout); 1 costs about 28 MiB per million (280 MiB at
    /// 10M) and leaves one. Filled in the background after a restart.
    pub memory_from_level: u8,
    /// Most files RocksDB keeps open (its table cache), at least 16. The
    /// server keeps this many descriptors in reserve below the process's
    /// limit, so that a connection flood cannot make the store fail to
    /// open a WAL or table file.
    pub max_open_files: u32,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            block_cache_bytes: 64 << 20,
            mmap_reads: false,
            memory_from_level: CACHED_LEVEL,
            max_open_files: 512,
        }
    }
}
