//! What a run measured ([`Run`]: operations, latencies, errors, CPU and
//! the ceiling measured just before it) and how the report prints it: the
//! table rows and the ratio to the ceiling. Leaves out how runs load the
//! server (`ingest`, `reads`).

use crate::machine::{ceiling_verify, cpu_now, threads, Cpu};
use std::time::Instant;

pub fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[derive(Debug, Clone, Default)]
pub struct Run {
    pub ops: usize,
    pub secs: f64,
    pub lat_ms: Vec<f64>,
    pub errors: usize,
    /// CPU seconds the server and the generator used during the run.
    pub cpu: Cpu,
    /// The all-core verification ceiling measured just before the run.
    pub ceiling: f64,
}

impl Run {
    pub fn rate(&self) -> f64 {
        self.ops as f64 / self.secs
    }
    pub fn p(&self, q: f64) -> f64 {
        pct(&self.lat_ms, q)
    }
    pub fn max(&self) -> f64 {
        self.lat_ms.last().copied().unwrap_or(0.0)
    }
    /// Cores the server kept busy.
    pub fn server_cores(&self) -> f64 {
        self.cpu.server / self.secs
    }
    /// Cores the load generator kept busy.
    pub fn generator_cores(&self) -> f64 {
        self.cpu.generator / self.secs
    }
    /// Server CPU microseconds per operation.
    pub fn server_us_per_op(&self) -> f64 {
        1e6 * self.cpu.server / self.ops.max(1) as f64
    }
}

/// Runs `f`, recording the CPU the server (`pid`) and this process used,
/// and the verification ceiling measured right before (shared machines
/// drift by tens of percent between minutes; each ratio uses its own).
pub fn with_cpu(pid: u32, f: impl FnOnce() -> anyhow::Result<Run>) -> anyhow::Result<Run> {
    let ceiling = ceiling_verify();
    let before = cpu_now(pid);
    let mut run = f()?;
    let after = cpu_now(pid);
    run.cpu = Cpu {
        server: after.server - before.server,
        generator: after.generator - before.generator,
    };
    run.ceiling = ceiling;
    Ok(run)
}

/// A run's rate and server CPU per entry against its own ceiling.
pub fn ratio_note(r: &Run) -> String {
    let one = 1e6 * threads() as f64 / r.ceiling;
    format!(
        "ceiling {:.0}/s; rate {:.1}% of it; server CPU per entry {:.1}x one verification",
        r.ceiling,
        100.0 * r.rate() / r.ceiling,
        r.server_us_per_op() / one
    )
}

/// Each connection's latencies (ms), error count and operations done.
pub type Task = tokio::task::JoinHandle<anyhow::Result<(Vec<f64>, usize, usize)>>;

/// Waits for every connection and merges what they measured.
pub async fn merge(tasks: Vec<Task>, start: Instant) -> anyhow::Result<Run> {
    let mut run = Run::default();
    for t in tasks {
        let (lat, errors, ops) = t.await??;
        run.ops += ops;
        run.errors += errors;
        run.lat_ms.extend(lat);
    }
    run.secs = start.elapsed().as_secs_f64();
    run.lat_ms.sort_by(|a, b| a.total_cmp(b));
    Ok(run)
}

pub fn row(name: &str, r: &Run) {
    println!(
        "| {name} | {:.0}/s | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.0} | {} ops, {} errors |",
        r.rate(),
        r.p(0.5),
        r.p(0.99),
        r.max(),
        r.server_cores(),
        r.generator_cores(),
        r.server_us_per_op(),
        r.ops,
        r.errors
    );
}

pub const TABLE_HEAD: &str = "| run | rate | p50 ms | p99 ms | max ms | server cores | generator cores | server CPU µs/op | notes |\n|---|---|---|---|---|---|---|---|---|";
