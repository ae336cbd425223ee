//! `dfft-bench`: measures a real `dfft` server (spawned as a child process
//! on loopback) against ceilings measured in the same run, and prints a
//! table with ratios.
//!
//! 1. Ceilings: strict Ed25519 verifications per second on all cores;
//!    SHA-256 of 65-byte inputs per second on one core.
//! 2. Ingest: pre-signed statements from enrolled authorities, POSTed over
//!    many keep-alive connections; durable receipts counted. Maximum rate
//!    (closed loop), then half of it (open loop, latency measured from each
//!    request's scheduled time, so queueing is not hidden).
//! 3. Reads: inclusion proofs, consistency proofs, tiles and route answers.
//! 4. Scale: the log is grown to each `--scale` size; server RSS, disk bytes
//!    per entry, restart-to-ready time and reads are measured there.
//! 5. `--witness` (alone): add-checkpoint requests per second against a
//!    `dfft witness` child process, against the fsync and signing ceilings
//!    (module `witness`).
//! 6. `--witnessed` (alone): ingest without witnesses, then with local
//!    `dfft witness` processes and a quorum (module `witnessed`).
//!
//! The load generator shares the machine with the server: on 2 cores both
//! compete, which is why the ratios to the ceilings are reported.
//!
//! Modules: `machine` (cores, CPU used, ceilings), `server` (the `dfft`
//! child process), `http` (the minimal client), `ingest` (statements,
//! POSTs, the bulk load), `reads`, `report` (what a run measured and the
//! table rows); this file holds the options and the order of the runs.

mod counterparties;
mod http;
mod ingest;
mod machine;
mod reads;
mod report;
mod server;
mod witness;
mod witnessed;

use anyhow::{bail, Context as _};
use clap::Parser;
use dfft_core::note::SignerKey;
use http::Conn;
use ingest::{authority_keys, bulk_load, ingest, presign, sign, Bodies};
use machine::{
    ceiling_sha256, ceiling_verify, cpu_model, dir_bytes, mem_total, threads, wait_idle,
};
use reads::read_suite;
use report::{ratio_note, row, with_cpu, TABLE_HEAD};
use serde_json::json;
use server::{size_of, start_server, wait_ready};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The same allocator as the `dfft` binary (the bulk load runs the
/// sequencer in this process).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug, Clone)]
#[command(about = "Benchmark a dfft registry: ceilings, ingest, latency, reads, scale")]
struct Args {
    /// The dfft binary (default: next to this one).
    #[arg(long)]
    dfft: Option<PathBuf>,
    /// Data directory for the benchmark log (default: a fresh temp dir).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Concurrent keep-alive connections for ingest.
    #[arg(long, default_value_t = 128)]
    connections: usize,
    /// Concurrent keep-alive connections for reads (closed loop: by Little's
    /// law latency grows with them once the server is saturated).
    #[arg(long, default_value_t = 32)]
    read_connections: usize,
    /// Statements for the maximum-rate ingest run (half as many follow at half rate).
    #[arg(long, default_value_t = 100_000)]
    ingest: usize,
    /// Seconds per read benchmark.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Log sizes to grow to and measure at (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "1000000")]
    scale: Vec<u64>,
    /// Enrolled authorities the statements are spread over.
    #[arg(long, default_value_t = 32)]
    authorities: usize,
    /// Envelopes per request in the batched ingest runs (POST
    /// /v1/entries/batch), comma-separated; 0 skips them.
    #[arg(long, value_delimiter = ',', default_value = "64,256")]
    batch: Vec<usize>,
    /// Only the read runs, `--rounds` times, against the log already in
    /// `--data` (kept): for a log grown by an earlier run.
    #[arg(long, requires = "data")]
    reads_only: bool,
    /// Rounds of read runs with `--reads-only` (the first one meets cold
    /// caches).
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// Only the witness run: add-checkpoint requests/s against a `dfft
    /// witness` child process, state fsynced (`--seconds` long).
    #[arg(long)]
    witness: bool,
    /// Logs in the witness's list for `--witness`, one connection each.
    #[arg(long, default_value_t = 64)]
    witness_logs: usize,
    /// Only the witnessed ingest runs: `--ingest` statements into a fresh
    /// log without witnesses, then into one with `--witnesses` local `dfft
    /// witness` processes and a quorum of `--quorum` (module `witnessed`).
    #[arg(long)]
    witnessed: bool,
    /// Witnesses for `--witnessed`.
    #[arg(long, default_value_t = 3)]
    witnesses: usize,
    /// Quorum for `--witnessed`.
    #[arg(long, default_value_t = 2)]
    quorum: usize,
    /// Round intervals (ms, comma-separated) for `--witnessed`: one
    /// witnessed run each (`dfft serve --witness-interval-ms`).
    #[arg(long, value_delimiter = ',', default_value = "10")]
    witness_intervals: Vec<u64>,
    /// Only the counterparty runs: a generated DPF-sized programme on the
    /// demo, a bulk check and single answers (module `counterparties`).
    #[arg(long)]
    counterparties: bool,
    /// Active generated organisations for `--counterparties`.
    #[arg(long, default_value_t = 3000)]
    active: usize,
    /// Inactive generated organisations for `--counterparties`.
    #[arg(long, default_value_t = 4000)]
    inactive: usize,
    /// Rows of the bulk check for `--counterparties`.
    #[arg(long, default_value_t = 10_000)]
    checks: usize,
}

/// `--reads-only`: restart the server on an existing log and read.
fn reads_only(args: &Args, dfft: &Path, data: &Path) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let (server, ready) = start_server(dfft, data, false)?;
    rt.block_on(wait_ready(&server.addr))?;
    let size = rt.block_on(size_of(&server.addr))?;
    let idle = wait_idle(server.child.id(), Duration::from_secs(900));
    println!("| at {size} entries | value |\n|---|---|");
    println!(
        "| restart to listening | {:.0} ms |",
        ready.as_secs_f64() * 1e3
    );
    println!("| server idle after | {:.0} s |", idle.as_secs_f64());
    println!("| server RSS before the reads | {} |", server.rss());
    for round in 1..=args.rounds {
        println!();
        println!("{TABLE_HEAD}");
        rt.block_on(read_suite(
            server.child.id(),
            &server.addr,
            args.read_connections,
            args.seconds,
            size,
            &format!("{size} entries, round {round}"),
        ))?;
    }
    println!();
    println!("| server RSS after the reads | {} |", server.rss());
    server.stop();
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dfft = match &args.dfft {
        Some(p) => p.clone(),
        None => std::env::current_exe()?.with_file_name("dfft"),
    };
    let tmp;
    let data = match &args.data {
        Some(d) => d.clone(),
        None => {
            tmp = std::env::temp_dir().join(format!("dfft-bench-{}", std::process::id()));
            tmp.clone()
        }
    };
    if args.reads_only {
        return reads_only(&args, &dfft, &data);
    }
    if args.counterparties {
        let _ = std::fs::remove_dir_all(&data);
        println!("# dfft-bench --counterparties");
        println!();
        println!(
            "machine: {} cores ({}), {}",
            threads(),
            cpu_model(),
            mem_total()
        );
        println!();
        let r = counterparties::run(
            &dfft,
            &data,
            args.active,
            args.inactive,
            args.checks,
            args.read_connections,
            args.seconds,
        );
        if args.data.is_none() {
            let _ = std::fs::remove_dir_all(&data);
        }
        return r;
    }
    if args.witnessed {
        let _ = std::fs::remove_dir_all(&data);
        println!("# dfft-bench --witnessed");
        println!();
        println!(
            "machine: {} cores ({}), {}",
            threads(),
            cpu_model(),
            mem_total()
        );
        println!();
        let r = witnessed::run(
            &dfft,
            &data,
            &args.witness_intervals,
            args.witnesses,
            args.quorum,
            args.ingest,
            args.connections,
            args.authorities,
        );
        if args.data.is_none() {
            let _ = std::fs::remove_dir_all(&data);
        }
        return r;
    }
    if args.witness {
        let _ = std::fs::remove_dir_all(&data);
        println!("# dfft-bench --witness");
        println!();
        println!(
            "machine: {} cores ({}), {}",
            threads(),
            cpu_model(),
            mem_total()
        );
        println!();
        let r = witness::run(&dfft, &data, args.witness_logs, args.seconds);
        if args.data.is_none() {
            let _ = std::fs::remove_dir_all(&data);
        }
        return r;
    }
    let _ = std::fs::remove_dir_all(&data);
    println!("# dfft-bench");
    println!();
    println!(
        "machine: {} cores ({}), {}",
        threads(),
        cpu_model(),
        mem_total()
    );
    println!();
    let verify = ceiling_verify();
    let sha = ceiling_sha256();
    println!("| ceiling | per second |\n|---|---|");
    println!(
        "| strict Ed25519 verifications, all {} cores | {verify:.0} |",
        threads()
    );
    println!("| SHA-256 of 65 bytes, one core | {sha:.0} |");
    println!();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let (server, _) = start_server(&dfft, &data, true)?;
    let addr = server.addr.clone();
    let keys = authority_keys(args.authorities);
    let gov = SignerKey::parse(std::fs::read_to_string(data.join("governance.key"))?.trim())?;
    // The server names the governance key it creates `<origin>/governance`.
    let origin = gov
        .name()
        .strip_suffix("/governance")
        .context("governance key name")?
        .to_owned();
    rt.block_on(async {
        let mut c = Conn::open(&addr).await?;
        for k in &keys {
            let st = json!({"kind": "authority", "action": "enroll", "authority": k.name(), "name": "Benchmark authority",
                "log": origin, "competence": ["EEA"], "keys": [k.verifier().to_string()], "issued_at": "2026-01-01T00:00:00Z"});
            let (s, b) = c.request("POST", "/v1/entries", Some(&sign(&st, &gov))).await?;
            if s != 201 {
                bail!("enrol: {s} {}", String::from_utf8_lossy(&b));
            }
        }
        anyhow::Ok(())
    })?;

    let t = Instant::now();
    let max_set = Arc::new(Bodies::single(presign(&keys, "max", 0, args.ingest)));
    let half_set = Arc::new(Bodies::single(presign(&keys, "half", 0, args.ingest / 2)));
    let batch_sets: Vec<(usize, Arc<Bodies>, Arc<Bodies>)> = args
        .batch
        .iter()
        .filter(|&&n| n > 1)
        .map(|&n| {
            (
                n,
                Arc::new(Bodies::batched(
                    presign(&keys, &format!("b{n}max"), 0, args.ingest),
                    n,
                )),
                Arc::new(Bodies::batched(
                    presign(&keys, &format!("b{n}half"), 0, args.ingest / 2),
                    n,
                )),
            )
        })
        .collect();
    eprintln!("pre-signed the statements in {:.1?}", t.elapsed());

    let pid = server.child.id();
    println!("{TABLE_HEAD}");
    let max = with_cpu(pid, || {
        rt.block_on(ingest(&addr, args.connections, max_set, None))
    })?;
    row(
        &format!("ingest, max rate, {} connections", args.connections),
        &max,
    );
    let half_rate = max.rate() / 2.0;
    let half = with_cpu(pid, || {
        rt.block_on(ingest(&addr, args.connections, half_set, Some(half_rate)))
    })?;
    row(
        &format!("ingest at half the max ({half_rate:.0}/s offered)"),
        &half,
    );
    let mut best = max.clone();
    let mut per_entry = Vec::new();
    for (n, bmax_set, bhalf_set) in batch_sets {
        let conns = (args.connections / 8).max(2);
        let bmax = with_cpu(pid, || rt.block_on(ingest(&addr, conns, bmax_set, None)))?;
        row(
            &format!("ingest, batches of {n}, max rate, {conns} connections (latency per request)"),
            &bmax,
        );
        let bhalf_rate = bmax.rate() / 2.0;
        let bhalf = with_cpu(pid, || {
            rt.block_on(ingest(&addr, conns, bhalf_set, Some(bhalf_rate / n as f64)))
        })?;
        row(
            &format!("ingest, batches of {n}, at half the max ({bhalf_rate:.0}/s offered)"),
            &bhalf,
        );
        if bmax.rate() > best.rate() {
            best = bmax.clone();
        }
        per_entry.push((n, bmax));
    }
    println!();
    println!("ingest against the verification ceiling measured just before each run (target: rate >= 50% of it, and >= 20,000/s):");
    println!("- single envelopes: {}", ratio_note(&max));
    for (n, r) in &per_entry {
        println!("- batches of {n}: {}", ratio_note(r));
    }
    println!(
        "- best: {:.0}/s = {:.1}% of its ceiling",
        best.rate(),
        100.0 * best.rate() / best.ceiling
    );
    println!();
    println!("{TABLE_HEAD}");
    let size = rt.block_on(size_of(&addr))?;
    rt.block_on(read_suite(
        pid,
        &addr,
        args.read_connections,
        args.seconds,
        size,
        &format!("{size} entries"),
    ))?;
    println!();

    // Scale: grow the log through the sequencer in-process (bulk load),
    // then restart the real server on it and measure.
    let mut server = server;
    for &target in &args.scale {
        let have = rt.block_on(size_of(&server.addr))?;
        let mut grown = None;
        if target > have {
            server.stop();
            let t = Instant::now();
            bulk_load(&data, &keys, target)?;
            let secs = t.elapsed().as_secs_f64();
            grown = Some(((target - have) as f64 / secs, secs));
            let (s, _) = start_server(&dfft, &data, false)?;
            server = s;
            rt.block_on(wait_ready(&server.addr))?;
        }
        let size = rt.block_on(size_of(&server.addr))?;
        let disk = dir_bytes(&data.join("db"));
        server.stop();
        let (s2, ready) = start_server(&dfft, &data, false)?;
        rt.block_on(wait_ready(&s2.addr))?;
        println!("| at {size} entries | value |\n|---|---|");
        if let Some((rate, secs)) = grown {
            println!("| bulk load through the sequencer (sign + verify + commit) | {rate:.0} entries/s ({secs:.0} s) |");
        }
        println!(
            "| disk bytes per entry | {:.0} |",
            disk as f64 / size as f64
        );
        println!(
            "| restart to listening | {:.0} ms |",
            ready.as_secs_f64() * 1e3
        );
        println!("| server RSS after restart | {} |", s2.rss());
        let idle = wait_idle(s2.child.id(), Duration::from_secs(900));
        println!(
            "| server idle (background compaction done) after | {:.0} s |",
            idle.as_secs_f64()
        );
        println!();
        println!("{TABLE_HEAD}");
        rt.block_on(read_suite(
            s2.child.id(),
            &s2.addr,
            args.read_connections,
            args.seconds,
            size,
            &format!("{size} entries"),
        ))?;
        println!();
        println!("| at {size} entries | value |\n|---|---|");
        println!("| server RSS after the reads | {} |", s2.rss());
        println!();
        server = s2;
    }
    server.stop();
    if args.data.is_none() {
        let _ = std::fs::remove_dir_all(&data);
    }
    Ok(())
}
