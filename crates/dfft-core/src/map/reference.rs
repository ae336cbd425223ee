//! A straight reference implementation of the map's tree, used only as an
//! oracle by tests: the root and proofs computed recursively over the whole
//! sorted key set, with no storage and no incremental update. Quadratic in
//! the worst case; never use it to serve.
//!
//! Leaves out: everything but the tree's definition (docs/index.md).

use std::collections::BTreeMap;

use super::proof::{MapProof, Terminal};
use super::tree::{bit, leaf_hash, node_hash, EMPTY};
use crate::merkle::Hash;

/// The root of the map holding exactly `kv`.
pub fn root(kv: &BTreeMap<Hash, Hash>) -> Hash {
    let v: Vec<(Hash, Hash)> = kv.iter().map(|(k, v)| (*k, *v)).collect();
    subtree(&v, 0)
}

fn subtree(kv: &[(Hash, Hash)], depth: u16) -> Hash {
    match kv {
        [] => EMPTY,
        [(k, v)] => leaf_hash(k, v),
        _ => {
            let (l, r): (Vec<_>, Vec<_>) = kv.iter().partition(|(k, _)| bit(k, depth) == 0);
            node_hash(&subtree(&l, depth + 1), &subtree(&r, depth + 1))
        }
    }
}

/// The proof for `key` in the map holding exactly `kv`.
pub fn prove(kv: &BTreeMap<Hash, Hash>, key: &Hash) -> MapProof {
    let mut set: Vec<(Hash, Hash)> = kv.iter().map(|(k, v)| (*k, *v)).collect();
    let mut siblings = Vec::new();
    let mut depth = 0u16;
    loop {
        match set.as_slice() {
            [] => {
                return MapProof {
                    siblings,
                    terminal: Terminal::Empty,
                }
            }
            [(k, v)] => {
                let terminal = if k == key {
                    Terminal::Leaf
                } else {
                    Terminal::Other { key: *k, value: *v }
                };
                return MapProof { siblings, terminal };
            }
            _ => {
                let b = bit(key, depth);
                let (same, other): (Vec<_>, Vec<_>) =
                    set.iter().partition(|(k, _)| bit(k, depth) == b);
                siblings.push(subtree(&other, depth + 1));
                set = same;
                depth += 1;
            }
        }
    }
}
