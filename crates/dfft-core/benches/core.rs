//! Criterion benchmarks of the core: leaf and node hashing, proof building
//! from stored hashes, proof checking, and strict Ed25519 verification (the
//! ingest ceiling).

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use dfft_core::merkle::{self, MemoryTree};
use dfft_core::note::{KeyName, SignerKey};

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
    let sig = k.sign(&msg);
    let mut g = c.benchmark_group("ed25519");
    g.throughput(Throughput::Elements(1));
    g.bench_function("verify_strict_600B", |b| {
        b.iter(|| assert!(v.verify_strict(black_box(&msg), &sig)))
    });
    g.finish();
}

criterion_group!(benches, hashing, proofs, signatures);
criterion_main!(benches);
