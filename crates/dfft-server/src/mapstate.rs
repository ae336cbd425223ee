//! The map's nodes in the store (namespace `m`), read through
//! `dfft_core::map::tree::NodeStore`: the sequencer's view with its
//! in-memory cache of hot nodes, and the handlers' view of the map as it
//! stood at the published checkpoint ([`MapVersions`]), which checks every
//! proof against the root of the checkpoint it answers for.
//!
//! Covers: the node namespace's keys and values, reading nodes back, the
//! writes of one batch's update, the sequencer's node cache, the values
//! that batches not yet published overwrote, and building proofs for an
//! answer against one published checkpoint's index entry.
//!
//! Why the handlers need old values: the store holds one version of the
//! map, the latest committed; the published checkpoint can be older (with
//! witnesses, until the quorum cosigns the newer one; without, for the
//! moment between the commit and the publication). Each batch's commit
//! therefore first records the values its nodes had before it (`None` for
//! a node it creates; the map never deletes one), and keeps them until a
//! checkpoint covering the batch is published. A handler answering for a
//! published tree of size `s` reads a node from the oldest such record of
//! a batch after `s` that holds it, else from the sequencer's cache (read
//! only: a handler never fills it, so it can never hold a stale node),
//! else from the store. A batch that lands between the handler's look at
//! the records and its reads shows up as a proof that does not verify
//! against the answer's root, and the answer is built again.
//!
//! Leaves out: the map function and the tree (`dfft_core::map`), when
//! nodes are written (the sequencer, in its one atomic batch; the upgrade
//! build in `upgrade`).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, RwLock};

use dfft_core::map::index::IndexEntry;
use dfft_core::map::proof::MapProof;
use dfft_core::map::tree::{self, Node, NodeId, NodeStore, TreeError};
use dfft_core::merkle::Hash;
use dfft_store::{LogStore, StoreError};

use crate::state::{Write, NS_MAP};

/// Nodes the sequencer keeps in memory before it drops the cache (about
/// 150 bytes each).
const NODE_CACHE: usize = 2_000_000;
/// Nodes at depth below this are never dropped from the cache (at most
/// 2^17 of them): every update and proof passes through them.
const PINNED_DEPTH: u16 = 16;

/// The write of one node.
pub fn node_write(id: &NodeId, node: &Node) -> Write {
    (NS_MAP, id.to_bytes(), node.to_bytes().to_vec())
}

fn read(store: &dyn LogStore, id: &NodeId) -> Result<Option<Node>, StoreError> {
    match store.state(NS_MAP, &id.to_bytes())? {
        None => Ok(None),
        Some(v) => Node::from_bytes(&v)
            .map(Some)
            .ok_or_else(|| StoreError::Corrupt(format!("map node at depth {}", id.depth))),
    }
}

/// The nodes as the store holds them (the handlers' view).
pub struct StoredNodes<'a>(pub &'a dyn LogStore);

impl NodeStore for StoredNodes<'_> {
    type Error = StoreError;
    fn node(&self, id: &NodeId) -> Result<Option<Node>, StoreError> {
        read(self.0, id)
    }
}

/// The sequencer's view: its cache, then the store. The sequencer is the
/// only writer, so the cache holds the latest committed nodes once
/// [`NodeCache::committed`] has run; a failed commit clears it.
#[derive(Default)]
pub struct NodeCache {
    nodes: RwLock<HashMap<NodeId, Node>>,
}

impl NodeCache {
    /// The view of `store` through this cache.
    pub fn view<'a>(&'a self, store: &'a dyn LogStore) -> CachedNodes<'a> {
        CachedNodes { cache: self, store }
    }

    /// The nodes of a batch that is now durable.
    pub fn committed(&self, nodes: &[(NodeId, Node)]) {
        let mut g = self.nodes.write().unwrap_or_else(|p| p.into_inner());
        if g.len() + nodes.len() > NODE_CACHE {
            g.retain(|id, _| id.depth < PINNED_DEPTH);
        }
        g.extend(nodes.iter().copied());
    }

    /// A cached node, without touching the store.
    fn get(&self, id: &NodeId) -> Option<Node> {
        self.nodes
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .copied()
    }

    /// Forgets everything (after a failed commit).
    pub fn clear(&self) {
        self.nodes
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

/// The values a batch's nodes had before it: `None` for a node it created.
pub type OldNodes = HashMap<NodeId, Option<Node>>;

/// The map as the handlers read it (see the module docs): the sequencer's
/// node cache and, for every committed batch not yet covered by the
/// published checkpoint, the values its nodes had before it.
///
/// Bounded: without witnesses a batch's record lives from just before its
/// commit to its publication; with witnesses, at most the unwitnessed
/// entries the server accepts (`--max-unwitnessed`), each changing a few
/// dozen nodes.
#[derive(Default)]
pub struct MapVersions {
    cache: NodeCache,
    /// (tree size after the batch, its old values), oldest first.
    undo: RwLock<VecDeque<(u64, Arc<OldNodes>)>>,
}

impl MapVersions {
    /// The sequencer's node cache.
    pub fn cache(&self) -> &NodeCache {
        &self.cache
    }

    /// Called by the sequencer BEFORE the synced write of the batch that
    /// makes the tree `size` entries long: what that batch overwrites.
    pub fn overwriting(&self, size: u64, old: Arc<OldNodes>) {
        self.undo
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push_back((size, old));
    }

    /// Called by the sequencer when the batch that would have made the
    /// tree `size` long was not committed.
    pub fn not_committed(&self, size: u64) {
        self.undo
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(s, _)| *s < size);
    }

    /// A checkpoint of `size` is published: the batches it covers need no
    /// old values any more.
    pub fn published(&self, size: u64) {
        self.undo
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(s, _)| *s > size);
    }

    /// How many batches' old values are kept (a metric).
    pub fn kept(&self) -> usize {
        self.undo.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// The map as it stood at the published tree of `size` (see the module
    /// docs for why a read can still see a newer node, and what then).
    pub fn at<'a>(&'a self, store: &'a dyn LogStore, size: u64) -> PublishedNodes<'a> {
        let undo = self
            .undo
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|(s, _)| *s > size)
            .map(|(_, o)| o.clone())
            .collect();
        PublishedNodes {
            undo,
            cache: &self.cache,
            store,
        }
    }
}

/// [`MapVersions::at`].
pub struct PublishedNodes<'a> {
    undo: Vec<Arc<OldNodes>>,
    cache: &'a NodeCache,
    store: &'a dyn LogStore,
}

impl NodeStore for PublishedNodes<'_> {
    type Error = StoreError;
    fn node(&self, id: &NodeId) -> Result<Option<Node>, StoreError> {
        for old in &self.undo {
            if let Some(n) = old.get(id) {
                return Ok(*n);
            }
        }
        match self.cache.get(id) {
            Some(n) => Ok(Some(n)),
            None => read(self.store, id),
        }
    }
}

/// [`NodeCache::view`].
pub struct CachedNodes<'a> {
    cache: &'a NodeCache,
    store: &'a dyn LogStore,
}

impl NodeStore for CachedNodes<'_> {
    type Error = StoreError;
    fn node(&self, id: &NodeId) -> Result<Option<Node>, StoreError> {
        if let Some(n) = self
            .cache
            .nodes
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
        {
            return Ok(Some(*n));
        }
        let n = read(self.store, id)?;
        if let Some(n) = n {
            let mut g = self.cache.nodes.write().unwrap_or_else(|p| p.into_inner());
            if g.len() < NODE_CACHE {
                g.insert(*id, n);
            }
        }
        Ok(n)
    }
}

/// A tree error as a store error (a missing node is corruption).
pub fn store_error(e: TreeError<StoreError>) -> StoreError {
    match e {
        TreeError::Store(e) => e,
        TreeError::Missing(id) => StoreError::Corrupt(format!(
            "map node at depth {} is missing although its parent names it",
            id.depth
        )),
    }
}

/// The index entry that is the last leaf of the tree of `size`, with its bytes.
pub fn index_entry_at(
    store: &dyn LogStore,
    size: u64,
) -> Result<Option<(IndexEntry, Vec<u8>)>, StoreError> {
    let Some(last) = size.checked_sub(1) else {
        return Ok(None);
    };
    let bytes = store
        .entry(last)?
        .ok_or_else(|| StoreError::Corrupt(format!("entry {last} missing")))?;
    Ok(IndexEntry::parse_entry(&bytes).ok().map(|ix| (ix, bytes)))
}

/// The index of the last index entry in the tree of `size`: the last leaf
/// (always, once a log has the index), else found by reading back (only a
/// log upgraded from a release without the index, once).
pub fn last_index_entry(store: &dyn LogStore, size: u64) -> Result<Option<u64>, StoreError> {
    if let Some((ix, _)) = index_entry_at(store, size)? {
        return Ok(Some(ix.last));
    }
    let mut end = size.saturating_sub(1);
    while end > 0 {
        let begin = end.saturating_sub(256);
        let entries = store.entries(begin, end)?;
        for (i, e) in entries.iter().enumerate().rev() {
            if IndexEntry::parse_entry(e).is_ok() {
                return Ok(Some(begin + i as u64));
            }
        }
        end = begin;
    }
    Ok(None)
}

/// A key's value (`None`: absent) and its proof.
pub type ProvenKey = (Option<Hash>, MapProof);

/// Proofs of `keys` against `root`, read from `nodes` (the map at the
/// published checkpoint, [`MapVersions::at`]): `None` if one does not
/// verify against it (a batch landed meanwhile; ask again with the newer
/// checkpoint).
pub fn prove_at(
    nodes: &impl NodeStore<Error = StoreError>,
    root: &Hash,
    keys: &[Hash],
) -> Result<Option<Vec<ProvenKey>>, StoreError> {
    let mut out = Vec::with_capacity(keys.len());
    for k in keys {
        let (value, proof) = tree::prove(nodes, k).map_err(store_error)?;
        if proof.verify(root, k, value.as_ref()).is_err() {
            return Ok(None);
        }
        out.push((value, proof));
    }
    Ok(Some(out))
}
