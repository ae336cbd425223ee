//! One-time upgrades of a store written by an older release, run by
//! `Sequencer::open` before anything is served: the statement index
//! (statement id -> first index) of logs written before statements were
//! deduplicated, and, where such a log holds repeated statements, the
//! registry state rebuilt under the current rules; the map of a log
//! written before the index (`build_map`); and the log of every authority
//! statement (`build_authority_log`) of a log written before authority
//! listings proved their completeness.
//!
//! Leaves out: the grouped hash layout migration (`dfft-store`, it is about
//! storage only) and anything done on every start.

use std::collections::HashMap;

use dfft_core::statement::dsse::Envelope;
use dfft_core::statement::registry::{Change, Registry};
use dfft_store::LogStore;

use crate::mapstate::{index_entry_at, node_write, store_error, StoredNodes};
use crate::sequencer::OpenError;
use crate::state::{
    authority_log_write, statement_write, writes_for, RegistryState, AUTHORITY_LOG_DONE,
    MAP_BUILD_PROGRESS, MAP_BUILT, NS_AUTHORITY, NS_AUTHORITY_LOG, NS_GENESIS, NS_MAP, NS_RECORD,
    NS_ROUTE, STATEMENT_INDEX_DONE,
};
use dfft_core::map::{tree, MapBatch};
use dfft_core::merkle::leaf_hash;

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
            // Index entries are the registry's own, not statements.
            if dfft_core::map::index::IndexEntry::parse_payload(&env.payload).is_ok() {
                continue;
            }
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
    for ns in [NS_AUTHORITY, NS_AUTHORITY_LOG, NS_RECORD, NS_ROUTE] {
        for (k, _) in store.state_all(ns)? {
            writes.push((ns, k, None));
        }
    }
    // The authority log keeps every statement, which the final state does
    // not: `build_authority_log` builds it again.
    writes.push((NS_GENESIS, AUTHORITY_LOG_DONE.to_vec(), None));
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

/// Builds the map (namespace `m`) of a log written before the index, once,
/// on open, by replaying the log with the core rules and the core's map
/// function. `Sequencer::open` then appends the log's first index entry.
///
/// Crash safety, step by step:
/// 1. Replay the registry rules over entries `[0, done)`, where `done` is
///    the stored progress (0 on the first run): the map already holds them.
/// 2. For each further chunk of `INDEX_CHUNK` entries: replay them, apply
///    their changes to the map in one batch update, and write the changed
///    nodes and the new progress in ONE synced batch. A crash between
///    chunks resumes at step 1 with the progress written last; a crash
///    inside a chunk's write leaves all of it or none.
/// 3. Write the built mark, synced, with the last chunk.
///
/// A map marked built under a last leaf that is not an index entry (a
/// release without the index appended entries) is dropped and built again.
pub fn build_map(store: &dyn LogStore, size: u64) -> Result<(), OpenError> {
    if store.state(NS_GENESIS, MAP_BUILT)?.is_some() {
        if size == 0 || index_entry_at(store, size)?.is_some() {
            return Ok(());
        }
        // Built, but the last leaf is not an index entry: a release without
        // the index appended entries since. Build the map again from
        // nothing (one synced write drops it and the marks).
        tracing::warn!("entries were appended without the index; rebuilding the map");
        let mut drop: Vec<dfft_store::StateWrite> = store
            .state_all(NS_MAP)?
            .into_iter()
            .map(|(k, _)| (NS_MAP, k, None))
            .collect();
        drop.push((NS_GENESIS, MAP_BUILT.to_vec(), None));
        drop.push((NS_GENESIS, MAP_BUILD_PROGRESS.to_vec(), None));
        store.put_state(&drop)?;
    }
    if size == 0 {
        store.put_state(&[(NS_GENESIS, MAP_BUILT.to_vec(), Some(b"1".to_vec()))])?;
        return Ok(());
    }
    let done = match store.state(NS_GENESIS, MAP_BUILD_PROGRESS)? {
        Some(v) => u64::from_be_bytes(v.as_slice().try_into().map_err(|_| {
            OpenError::Inconsistent("the map build progress is not 8 bytes".into())
        })?),
        None => 0,
    };
    tracing::info!(
        entries = size,
        from = done,
        "building the map (once, on upgrade)"
    );
    let mut registry = Registry::new();
    let mut begin = 0;
    while begin < size {
        let end = (begin + INDEX_CHUNK).min(size);
        let mut batch = MapBatch::new();
        let nodes = StoredNodes(store);
        for (i, bytes) in store.entries(begin, end)?.into_iter().enumerate() {
            let index = begin + i as u64;
            let change = match registry.apply_entry(&bytes) {
                Ok(c) => c,
                Err(e) => {
                    // The sequencer never logs such an entry; one planted in
                    // the store is served as it is, and `dfft audit` names
                    // it. The map gives it no effect.
                    tracing::error!(index, error = %e, "entry breaks the rules; the map gives it no effect");
                    registry.skip();
                    continue;
                }
            };
            if index >= done {
                batch
                    .apply(index, &leaf_hash(&bytes), &change, |k| {
                        tree::get(&nodes, k).map_err(store_error)
                    })
                    .map_err(OpenError::Store)?;
            }
        }
        if end > done {
            let update = tree::update(&nodes, batch.updates())
                .map_err(|e| OpenError::Store(store_error(e)))?;
            let mut writes: Vec<dfft_store::StateWrite> = update
                .nodes
                .iter()
                .map(|(id, n)| {
                    let (ns, k, v) = node_write(id, n);
                    (ns, k, Some(v))
                })
                .collect();
            writes.push((
                NS_GENESIS,
                MAP_BUILD_PROGRESS.to_vec(),
                Some(end.to_be_bytes().to_vec()),
            ));
            if end == size {
                writes.push((NS_GENESIS, MAP_BUILT.to_vec(), Some(b"1".to_vec())));
            }
            store.put_state(&writes)?;
        }
        begin = end;
    }
    tracing::info!("map built");
    Ok(())
}

/// Builds the authority log (namespace `h`: every authority statement, by
/// authority) of a log written before it, once, on open, by replaying the
/// log with the core rules.
///
/// Crash safety: the whole log is replayed and every key written, with the
/// done mark, in ONE synced batch (authority statements are few); a crash
/// before it repeats the build, which writes the same keys.
pub fn build_authority_log(store: &dyn LogStore, size: u64) -> Result<(), OpenError> {
    let done = (NS_GENESIS, AUTHORITY_LOG_DONE.to_vec(), Some(b"1".to_vec()));
    if store.state(NS_GENESIS, AUTHORITY_LOG_DONE)?.is_some() {
        return Ok(());
    }
    if size == 0 {
        store.put_state(&[done])?;
        return Ok(());
    }
    tracing::info!(
        entries = size,
        "building the authority log (once, on upgrade)"
    );
    let mut registry = Registry::new();
    let mut writes: Vec<dfft_store::StateWrite> = Vec::new();
    let mut begin = 0;
    while begin < size {
        let end = (begin + INDEX_CHUNK).min(size);
        for (i, bytes) in store.entries(begin, end)?.into_iter().enumerate() {
            let index = begin + i as u64;
            match registry.apply_entry(&bytes) {
                Ok(Change::Authority(a)) => {
                    let (ns, k, v) = authority_log_write(a.id.as_str(), index);
                    writes.push((ns, k, Some(v)));
                }
                Ok(_) => {}
                // As in `build_map`: such an entry has no effect.
                Err(_) => registry.skip(),
            }
        }
        begin = end;
    }
    writes.push(done);
    store.put_state(&writes)?;
    tracing::info!(statements = writes.len() - 1, "authority log built");
    Ok(())
}
