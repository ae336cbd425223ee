//! Known-answer tests: RFC 6962's worked example and the transparency-dev/merkle
//! probe files (vendored under tests/vectors with their licence).

mod common;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use common::rfc6962 as rfc;
use dfft_core::merkle::{self, Hash, MemoryTree};
use serde::Deserialize;
use std::path::{Path, PathBuf};

fn b64(s: &str) -> Vec<u8> {
    B64.decode(s).expect("vector base64")
}

/// A vector hash; hashes of the wrong length are kept as they are wrong
/// (the verifier must reject them), so carry raw bytes.
fn hash_or_none(v: &[u8]) -> Option<Hash> {
    v.try_into().ok()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InclusionCase {
    leaf_idx: u64,
    tree_size: u64,
    root: Option<String>,
    leaf_hash: Option<String>,
    proof: Option<Vec<String>>,
    desc: String,
    want_err: bool,
}

#[derive(Deserialize)]
struct ConsistencyCase {
    size1: u64,
    size2: u64,
    root1: Option<String>,
    root2: Option<String>,
    proof: Option<Vec<String>>,
    desc: String,
    #[serde(rename = "wantErr")]
    want_err: bool,
}

fn files(dir: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors/transparency-dev-merkle/testdata")
        .join(dir);
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("vector dir") {
            let p = e.expect("dir entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn decode_list(v: &Option<Vec<String>>) -> Vec<Vec<u8>> {
    v.as_ref()
        .map(|v| v.iter().map(|s| b64(s)).collect())
        .unwrap_or_default()
}

fn verify_inclusion_raw(c: &InclusionCase) -> Result<(), String> {
    let proof_raw = decode_list(&c.proof);
    let proof: Option<Vec<Hash>> = proof_raw.iter().map(|h| hash_or_none(h)).collect();
    let proof = proof.ok_or("proof hash of wrong length")?;
    let root = hash_or_none(&b64(c.root.as_deref().unwrap_or(""))).ok_or("root of wrong length")?;
    let leaf =
        hash_or_none(&b64(c.leaf_hash.as_deref().unwrap_or(""))).ok_or("leaf of wrong length")?;
    merkle::verify_inclusion(c.leaf_idx, c.tree_size, &leaf, &proof, &root)
        .map_err(|e| e.to_string())
}

fn verify_consistency_raw(c: &ConsistencyCase) -> Result<(), String> {
    let proof_raw = decode_list(&c.proof);
    let proof: Option<Vec<Hash>> = proof_raw.iter().map(|h| hash_or_none(h)).collect();
    let proof = proof.ok_or("proof hash of wrong length")?;
    let r1 = hash_or_none(&b64(c.root1.as_deref().unwrap_or(""))).ok_or("root1 of wrong length")?;
    let r2 = hash_or_none(&b64(c.root2.as_deref().unwrap_or(""))).ok_or("root2 of wrong length")?;
    merkle::verify_consistency(c.size1, c.size2, &r1, &r2, &proof).map_err(|e| e.to_string())
}

#[test]
fn transparency_dev_inclusion_probes() {
    let fs = files("inclusion");
    assert!(fs.len() > 50, "found {} inclusion vectors", fs.len());
    let (mut happy, mut bad) = (0, 0);
    for f in fs {
        let c: InclusionCase = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
        let got = verify_inclusion_raw(&c);
        assert_eq!(
            got.is_err(),
            c.want_err,
            "{}: {} -> {:?}",
            f.display(),
            c.desc,
            got
        );
        if c.want_err {
            bad += 1
        } else {
            happy += 1
        }
    }
    assert!(happy >= 5 && bad >= 40, "happy {happy} bad {bad}");
}

#[test]
fn transparency_dev_consistency_probes() {
    let fs = files("consistency");
    assert!(fs.len() > 50, "found {} consistency vectors", fs.len());
    for f in fs {
        let c: ConsistencyCase = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
        let got = verify_consistency_raw(&c);
        // The one probe where we decide otherwise: transparency-dev accepts
        // equal sizes with equal 12-byte "roots"; formats.md (and our types)
        // require every hash to be 32 bytes, so we refuse it before comparing.
        let want_err = c.want_err || f.ends_with("sizes-are-equal-one-and-proof-is-empty.json");
        if !c.want_err && want_err {
            assert_eq!(got, Err("root1 of wrong length".to_string()));
            continue;
        }
        assert_eq!(
            got.is_err(),
            want_err,
            "{}: {} -> {:?}",
            f.display(),
            c.desc,
            got
        );
    }
}

/// The happy-path probes were made from the leaves "" and 0x00.. in
/// transparency-dev's test tree; our builder must reproduce their proofs
/// from the roots' trees when we rebuild the same leaves.
#[test]
fn rfc6962_worked_example() {
    // RFC 6962 section 2.1.3: seven leaves d0..d6.
    let leaves: Vec<Hash> = (0..7u8).map(|i| rfc::leaf(&[i])).collect();
    let [a, b, c, d, e, f, j] = leaves[..] else {
        unreachable!()
    };
    let g = rfc::node(&a, &b);
    let h = rfc::node(&c, &d);
    let i = rfc::node(&e, &f);
    let k = rfc::node(&g, &h);
    let l = rfc::node(&i, &j);
    let root = rfc::node(&k, &l);
    let mut t = MemoryTree::new();
    for x in &leaves {
        t.push(*x);
    }
    assert_eq!(t.root(), root);
    assert_eq!(merkle::tree_hash(&t, 7).unwrap(), root);
    assert_eq!(merkle::inclusion_proof(&t, 0, 7).unwrap(), vec![b, h, l]);
    assert_eq!(merkle::inclusion_proof(&t, 3, 7).unwrap(), vec![c, g, l]);
    assert_eq!(merkle::inclusion_proof(&t, 4, 7).unwrap(), vec![f, j, k]);
    assert_eq!(merkle::inclusion_proof(&t, 6, 7).unwrap(), vec![i, k]);
    assert_eq!(
        merkle::consistency_proof(&t, 3, 7).unwrap(),
        vec![c, d, g, l]
    );
    assert_eq!(merkle::consistency_proof(&t, 4, 7).unwrap(), vec![l]);
    assert_eq!(merkle::consistency_proof(&t, 6, 7).unwrap(), vec![i, j, k]);
    let root3 = rfc::node(&g, &c);
    merkle::verify_consistency(3, 7, &root3, &root, &[c, d, g, l]).unwrap();
    merkle::verify_consistency(4, 7, &k, &root, &[l]).unwrap();
    merkle::verify_consistency(6, 7, &rfc::node(&k, &i), &root, &[i, j, k]).unwrap();
}
