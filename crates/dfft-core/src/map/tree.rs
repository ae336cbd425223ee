//! The sparse Merkle tree of the map: a binary tree over 256-bit keys with
//! compressed leaves, nodes read through [`NodeStore`], batch updates and
//! proof building.
//!
//! Shape (docs/index.md, "The tree"): a key's bits are read from the most
//! significant bit of its first byte (bit 0, 0 = left). A leaf sits at the
//! shallowest depth where its key is alone in its subtree; an empty subtree
//! hashes to [`EMPTY`]; an internal node has two non-empty children, or one
//! internal child and one empty. Hashes (the stored node bytes are exactly
//! the hashed bytes):
//! - leaf: SHA-256(0x00 || key || value);
//! - internal node: SHA-256(0x01 || left || right).
//!
//! The map never deletes a key (its values are append-only chains), so an
//! update only overwrites nodes or adds them: a leaf pushed down by a new
//! key leaves an internal node in its old place.
//!
//! Leaves out: what keys and values mean (`map`), the proof's wire form and
//! its verification (`map::proof`), and where nodes live (the caller's
//! [`NodeStore`]; [`MemNodes`] is the in-memory one).

use std::collections::{BTreeMap, HashMap};

use sha2::{Digest, Sha256};

use super::proof::{MapProof, Terminal};
use crate::merkle::Hash;

/// The hash of an empty subtree (and the root of the empty map).
pub const EMPTY: Hash = [0u8; 32];

/// Deepest position of a node: leaves of two keys that differ only in their
/// last bit sit at depth 256.
pub const MAX_DEPTH: u16 = 256;

/// Bit `i` of `key` (0 = the most significant bit of byte 0).
pub fn bit(key: &Hash, i: u16) -> u8 {
    let i = usize::from(i);
    (key[i / 8] >> (7 - i % 8)) & 1
}

/// The hash of a leaf: SHA-256(0x00 || key || value).
pub fn leaf_hash(key: &Hash, value: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(key);
    h.update(value);
    h.finalize().into()
}

/// The hash of an internal node: SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// A node's position: its depth and the first `depth` bits of every key
/// below it (the other bits zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// 0 (the root) to [`MAX_DEPTH`].
    pub depth: u16,
    /// The path, bits past `depth` zero.
    pub prefix: Hash,
}

impl NodeId {
    /// The root's position.
    pub const ROOT: NodeId = NodeId {
        depth: 0,
        prefix: [0u8; 32],
    };

    /// The position of the subtree at `depth` holding `key`.
    pub fn of_key(key: &Hash, depth: u16) -> NodeId {
        let mut prefix = [0u8; 32];
        let d = usize::from(depth.min(MAX_DEPTH));
        prefix[..d / 8].copy_from_slice(&key[..d / 8]);
        if d % 8 != 0 {
            prefix[d / 8] = key[d / 8] & (0xffu8 << (8 - d % 8));
        }
        NodeId {
            depth: depth.min(MAX_DEPTH),
            prefix,
        }
    }

    /// The child on side `b` (0 left, 1 right); `depth` must be below
    /// [`MAX_DEPTH`].
    pub fn child(&self, b: u8) -> NodeId {
        let mut prefix = self.prefix;
        let d = usize::from(self.depth);
        if b == 1 {
            prefix[d / 8] |= 0x80 >> (d % 8);
        }
        NodeId {
            depth: self.depth + 1,
            prefix,
        }
    }

    /// The storage key: depth (u16 big-endian), then the first
    /// ceil(depth / 8) bytes of the prefix.
    pub fn to_bytes(&self) -> Vec<u8> {
        let n = usize::from(self.depth).div_ceil(8);
        let mut out = Vec::with_capacity(2 + n);
        out.extend_from_slice(&self.depth.to_be_bytes());
        out.extend_from_slice(&self.prefix[..n]);
        out
    }

    /// Parses [`NodeId::to_bytes`] strictly (bits past the depth zero).
    pub fn from_bytes(b: &[u8]) -> Option<NodeId> {
        let depth = u16::from_be_bytes(b.get(..2)?.try_into().ok()?);
        if depth > MAX_DEPTH || b.len() != 2 + usize::from(depth).div_ceil(8) {
            return None;
        }
        let mut prefix = [0u8; 32];
        prefix[..b.len() - 2].copy_from_slice(&b[2..]);
        let id = NodeId::of_key(&prefix, depth);
        (id.prefix == prefix).then_some(id)
    }
}

/// A stored node. Its encoding ([`Node::to_bytes`]) is the input of its hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Node {
    /// A key alone in its subtree, with its value.
    Leaf {
        /// The key.
        key: Hash,
        /// Its value.
        value: Hash,
    },
    /// An internal node with its children's hashes ([`EMPTY`] for none).
    Internal {
        /// The left child's hash.
        left: Hash,
        /// The right child's hash.
        right: Hash,
    },
}

impl Node {
    /// The node's hash.
    pub fn hash(&self) -> Hash {
        match self {
            Node::Leaf { key, value } => leaf_hash(key, value),
            Node::Internal { left, right } => node_hash(left, right),
        }
    }

    /// 65 bytes: 0x00 || key || value, or 0x01 || left || right.
    pub fn to_bytes(&self) -> [u8; 65] {
        let mut out = [0u8; 65];
        let (tag, a, b) = match self {
            Node::Leaf { key, value } => (0, key, value),
            Node::Internal { left, right } => (1, left, right),
        };
        out[0] = tag;
        out[1..33].copy_from_slice(a);
        out[33..].copy_from_slice(b);
        out
    }

    /// Parses [`Node::to_bytes`] strictly.
    pub fn from_bytes(b: &[u8]) -> Option<Node> {
        if b.len() != 65 {
            return None;
        }
        let a: Hash = b[1..33].try_into().ok()?;
        let c: Hash = b[33..].try_into().ok()?;
        match b[0] {
            0 => Some(Node::Leaf { key: a, value: c }),
            1 => Some(Node::Internal { left: a, right: c }),
            _ => None,
        }
    }
}

/// Where the nodes of one map live. A position without a node is empty.
pub trait NodeStore {
    /// The storage's error.
    type Error;
    /// The node at `id`, if any.
    fn node(&self, id: &NodeId) -> Result<Option<Node>, Self::Error>;
}

/// Why a tree operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TreeError<E> {
    /// The node store failed.
    #[error("map node store: {0}")]
    Store(E),
    /// A node that its parent names is not stored: the store is damaged.
    #[error("map node at depth {} is missing although its parent names it", .0.depth)]
    Missing(NodeId),
}

/// The nodes one batch changed, and the new root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    /// The root hash after the batch.
    pub root: Hash,
    /// Every node written, once each (new or overwritten; nothing is deleted).
    pub nodes: Vec<(NodeId, Node)>,
}

/// Applies every (key, new value) of one batch at once, hashing each node
/// on a changed path exactly once, and returns the nodes to write. Nothing
/// is written through `store`.
pub fn update<S: NodeStore>(
    store: &S,
    updates: &BTreeMap<Hash, Hash>,
) -> Result<Update, TreeError<S::Error>> {
    let ups: Vec<(Hash, Hash)> = updates.iter().map(|(k, v)| (*k, *v)).collect();
    let root_node = store.node(&NodeId::ROOT).map_err(TreeError::Store)?;
    let mut nodes = Vec::new();
    let root = if ups.is_empty() {
        root_node.map_or(EMPTY, |n| n.hash())
    } else {
        rewrite(store, NodeId::ROOT, root_node, &ups, &mut nodes)?
    };
    Ok(Update { root, nodes })
}

/// Rewrites the subtree at `id` (now `current`) with `ups` (sorted by key,
/// not empty, every key under `id`); returns its new hash.
fn rewrite<S: NodeStore>(
    store: &S,
    id: NodeId,
    current: Option<Node>,
    ups: &[(Hash, Hash)],
    out: &mut Vec<(NodeId, Node)>,
) -> Result<Hash, TreeError<S::Error>> {
    match current {
        None => Ok(build(id, ups, out)),
        Some(Node::Leaf { key, value }) => {
            // The old leaf joins the updates unless one replaces it.
            let mut merged = ups.to_vec();
            if let Err(at) = merged.binary_search_by(|(k, _)| k.cmp(&key)) {
                merged.insert(at, (key, value));
            }
            Ok(build(id, &merged, out))
        }
        Some(Node::Internal { left, right }) => {
            let split = split_at(ups, id.depth);
            let mut side = |b: u8, hash: Hash, part: &[(Hash, Hash)]| {
                if part.is_empty() {
                    return Ok(hash);
                }
                let cid = id.child(b);
                let child = if hash == EMPTY {
                    None
                } else {
                    Some(
                        store
                            .node(&cid)
                            .map_err(TreeError::Store)?
                            .ok_or(TreeError::Missing(cid))?,
                    )
                };
                rewrite(store, cid, child, part, out)
            };
            let l = side(0, left, &ups[..split])?;
            let r = side(1, right, &ups[split..])?;
            let node = Node::Internal { left: l, right: r };
            out.push((id, node));
            Ok(node.hash())
        }
    }
}

/// Builds a new subtree at `id` holding exactly `kv` (sorted, not empty).
fn build(id: NodeId, kv: &[(Hash, Hash)], out: &mut Vec<(NodeId, Node)>) -> Hash {
    if let [(key, value)] = kv {
        let node = Node::Leaf {
            key: *key,
            value: *value,
        };
        out.push((id, node));
        return node.hash();
    }
    // Two distinct keys differ by depth 255, so this stays below MAX_DEPTH.
    let split = split_at(kv, id.depth);
    let l = if split == 0 {
        EMPTY
    } else {
        build(id.child(0), &kv[..split], out)
    };
    let r = if split == kv.len() {
        EMPTY
    } else {
        build(id.child(1), &kv[split..], out)
    };
    let node = Node::Internal { left: l, right: r };
    out.push((id, node));
    node.hash()
}

/// The first position in `kv` (sorted) whose key has bit `depth` set.
fn split_at(kv: &[(Hash, Hash)], depth: u16) -> usize {
    kv.partition_point(|(k, _)| bit(k, depth) == 0)
}

/// The walk from the root along `key`: the siblings passed and where it
/// ended.
fn walk<S: NodeStore>(store: &S, key: &Hash) -> Result<(Vec<Hash>, Walked), TreeError<S::Error>> {
    let mut siblings = Vec::new();
    let mut id = NodeId::ROOT;
    let mut node = store.node(&id).map_err(TreeError::Store)?;
    loop {
        match node {
            None => return Ok((siblings, Walked::Empty)),
            Some(Node::Leaf { key: k, value }) => return Ok((siblings, Walked::Leaf(k, value))),
            Some(Node::Internal { left, right }) => {
                let b = bit(key, id.depth);
                let (next, sib) = if b == 0 { (left, right) } else { (right, left) };
                siblings.push(sib);
                id = id.child(b);
                if next == EMPTY {
                    return Ok((siblings, Walked::Empty));
                }
                node = Some(
                    store
                        .node(&id)
                        .map_err(TreeError::Store)?
                        .ok_or(TreeError::Missing(id))?,
                );
            }
        }
    }
}

enum Walked {
    Empty,
    Leaf(Hash, Hash),
}

/// The value of `key`, if present.
pub fn get<S: NodeStore>(store: &S, key: &Hash) -> Result<Option<Hash>, TreeError<S::Error>> {
    Ok(match walk(store, key)?.1 {
        Walked::Leaf(k, v) if &k == key => Some(v),
        _ => None,
    })
}

/// The proof of `key`'s value (presence) or of its absence, with the value.
pub fn prove<S: NodeStore>(
    store: &S,
    key: &Hash,
) -> Result<(Option<Hash>, MapProof), TreeError<S::Error>> {
    let (siblings, end) = walk(store, key)?;
    let (value, terminal) = match end {
        Walked::Empty => (None, Terminal::Empty),
        Walked::Leaf(k, v) if &k == key => (Some(v), Terminal::Leaf),
        Walked::Leaf(k, v) => (None, Terminal::Other { key: k, value: v }),
    };
    Ok((value, MapProof { siblings, terminal }))
}

/// The current root hash.
pub fn root<S: NodeStore>(store: &S) -> Result<Hash, S::Error> {
    Ok(store.node(&NodeId::ROOT)?.map_or(EMPTY, |n| n.hash()))
}

/// Nodes in memory: for tests, the auditor's replay and the client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemNodes {
    nodes: HashMap<NodeId, Node>,
}

impl MemNodes {
    /// An empty map.
    pub fn new() -> MemNodes {
        MemNodes::default()
    }

    /// Applies a batch and stores its nodes; returns the new root. Fails
    /// only if nodes added with [`MemNodes::insert`] left a hole.
    pub fn apply(
        &mut self,
        updates: &BTreeMap<Hash, Hash>,
    ) -> Result<Hash, TreeError<std::convert::Infallible>> {
        let u = update(&*self, updates)?;
        self.nodes.extend(u.nodes);
        Ok(u.root)
    }

    /// The root hash.
    pub fn root(&self) -> Hash {
        self.nodes.get(&NodeId::ROOT).map_or(EMPTY, |n| n.hash())
    }

    /// How many nodes are stored.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Stores nodes (an update's, or ones read from elsewhere).
    pub fn insert(&mut self, nodes: impl IntoIterator<Item = (NodeId, Node)>) {
        self.nodes.extend(nodes);
    }
}

impl NodeStore for MemNodes {
    type Error = std::convert::Infallible;
    fn node(&self, id: &NodeId) -> Result<Option<Node>, Self::Error> {
        Ok(self.nodes.get(id).copied())
    }
}

impl<T: NodeStore + ?Sized> NodeStore for &T {
    type Error = T::Error;
    fn node(&self, id: &NodeId) -> Result<Option<Node>, Self::Error> {
        (**self).node(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(b: u8) -> Hash {
        let mut h = [0u8; 32];
        h[0] = b;
        h
    }

    #[test]
    fn node_ids_round_trip_and_are_strict() {
        let key = [0xabu8; 32];
        for d in [0u16, 1, 7, 8, 9, 255, 256] {
            let id = NodeId::of_key(&key, d);
            assert_eq!(NodeId::from_bytes(&id.to_bytes()), Some(id));
        }
        // A set bit past the depth.
        assert_eq!(NodeId::from_bytes(&[0, 1, 0xc0]), None);
        assert_eq!(NodeId::from_bytes(&[1, 1]), None);
        assert_eq!(NodeId::ROOT.child(1).prefix[0], 0x80);
        assert_eq!(NodeId::ROOT.child(1).child(1).prefix[0], 0xc0);
    }

    #[test]
    fn a_leaf_sits_where_its_key_is_alone() {
        let mut m = MemNodes::new();
        assert_eq!(m.root(), EMPTY);
        let one: BTreeMap<Hash, Hash> = [(k(0x00), [1; 32])].into();
        let r1 = m.apply(&one).unwrap();
        assert_eq!(r1, leaf_hash(&k(0x00), &[1; 32]));
        // 0x00 and 0x20 first differ at bit 2.
        let two: BTreeMap<Hash, Hash> = [(k(0x20), [2; 32])].into();
        let r2 = m.apply(&two).unwrap();
        let want = node_hash(
            &node_hash(
                &node_hash(
                    &leaf_hash(&k(0x00), &[1; 32]),
                    &leaf_hash(&k(0x20), &[2; 32]),
                ),
                &EMPTY,
            ),
            &EMPTY,
        );
        assert_eq!(r2, want);
        assert_eq!(get(&m, &k(0x20)).unwrap(), Some([2; 32]));
        assert_eq!(get(&m, &k(0x40)).unwrap(), None);
    }
}
