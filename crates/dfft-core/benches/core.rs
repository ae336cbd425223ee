//! Criterion benchmarks of the core: leaf and node hashing, proof building
//! from stored hashes, proof checking, and strict Ed25519 verification (the
//! ingest ceiling).

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use dfft_core::checkpoint::{Checkpoint, SignedCheckpoint};
use dfft_core::merkle::{self, MemoryTree};
use dfft_core::note::{KeyKind, KeyName, SignerKey};

fn tree(n: u64) -> MemoryTree {
    let mut t = MemoryTree::new();
    for i in 0..n {
        t.push(merkle::leaf_hash(&i.to_le_bytes()));
    }
    t
}

fn hashing(c: &mut Criterion) {
    let mut g = c.benchmark_group("hash");
    let entry = vec![7u8; 512];
    g.throughput(Throughput::Elements(1));
    g.bench_function("leaf_512B", |b| {
        b.iter(|| merkle::leaf_hash(black_box(&entry)))
    });
    let (l, r) = ([1u8; 32], [2u8; 32]);
    g.bench_function("node_65B", |b| {
        b.iter(|| merkle::node_hash(black_box(&l), black_box(&r)))
    });
    g.finish();
}

fn proofs(c: &mut Criterion) {
    let size = 1u64 << 20;
    let t = tree(size + 12_345);
    let size = t.size();
    let root = t.root();
    let mut g = c.benchmark_group("proof");
    g.throughput(Throughput::Elements(1));
    let mut i = 0u64;
    g.bench_function(BenchmarkId::new("build_inclusion", size), |b| {
        b.iter(|| {
            i = (i + 7919) % size;
            merkle::inclusion_proof(&t, black_box(i), size).unwrap()
        })
    });
    let idx = 777_777u64;
    let p = merkle::inclusion_proof(&t, idx, size).unwrap();
    let leaf = merkle::leaf_hash(&idx.to_le_bytes());
    g.bench_function(BenchmarkId::new("verify_inclusion", size), |b| {
        b.iter(|| {
            merkle::verify_inclusion(idx, size, black_box(&leaf), black_box(&p), &root).unwrap()
        })
    });
    let from = 600_001u64;
    let old = merkle::tree_hash(&t, from).unwrap();
    let cp = merkle::consistency_proof(&t, from, size).unwrap();
    g.bench_function(BenchmarkId::new("build_consistency", size), |b| {
        b.iter(|| merkle::consistency_proof(&t, black_box(from), size).unwrap())
    });
    g.bench_function(BenchmarkId::new("verify_consistency", size), |b| {
        b.iter(|| merkle::verify_consistency(from, size, &old, &root, black_box(&cp)).unwrap())
    });
    g.finish();
}

fn signatures(c: &mut Criterion) {
    let k = SignerKey::from_seed(KeyName::new("bench").unwrap(), [9; 32]);
    let v = k.verifier();
    let msg = vec![3u8; 600];
    let sig = k.sign(&msg).unwrap();
    let mut g = c.benchmark_group("ed25519");
    g.throughput(Throughput::Elements(1));
    g.bench_function("verify_strict_600B", |b| {
        b.iter(|| assert!(v.verify_strict(black_box(&msg), &sig)))
    });
    g.finish();
}

/// One ML-DSA-44 `subtree/v1` cosignature: signing a checkpoint line (the
/// witness's cost per add-checkpoint) and verifying a cosigned checkpoint
/// (the client's cost per witness), with key expansion done once.
fn mldsa(c: &mut Criterion) {
    let log = SignerKey::from_seed(KeyName::new("example.org/log").unwrap(), [1; 32]);
    let w = SignerKey::from_seed_kind(
        KeyName::new("witness.example/w1").unwrap(),
        KeyKind::SubtreeV1,
        [2; 32],
    );
    let cp = Checkpoint {
        origin: "example.org/log".into(),
        size: 1_000_000,
        root: [7; 32],
        extensions: vec![],
    };
    let mut signed = cp.sign(&[&log], 0).unwrap();
    let text = signed.note.text().to_string();
    signed.note.add_signer(&w, 1_700_000_000).unwrap();
    let signed = SignedCheckpoint::parse(signed.to_text().as_bytes()).unwrap();
    let msg = cp.subtree_message(w.name(), 1_700_000_000).unwrap();
    let sig = w.sign_mldsa44(&msg).unwrap();
    let v = w.verifier();
    let dfft_core::note::PublicKey::MlDsa44(pk) = v.public_key() else {
        unreachable!()
    };
    let mut g = c.benchmark_group("mldsa44");
    g.throughput(Throughput::Elements(1));
    g.bench_function("sign_subtree_v1", |b| {
        b.iter(|| w.sign_note_line(black_box(&text), 1_700_000_000).unwrap())
    });
    g.bench_function("verify", |b| {
        b.iter(|| assert!(pk.verify(black_box(&msg), &sig)))
    });
    // The same deterministic signature by the second implementation (the
    // test oracle), for comparison: byte-identical output.
    {
        use fips204::traits::{KeyGen, Signer};
        let (_, sk) = fips204::ml_dsa_44::KG::keygen_from_seed(&[2; 32]);
        g.bench_function("sign_fips204_same_message", |b| {
            b.iter(|| {
                sk.try_sign_with_seed(&[0u8; 32], black_box(&msg), &[])
                    .unwrap()
            })
        });
        g.bench_function("sign_ml_dsa_same_message", |b| {
            b.iter(|| w.sign_mldsa44(black_box(&msg)).unwrap())
        });
    }
    g.bench_function("verify_cosigned_checkpoint", |b| {
        b.iter(|| {
            signed
                .verify(&log.verifier(), std::slice::from_ref(&v), 1)
                .unwrap()
        })
    });
    g.bench_function("keygen_from_seed", |b| {
        b.iter(|| {
            SignerKey::from_seed_kind(
                KeyName::new("w").unwrap(),
                KeyKind::SubtreeV1,
                black_box([3; 32]),
            )
        })
    });
    g.bench_function("parse_vkey", |b| {
        let s = v.to_string();
        b.iter(|| dfft_core::note::VerifierKey::parse(black_box(&s)).unwrap())
    });
    g.finish();
}

/// rs_merkle with the RFC 6962 node hash, so both do the same hashing.
#[derive(Clone)]
struct Rfc6962;

impl rs_merkle::Hasher for Rfc6962 {
    type Hash = [u8; 32];
    fn hash(data: &[u8]) -> [u8; 32] {
        use sha2::Digest;
        sha2::Sha256::digest(data).into()
    }
    fn concat_and_hash(left: &[u8; 32], right: Option<&[u8; 32]>) -> [u8; 32] {
        match right {
            Some(r) => merkle::node_hash(left, r),
            None => *left,
        }
    }
}

/// The same root and proof work done by dfft-core, rs_merkle and ct-merkle,
/// all starting from the same 8-byte leaf values (each leaf hashed with the
/// RFC 6962 0x00 prefix inside the timed work).
fn compare(c: &mut Criterion) {
    let n = 1usize << 16;
    let values: Vec<[u8; 8]> = (0..n as u64).map(|i| i.to_le_bytes()).collect();
    let mut g = c.benchmark_group("compare_root_65536");
    g.throughput(Throughput::Elements(n as u64));
    g.sample_size(20);
    g.bench_function("dfft_core", |b| {
        b.iter(|| {
            let mut t = MemoryTree::new();
            for v in &values {
                t.push(merkle::leaf_hash(v));
            }
            t.root()
        })
    });
    g.bench_function("rs_merkle", |b| {
        b.iter(|| {
            let leaves: Vec<[u8; 32]> = values.iter().map(|v| merkle::leaf_hash(v)).collect();
            rs_merkle::MerkleTree::<Rfc6962>::from_leaves(&leaves).root()
        })
    });
    g.bench_function("ct_merkle", |b| {
        b.iter(|| {
            let mut t =
                ct_merkle::mem_backed_tree::MemoryBackedTree::<sha2::Sha256, [u8; 8]>::new();
            for v in &values {
                t.push(*v);
            }
            t.root()
        })
    });
    g.finish();

    let leaves: Vec<[u8; 32]> = values.iter().map(|v| merkle::leaf_hash(v)).collect();
    let mut t = MemoryTree::new();
    for l in &leaves {
        t.push(*l);
    }
    let root = t.root();
    let idx = 12_345usize;
    let ours = merkle::inclusion_proof(&t, idx as u64, n as u64).unwrap();
    let rs = rs_merkle::MerkleTree::<Rfc6962>::from_leaves(&leaves);
    let rs_proof = rs.proof(&[idx]);
    assert!(rs_proof.verify(root, &[idx], &[leaves[idx]], n));
    let mut ct = ct_merkle::mem_backed_tree::MemoryBackedTree::<sha2::Sha256, [u8; 8]>::new();
    for v in &values {
        ct.push(*v);
    }
    let ct_root = ct.root();
    assert_eq!(
        ct_root.as_bytes().as_slice(),
        &root[..],
        "ct-merkle agrees on the root"
    );
    let ct_proof = ct.prove_inclusion(idx);
    ct_root
        .verify_inclusion(&values[idx], idx as u64, &ct_proof)
        .unwrap();
    let mut g = c.benchmark_group("compare_verify_inclusion_65536");
    g.throughput(Throughput::Elements(1));
    g.bench_function("dfft_core", |b| {
        b.iter(|| {
            let leaf = merkle::leaf_hash(black_box(&values[idx]));
            merkle::verify_inclusion(idx as u64, n as u64, &leaf, &ours, &root).unwrap()
        })
    });
    g.bench_function("rs_merkle", |b| {
        b.iter(|| {
            let leaf = merkle::leaf_hash(black_box(&values[idx]));
            assert!(rs_proof.verify(root, &[idx], &[leaf], n))
        })
    });
    g.bench_function("ct_merkle", |b| {
        b.iter(|| {
            ct_root
                .verify_inclusion(black_box(&values[idx]), idx as u64, &ct_proof)
                .unwrap()
        })
    });
    g.finish();
}

/// Issue 11: an authority statement listing 760 keys (a 60 KB body, 36 ms of
/// CPU before the fix), signed by a key the log does not know. The server's
/// path ([`Submission::parse_authenticated`]) refuses it after the envelope
/// parse; the statement parser alone refuses it at the key cap. The ceiling
/// beside them is one strict Ed25519 verification.
fn refusals(c: &mut Criterion) {
    use dfft_core::statement::dsse::Envelope;
    use dfft_core::statement::registry::Submission;
    let stranger = SignerKey::from_seed(KeyName::new("eu.x").unwrap(), [9; 32]);
    let keys: Vec<String> = (0..760u32)
        .map(|i| {
            let mut seed = [0u8; 32];
            seed[..4].copy_from_slice(&i.to_le_bytes());
            SignerKey::from_seed(KeyName::new("eu.x").unwrap(), seed)
                .verifier()
                .to_string()
        })
        .collect();
    let st = serde_json::json!({"kind": "authority", "action": "enroll", "authority": "eu.x", "name": "X",
        "competence": ["JP"], "keys": keys, "issued_at": "2026-01-01T00:00:00Z"});
    let env = Envelope::sign(serde_json::to_vec(&st).unwrap(), &[&stranger]).unwrap();
    let body = env.canonical_bytes();
    assert!(body.len() > 50_000, "{} bytes", body.len());
    let mut g = c.benchmark_group("refuse_760_keys");
    g.throughput(Throughput::Elements(1));
    g.bench_function("server_path_unknown_signer", |b| {
        b.iter(|| Submission::parse_authenticated(black_box(&body), |_| Vec::new()).unwrap_err())
    });
    g.bench_function("statement_parse_key_cap", |b| {
        b.iter(|| Submission::parse(black_box(&body)).unwrap_err())
    });
    let msg = env.pae();
    let vk = stranger.verifier();
    let sig = env.signatures[0].clone();
    g.bench_function("ceiling_one_ed25519_verify", |b| {
        b.iter(|| sig.verify(black_box(&vk), black_box(&msg)))
    });
    g.finish();
}

criterion_group!(benches, hashing, proofs, signatures, mldsa, compare, refusals);
criterion_main!(benches);
