//! The store's errors ([`StoreError`]) and what a caller should do about
//! each ([`ErrorKind`]: retry, wait for space, or never serve it). Leaves
//! out the caller's policy (the sequencer decides what is fatal).

#[cfg(doc)]
use crate::mem;

/// Storage errors. All of them mean the caller must not go on as if the
/// operation had happened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// RocksDB failed.
    #[error("rocksdb: {0}")]
    Db(#[from] rocksdb::Error),
    /// Something on disk is not what this code writes: corruption or a bug.
    #[error("corrupt store: {0}")]
    Corrupt(String),
    /// The disk or quota is full (a store's own detection; RocksDB's is
    /// read from its error text by [`StoreError::kind`]).
    #[error("no space: {0}")]
    NoSpace(String),
    /// A fault injected by a test store ([`mem::MemStore`]): transient.
    #[error("injected fault: {0}")]
    Injected(String),
    /// A commit does not continue the tree.
    #[error("commit starts at {got}, tree size is {want}")]
    NotContiguous {
        /// First index of the commit.
        got: u64,
        /// Current size.
        want: u64,
    },
}

/// What a caller should do about a [`StoreError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The disk (or quota) is full: retry once space is freed; RocksDB
    /// resumes writing by itself then.
    NoSpace,
    /// What is stored is not what this code wrote (a checksum mismatch, a
    /// missing hash, bytes that do not parse): never serve or sign over it.
    Corruption,
    /// Anything else (an I/O error, a descriptor shortage, a busy lock):
    /// may pass; retry.
    Transient,
}

impl StoreError {
    /// What the caller should do (see [`ErrorKind`]).
    pub fn kind(&self) -> ErrorKind {
        match self {
            StoreError::Corrupt(_) | StoreError::NotContiguous { .. } => ErrorKind::Corruption,
            StoreError::NoSpace(_) => ErrorKind::NoSpace,
            StoreError::Injected(_) => ErrorKind::Transient,
            StoreError::Db(e) => {
                let text = e.to_string();
                if text.contains("No space left") || text.contains("NoSpace") {
                    ErrorKind::NoSpace
                } else if e.kind() == rocksdb::ErrorKind::Corruption {
                    ErrorKind::Corruption
                } else {
                    ErrorKind::Transient
                }
            }
        }
    }
}
