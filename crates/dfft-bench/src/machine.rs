//! The machine the benchmark runs on, as the report describes it: cores,
//! CPU model and memory, the CPU a process has used, disk bytes of a
//! directory, and the ceilings (Ed25519 verifications on all cores, SHA-256
//! on one) that runs are compared against. Leaves out the runs themselves.

use dfft_core::note::{KeyName, SignerKey};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// CPU seconds (user + system) used so far by process `pid`.
pub fn cpu_secs(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the whole line, in clock ticks (100 per s).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// Waits (up to `limit`) until the server uses less than a tenth of a core
/// over a second: after a bulk load RocksDB compacts in the background, and
/// reads measured during that measure the compaction. Returns the wait.
pub fn wait_idle(pid: u32, limit: Duration) -> Duration {
    let start = Instant::now();
    let mut last = cpu_secs(pid);
    while start.elapsed() < limit {
        std::thread::sleep(Duration::from_secs(1));
        let now = cpu_secs(pid);
        if now - last < 0.1 {
            break;
        }
        last = now;
    }
    start.elapsed()
}

/// CPU used by the server and by this load generator during a run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cpu {
    pub server: f64,
    pub generator: f64,
}

pub fn cpu_now(server: u32) -> Cpu {
    Cpu {
        server: cpu_secs(server),
        generator: cpu_secs(std::process::id()),
    }
}

pub fn threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

// ---------------------------------------------------------------- ceilings

pub fn ceiling_verify() -> f64 {
    let n = threads();
    let dur = Duration::from_secs(2);
    let total = Arc::new(AtomicU64::new(0));
    let hs: Vec<_> = (0..n)
        .map(|t| {
            let total = total.clone();
            std::thread::spawn(move || {
                let k = SignerKey::from_seed(KeyName::new("c").unwrap(), [t as u8 + 1; 32]);
                let v = k.verifier();
                let msg = vec![7u8; 700];
                let sig = k.sign(&msg).unwrap();
                let start = Instant::now();
                let mut c = 0u64;
                while start.elapsed() < dur {
                    for _ in 0..100 {
                        assert!(v.verify_strict(&msg, &sig));
                    }
                    c += 100;
                }
                total.fetch_add(c, Ordering::Relaxed);
            })
        })
        .collect();
    for h in hs {
        let _ = h.join();
    }
    total.load(Ordering::Relaxed) as f64 / dur.as_secs_f64()
}

pub fn ceiling_sha256() -> f64 {
    use sha2::{Digest, Sha256};
    let mut buf = [1u8; 65];
    let start = Instant::now();
    let mut c = 0u64;
    while start.elapsed() < Duration::from_secs(1) {
        for _ in 0..1000 {
            let d: [u8; 32] = Sha256::digest(buf).into();
            buf[1..33].copy_from_slice(&d);
        }
        c += 1000;
    }
    c as f64 / start.elapsed().as_secs_f64()
}

pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

pub fn mem_total() -> String {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines().next().map(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|k| k.parse::<u64>().ok())
                    .unwrap_or(0)
            })
        })
        .map(|k| format!("{:.1} GiB RAM", k as f64 / 1048576.0))
        .unwrap_or_default()
}

pub fn dir_bytes(p: &Path) -> u64 {
    let mut total = 0;
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            let m = match e.metadata() {
                Ok(m) => m,
                Err(_) => continue,
            };
            total += if m.is_dir() {
                dir_bytes(&e.path())
            } else {
                m.len()
            };
        }
    }
    total
}
