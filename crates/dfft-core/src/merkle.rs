//! RFC 6962 / RFC 9162 Merkle trees: hashing, tree hashes, proof building
//! from stored hashes, and proof verification.
//!
//! A *stored hash* is the hash of a perfect subtree: [`NodeId`] `(level, index)`
//! covers leaves `[index << level, (index + 1) << level)`. Every tree hash,
//! inclusion proof and consistency proof is a fold of O(log n) stored hashes;
//! proof building first plans which stored hashes it needs ([`ProofPlan`]),
//! reads them in one batch through [`HashReader`] (a disk, a cache or tiles),
//! then folds them. At most one node of any proof is *ephemeral* (a right-edge
//! subtree that is not perfect); it is rebuilt from at most 64 stored hashes.
//!
//! Verification follows RFC 9162 sections 2.1.3.2 and 2.1.4.2, with the edge
//! cases decided as transparency-dev/merkle decides them: the proof length
//! must be exactly right; consistency from `m == n` needs an empty proof and
//! equal roots; from `m == 0` or `m > n` is an error.
//!
//! Leaves out: where hashes live, and what leaves mean.

use sha2::{Digest, Sha256};

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// The root of the empty tree: SHA-256 of the empty string.
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// Leaf hash: SHA-256(0x00 || entry).
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(entry);
    h.finalize().into()
}

/// Interior node hash: SHA-256(0x01 || left || right).
#[inline]
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut buf = [0u8; 65];
    buf[0] = 1;
    buf[1..33].copy_from_slice(left);
    buf[33..].copy_from_slice(right);
    Sha256::digest(buf).into()
}

/// A perfect subtree: `level` 0 is a leaf; it covers leaves
/// `[index << level, (index + 1) << level)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// Height of the subtree (0 = leaf).
    pub level: u8,
    /// Position among the subtrees of that height.
    pub index: u64,
}

impl NodeId {
    /// Constructs a node id.
    pub const fn new(level: u8, index: u64) -> Self {
        NodeId { level, index }
    }
}

/// Reads stored hashes of perfect subtrees, in the order asked.
pub trait HashReader {
    /// Storage error.
    type Error;
    /// Returns the hashes of `ids`, in order. Every id asked for lies inside
    /// the tree size the caller is working with.
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, Self::Error>;
}

/// Why a proof could not be built or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The leaf index is not below the tree size.
    #[error("index {index} is out of range for tree size {size}")]
    IndexOutOfRange {
        /// Leaf index.
        index: u64,
        /// Tree size.
        size: u64,
    },
    /// The tree sizes cannot have a consistency proof.
    #[error("no consistency proof from size {from} to size {to}")]
    InvalidSizes {
        /// Old size.
        from: u64,
        /// New size.
        to: u64,
    },
    /// The proof has the wrong number of hashes for its index and size.
    #[error("proof has {got} hashes, want {want}")]
    WrongProofSize {
        /// Hashes given.
        got: usize,
        /// Hashes needed.
        want: usize,
    },
    /// The proof leads to a root other than the one expected.
    #[error(
        "root mismatch: expected {}, computed {}",
        crate::hex::encode(expected),
        crate::hex::encode(computed)
    )]
    RootMismatch {
        /// The root the verifier trusts.
        expected: Hash,
        /// The root the proof leads to.
        computed: Hash,
    },
    /// Equal sizes with different roots: two different trees.
    #[error(
        "same size, different roots: {} and {}",
        crate::hex::encode(first),
        crate::hex::encode(second)
    )]
    DifferentRootsSameSize {
        /// First root.
        first: Hash,
        /// Second root.
        second: Hash,
    },
}

/// Error of building a proof from storage.
#[derive(Debug, thiserror::Error)]
pub enum BuildError<E> {
    /// Index or sizes were out of range.
    #[error(transparent)]
    Proof(#[from] ProofError),
    /// Storage failed.
    #[error("storage: {0}")]
    Storage(E),
    /// Storage returned a different number of hashes than asked for.
    #[error("storage returned {got} hashes for {want} ids")]
    ShortRead {
        /// Returned.
        got: usize,
        /// Asked for.
        want: usize,
    },
}

/// The largest power of two smaller than `n` (`n >= 2`).
#[inline]
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// Decomposes leaves `[begin, end)` into perfect subtrees, left to right.
/// For the ranges that RFC 6962 trees use (a node's range), folding their
/// hashes right to left gives the node's hash.
pub fn range_nodes(mut begin: u64, end: u64, out: &mut Vec<NodeId>) {
    while begin < end {
        // Largest power of two that `begin` is aligned to and that fits.
        let align = if begin == 0 {
            63
        } else {
            begin.trailing_zeros()
        };
        let fit = 63 - (end - begin).leading_zeros();
        let level = align.min(fit);
        out.push(NodeId::new(level as u8, begin >> level));
        begin += 1u64 << level;
    }
}

/// Which stored hashes a proof needs and how to fold them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofPlan {
    ids: Vec<NodeId>,
    /// For each proof hash, the range of `ids` folded into it.
    groups: Vec<(u32, u32)>,
}

impl ProofPlan {
    fn push_range(&mut self, begin: u64, end: u64) {
        let start = self.ids.len() as u32;
        range_nodes(begin, end, &mut self.ids);
        self.groups.push((start, self.ids.len() as u32));
    }

    /// The stored hashes to read, in order.
    pub fn ids(&self) -> &[NodeId] {
        &self.ids
    }

    /// Number of hashes in the finished proof.
    pub fn proof_len(&self) -> usize {
        self.groups.len()
    }

    /// Folds the hashes read for [`Self::ids`] into the proof.
    pub fn assemble(&self, hashes: &[Hash]) -> Result<Vec<Hash>, ProofError> {
        if hashes.len() != self.ids.len() {
            return Err(ProofError::WrongProofSize {
                got: hashes.len(),
                want: self.ids.len(),
            });
        }
        Ok(self
            .groups
            .iter()
            .map(|&(s, e)| fold_right(&hashes[s as usize..e as usize]))
            .collect())
    }

    /// Reads the hashes from `reader` and assembles the proof.
    pub fn build<R: HashReader + ?Sized>(
        &self,
        reader: &R,
    ) -> Result<Vec<Hash>, BuildError<R::Error>> {
        if self.ids.is_empty() {
            return Ok(Vec::new());
        }
        let hashes = reader.read_hashes(&self.ids).map_err(BuildError::Storage)?;
        if hashes.len() != self.ids.len() {
            return Err(BuildError::ShortRead {
                got: hashes.len(),
                want: self.ids.len(),
            });
        }
        Ok(self.assemble(&hashes)?)
    }
}

/// Folds perfect-subtree hashes (left to right, decreasing sizes) into the
/// hash of the node they make up.
fn fold_right(hashes: &[Hash]) -> Hash {
    let mut it = hashes.iter().rev();
    let mut acc = match it.next() {
        Some(h) => *h,
        None => return EMPTY_ROOT,
    };
    for h in it {
        acc = node_hash(h, &acc);
    }
    acc
}

/// Plan of the inclusion proof (audit path) of leaf `index` in a tree of `size`.
pub fn inclusion_plan(index: u64, size: u64) -> Result<ProofPlan, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut plan = ProofPlan {
        ids: Vec::new(),
        groups: Vec::new(),
    };
    // RFC 6962 PATH(m, D[begin:begin+n]), iteratively: walk down from the
    // root recording siblings, then emit them leaf-first.
    let mut siblings = Vec::with_capacity(64);
    let (mut m, mut begin, mut n) = (index, 0u64, size);
    while n > 1 {
        let k = split_point(n);
        if m < k {
            siblings.push((begin + k, begin + n));
            n = k;
        } else {
            siblings.push((begin, begin + k));
            m -= k;
            begin += k;
            n -= k;
        }
    }
    for &(b, e) in siblings.iter().rev() {
        plan.push_range(b, e);
    }
    Ok(plan)
}

/// Plan of the consistency proof from size `from` to size `to`
/// (RFC 6962 PROOF(m, D\[n\])). `from == to` gives an empty proof;
/// `from == 0` and `from > to` are errors.
pub fn consistency_plan(from: u64, to: u64) -> Result<ProofPlan, ProofError> {
    if from == 0 || from > to {
        return Err(ProofError::InvalidSizes { from, to });
    }
    let mut plan = ProofPlan {
        ids: Vec::new(),
        groups: Vec::new(),
    };
    if from == to {
        return Ok(plan);
    }
    // SUBPROOF(m, D[begin:begin+n], b), iteratively.
    let mut tail = Vec::with_capacity(64);
    let (mut m, mut begin, mut n, mut whole) = (from, 0u64, to, true);
    while m != n {
        let k = split_point(n);
        if m <= k {
            tail.push((begin + k, begin + n));
            n = k;
        } else {
            tail.push((begin, begin + k));
            m -= k;
            begin += k;
            n -= k;
            whole = false;
        }
    }
    if !whole {
        plan.push_range(begin, begin + n);
    }
    for &(b, e) in tail.iter().rev() {
        plan.push_range(b, e);
    }
    Ok(plan)
}

/// Plan of the tree hash of the first `size` leaves.
pub fn root_plan(size: u64) -> ProofPlan {
    let mut plan = ProofPlan {
        ids: Vec::new(),
        groups: Vec::new(),
    };
    if size > 0 {
        plan.push_range(0, size);
    }
    plan
}

/// The tree hash of the first `size` leaves, from stored hashes.
pub fn tree_hash<R: HashReader + ?Sized>(
    reader: &R,
    size: u64,
) -> Result<Hash, BuildError<R::Error>> {
    Ok(root_plan(size).build(reader)?.pop().unwrap_or(EMPTY_ROOT))
}

/// Inclusion proof of leaf `index` in the tree of `size`, from stored hashes.
pub fn inclusion_proof<R: HashReader + ?Sized>(
    reader: &R,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, BuildError<R::Error>> {
    inclusion_plan(index, size)?.build(reader)
}

/// Inclusion proofs of several leaves in the tree of `size`, reading each
/// stored hash they need once, in one call to `reader` (neighbouring
/// leaves share most of their paths). Proofs come in the order of `indices`.
pub fn inclusion_proofs<R: HashReader + ?Sized>(
    reader: &R,
    indices: &[u64],
    size: u64,
) -> Result<Vec<Vec<Hash>>, BuildError<R::Error>> {
    let plans = indices
        .iter()
        .map(|&i| inclusion_plan(i, size))
        .collect::<Result<Vec<_>, _>>()?;
    let mut ids: Vec<NodeId> = plans.iter().flat_map(|p| p.ids.iter().copied()).collect();
    ids.sort_unstable();
    ids.dedup();
    let hashes = if ids.is_empty() {
        Vec::new()
    } else {
        reader.read_hashes(&ids).map_err(BuildError::Storage)?
    };
    if hashes.len() != ids.len() {
        return Err(BuildError::ShortRead {
            got: hashes.len(),
            want: ids.len(),
        });
    }
    plans
        .iter()
        .map(|p| {
            let hs: Vec<Hash> = p
                .ids
                .iter()
                .map(|id| ids.binary_search(id).map(|k| hashes[k]))
                .collect::<Result<_, _>>()
                .map_err(|_| BuildError::ShortRead {
                    got: 0,
                    want: p.ids.len(),
                })?;
            Ok(p.assemble(&hs)?)
        })
        .collect()
}

/// Consistency proof from `from` to `to`, from stored hashes.
pub fn consistency_proof<R: HashReader + ?Sized>(
    reader: &R,
    from: u64,
    to: u64,
) -> Result<Vec<Hash>, BuildError<R::Error>> {
    consistency_plan(from, to)?.build(reader)
}

/// Number of hashes in an inclusion proof: (inner, border).
fn inclusion_shape(index: u64, size: u64) -> (u32, u32) {
    let inner = 64 - (index ^ (size - 1)).leading_zeros();
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner, border)
}

/// Length of the inclusion proof of `index` in a tree of `size`.
pub fn inclusion_proof_len(index: u64, size: u64) -> Result<usize, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let (inner, border) = inclusion_shape(index, size);
    Ok((inner + border) as usize)
}

/// Computes the root that an inclusion proof leads to (RFC 9162 2.1.3.2).
pub fn root_from_inclusion_proof(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
) -> Result<Hash, ProofError> {
    let want = inclusion_proof_len(index, size)?;
    if proof.len() != want {
        return Err(ProofError::WrongProofSize {
            got: proof.len(),
            want,
        });
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        // Length was checked, so `s` cannot reach 0 with hashes left.
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    debug_assert_eq!(s, 0);
    Ok(r)
}

/// Verifies an inclusion proof of `leaf` at `index` against `root` of `size`.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    let computed = root_from_inclusion_proof(index, size, leaf, proof)?;
    if &computed != root {
        return Err(ProofError::RootMismatch {
            expected: *root,
            computed,
        });
    }
    Ok(())
}

/// Verifies a consistency proof between `(from, from_root)` and
/// `(to, to_root)` (RFC 9162 2.1.4.2).
pub fn verify_consistency(
    from: u64,
    to: u64,
    from_root: &Hash,
    to_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if from == 0 || from > to {
        return Err(ProofError::InvalidSizes { from, to });
    }
    if from == to {
        if !proof.is_empty() {
            return Err(ProofError::WrongProofSize {
                got: proof.len(),
                want: 0,
            });
        }
        if from_root != to_root {
            return Err(ProofError::DifferentRootsSameSize {
                first: *from_root,
                second: *to_root,
            });
        }
        return Ok(());
    }
    // Expected length: the inclusion path of leaf from-1 in the new tree,
    // minus the levels below the old tree's largest perfect subtree, plus the
    // seed hash unless the old tree is itself perfect.
    let (inner, border) = inclusion_shape(from - 1, to);
    let shift = from.trailing_zeros();
    let inner = inner - shift;
    let perfect = from == 1u64 << shift;
    let want = (inner + border) as usize + usize::from(!perfect);
    if proof.len() != want {
        return Err(ProofError::WrongProofSize {
            got: proof.len(),
            want,
        });
    }
    let (seed, rest) = if perfect {
        (from_root, proof)
    } else {
        (&proof[0], &proof[1..])
    };
    let mut f = (from - 1) >> shift;
    let mut s = (to - 1) >> shift;
    let mut fr = *seed;
    let mut sr = *seed;
    for c in rest {
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if &fr != from_root {
        return Err(ProofError::RootMismatch {
            expected: *from_root,
            computed: fr,
        });
    }
    if &sr != to_root {
        return Err(ProofError::RootMismatch {
            expected: *to_root,
            computed: sr,
        });
    }
    Ok(())
}

/// The right edge of a growing tree: the hashes of its perfect subtrees,
/// largest first. Appending a leaf reports every stored hash it completes,
/// so a sequencer can persist exactly the new [`NodeId`]s.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Frontier {
    size: u64,
    peaks: Vec<Hash>,
}

impl Frontier {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// The ids of the peaks of a tree of `size` (what [`Self::from_peaks`] needs).
    pub fn peak_ids(size: u64) -> Vec<NodeId> {
        let mut v = Vec::new();
        range_nodes(0, size, &mut v);
        v
    }

    /// Rebuilds the frontier of a tree of `size` from the hashes of
    /// [`Self::peak_ids`]`(size)`.
    pub fn from_peaks(size: u64, peaks: Vec<Hash>) -> Result<Self, ProofError> {
        let want = size.count_ones() as usize;
        if peaks.len() != want {
            return Err(ProofError::WrongProofSize {
                got: peaks.len(),
                want,
            });
        }
        Ok(Frontier { size, peaks })
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Hashes of the perfect subtrees, largest first.
    pub fn peaks(&self) -> &[Hash] {
        &self.peaks
    }

    /// Appends a leaf hash; `stored` receives the leaf's node and every
    /// interior node the leaf completes, lowest first.
    pub fn append(&mut self, leaf: Hash, mut stored: impl FnMut(NodeId, &Hash)) {
        let index = self.size;
        stored(NodeId::new(0, index), &leaf);
        let mut h = leaf;
        let mut level = 0u8;
        let mut i = index;
        while i & 1 == 1 {
            let left = self.peaks.pop().unwrap_or(EMPTY_ROOT);
            h = node_hash(&left, &h);
            level += 1;
            i >>= 1;
            stored(NodeId::new(level, i), &h);
        }
        self.peaks.push(h);
        self.size += 1;
    }

    /// The tree hash.
    pub fn root(&self) -> Hash {
        fold_right(&self.peaks)
    }
}

/// All stored hashes of a tree in memory, level by level: a [`HashReader`]
/// for tests, clients and tools. Not for the server's log.
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
    frontier: Frontier,
}

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }
    /// Appends a leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        let levels = &mut self.levels;
        self.frontier.append(leaf, |id, h| {
            let l = id.level as usize;
            if levels.len() <= l {
                levels.push(Vec::new());
            }
            debug_assert_eq!(levels[l].len() as u64, id.index);
            levels[l].push(*h);
        });
    }
    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }
    /// Root of the whole tree.
    pub fn root(&self) -> Hash {
        self.frontier.root()
    }
    /// Stored hash of a node, if it exists.
    pub fn get(&self, id: NodeId) -> Option<Hash> {
        self.levels
            .get(id.level as usize)?
            .get(usize::try_from(id.index).ok()?)
            .copied()
    }
}

/// A node the tree does not (yet) have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no stored hash at level {} index {}", .0.level, .0.index)]
pub struct MissingNode(pub NodeId);

impl HashReader for MemoryTree {
    type Error = MissingNode;
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, MissingNode> {
        ids.iter()
            .map(|&id| self.get(id).ok_or(MissingNode(id)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(EMPTY_ROOT, <[u8; 32]>::from(Sha256::digest(b"")));
    }

    #[test]
    fn range_nodes_decomposes() {
        let mut v = Vec::new();
        range_nodes(0, 7, &mut v);
        assert_eq!(
            v,
            vec![NodeId::new(2, 0), NodeId::new(1, 2), NodeId::new(0, 6)]
        );
        v.clear();
        range_nodes(4, 7, &mut v);
        assert_eq!(v, vec![NodeId::new(1, 2), NodeId::new(0, 6)]);
    }

    #[test]
    fn frontier_reports_stored_nodes() {
        let mut f = Frontier::new();
        let mut seen = Vec::new();
        for i in 0..4u8 {
            f.append([i; 32], |id, _| seen.push(id));
        }
        assert_eq!(
            seen,
            vec![
                NodeId::new(0, 0),
                NodeId::new(0, 1),
                NodeId::new(1, 0),
                NodeId::new(0, 2),
                NodeId::new(0, 3),
                NodeId::new(1, 1),
                NodeId::new(2, 0)
            ]
        );
        assert_eq!(f.peaks().len(), 1);
    }
}
