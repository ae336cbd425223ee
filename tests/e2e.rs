//! End to end: the real binary on a loopback port with a temp data dir.
//! Enrols an authority, submits statements concurrently, and checks every
//! receipt's proofs against its checkpoint, the tiles against the
//! checkpoint, and consistency across checkpoints; then restarts the server
//! and checks that nothing changed.

mod common;

use common::*;
use dfft_core::merkle::{self, MemoryTree};
use dfft_core::tile::{self, Tile};
use std::sync::Arc;

#[test]
fn end_to_end_concurrent_submissions_tiles_and_consistency() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::start(dir.path(), &[]);
    let gov = reg.governance();
    let cp0 = reg.checkpoint();
    assert_eq!(
        cp0.checkpoint.size, 2,
        "genesis is entry 0, its batch's index entry 1"
    );

    // Enrol two authorities.
    let a = key("eu.ec", 11);
    let b = key("de.bfdi", 12);
    for (id, k, comp) in [
        ("eu.ec", &a, vec!["EU", "EEA"]),
        ("de.bfdi", &b, vec!["DE"]),
    ] {
        let env = enroll(&gov, id, &[k], &comp);
        let (s, r) = reg.post(&env);
        assert_eq!(s, 201, "{r}");
        check_receipt(&reg, &r, &env);
    }

    // Submit 400 statements from 8 threads.
    let reg = Arc::new(reg);
    let mut handles = Vec::new();
    for t in 0..8 {
        let reg = reg.clone();
        let (a, b) = (a.clone(), b.clone());
        handles.push(std::thread::spawn(move || {
            let mut out = Vec::new();
            for i in 0..50 {
                let env = if i % 2 == 0 {
                    recognition(
                        &a,
                        &format!("eu.ec/t{t}/r{i}"),
                        "granted",
                        "EEA",
                        "JP",
                        "2019-01-23",
                    )
                } else {
                    recognition(
                        &b,
                        &format!("de.bfdi/t{t}/r{i}"),
                        "granted",
                        "DE",
                        "CH",
                        "2020-01-01",
                    )
                };
                let (s, r) = reg.post(&env);
                assert_eq!(s, 201, "{r}");
                let (index, cp) = check_receipt(&reg, &r, &env);
                out.push((index, env, cp));
            }
            out
        }));
    }
    let mut all: Vec<(u64, Vec<u8>, dfft_core::checkpoint::SignedCheckpoint)> = Vec::new();
    for h in handles {
        all.extend(h.join().unwrap());
    }
    all.sort_by_key(|x| x.0);
    let indices: Vec<u64> = all.iter().map(|x| x.0).collect();
    // Each batch ends with its index entry (docs/index.md), so the 400
    // indices are distinct but not consecutive.
    let mut distinct = indices.clone();
    distinct.dedup();
    assert_eq!(distinct.len(), 400, "every entry got its own index");
    assert_eq!(
        indices.iter().filter(|&&i| i < 6).count(),
        0,
        "after the genesis and the two enrolments"
    );

    // Re-submitting gives the same index with 200.
    let (s, r) = reg.post(&all[7].1);
    assert_eq!(s, 200);
    assert_eq!(r["index"].as_u64(), Some(all[7].0));

    // Consistency between every distinct checkpoint seen and the latest.
    let latest = reg.checkpoint();
    assert_eq!(statements(&reg), 403);
    let mut sizes: Vec<_> = all
        .iter()
        .map(|x| (x.2.checkpoint.size, x.2.checkpoint.root))
        .collect();
    sizes.dedup();
    for (size, root) in &sizes {
        let (s, v) = reg.get_json(&format!(
            "/v1/proof/consistency?from={size}&to={}",
            latest.checkpoint.size
        ));
        assert_eq!(s, 200);
        let proof = b64_hashes(&v["proof"]);
        merkle::verify_consistency(
            *size,
            latest.checkpoint.size,
            root,
            &latest.checkpoint.root,
            &proof,
        )
        .unwrap();
    }

    // Rebuild the tree from the entry bundles and from the level-0 and
    // level-1 hash tiles; both must give the checkpoint's root.
    let size = latest.checkpoint.size;
    let mut tree = MemoryTree::new();
    let mut n = 0u64;
    while n < size {
        let idx = n / 256;
        let w = tile::bundle_width(idx, size).unwrap();
        let t = Tile {
            level: None,
            index: idx,
            width: w,
        };
        let (s, body) = reg.get(&format!("/{}", t.path()));
        assert_eq!(s, 200, "{}", t.path());
        let entries = tile::decode_bundle_width(&body, w).unwrap();
        for (i, e) in entries.iter().enumerate() {
            let index = n + i as u64;
            if let Some(x) = all.iter().find(|x| x.0 == index) {
                assert_eq!(&x.1[..], *e, "bundle entry {index}");
            }
            tree.push(merkle::leaf_hash(e));
        }
        n += u64::from(w);
    }
    assert_eq!(tree.root(), latest.checkpoint.root);
    let (s, body) = reg.get("/tile/0/000");
    assert_eq!(s, 200);
    let hashes = tile::parse_hash_tile(&body, 256).unwrap();
    for (i, h) in hashes.iter().enumerate() {
        assert_eq!(Some(*h), tree.get(merkle::NodeId::new(0, i as u64)));
    }
    // The size depends on how submissions fell into batches (one index
    // entry each): between 256 and 65,535 entries.
    let n = latest.checkpoint.size;
    let full = n / 256;
    assert!((256..65_536).contains(&n));
    let (s, body) = reg.get(&format!("/tile/1/000.p/{full}"));
    assert_eq!(s, 200);
    assert_eq!(
        tile::parse_hash_tile(&body, full as u16).unwrap()[0],
        tree.get(merkle::NodeId::new(8, 0)).unwrap()
    );
    // Tiles beyond the tree, and malformed paths, are 404.
    for p in [
        format!("/tile/0/{:03}", full + 1),
        format!("/tile/0/{:03}", full),
        "/tile/1/000".to_string(),
        "/tile/0/01".to_string(),
        "/tile/entries/x001/000".to_string(),
        format!("/tile/0/{:03}.p/255", full),
    ] {
        if p.ends_with(".p/255") && n % 256 == 255 {
            continue;
        }
        assert_eq!(reg.get(&p).0, 404, "{p}");
    }

    // Inclusion proof by leaf hash, and the entry endpoint.
    let (idx, env, _) = &all[100];
    let leaf = dfft_core::hex::encode(&merkle::leaf_hash(env));
    let (s, v) = reg.get_json(&format!("/v1/proof/inclusion?leaf_hash={leaf}&size={size}"));
    assert_eq!(s, 200);
    assert_eq!(v["index"].as_u64(), Some(*idx));
    merkle::verify_inclusion(
        *idx,
        size,
        &merkle::leaf_hash(env),
        &b64_hashes(&v["proof"]),
        &latest.checkpoint.root,
    )
    .unwrap();
    let (s, v) = reg.get_json(&format!("/v1/entries/{idx}"));
    assert_eq!(s, 200);
    assert_eq!(v["statement"]["kind"], "recognition");

    // Info and metrics.
    let (s, v) = reg.get_json("/v1/info");
    assert_eq!(s, 200);
    assert_eq!(v["tree_size"].as_u64(), Some(size));
    assert_eq!(v["log_vkey"].as_str().unwrap(), reg.log_key.to_string());
    let (s, m) = reg.get("/metrics");
    assert_eq!(s, 200);
    let m = String::from_utf8(m).unwrap();
    assert!(
        m.contains("dfft_submissions_total{outcome=\"created\"} 403"),
        "{m}"
    );

    // Restart: same tree, same checkpoint, still consistent.
    let dir_path = dir.path().to_path_buf();
    drop(Arc::try_unwrap(reg).ok().expect("no other handles"));
    let reg = Registry::start(&dir_path, &[]);
    let again = reg.checkpoint();
    assert_eq!(again.checkpoint, latest.checkpoint);
    let env = recognition(
        &a,
        "eu.ec/after-restart",
        "granted",
        "EEA",
        "KR",
        "2021-12-17",
    );
    let (s, r) = reg.post(&env);
    assert_eq!(s, 201, "{r}");
    let (index, cp) = check_receipt(&reg, &r, &env);
    assert_eq!(index, size);
    let (_, v) = reg.get_json(&format!(
        "/v1/proof/consistency?from={size}&to={}",
        cp.checkpoint.size
    ));
    merkle::verify_consistency(
        size,
        cp.checkpoint.size,
        &latest.checkpoint.root,
        &cp.checkpoint.root,
        &b64_hashes(&v["proof"]),
    )
    .unwrap();
}
