//! Property tests of proof building and checking: every proof for every size
//! up to 1,024 verifies and equals the RFC reference; every single-bit flip,
//! truncation or extension of a proof, and every wrong root, index or size is
//! rejected; roots agree with rs_merkle used as an independent oracle.

mod common;

use common::rfc6962 as rfc;
use dfft_core::merkle::{self, Hash, MemoryTree, ProofError};
use proptest::prelude::*;

fn tree(n: u64) -> (MemoryTree, Vec<Hash>) {
    let mut t = MemoryTree::new();
    let mut leaves = Vec::with_capacity(n as usize);
    for i in 0..n {
        let h = rfc::leaf(&i.to_le_bytes());
        leaves.push(h);
        t.push(h);
    }
    (t, leaves)
}

const EXHAUSTIVE: u64 = 1024;

#[test]
fn every_inclusion_proof_up_to_1024_verifies() {
    let (t, leaves) = tree(EXHAUSTIVE);
    let mut checked = 0u64;
    for size in 1..=EXHAUSTIVE {
        let root = merkle::tree_hash(&t, size).unwrap();
        for index in 0..size {
            let p = merkle::inclusion_proof(&t, index, size).unwrap();
            merkle::verify_inclusion(index, size, &leaves[index as usize], &p, &root).unwrap();
            checked += 1;
        }
    }
    assert_eq!(checked, EXHAUSTIVE * (EXHAUSTIVE + 1) / 2);
}

#[test]
fn batched_inclusion_proofs_equal_single_ones() {
    let (t, _) = tree(300);
    for size in [1u64, 2, 7, 64, 255, 256, 257, 300] {
        // Every leaf, a run, repeats and out-of-order indices.
        let all: Vec<u64> = (0..size).collect();
        let mixed: Vec<u64> = [size - 1, 0, size / 2, size - 1, size / 3]
            .into_iter()
            .collect();
        for indices in [all, mixed, vec![]] {
            let batch = merkle::inclusion_proofs(&t, &indices, size).unwrap();
            assert_eq!(batch.len(), indices.len());
            for (i, p) in indices.iter().zip(&batch) {
                assert_eq!(p, &merkle::inclusion_proof(&t, *i, size).unwrap());
            }
        }
    }
    assert!(merkle::inclusion_proofs(&t, &[3, 9], 9).is_err());
}

#[test]
fn every_consistency_proof_up_to_1024_verifies() {
    let (t, _) = tree(EXHAUSTIVE);
    let roots: Vec<Hash> = (0..=EXHAUSTIVE)
        .map(|s| merkle::tree_hash(&t, s).unwrap())
        .collect();
    for to in 1..=EXHAUSTIVE {
        for from in 1..=to {
            let p = merkle::consistency_proof(&t, from, to).unwrap();
            merkle::verify_consistency(from, to, &roots[from as usize], &roots[to as usize], &p)
                .unwrap();
        }
    }
}

#[test]
fn proofs_equal_the_rfc_reference_up_to_200() {
    let (t, leaves) = tree(200);
    for size in 0..=200u64 {
        let d = &leaves[..size as usize];
        assert_eq!(
            merkle::tree_hash(&t, size).unwrap(),
            rfc::mth(d),
            "root {size}"
        );
        for m in 0..size {
            assert_eq!(
                merkle::inclusion_proof(&t, m, size).unwrap(),
                rfc::path(m as usize, d),
                "path {m} {size}"
            );
            if m > 0 {
                assert_eq!(
                    merkle::consistency_proof(&t, m, size).unwrap(),
                    rfc::proof(m as usize, d),
                    "proof {m} {size}"
                );
            }
        }
    }
}

/// Every one-bit change of any proof hash, every truncation and extension,
/// and every wrong leaf, index, size or root must fail.
fn assert_inclusion_corruptions_fail(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) {
    for i in 0..proof.len() {
        for bit in 0..256 {
            let mut p = proof.to_vec();
            p[i][bit / 8] ^= 1 << (bit % 8);
            assert!(merkle::verify_inclusion(index, size, leaf, &p, root).is_err());
        }
    }
    for cut in 0..proof.len() {
        assert!(matches!(
            merkle::verify_inclusion(index, size, leaf, &proof[..cut], root),
            Err(ProofError::WrongProofSize { .. })
        ));
    }
    let mut longer = proof.to_vec();
    longer.push(*root);
    assert!(merkle::verify_inclusion(index, size, leaf, &longer, root).is_err());
    for bit in 0..256 {
        let mut r = *root;
        r[bit / 8] ^= 1 << (bit % 8);
        match merkle::verify_inclusion(index, size, leaf, proof, &r) {
            Err(ProofError::RootMismatch { expected, computed }) => {
                assert_eq!(expected, r);
                assert_eq!(&computed, root);
            }
            other => panic!("wrong root accepted or odd error: {other:?}"),
        }
        let mut l = *leaf;
        l[bit / 8] ^= 1 << (bit % 8);
        assert!(merkle::verify_inclusion(index, size, &l, proof, root).is_err());
    }
    for bit in 0..64 {
        // An inclusion proof binds the size only through the shape of the
        // path: sizes whose path has the same sides (e.g. leaf 0 in trees of
        // 6 and 7) give the same root. The signed checkpoint binds the size;
        // here every other size must be refused.
        let s = size ^ (1 << bit);
        if path_sides(index, s) != path_sides(index, size) {
            assert!(
                merkle::verify_inclusion(index, s, leaf, proof, root).is_err(),
                "size {s}"
            );
        }
        let i = index ^ (1 << bit);
        assert!(
            merkle::verify_inclusion(i, size, leaf, proof, root).is_err(),
            "index {i}"
        );
    }
}

/// The shape of a consistency proof in RFC 9162 2.1.4.2: whether the old
/// tree is perfect (seed from the old root) and, per hash, whether it is
/// hashed into both roots.
fn consistency_sides(from: u64, to: u64) -> Option<(bool, Vec<bool>)> {
    if from == 0 || from >= to {
        return None;
    }
    let shift = from.trailing_zeros();
    let perfect = from == 1 << shift;
    let (mut f, mut s) = ((from - 1) >> shift, (to - 1) >> shift);
    let mut sides = Vec::new();
    while s != 0 {
        if f & 1 == 1 || f == s {
            sides.push(true);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sides.push(false);
        }
        f >>= 1;
        s >>= 1;
    }
    Some((perfect, sides))
}

/// For each proof hash, whether it is a left sibling (RFC 9162 2.1.3.2);
/// `None` for an index outside the tree.
fn path_sides(index: u64, size: u64) -> Option<Vec<bool>> {
    let len = merkle::inclusion_proof_len(index, size).ok()?;
    let (mut f, mut s) = (index, size - 1);
    let mut sides = Vec::with_capacity(len);
    for _ in 0..len {
        if f & 1 == 1 || f == s {
            sides.push(true);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sides.push(false);
        }
        f >>= 1;
        s >>= 1;
    }
    Some(sides)
}

fn assert_consistency_corruptions_fail(from: u64, to: u64, r1: &Hash, r2: &Hash, proof: &[Hash]) {
    for i in 0..proof.len() {
        for bit in (0..256).step_by(7) {
            let mut p = proof.to_vec();
            p[i][bit / 8] ^= 1 << (bit % 8);
            assert!(merkle::verify_consistency(from, to, r1, r2, &p).is_err());
        }
    }
    for cut in 0..proof.len() {
        assert!(merkle::verify_consistency(from, to, r1, r2, &proof[..cut]).is_err());
    }
    let mut longer = proof.to_vec();
    longer.push(*r1);
    assert!(merkle::verify_consistency(from, to, r1, r2, &longer).is_err());
    for bit in (0..256).step_by(5) {
        let mut a = *r1;
        a[bit / 8] ^= 1 << (bit % 8);
        assert!(merkle::verify_consistency(from, to, &a, r2, proof).is_err());
        let mut b = *r2;
        b[bit / 8] ^= 1 << (bit % 8);
        assert!(merkle::verify_consistency(from, to, r1, &b, proof).is_err());
    }
    // As with inclusion, sizes are bound by the path's shape only; the
    // signed checkpoints bind them. Every size of another shape is refused.
    let shape = consistency_sides(from, to);
    for bit in 0..64 {
        let f = from ^ (1 << bit);
        if consistency_sides(f, to) != shape {
            assert!(
                merkle::verify_consistency(f, to, r1, r2, proof).is_err(),
                "from {f}"
            );
        }
        let t = to ^ (1 << bit);
        if consistency_sides(from, t) != shape {
            assert!(
                merkle::verify_consistency(from, t, r1, r2, proof).is_err(),
                "to {t}"
            );
        }
    }
}

#[test]
fn corruptions_rejected_exhaustively_up_to_64() {
    let (t, leaves) = tree(64);
    for size in 1..=64u64 {
        let root = merkle::tree_hash(&t, size).unwrap();
        for index in 0..size {
            let p = merkle::inclusion_proof(&t, index, size).unwrap();
            assert_inclusion_corruptions_fail(index, size, &leaves[index as usize], &p, &root);
        }
        for from in 1..size {
            let r1 = merkle::tree_hash(&t, from).unwrap();
            let p = merkle::consistency_proof(&t, from, size).unwrap();
            assert_consistency_corruptions_fail(from, size, &r1, &root, &p);
        }
    }
}

#[test]
fn edge_cases() {
    let (t, _) = tree(8);
    let r = merkle::tree_hash(&t, 8).unwrap();
    let r4 = merkle::tree_hash(&t, 4).unwrap();
    assert!(merkle::verify_consistency(8, 8, &r, &r, &[]).is_ok());
    assert!(matches!(
        merkle::verify_consistency(8, 8, &r, &r4, &[]),
        Err(ProofError::DifferentRootsSameSize { .. })
    ));
    assert!(merkle::verify_consistency(8, 8, &r, &r, &[r]).is_err());
    assert!(matches!(
        merkle::verify_consistency(0, 8, &r, &r, &[]),
        Err(ProofError::InvalidSizes { .. })
    ));
    assert!(matches!(
        merkle::verify_consistency(9, 8, &r, &r, &[]),
        Err(ProofError::InvalidSizes { .. })
    ));
    assert!(matches!(
        merkle::inclusion_proof(&t, 8, 8),
        Err(merkle::BuildError::Proof(
            ProofError::IndexOutOfRange { .. }
        ))
    ));
    assert!(matches!(
        merkle::consistency_proof(&t, 0, 8),
        Err(merkle::BuildError::Proof(ProofError::InvalidSizes { .. }))
    ));
    assert_eq!(merkle::tree_hash(&t, 0).unwrap(), merkle::EMPTY_ROOT);
    // Reading a node the tree does not have is a storage error, not a panic.
    assert!(matches!(
        merkle::inclusion_proof(&t, 3, 9),
        Err(merkle::BuildError::Storage(_))
    ));
}

/// rs_merkle with the RFC 6962 node hash: an independent implementation of
/// the same tree shape, used here as an oracle only.
#[derive(Clone)]
struct Rfc6962Hasher;

impl rs_merkle::Hasher for Rfc6962Hasher {
    type Hash = [u8; 32];
    fn hash(data: &[u8]) -> [u8; 32] {
        use sha2::Digest;
        sha2::Sha256::digest(data).into()
    }
    fn concat_and_hash(left: &[u8; 32], right: Option<&[u8; 32]>) -> [u8; 32] {
        match right {
            Some(r) => rfc::node(left, r),
            None => *left,
        }
    }
}

#[test]
fn roots_agree_with_rs_merkle() {
    let (t, leaves) = tree(600);
    for size in 1..=600usize {
        let oracle = rs_merkle::MerkleTree::<Rfc6962Hasher>::from_leaves(&leaves[..size]);
        assert_eq!(
            oracle.root(),
            Some(merkle::tree_hash(&t, size as u64).unwrap()),
            "size {size}"
        );
    }
    // rs_merkle's single-leaf proof holds the same hashes as ours.
    let oracle = rs_merkle::MerkleTree::<Rfc6962Hasher>::from_leaves(&leaves[..600]);
    for index in [0usize, 1, 255, 256, 511, 599] {
        let theirs = oracle.proof(&[index]).proof_hashes().to_vec();
        let ours = merkle::inclusion_proof(&t, index as u64, 600).unwrap();
        assert_eq!(ours, theirs, "index {index}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Larger random trees: sizes up to 100,000, random indices and sizes.
    #[test]
    fn random_large_trees(size in 1025u64..100_000, a in any::<u64>(), b in any::<u64>()) {
        let (t, leaves) = tree(size);
        let root = t.root();
        prop_assert_eq!(merkle::tree_hash(&t, size).unwrap(), root);
        let index = a % size;
        let p = merkle::inclusion_proof(&t, index, size).unwrap();
        merkle::verify_inclusion(index, size, &leaves[index as usize], &p, &root).unwrap();
        assert_inclusion_corruptions_fail(index, size, &leaves[index as usize], &p, &root);
        let from = 1 + b % size;
        let r1 = merkle::tree_hash(&t, from).unwrap();
        let c = merkle::consistency_proof(&t, from, size).unwrap();
        merkle::verify_consistency(from, size, &r1, &root, &c).unwrap();
        if from < size {
            assert_consistency_corruptions_fail(from, size, &r1, &root, &c);
        }
    }
}
