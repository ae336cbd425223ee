//! Reads: closed-loop GETs of inclusion proofs, consistency proofs, tiles
//! and a route answer (and the HTTP ceiling, `/healthz`) for a fixed time,
//! each printed as a row of the report. Leaves out ingest.

use crate::http::Conn;
use crate::machine::{cpu_now, Cpu};
use crate::report::{merge, row, Run};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Makes a request path from a random number.
pub type PathGen = Arc<dyn Fn(u64) -> String + Send + Sync>;

/// GETs paths from `gen` for `secs` seconds, closed loop.
pub async fn reads(
    addr: &str,
    conns: usize,
    secs: u64,
    gen: Arc<dyn Fn(u64) -> String + Send + Sync>,
) -> anyhow::Result<Run> {
    let start = Instant::now();
    let end = start + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for t in 0..conns {
        let (gen, addr) = (gen.clone(), addr.to_string());
        tasks.push(tokio::spawn(async move {
            let mut c = Conn::open(&addr).await?;
            let mut lat = Vec::new();
            let mut errors = 0;
            let mut seed = 0x9e3779b97f4a7c15u64 ^ (t as u64 + 1);
            while Instant::now() < end {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let path = gen(seed);
                let t0 = Instant::now();
                let (s, _) = c.request("GET", &path, None).await?;
                if s != 200 {
                    errors += 1;
                }
                lat.push(t0.elapsed().as_secs_f64() * 1e3);
            }
            let ops = lat.len();
            anyhow::Ok((lat, errors, ops))
        }));
    }
    merge(tasks, start).await
}

pub async fn read_suite(
    pid: u32,
    addr: &str,
    conns: usize,
    secs: u64,
    size: u64,
    label: &str,
) -> anyhow::Result<()> {
    let tiles = (size / 256).max(1);
    let suite: Vec<(&str, PathGen)> = vec![
        (
            "HTTP ceiling: GET /healthz",
            Arc::new(|_| "/healthz".to_string()),
        ),
        (
            "inclusion proof",
            Arc::new(move |r| format!("/v1/proof/inclusion?index={}&size={size}", r % size)),
        ),
        (
            "consistency proof",
            Arc::new(move |r| {
                format!(
                    "/v1/proof/consistency?from={}&to={size}",
                    1 + r % (size - 1).max(1)
                )
            }),
        ),
        (
            "tile (level 0, full)",
            Arc::new(move |r| format!("/tile/0/{}", dfft_core::tile::encode_index(r % tiles))),
        ),
        (
            "route DE->US 2024 (real data; one question: cached after the first)",
            Arc::new(|_| "/v1/route?from=DE&to=US&at=2024-01-01".to_string()),
        ),
        (
            "route DE->US, a random day of 2000-2025 each (8,736 questions: mostly built)",
            Arc::new(|r| {
                format!(
                    "/v1/route?from=DE&to=US&at={:04}-{:02}-{:02}",
                    2000 + r % 26,
                    1 + (r / 26) % 12,
                    1 + (r / 312) % 28
                )
            }),
        ),
    ];
    for (name, gen) in suite {
        let before = cpu_now(pid);
        let mut r = reads(addr, conns, secs, gen).await?;
        let after = cpu_now(pid);
        r.cpu = Cpu {
            server: after.server - before.server,
            generator: after.generator - before.generator,
        };
        row(&format!("{name} @ {label}, {conns} connections"), &r);
    }
    Ok(())
}
