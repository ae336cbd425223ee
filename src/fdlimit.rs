//! The open-descriptor limit of `dfft serve`: raise the soft limit to the
//! hard one at start, and size the connection cap so that the store keeps
//! a reserve of descriptors whatever the clients do.
//!
//! Leaves out: the connection handling itself (`dfft_server::conn`) and
//! RocksDB's table cache (`dfft_store::StoreOptions::max_open_files`, the
//! reserve kept here).

/// Descriptors kept free beyond the store's table files and the client
/// connections: standard streams, the listener, the runtime's epoll and
/// event descriptors, RocksDB's WAL, MANIFEST, info log and directory
/// descriptors, key files read at start, one connection accepted while at
/// the cap.
pub const MARGIN: u64 = 64;

/// The soft limit before and after raising it to the hard limit; `None`
/// where it is unlimited or unknown.
#[derive(Debug, Clone, Copy)]
pub struct Nofile {
    pub before: Option<u64>,
    pub after: Option<u64>,
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit. A hard limit of
/// "unlimited" is left alone (Linux refuses an unlimited soft limit for
/// descriptors); a refusal is logged and the old limit kept.
#[cfg(unix)]
pub fn raise() -> Nofile {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let lim = getrlimit(Resource::Nofile);
    if let (Some(soft), Some(hard)) = (lim.current, lim.maximum) {
        if soft < hard {
            let new = Rlimit {
                current: Some(hard),
                maximum: Some(hard),
            };
            if let Err(e) = setrlimit(Resource::Nofile, new) {
                tracing::warn!(error = %e, soft, hard, "could not raise the descriptor limit");
            }
        }
    }
    Nofile {
        before: lim.current,
        after: getrlimit(Resource::Nofile).current,
    }
}

/// Elsewhere the limit is not known.
#[cfg(not(unix))]
pub fn raise() -> Nofile {
    Nofile {
        before: None,
        after: None,
    }
}

/// The connection cap that leaves `store_files + MARGIN` descriptors free
/// under the soft limit `soft`: at most `configured`, at least 1.
pub fn connection_cap(configured: usize, soft: Option<u64>, store_files: u32) -> usize {
    match soft {
        None => configured.max(1),
        Some(soft) => {
            let room = soft.saturating_sub(u64::from(store_files) + MARGIN);
            usize::try_from(room)
                .unwrap_or(usize::MAX)
                .min(configured)
                .max(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_keeps_the_store_reserve() {
        assert_eq!(connection_cap(2048, Some(1024), 512), 1024 - 512 - 64);
        assert_eq!(connection_cap(100, Some(1024), 512), 100);
        assert_eq!(connection_cap(2048, Some(1 << 20), 512), 2048);
        assert_eq!(connection_cap(2048, None, 512), 2048);
        // Too few descriptors for the reserve: one connection, not none.
        assert_eq!(connection_cap(2048, Some(256), 512), 1);
    }

    #[cfg(unix)]
    #[test]
    fn raising_ends_at_the_hard_limit() {
        let n = raise();
        let hard = rustix::process::getrlimit(rustix::process::Resource::Nofile).maximum;
        if hard.is_some() {
            assert_eq!(n.after, hard);
        }
        assert!(n.after >= n.before);
    }
}
