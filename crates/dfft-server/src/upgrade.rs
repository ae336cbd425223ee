//! One-time upgrades of a store written by an older release, run by
//! `Sequencer::open` before anything is served: the statement index
//! (statement id -> first index) of logs written before statements were
//! deduplicated, and, where such a log holds repeated statements, the
//! registry state rebuilt under the current rules.
//!
//! Leaves out: the grouped hash layout migration (`dfft-store`, it is about
//! storage only) and anything done on every start.

use std::collections::HashMap;

use dfft_core::statement::dsse::Envelope;
use dfft_core::statement::registry::{Change, Registry};
use dfft_store::LogStore;

use crate::sequencer::OpenError;
use crate::state::{
    statement_write, writes_for, RegistryState, NS_AUTHORITY, NS_GENESIS, NS_RECORD, NS_ROUTE,
    STATEMENT_INDEX_DONE,
};

/// Entries read per step of the statement-index build.
const INDEX_CHUNK: u64 = 4096;

/// Builds the statement index (statement id -> first index) of a store
/// written before statements were deduplicated, once, on open.
///
/// Crash safety, step by step:
/// 1. Read up to `INDEX_CHUNK` (4,096) entries in log order; for each, its
///    statement id is either new (written with this index) or already
///    indexed at an earlier index (a repeat: remembered) or at this same
///    index (a previous, interrupted run of this build).
/// 2. Write the chunk's new ids in ONE synced batch; repeat until the end.
/// 3. If any entry repeated an earlier statement, the stored registry state
///    gave it an effect that the rules now deny it: rebuild the authority,
///    record and route state by replaying the log with the core rules, in
///    ONE synced batch.
/// 4. Write the done key, synced. A crash before it redoes the whole build,
///    which writes the same values again.
pub fn build_statement_index(store: &dyn LogStore, size: u64) -> Result<(), OpenError> {
    if size == 0 || store.state(NS_GENESIS, STATEMENT_INDEX_DONE)?.is_some() {
        if size == 0 {
            store.put_state(&[(
                NS_GENESIS,
                STATEMENT_INDEX_DONE.to_vec(),
                Some(b"1".to_vec()),
            )])?;
        }
        return Ok(());
    }
    tracing::info!(
        entries = size,
        "building the statement index (once, on upgrade)"
    );
    let mut repeats: Vec<(u64, u64)> = Vec::new();
    let mut begin = 0;
    while begin < size {
        let end = (begin + INDEX_CHUNK).min(size);
        let mut chunk: HashMap<[u8; 32], u64> = HashMap::new();
        for (i, bytes) in store.entries(begin, end)?.into_iter().enumerate() {
            let index = begin + i as u64;
            let env = Envelope::parse_canonical(&bytes).map_err(|e| {
                OpenError::Inconsistent(format!("entry {index} does not parse: {e}"))
            })?;
            let id = env.statement_id();
            let first = match chunk.get(&id) {
                Some(&f) => Some(f),
                None => RegistryState::new(store).statement_index(&id)?,
            };
            match first {
                Some(f) if f < index => repeats.push((index, f)),
                Some(_) => {}
                None => {
                    chunk.insert(id, index);
                }
            }
        }
        let writes: Vec<_> = chunk
            .into_iter()
            .map(|(id, i)| {
                let (ns, k, v) = statement_write(&id, i);
                (ns, k, Some(v))
            })
            .collect();
        store.put_state(&writes)?;
        begin = end;
    }
    if !repeats.is_empty() {
        for (index, first) in &repeats {
            tracing::warn!(
                index,
                first,
                "entry repeats the statement of an earlier entry (logged before statements were deduplicated); it has no effect"
            );
        }
        rebuild_state(store, size)?;
    }
    store.put_state(&[(
        NS_GENESIS,
        STATEMENT_INDEX_DONE.to_vec(),
        Some(b"1".to_vec()),
    )])?;
    tracing::info!(repeats = repeats.len(), "statement index built");
    Ok(())
}

/// Step 3 of [`build_statement_index`]: the registry state as the core
/// rules give it, replacing what is stored.
fn rebuild_state(store: &dyn LogStore, size: u64) -> Result<(), OpenError> {
    tracing::warn!("rebuilding the registry state by replaying the log");
    let mut registry = Registry::new();
    let mut begin = 0;
    while begin < size {
        let end = (begin + INDEX_CHUNK).min(size);
        for (i, bytes) in store.entries(begin, end)?.into_iter().enumerate() {
            registry.apply_entry(&bytes).map_err(|e| {
                OpenError::Inconsistent(format!("replaying entry {}: {e}", begin + i as u64))
            })?;
        }
        begin = end;
    }
    let mut writes: Vec<dfft_store::StateWrite> = Vec::new();
    for ns in [NS_AUTHORITY, NS_RECORD, NS_ROUTE] {
        for (k, _) in store.state_all(ns)? {
            writes.push((ns, k, None));
        }
    }
    let changes = registry
        .authorities()
        .map(|a| Change::Authority(a.clone()))
        .chain(registry.records().map(|r| Change::Record(r.clone())));
    for change in changes {
        for (ns, k, v) in writes_for(&change, true) {
            writes.push((ns, k, Some(v)));
        }
    }
    store.put_state(&writes)?;
    Ok(())
}
