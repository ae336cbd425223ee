//! The on-disk key layout (described in the crate docs): the prefix bytes,
//! the metadata keys, the encodings of entry, stored-hash, leaf-hash and
//! state keys, and the decodings of the fixed-width values stored under
//! them. Pure byte math; what is read or written, and when, is the
//! [`crate::Store`]'s.

use crate::StoreError;
use dfft_core::merkle::{Hash, NodeId};

pub(crate) const P_ENTRY: u8 = b'e';
pub(crate) const P_GROUP: u8 = b'g';
pub(crate) const P_HASH: u8 = b'h';
pub(crate) const P_LEAF: u8 = b'l';
pub(crate) const P_STATE: u8 = b's';
pub(crate) const META_SIZE: &[u8] = b"msize";
pub(crate) const META_CHECKPOINT: &[u8] = b"mcheckpoint";
pub(crate) const META_LAYOUT: &[u8] = b"mlayout";
/// The key layout this code writes: 2 = levels 0..[`GROUP_LEVELS`] grouped.
pub(crate) const LAYOUT: u8 = 2;
/// Levels below this one are stored grouped by 2^GROUP_LEVELS-leaf subtree.
pub(crate) const GROUP_LEVELS: u8 = 4;

/// The key of a stored hash: 11 bytes for levels below [`GROUP_LEVELS`]
/// (`g` group level offset), 10 above (`h` level index).
#[derive(Clone, Copy)]
pub(crate) struct HashKey {
    buf: [u8; 11],
    len: u8,
}

impl AsRef<[u8]> for HashKey {
    fn as_ref(&self) -> &[u8] {
        &self.buf[..usize::from(self.len)]
    }
}

pub(crate) fn hash_key(id: NodeId) -> HashKey {
    let mut buf = [0u8; 11];
    if id.level < GROUP_LEVELS {
        let shift = GROUP_LEVELS - id.level;
        buf[0] = P_GROUP;
        buf[1..9].copy_from_slice(&(id.index >> shift).to_be_bytes());
        buf[9] = id.level;
        // Lossless: the offset is below 2^shift <= 16.
        buf[10] = (id.index & ((1u64 << shift) - 1)) as u8;
        HashKey { buf, len: 11 }
    } else {
        buf[0] = P_HASH;
        buf[1] = id.level;
        buf[2..10].copy_from_slice(&id.index.to_be_bytes());
        HashKey { buf, len: 10 }
    }
}

/// The node a stored-hash key names, or None for a key of another kind.
pub(crate) fn node_of_key(k: &[u8]) -> Option<NodeId> {
    match (k.first()?, k.len()) {
        (&P_GROUP, 11) => {
            let level = k[9];
            let shift = GROUP_LEVELS.checked_sub(level).filter(|s| *s > 0)?;
            let group = u64::from_be_bytes(k[1..9].try_into().ok()?);
            let offset = u64::from(k[10]);
            (offset < 1 << shift).then(|| NodeId::new(level, group << shift | offset))
        }
        (&P_HASH, 10) => Some(NodeId::new(
            k[1],
            u64::from_be_bytes(k[2..10].try_into().ok()?),
        )),
        _ => None,
    }
}

pub(crate) fn hash_of(v: &[u8]) -> Result<Hash, StoreError> {
    <[u8; 32]>::try_from(v).map_err(|_| StoreError::Corrupt("hash of wrong length".into()))
}

pub(crate) fn entry_key(index: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = P_ENTRY;
    k[1..].copy_from_slice(&index.to_be_bytes());
    k
}

pub(crate) fn leaf_key(h: &Hash) -> [u8; 33] {
    let mut k = [0u8; 33];
    k[0] = P_LEAF;
    k[1..].copy_from_slice(h);
    k
}

pub(crate) fn state_key(ns: u8, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(2 + key.len());
    k.push(P_STATE);
    k.push(ns);
    k.extend_from_slice(key);
    k
}

pub(crate) fn u64_of(v: &[u8]) -> Result<u64, StoreError> {
    let b: [u8; 8] = v
        .try_into()
        .map_err(|_| StoreError::Corrupt("integer of wrong length".into()))?;
    Ok(u64::from_be_bytes(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouped_keys_round_trip_and_keep_a_proofs_nodes_together() {
        for level in 0..8u8 {
            for index in [0u64, 1, 5, 15, 16, 17, 1 << 40, u64::MAX >> 1] {
                let id = NodeId::new(level, index);
                assert_eq!(node_of_key(hash_key(id).as_ref()), Some(id));
            }
        }
        // For any leaf, the level 0..3 nodes of its inclusion proof share a
        // 9-byte prefix (one group), and every key round-trips.
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let leaf = x >> (x % 40);
            let keys: Vec<_> = (0..GROUP_LEVELS)
                .map(|l| hash_key(NodeId::new(l, (leaf >> l) ^ 1)))
                .collect();
            assert!(keys
                .iter()
                .all(|k| k.as_ref()[..9] == keys[0].as_ref()[..9]));
            for l in 0..GROUP_LEVELS + 2 {
                let id = NodeId::new(l, leaf >> l);
                assert_eq!(node_of_key(hash_key(id).as_ref()), Some(id));
            }
        }
        assert_eq!(node_of_key(b"e12345678"), None);
        assert_eq!(node_of_key(&[P_GROUP, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0]), None);
        assert_eq!(node_of_key(&[P_GROUP, 0, 0, 0, 0, 0, 0, 0, 0, 3, 2]), None);
    }
}
