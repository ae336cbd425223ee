//! `--witness`: add-checkpoint requests per second against a real `dfft
//! witness` child process on loopback, with its state fsynced before each
//! answer, and the ceilings that bound it measured in the same run: the
//! disk's fsync rate (append 200 bytes, `fdatasync`, in the witness's
//! data directory), Ed25519 and ML-DSA-44 cosignatures per second on one
//! core, strict Ed25519 verifications per second on all cores.
//!
//! Load: `--witness-logs` logs in the witness's list, one keep-alive
//! connection per log (requests of one log are serialised by the
//! witness's compare-and-swap, so more connections per log would only
//! collect 409s); each connection walks its log up one leaf per request
//! (`old N`, a checkpoint of N+1, the consistency proof between them:
//! small proofs, at most ~log2 N hashes). Checkpoints are signed before
//! the run. Leaves out: the log side.

use crate::http::Conn;
use crate::machine::{ceiling_verify, cpu_now, threads, Cpu};
use crate::report::{merge, row, Run, Task, TABLE_HEAD};
use dfft_core::checkpoint::Checkpoint;
use dfft_core::merkle::{consistency_proof, leaf_hash, MemoryTree};
use dfft_core::note::{KeyKind, KeyName, SignerKey};
use dfft_witness::request::AddCheckpoint;
use std::io::Write as _;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// fsyncs per second: 200-byte appends to one file, each followed by
/// `fdatasync`, for 2 s.
pub fn ceiling_fsync(dir: &Path) -> anyhow::Result<f64> {
    let p = dir.join("fsync-ceiling");
    let mut f = std::fs::File::create(&p)?;
    let buf = [7u8; 200];
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(2) {
        f.write_all(&buf)?;
        f.sync_data()?;
        n += 1;
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    drop(f);
    let _ = std::fs::remove_file(&p);
    Ok(rate)
}

/// CPU seconds used so far by the calling thread (`/proc/thread-self/stat`).
fn thread_cpu_secs() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/thread-self/stat") else {
        return 0.0;
    };
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// Cosignatures of `kind` over a checkpoint on one thread for 2 s: per
/// second of wall time, and per second of that thread's CPU time (on a
/// shared machine the second is what a request costs).
pub fn ceiling_cosign(kind: KeyKind) -> (f64, f64) {
    let k = SignerKey::from_seed_kind(KeyName::new("bench.example/w").unwrap(), kind, [3; 32]);
    let text = format!("bench.example/log\n12345\n{}\n", "A".repeat(43) + "=");
    let cpu0 = thread_cpu_secs();
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(2) {
        for _ in 0..10 {
            let _ = k.sign_note_line(&text, 1_700_000_000);
        }
        n += 10;
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu = (thread_cpu_secs() - cpu0).max(0.01);
    (n as f64 / wall, n as f64 / cpu)
}

/// Strict Ed25519 verifications of a checkpoint-sized message on one
/// thread for 1 s, per second of that thread's CPU time.
fn verify_per_cpu_sec() -> f64 {
    let k = SignerKey::from_seed(KeyName::new("bench.example/log").unwrap(), [4; 32]);
    let v = k.verifier();
    let msg = vec![7u8; 120];
    let sig = k.sign(&msg).expect("Ed25519 signs");
    let cpu0 = thread_cpu_secs();
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(1) {
        for _ in 0..100 {
            assert!(v.verify_strict(&msg, &sig));
        }
        n += 100;
    }
    n as f64 / (thread_cpu_secs() - cpu0).max(0.01)
}

/// Requests for one log: bodies for sizes `1..=steps`, each from the one before.
fn bodies(
    log: usize,
    tree: &MemoryTree,
    roots: &[[u8; 32]],
    steps: usize,
) -> (String, Vec<Vec<u8>>) {
    let origin = format!("bench.example/log{log}");
    let key = SignerKey::from_seed(KeyName::new(&origin).unwrap(), [(log % 250) as u8 + 1; 32]);
    let mut out = Vec::with_capacity(steps);
    for size in 1..=steps as u64 {
        let note = Checkpoint {
            origin: origin.clone(),
            size,
            root: roots[size as usize],
            extensions: vec![],
        }
        .sign(&[&key], 0)
        .expect("sign")
        .to_text();
        let old = size - 1;
        let proof = if old == 0 {
            vec![]
        } else {
            consistency_proof(tree, old, size).expect("proof")
        };
        out.push(AddCheckpoint::to_body(old, &proof, &note).into_bytes());
    }
    (format!("vkey {}\n", key.verifier()), out)
}

/// Runs the witness benchmark and prints its table.
pub fn run(dfft: &Path, data: &Path, logs: usize, seconds: u64) -> anyhow::Result<()> {
    std::fs::create_dir_all(data)?;
    println!("## witness: add-checkpoint with the state fsynced");
    println!();
    let fsync = ceiling_fsync(data)?;
    let (ed, ed_cpu) = ceiling_cosign(KeyKind::CosignatureV1);
    let (ml, ml_cpu) = ceiling_cosign(KeyKind::SubtreeV1);
    let verify = ceiling_verify();
    let verify_cpu = verify_per_cpu_sec();
    println!("| ceiling | per second | per CPU second |\n|---|---|---|");
    println!(
        "| fsync (200-byte append + fdatasync) in {} | {fsync:.0} | |",
        data.display()
    );
    println!("| Ed25519 cosignature/v1 signatures, one thread | {ed:.0} | {ed_cpu:.0} |");
    println!("| ML-DSA-44 subtree/v1 signatures, one thread | {ml:.0} | {ml_cpu:.0} |");
    println!(
        "| strict Ed25519 verifications, all {} cores / one thread | {verify:.0} | {verify_cpu:.0} |",
        threads()
    );
    println!();
    // CPU a request's cryptography costs, in microseconds.
    let crypto = |mldsa: bool| {
        1e6 * (1.0 / verify_cpu + 1.0 / ed_cpu + if mldsa { 1.0 / ml_cpu } else { 0.0 })
    };

    // Enough steps for twice the target rate over the run.
    let steps = ((10_000 * seconds as usize) / logs.max(1)).max(100);
    let t = Instant::now();
    let mut tree = MemoryTree::new();
    let mut roots = vec![tree.root()];
    for i in 0..steps as u64 {
        tree.push(leaf_hash(&i.to_be_bytes()));
        roots.push(tree.root());
    }
    let tree = Arc::new(tree);
    let roots = Arc::new(roots);
    let per_log: Vec<(String, Vec<Vec<u8>>)> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads())
            .map(|t| {
                let (tree, roots) = (tree.clone(), roots.clone());
                s.spawn(move || {
                    (0..logs)
                        .filter(|l| l % threads() == t)
                        .map(|l| (l, bodies(l, &tree, &roots, steps)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<_> = hs
            .into_iter()
            .flat_map(|h| h.join().expect("signer"))
            .collect();
        all.sort_by_key(|(l, _)| *l);
        all.into_iter().map(|(_, b)| b).collect()
    });
    eprintln!("signed {} checkpoints in {:.1?}", logs * steps, t.elapsed());
    let list = data.join("logs");
    let mut text = "logs/v0\n".to_string();
    for (entry, _) in &per_log {
        text.push_str(entry);
    }
    std::fs::write(&list, text)?;

    println!("{TABLE_HEAD}");
    let mut rates = Vec::new();
    for mldsa in [true, false] {
        let r = one_run(dfft, data, &list, &per_log, mldsa, seconds)?;
        let what = if mldsa {
            "Ed25519 + ML-DSA-44 cosignatures"
        } else {
            "Ed25519 cosignature only (--no-mldsa)"
        };
        row(
            &format!("add-checkpoint, {logs} logs, one connection each, {what}"),
            &r,
        );
        rates.push((what, r, mldsa));
    }
    println!();
    for (what, r, mldsa) in &rates {
        let c = crypto(*mldsa);
        let cores = threads() as f64;
        println!(
            "- {what}: {:.0} cosigned checkpoints/s (target >= 5,000/s), {:.1}x the disk's fsync rate measured above (group commit); witness CPU {:.0} us per request, of which one verification and the signatures are {:.0} us ({:.0}%); with all {cores:.0} cores to itself the witness would do about {:.0}/s (its CPU per request), and the cryptography alone bounds it at {:.0}/s",
            r.rate(),
            r.rate() / fsync,
            r.server_us_per_op(),
            c,
            100.0 * c / r.server_us_per_op().max(1.0),
            cores * 1e6 / r.server_us_per_op().max(1.0),
            cores * 1e6 / c
        );
    }
    Ok(())
}

type PerLog = Vec<(String, Vec<Vec<u8>>)>;

/// One run against a fresh witness; `mldsa` false starts it with `--no-mldsa`.
fn one_run(
    dfft: &Path,
    data: &Path,
    list: &Path,
    per_log: &PerLog,
    mldsa: bool,
    seconds: u64,
) -> anyhow::Result<Run> {
    let wdir = data.join(if mldsa { "witness" } else { "witness-ed25519" });
    let extra: &[&str] = if mldsa { &[] } else { &["--no-mldsa"] };
    let (mut child, addr) =
        crate::server::start_witness(dfft, &wdir, "bench.example/witness", list, extra)?;
    let pid = child.id();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let deadline = Duration::from_secs(seconds);
    let before = cpu_now(pid);
    let mut run: Run = rt.block_on(async {
        let start = Instant::now();
        let tasks: Vec<Task> = per_log
            .iter()
            .map(|(_, bodies)| {
                let addr = addr.clone();
                let bodies = bodies.clone();
                tokio::spawn(async move {
                    let mut c = Conn::open(&addr).await?;
                    let (mut lat, mut errors, mut ops) = (Vec::new(), 0usize, 0usize);
                    for b in &bodies {
                        if start.elapsed() >= deadline {
                            break;
                        }
                        let t = Instant::now();
                        let (s, body) = c.request("POST", "/add-checkpoint", Some(b)).await?;
                        lat.push(t.elapsed().as_secs_f64() * 1e3);
                        if s == 200 {
                            ops += 1;
                        } else {
                            errors += 1;
                            if errors == 1 {
                                eprintln!(
                                    "witness answered {s}: {}",
                                    String::from_utf8_lossy(&body)
                                );
                            }
                        }
                    }
                    Ok((lat, errors, ops))
                })
            })
            .collect();
        merge(tasks, start).await
    })?;
    let after = cpu_now(pid);
    run.cpu = Cpu {
        server: after.server - before.server,
        generator: after.generator - before.generator,
    };
    run.ceiling = 0.0;
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
    let _ = child.wait();
    Ok(run)
}
