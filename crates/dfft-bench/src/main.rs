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
//!
//! The load generator shares the machine with the server: on 2 cores both
//! compete, which is why the ratios to the ceilings are reported.

use anyhow::{bail, Context as _};
use clap::Parser;
use dfft_core::note::{KeyName, SignerKey};
use dfft_core::statement::dsse::Envelope;
use serde_json::{json, Value};
use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

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

/// CPU seconds (user + system) used so far by process `pid`.
fn cpu_secs(pid: u32) -> f64 {
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
fn wait_idle(pid: u32, limit: Duration) -> Duration {
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
struct Cpu {
    server: f64,
    generator: f64,
}

fn cpu_now(server: u32) -> Cpu {
    Cpu {
        server: cpu_secs(server),
        generator: cpu_secs(std::process::id()),
    }
}

fn threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

// ---------------------------------------------------------------- ceilings

fn ceiling_verify() -> f64 {
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
                let sig = k.sign(&msg);
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

fn ceiling_sha256() -> f64 {
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

// ------------------------------------------------------------ the server

struct Server {
    child: Child,
    addr: String,
}

fn start_server(dfft: &Path, data: &Path, demo: bool) -> anyhow::Result<(Server, Duration)> {
    let t = Instant::now();
    let mut cmd = Command::new(dfft);
    if demo {
        cmd.args(["demo", "--listen", "127.0.0.1:0", "--data"])
            .arg(data);
    } else {
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data);
    }
    let mut child = cmd
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("spawning dfft")?;
    let stderr = child.stderr.take().context("stderr")?;
    let mut lines = std::io::BufReader::new(stderr).lines();
    let base = loop {
        let Some(Ok(line)) = lines.next() else {
            bail!("dfft exited before listening")
        };
        if let Some(a) = line
            .strip_prefix("listening on ")
            .or_else(|| line.strip_prefix("demo: listening on "))
        {
            break a.trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines.by_ref() {});
    let addr = base.trim_start_matches("http://").to_string();
    Ok((Server { child, addr }, t.elapsed()))
}

impl Server {
    fn status_kib(&self, field: &str) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with(field))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            })
            .unwrap_or(0)
    }
    /// RSS, with its anonymous part (the server's own memory) and its
    /// file-backed part (mapped files, page cache) in parentheses.
    fn rss(&self) -> String {
        format!(
            "{:.1} MiB (anonymous {:.1}, file-backed {:.1})",
            self.status_kib("VmRSS:") as f64 / 1024.0,
            self.status_kib("RssAnon:") as f64 / 1024.0,
            self.status_kib("RssFile:") as f64 / 1024.0
        )
    }
    fn stop(mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

// ------------------------------------------------------- minimal HTTP/1.1

struct Conn {
    r: BufReader<tokio::net::tcp::OwnedReadHalf>,
    w: tokio::net::tcp::OwnedWriteHalf,
}

impl Conn {
    async fn open(addr: &str) -> anyhow::Result<Conn> {
        let s = TcpStream::connect(addr).await?;
        s.set_nodelay(true)?;
        let (r, w) = s.into_split();
        Ok(Conn {
            r: BufReader::new(r),
            w,
        })
    }

    async fn request(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> anyhow::Result<(u16, Vec<u8>)> {
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: bench\r\n");
        if let Some(b) = body {
            req.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                b.len()
            ));
        }
        req.push_str("\r\n");
        let mut buf = req.into_bytes();
        if let Some(b) = body {
            buf.extend_from_slice(b);
        }
        self.w.write_all(&buf).await?;
        let mut line = String::new();
        self.r.read_line(&mut line).await?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .context("status line")?;
        let mut len = 0usize;
        loop {
            line.clear();
            self.r.read_line(&mut line).await?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().context("content-length")?;
                }
            }
        }
        let mut body = vec![0u8; len];
        self.r.read_exact(&mut body).await?;
        Ok((status, body))
    }
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[derive(Debug, Clone, Default)]
struct Run {
    ops: usize,
    secs: f64,
    lat_ms: Vec<f64>,
    errors: usize,
    /// CPU seconds the server and the generator used during the run.
    cpu: Cpu,
    /// The all-core verification ceiling measured just before the run.
    ceiling: f64,
}

impl Run {
    fn rate(&self) -> f64 {
        self.ops as f64 / self.secs
    }
    fn p(&self, q: f64) -> f64 {
        pct(&self.lat_ms, q)
    }
    fn max(&self) -> f64 {
        self.lat_ms.last().copied().unwrap_or(0.0)
    }
    /// Cores the server kept busy.
    fn server_cores(&self) -> f64 {
        self.cpu.server / self.secs
    }
    /// Cores the load generator kept busy.
    fn generator_cores(&self) -> f64 {
        self.cpu.generator / self.secs
    }
    /// Server CPU microseconds per operation.
    fn server_us_per_op(&self) -> f64 {
        1e6 * self.cpu.server / self.ops.max(1) as f64
    }
}

/// Runs `f`, recording the CPU the server (`pid`) and this process used,
/// and the verification ceiling measured right before (shared machines
/// drift by tens of percent between minutes; each ratio uses its own).
fn with_cpu(pid: u32, f: impl FnOnce() -> anyhow::Result<Run>) -> anyhow::Result<Run> {
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
fn ratio_note(r: &Run) -> String {
    let one = 1e6 * threads() as f64 / r.ceiling;
    format!(
        "ceiling {:.0}/s; rate {:.1}% of it; server CPU per entry {:.1}x one verification",
        r.ceiling,
        100.0 * r.rate() / r.ceiling,
        r.server_us_per_op() / one
    )
}

/// Each connection's latencies (ms), error count and operations done.
type Task = tokio::task::JoinHandle<anyhow::Result<(Vec<f64>, usize, usize)>>;

/// Waits for every connection and merges what they measured.
async fn merge(tasks: Vec<Task>, start: Instant) -> anyhow::Result<Run> {
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

/// Request bodies for an ingest run: single envelopes for `/v1/entries`
/// (`per_request == 1`) or JSON arrays of `per_request` envelopes for
/// `/v1/entries/batch`.
struct Bodies {
    bodies: Vec<Vec<u8>>,
    /// Envelopes in each body.
    counts: Vec<usize>,
    per_request: usize,
}

impl Bodies {
    fn single(envelopes: Vec<Vec<u8>>) -> Bodies {
        Bodies {
            counts: vec![1; envelopes.len()],
            bodies: envelopes,
            per_request: 1,
        }
    }
    fn batched(envelopes: Vec<Vec<u8>>, n: usize) -> Bodies {
        let counts = envelopes.chunks(n.max(1)).map(|c| c.len()).collect();
        let bodies = envelopes
            .chunks(n.max(1))
            .map(|c| {
                let mut b = Vec::with_capacity(c.iter().map(|e| e.len() + 1).sum::<usize>() + 2);
                b.push(b'[');
                for (i, e) in c.iter().enumerate() {
                    if i > 0 {
                        b.push(b',');
                    }
                    b.extend_from_slice(e);
                }
                b.push(b']');
                b
            })
            .collect();
        Bodies {
            bodies,
            counts,
            per_request: n.max(1),
        }
    }
    fn path(&self) -> &'static str {
        if self.per_request == 1 {
            "/v1/entries"
        } else {
            "/v1/entries/batch"
        }
    }
}

/// How many results of a batch answer say 201 (no JSON parse: the
/// generator's CPU is the server's too on this machine).
fn count_created(body: &[u8]) -> usize {
    const NEEDLE: &[u8] = b"\"status\":201";
    body.windows(NEEDLE.len()).filter(|w| *w == NEEDLE).count()
}

/// POSTs every body, closed loop (`rate == None`, in requests per second)
/// or paced. Counts entries; latency is per request.
async fn ingest(
    addr: &str,
    conns: usize,
    entries: Arc<Bodies>,
    rate: Option<f64>,
) -> anyhow::Result<Run> {
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let (next, entries, addr) = (next.clone(), entries.clone(), addr.to_string());
        tasks.push(tokio::spawn(async move {
            let mut c = Conn::open(&addr).await?;
            let mut lat = Vec::new();
            let mut errors = 0;
            let mut entered = 0;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= entries.bodies.len() {
                    break;
                }
                let t0 = match rate {
                    Some(r) => {
                        let due = start + Duration::from_secs_f64(i as f64 / r);
                        tokio::time::sleep_until(due.into()).await;
                        due
                    }
                    None => Instant::now(),
                };
                let (s, body) = c
                    .request("POST", entries.path(), Some(&entries.bodies[i]))
                    .await?;
                let created = if entries.per_request == 1 {
                    usize::from(s == 201)
                } else if s == 200 {
                    count_created(&body)
                } else {
                    0
                };
                lat.push(t0.elapsed().as_secs_f64() * 1e3);
                entered += created;
                errors += entries.counts[i].saturating_sub(created);
            }
            anyhow::Ok((lat, errors, entered))
        }));
    }
    merge(tasks, start).await
}

/// Makes a request path from a random number.
type PathGen = Arc<dyn Fn(u64) -> String + Send + Sync>;

/// GETs paths from `gen` for `secs` seconds, closed loop.
async fn reads(
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

// ------------------------------------------------------------ statements

fn sign(statement: &Value, key: &SignerKey) -> Vec<u8> {
    let bytes = serde_json::to_vec(statement).expect("json");
    Envelope::sign(bytes, &[key])
        .expect("sign")
        .canonical_bytes()
}

fn authority_keys(n: usize) -> Vec<SignerKey> {
    (0..n)
        .map(|i| {
            SignerKey::from_seed(
                KeyName::new(&format!("bench.a{i}")).unwrap(),
                [(i + 1) as u8; 32],
            )
        })
        .collect()
}

/// Signs statements `[from, to)` on all cores.
fn presign(keys: &[SignerKey], run: &str, from: usize, to: usize) -> Vec<Vec<u8>> {
    let n = threads();
    let keys = Arc::new(keys.to_vec());
    let chunk = (to - from).div_ceil(n);
    let hs: Vec<_> = (0..n)
        .map(|t| {
            let keys = keys.clone();
            let run = run.to_string();
            std::thread::spawn(move || {
                let lo = from + t * chunk;
                let hi = (lo + chunk).min(to);
                (lo..hi)
                    .map(|i| {
                        let k = &keys[i % keys.len()];
                        let st = json!({"kind": "recognition", "authority": k.name(), "record": format!("{}/{run}/{i}", k.name()),
                            "action": "granted", "mechanism": "certification", "from": "EEA", "to": "AE-DU",
                            "legal_reference": {"id": "BENCH:1", "title": "benchmark statement"},
                            "effective": "2024-01-01", "issued_at": "2026-01-01T00:00:00Z"});
                        sign(&st, k)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    hs.into_iter()
        .flat_map(|h| h.join().unwrap_or_default())
        .collect()
}

async fn size_of(addr: &str) -> anyhow::Result<u64> {
    let mut c = Conn::open(addr).await?;
    let (_, b) = c.request("GET", "/v1/info", None).await?;
    let v: Value = serde_json::from_slice(&b)?;
    v["tree_size"].as_u64().context("tree_size")
}

async fn wait_ready(addr: &str) -> anyhow::Result<()> {
    for _ in 0..2000 {
        if let Ok(mut c) = Conn::open(addr).await {
            if let Ok((200, _)) = c.request("GET", "/healthz", None).await {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    bail!("server not ready")
}

fn dir_bytes(p: &Path) -> u64 {
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

fn row(name: &str, r: &Run) {
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

const TABLE_HEAD: &str = "| run | rate | p50 ms | p99 ms | max ms | server cores | generator cores | server CPU µs/op | notes |\n|---|---|---|---|---|---|---|---|---|";

async fn read_suite(
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
            "route DE->US 2024 (real data)",
            Arc::new(|_| "/v1/route?from=DE&to=US&at=2024-01-01".to_string()),
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

/// Grows the log in `data` to `target` entries through the real sequencer,
/// without HTTP: producer threads sign statements and verify them as the
/// server's handlers do; this thread sequences them in batches of 8,192, each
/// one synced RocksDB write with its signed checkpoint.
fn bulk_load(data: &Path, keys: &[SignerKey], target: u64) -> anyhow::Result<()> {
    use dfft_core::statement::registry::{verify_signatures, Submission};
    use dfft_server::sequencer::{Job, Sequencer, NS_GENESIS};
    let store = Arc::new(dfft_store::Store::open(&data.join("db"))?);
    let key = dfft_server::keys::load(&data.join("log.key"))?;
    let origin = String::from_utf8(store.state(NS_GENESIS, b"origin")?.context("origin")?)?;
    let start = store.size()?;
    let mut seq = Sequencer::open(
        store as Arc<dyn dfft_store::LogStore>,
        key,
        origin,
        dfft_server::metrics::Metrics::default(),
    )?;
    // Governance and authorities as the sequencer loaded them (one reader
    // of the registry-state schema: the sequencer's).
    let snapshot = seq.shared().snapshot();
    let gov = snapshot
        .governance
        .clone()
        .context("the log has no genesis")?;
    let auths = snapshot.authorities.clone();
    let (tx, rx) = std::sync::mpsc::sync_channel::<Job>(65_536);
    let next = Arc::new(AtomicU64::new(start));
    let (gov, auths, keys) = (Arc::new(gov), Arc::new(auths), Arc::new(keys.to_vec()));
    let producers: Vec<_> = (0..threads())
        .map(|_| {
            let (tx, next, gov, auths, keys) = (tx.clone(), next.clone(), gov.clone(), auths.clone(), keys.clone());
            std::thread::spawn(move || -> anyhow::Result<()> {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= target {
                        return Ok(());
                    }
                    let k = &keys[i as usize % keys.len()];
                    let st = json!({"kind": "recognition", "authority": k.name(), "record": format!("{}/bulk/{i}", k.name()),
                        "action": "granted", "mechanism": "certification", "from": "EEA", "to": "AE-DU",
                        "legal_reference": {"id": "BENCH:1", "title": "benchmark statement"},
                        "effective": "2024-01-01", "issued_at": "2026-01-01T00:00:00Z"});
                    let env = Envelope::sign(serde_json::to_vec(&st)?, &[k])?;
                    let sub = Submission::from_envelope(env)?;
                    let verified = verify_signatures(sub, Some(&gov), auths.get(k.name()))?;
                    let leaf = dfft_core::merkle::leaf_hash(verified.entry());
                    let (reply, _) = tokio::sync::oneshot::channel();
                    if tx.send(Job { verified, leaf, queued: Instant::now(), reply }).is_err() {
                        return Ok(());
                    }
                }
            })
        })
        .collect();
    drop(tx);
    let t = Instant::now();
    let mut done = start;
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < 8192 {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        let before = done;
        done += batch.len() as u64;
        seq.process(batch);
        if done / 500_000 != before / 500_000 {
            eprintln!(
                "bulk load: {done} entries, {:.0}/s",
                (done - start) as f64 / t.elapsed().as_secs_f64()
            );
        }
    }
    for p in producers {
        p.join()
            .map_err(|_| anyhow::anyhow!("producer panicked"))??;
    }
    Ok(())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn mem_total() -> String {
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
