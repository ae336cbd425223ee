//! Criterion benchmarks of the verifying client:
//! - inclusion proof checks against a tree of 2^20 + 12,345 leaves: the
//!   bare check of a given proof, the client's own proof built from hash
//!   tiles (cached) and checked, and a whole offline tlog-proof (parse,
//!   checkpoint signature, proof, statement parse);
//! - audit throughput: a fresh [`Auditor`] replaying a log of signed
//!   recognitions served from memory (entries per second; network time
//!   excluded, every signature and rule checked).

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use dfft_client::offline::verify_tlog_proof;
use dfft_client::{Auditor, Client, MemoryTransport, Policy};
use dfft_core::checkpoint::Checkpoint;
use dfft_core::merkle::{self, MemoryTree};
use dfft_core::note::{KeyName, SignerKey};
use dfft_core::statement::dsse::Envelope;
use dfft_core::tlog_proof::TlogProof;
use serde_json::json;

const ORIGIN: &str = "bench.dfft.example/log";

fn key(name: &str, seed: u8) -> SignerKey {
    SignerKey::from_seed(KeyName::new(name).unwrap(), [seed; 32])
}

fn sign(v: serde_json::Value, k: &SignerKey) -> Vec<u8> {
    Envelope::sign(serde_json::to_vec(&v).unwrap(), &[k])
        .unwrap()
        .canonical_bytes()
}

fn inclusion(c: &mut Criterion) {
    let log_key = key(ORIGIN, 1);
    let mut tree = MemoryTree::new();
    let n = (1u64 << 20) + 12_345;
    for i in 0..n {
        tree.push(merkle::leaf_hash(&i.to_le_bytes()));
    }
    let cp = Checkpoint {
        origin: ORIGIN.into(),
        size: n,
        root: tree.root(),
        extensions: vec![],
    }
    .sign(&[&log_key], 0)
    .unwrap();
    let t = MemoryTransport::new();
    t.publish(&tree, &[], &cp.to_text()).unwrap();
    let client = Client::new(&t, Policy::new(log_key.verifier()).unwrap());
    let indexes: Vec<u64> = (0..1024u64).map(|i| (i * 1_000_003) % n).collect();
    let proofs: Vec<_> = indexes
        .iter()
        .map(|&i| merkle::inclusion_proof(&tree, i, n).unwrap())
        .collect();
    let leaves: Vec<_> = indexes
        .iter()
        .map(|i| merkle::leaf_hash(&i.to_le_bytes()))
        .collect();
    let root = tree.root();

    let mut g = c.benchmark_group("inclusion");
    g.throughput(Throughput::Elements(1));
    let mut k = 0usize;
    g.bench_function(BenchmarkId::new("check_given_proof", n), |b| {
        b.iter(|| {
            k = (k + 1) % indexes.len();
            merkle::verify_inclusion(
                indexes[k],
                n,
                black_box(&leaves[k]),
                black_box(&proofs[k]),
                &root,
            )
            .unwrap()
        })
    });
    // Warm the tile cache once (every level-0 tile of the tree is 32 MiB).
    for (i, l) in indexes.iter().zip(&leaves) {
        client.prove_inclusion(&cp, *i, l).unwrap();
    }
    g.bench_function(BenchmarkId::new("build_from_tiles_and_check", n), |b| {
        b.iter(|| {
            k = (k + 1) % indexes.len();
            client
                .prove_inclusion(&cp, indexes[k], black_box(&leaves[k]))
                .unwrap()
        })
    });

    // An offline proof of a real statement in a tree of the same size: the
    // statement is leaf `idx`; the rest of the tree is as above.
    let ec = key("eu.ec", 3);
    let entry = sign(
        json!({"kind": "recognition", "authority": "eu.ec", "record": "eu.ec/adequacy/jp", "action": "granted",
               "mechanism": "adequacy", "from": "EEA", "to": "JP",
               "legal_reference": {"id": "CELEX:32019D0419", "title": "Commission Implementing Decision (EU) 2019/419"},
               "effective": "2019-01-23", "issued_at": "2019-01-23T00:00:00Z"}),
        &ec,
    );
    let mut t2 = MemoryTree::new();
    let idx = 777_777u64;
    for i in 0..n {
        t2.push(if i == idx {
            merkle::leaf_hash(&entry)
        } else {
            merkle::leaf_hash(&i.to_le_bytes())
        });
    }
    let cp2 = Checkpoint {
        origin: ORIGIN.into(),
        size: n,
        root: t2.root(),
        extensions: vec![],
    }
    .sign(&[&log_key], 0)
    .unwrap();
    let file = TlogProof {
        extra: Some(entry),
        index: idx,
        proof: merkle::inclusion_proof(&t2, idx, n).unwrap(),
        checkpoint: cp2,
    }
    .to_text();
    let policy = Policy::new(log_key.verifier()).unwrap();
    g.bench_function(BenchmarkId::new("offline_tlog_proof", n), |b| {
        b.iter(|| verify_tlog_proof(black_box(file.as_bytes()), &policy, None).unwrap())
    });
    g.finish();
}

fn audit(c: &mut Criterion) {
    let log_key = key(ORIGIN, 1);
    let gov = key(&format!("{ORIGIN}/governance"), 2);
    let ec = key("eu.ec", 3);
    let mut entries = vec![
        sign(
            json!({"kind": "genesis", "origin": ORIGIN, "governance": {"keys": [gov.verifier().to_string()], "threshold": 1},
                   "issued_at": "2026-01-01T00:00:00Z"}),
            &gov,
        ),
        sign(
            json!({"kind": "authority", "action": "enroll", "authority": "eu.ec", "name": "European Commission",
                   "competence": ["EU", "EEA"], "keys": [ec.verifier().to_string()], "issued_at": "2026-01-01T00:00:00Z"}),
            &gov,
        ),
    ];
    let n = 16_384usize;
    let tos = ["JP", "US", "KR", "CH", "GB", "NZ", "AR", "IL"];
    while entries.len() < n {
        let i = entries.len();
        let (record, action) = if i % 4 == 3 {
            (i - 1, "amended")
        } else {
            (i, "granted")
        };
        entries.push(sign(
            json!({"kind": "recognition", "authority": "eu.ec", "record": format!("eu.ec/adequacy/r{record}"), "action": action,
                   "mechanism": "adequacy", "from": "EEA", "to": tos[record % tos.len()],
                   "scope": "private-sector business operators under the national data protection act",
                   "legal_reference": {"id": "CELEX:32019D0419", "title": "Commission Implementing Decision (EU) 2019/419",
                                       "url": "https://eur-lex.europa.eu/eli/dec_impl/2019/419/oj"},
                   "effective": "2019-01-23", "issued_at": "2019-01-23T00:00:00Z"}),
            &ec,
        ));
    }
    let mut tree = MemoryTree::new();
    for e in &entries {
        tree.push(merkle::leaf_hash(e));
    }
    let cp = Checkpoint {
        origin: ORIGIN.into(),
        size: tree.size(),
        root: tree.root(),
        extensions: vec![],
    }
    .sign(&[&log_key], 0)
    .unwrap();
    let t = MemoryTransport::new();
    t.publish(&tree, &entries, &cp.to_text()).unwrap();
    let client = Client::new(&t, Policy::new(log_key.verifier()).unwrap());
    let avg = entries.iter().map(Vec::len).sum::<usize>() / entries.len();

    let mut g = c.benchmark_group("audit");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function(
        BenchmarkId::new(format!("replay_entries_avg{avg}B"), n),
        |b| {
            b.iter(|| {
                let r = Auditor::new()
                    .advance(&client, &cp, None, &mut |_| {})
                    .unwrap();
                assert_eq!(r.replayed, n as u64);
            })
        },
    );
    g.finish();
}

criterion_group!(benches, inclusion, audit);
criterion_main!(benches);
