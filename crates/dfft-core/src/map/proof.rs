//! Map proofs: presence or absence of one key, their compact encoding, a
//! strict parser, and verification against a map root.
//!
//! Encoding (docs/index.md, "Proofs"), all integers big-endian:
//! ```text
//! u8      terminal: 0 = the key's own leaf (presence),
//!                   1 = an empty subtree (absence),
//!                   2 = another key's leaf (absence)
//! [32+32] terminal 2 only: that leaf's key and value
//! u16     depth d of the terminal (0..=256)
//! bitmap  ceil(d/8) bytes; bit i (most significant first) set when the
//!         sibling at depth i is not empty; the unused bits zero
//! hashes  the non-empty siblings, 32 bytes each, root side first
//! ```
//! The parser refuses anything else: another tag, depth over 256, a set
//! unused bit, a listed sibling equal to the empty hash, missing or
//! trailing bytes. So each proof has exactly one encoding.
//!
//! Leaves out: building proofs (`map::tree::prove`), what keys mean.

use super::tree::{bit, leaf_hash, node_hash, EMPTY, MAX_DEPTH};
use crate::merkle::Hash;

/// Where the walk along the key ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Terminal {
    /// The key's own leaf: the key is present (the verifier brings the value).
    Leaf,
    /// An empty subtree: absent.
    Empty,
    /// Another key's leaf on the key's path: absent.
    Other {
        /// That leaf's key.
        key: Hash,
        /// That leaf's value.
        value: Hash,
    },
}

/// A proof of one key's value or absence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapProof {
    /// The siblings along the path, root side first ([`EMPTY`] for an
    /// empty one); as many as the terminal's depth.
    pub siblings: Vec<Hash>,
    /// Where the path ended.
    pub terminal: Terminal,
}

/// Why a map proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MapProofError {
    /// The bytes are not a proof in the compact encoding.
    #[error("map proof encoding: {0}")]
    Encoding(&'static str),
    /// The proof shows the key present, the answer says absent.
    #[error("the map proof shows the key present, but the answer says it is absent")]
    Present,
    /// The proof shows the key absent, the answer gives a value.
    #[error("the map proof shows the key absent, but the answer gives it a value")]
    Absent,
    /// The other leaf of an absence proof is the key itself, or not on its path.
    #[error("the absence proof's other leaf is {0}")]
    OtherLeaf(&'static str),
    /// A leaf or empty subtree whose sibling is empty (it would sit higher).
    #[error(
        "the map proof is not in the tree's canonical shape (a terminal with an empty sibling)"
    )]
    NotCanonical,
    /// The proof leads to another root.
    #[error("the map proof gives root {computed}, not the map root {expected}", computed = crate::hex::encode(.computed), expected = crate::hex::encode(.expected))]
    RootMismatch {
        /// The root the index entry commits to.
        expected: Hash,
        /// The root the proof gives.
        computed: Hash,
    },
}

impl MapProof {
    /// The compact encoding (module docs).
    pub fn to_bytes(&self) -> Vec<u8> {
        let d = self.siblings.len();
        let mut out = Vec::with_capacity(3 + 64 + d.div_ceil(8) + 32 * d);
        match &self.terminal {
            Terminal::Leaf => out.push(0),
            Terminal::Empty => out.push(1),
            Terminal::Other { key, value } => {
                out.push(2);
                out.extend_from_slice(key);
                out.extend_from_slice(value);
            }
        }
        // Depth is at most 256 for every proof the tree builds.
        out.extend_from_slice(&(d as u16).to_be_bytes());
        let mut bitmap = vec![0u8; d.div_ceil(8)];
        for (i, s) in self.siblings.iter().enumerate() {
            if s != &EMPTY {
                bitmap[i / 8] |= 0x80 >> (i % 8);
            }
        }
        out.extend_from_slice(&bitmap);
        for s in self.siblings.iter().filter(|s| *s != &EMPTY) {
            out.extend_from_slice(s);
        }
        out
    }

    /// Parses the compact encoding strictly (module docs).
    pub fn parse(b: &[u8]) -> Result<MapProof, MapProofError> {
        let e = MapProofError::Encoding;
        let mut rest = b;
        let mut take = |n: usize| -> Result<&[u8], MapProofError> {
            if rest.len() < n {
                return Err(e("truncated"));
            }
            let (head, tail) = rest.split_at(n);
            rest = tail;
            Ok(head)
        };
        let hash = |s: &[u8]| -> Hash {
            let mut h = [0u8; 32];
            h.copy_from_slice(s);
            h
        };
        let terminal = match take(1)?[0] {
            0 => Terminal::Leaf,
            1 => Terminal::Empty,
            2 => Terminal::Other {
                key: hash(take(32)?),
                value: hash(take(32)?),
            },
            _ => return Err(e("unknown terminal tag")),
        };
        let depth = u16::from_be_bytes([take(1)?[0], take(1)?[0]]);
        if depth > MAX_DEPTH {
            return Err(e("depth over 256"));
        }
        let d = usize::from(depth);
        let bitmap = take(d.div_ceil(8))?.to_vec();
        if d % 8 != 0 && bitmap[d / 8] & (0xff >> (d % 8)) != 0 {
            return Err(e("a bitmap bit past the depth is set"));
        }
        let mut siblings = Vec::with_capacity(d);
        for i in 0..d {
            if bitmap[i / 8] & (0x80 >> (i % 8)) != 0 {
                let s = hash(take(32)?);
                if s == EMPTY {
                    return Err(e("a listed sibling is the empty hash"));
                }
                siblings.push(s);
            } else {
                siblings.push(EMPTY);
            }
        }
        if !rest.is_empty() {
            return Err(e("trailing bytes"));
        }
        Ok(MapProof { siblings, terminal })
    }

    /// Checks that under `root`, `key` has `value` (`None`: is absent).
    pub fn verify(
        &self,
        root: &Hash,
        key: &Hash,
        value: Option<&Hash>,
    ) -> Result<(), MapProofError> {
        let depth = self.siblings.len();
        if depth > usize::from(MAX_DEPTH) {
            return Err(MapProofError::Encoding("depth over 256"));
        }
        let mut h = match (&self.terminal, value) {
            (Terminal::Leaf, Some(v)) => leaf_hash(key, v),
            (Terminal::Leaf, None) => return Err(MapProofError::Present),
            (_, Some(_)) => return Err(MapProofError::Absent),
            (Terminal::Empty, None) => EMPTY,
            (Terminal::Other { key: k, value: v }, None) => {
                if k == key {
                    return Err(MapProofError::OtherLeaf("the key itself"));
                }
                if (0..depth as u16).any(|i| bit(k, i) != bit(key, i)) {
                    return Err(MapProofError::OtherLeaf("not on the key's path"));
                }
                leaf_hash(k, v)
            }
        };
        if depth > 0 && self.siblings[depth - 1] == EMPTY {
            return Err(MapProofError::NotCanonical);
        }
        for i in (0..depth).rev() {
            let s = &self.siblings[i];
            h = if bit(key, i as u16) == 0 {
                node_hash(&h, s)
            } else {
                node_hash(s, &h)
            };
        }
        if &h != root {
            return Err(MapProofError::RootMismatch {
                expected: *root,
                computed: h,
            });
        }
        Ok(())
    }
}
