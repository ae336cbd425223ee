//! Property tests of the map's tree against the reference implementation
//! (`map::reference`, recursive over the whole sorted key set): roots after
//! any split into batches, presence and absence proofs byte for byte, and
//! refusal of a proof under another key, value or root.

use std::collections::BTreeMap;

use dfft_core::map::proof::MapProof;
use dfft_core::map::reference;
use dfft_core::map::tree::{self, MemNodes};
use dfft_core::merkle::Hash;
use proptest::prelude::*;

/// Keys that often share long prefixes: a few random bytes at a random
/// position over a common base, so that leaves sit deep.
fn key() -> impl Strategy<Value = Hash> {
    (any::<[u8; 32]>(), 0usize..32, any::<u8>(), any::<bool>()).prop_map(|(r, at, b, shared)| {
        if shared {
            let mut k = [0x5au8; 32];
            k[at] = b;
            k
        } else {
            r
        }
    })
}

fn batches() -> impl Strategy<Value = Vec<Vec<(Hash, Hash)>>> {
    prop::collection::vec(
        prop::collection::vec((key(), any::<[u8; 32]>()), 0..12),
        1..6,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn batched_updates_match_the_reference(batches in batches(), probes in prop::collection::vec(key(), 1..6)) {
        let mut nodes = MemNodes::new();
        let mut all: BTreeMap<Hash, Hash> = BTreeMap::new();
        for b in &batches {
            let ups: BTreeMap<Hash, Hash> = b.iter().copied().collect();
            all.extend(ups.iter().map(|(k, v)| (*k, *v)));
            let root = nodes.apply(&ups).unwrap();
            prop_assert_eq!(root, reference::root(&all));
        }
        let root = nodes.root();
        let keys: Vec<Hash> = all.keys().copied().chain(probes).collect();
        for k in keys {
            let (value, proof) = tree::prove(&nodes, &k).unwrap();
            prop_assert_eq!(value, all.get(&k).copied());
            prop_assert_eq!(&proof, &reference::prove(&all, &k));
            let bytes = proof.to_bytes();
            let parsed = MapProof::parse(&bytes).unwrap();
            prop_assert_eq!(&parsed, &proof);
            prop_assert!(parsed.verify(&root, &k, value.as_ref()).is_ok());
            // Another value, presence claimed for an absent key, absence for a present one.
            let other = [0xeeu8; 32];
            prop_assert!(parsed.verify(&root, &k, Some(&other)).is_err() || value == Some(other));
            if value.is_some() {
                prop_assert!(parsed.verify(&root, &k, None).is_err());
            }
            // A presence proof under another key (a leaf commits to its key).
            if value.is_some() {
                let mut k2 = k;
                k2[31] ^= 1;
                prop_assert!(parsed.verify(&root, &k2, value.as_ref()).is_err());
            }
            prop_assert_eq!(tree::get(&nodes, &k).unwrap(), value);
        }
    }

    #[test]
    fn the_parser_never_panics_and_round_trips(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(p) = MapProof::parse(&bytes) {
            prop_assert_eq!(p.to_bytes(), bytes);
        }
    }
}

#[test]
fn each_dirty_node_is_written_once_per_batch() {
    let mut nodes = MemNodes::new();
    let first: BTreeMap<Hash, Hash> = (0u8..64).map(|i| ([i; 32], [1; 32])).collect();
    nodes.apply(&first).unwrap();
    let second: BTreeMap<Hash, Hash> = (0u8..64).step_by(3).map(|i| ([i; 32], [2; 32])).collect();
    let u = tree::update(&nodes, &second).unwrap();
    let mut ids: Vec<_> = u.nodes.iter().map(|(id, _)| *id).collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "a node written twice");
    let mut all = first.clone();
    all.extend(second);
    assert_eq!(u.root, reference::root(&all));
}
