//! `--witnessed`: ingest with and without witnesses, on fresh logs of the
//! same `dfft` binary: first `dfft serve` alone, then `dfft serve
//! --witness-policy` with `--witnesses` local `dfft witness` child processes
//! (ML-DSA-44 keys in the policy, as C2SP recommends) and a quorum of
//! `--quorum` of them. Each: maximum rate (closed loop) and half of it
//! (open loop: submit-to-receipt latency from each request's scheduled
//! time). The witnesses run on the same cores as the server and the load
//! generator, so their CPU is part of what the witnessed run pays.
//!
//! Leaves out: the witness's own throughput (module `witness`), and remote
//! witnesses (their round trip adds to every receipt's latency, not to the
//! rate: one round covers every batch committed before it).

use crate::http::Conn;
use crate::ingest::{authority_keys, ingest, presign, sign, Bodies};
use crate::report::{row, with_cpu, Run, TABLE_HEAD};
use crate::server::{start_with, Server};
use anyhow::bail;
use dfft_core::note::SignerKey;
use serde_json::json;
use std::path::Path;
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ORIGIN: &str = "bench.dfft.example/log";

struct Witness {
    child: Child,
}

impl Drop for Witness {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts a `dfft witness` on a free port; returns it, its URL and its
/// ML-DSA vkey.
fn start_witness(
    dfft: &Path,
    dir: &Path,
    name: &str,
    list: &Path,
) -> anyhow::Result<(Witness, String, String)> {
    let (child, addr) = crate::server::start_witness(dfft, dir, name, list, &[])?;
    let url = format!("http://{addr}");
    let vkey = std::fs::read_to_string(dir.join("witness-mldsa.vkey"))?
        .trim()
        .to_string();
    Ok((Witness { child }, url, vkey))
}

/// One fresh log: enrol, ingest at max and half rate; returns both runs.
#[allow(clippy::too_many_arguments)]
fn one(
    dfft: &Path,
    dir: &Path,
    interval_ms: u64,
    witnesses: usize,
    quorum: usize,
    n: usize,
    conns: usize,
    authorities: usize,
) -> anyhow::Result<(Run, Run)> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir)?;
    let mut procs = Vec::new();
    let mut args: Vec<String> = vec!["serve".into(), "--origin".into(), ORIGIN.into()];
    if witnesses > 0 {
        let key = dir.join("log.key");
        let out = Command::new(dfft)
            .args(["keygen", "--name", ORIGIN, "--out"])
            .arg(&key)
            .output()?;
        if !out.status.success() {
            bail!("keygen: {}", String::from_utf8_lossy(&out.stderr));
        }
        let vkey = String::from_utf8(out.stdout)?.trim().to_string();
        let list = dir.join("logs.txt");
        std::fs::write(&list, format!("logs/v0\nvkey {vkey}\n"))?;
        let mut policy = String::new();
        let mut names = Vec::new();
        for i in 1..=witnesses {
            let (w, url, wkey) = start_witness(
                dfft,
                &dir.join(format!("w{i}")),
                &format!("w{i}.bench.example"),
                &list,
            )?;
            procs.push(w);
            policy.push_str(&format!("witness w{i} {wkey} {url}\n"));
            names.push(format!("w{i}"));
        }
        policy.push_str(&format!("group q {quorum} {}\nquorum q\n", names.join(" ")));
        let pfile = dir.join("policy.txt");
        std::fs::write(&pfile, policy)?;
        args.extend([
            "--log-key".into(),
            key.display().to_string(),
            "--witness-policy".into(),
            pfile.display().to_string(),
            "--witness-interval-ms".into(),
            interval_ms.to_string(),
        ]);
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let (server, _) = start_with(dfft, &dir.join("log"), &argv)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let r = run_on(&rt, &server, dir, n, conns, authorities);
    server.stop();
    drop(procs);
    r
}

fn run_on(
    rt: &tokio::runtime::Runtime,
    server: &Server,
    dir: &Path,
    n: usize,
    conns: usize,
    authorities: usize,
) -> anyhow::Result<(Run, Run)> {
    let addr = server.addr.clone();
    let gov = dir.join("log").join("governance.key");
    let keys = authority_keys(authorities);
    rt.block_on(async {
        // Until the genesis is cosigned (with witnesses).
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let mut c = Conn::open(&addr).await?;
            let (s, _) = c.request("GET", "/checkpoint", None).await?;
            if s == 200 {
                break;
            }
            if Instant::now() > deadline {
                bail!("no checkpoint within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let gov = SignerKey::parse(std::fs::read_to_string(&gov)?.trim())?;
        let mut c = Conn::open(&addr).await?;
        for k in &keys {
            let st = json!({"kind": "authority", "action": "enroll", "authority": k.name(), "name": "Benchmark authority",
                "log": ORIGIN, "competence": ["EEA"], "keys": [k.verifier().to_string()], "issued_at": "2026-01-01T00:00:00Z"});
            let (s, b) = c.request("POST", "/v1/entries", Some(&sign(&st, &gov))).await?;
            if s != 201 {
                bail!("enrol: {s} {}", String::from_utf8_lossy(&b));
            }
        }
        anyhow::Ok(())
    })?;
    let max_set = Arc::new(Bodies::single(presign(&keys, "max", 0, n)));
    let half_set = Arc::new(Bodies::single(presign(&keys, "half", 0, n / 2)));
    let pid = server.child.id();
    let max = with_cpu(pid, || rt.block_on(ingest(&addr, conns, max_set, None)))?;
    let half_rate = max.rate() / 2.0;
    let half = with_cpu(pid, || {
        rt.block_on(ingest(&addr, conns, half_set, Some(half_rate)))
    })?;
    Ok((max, half))
}

/// Runs both and prints the table and the ratios.
/// Runs the log without witnesses, then with them at each round interval,
/// and prints the table and the ratios.
#[allow(clippy::too_many_arguments)]
pub fn run(
    dfft: &Path,
    data: &Path,
    intervals: &[u64],
    witnesses: usize,
    quorum: usize,
    n: usize,
    conns: usize,
    authorities: usize,
) -> anyhow::Result<()> {
    println!("## ingest with {witnesses} local witnesses, quorum {quorum} of {witnesses}");
    println!();
    let (pmax, phalf) = one(dfft, &data.join("plain"), 0, 0, 0, n, conns, authorities)?;
    let mut runs = Vec::new();
    for &ms in intervals {
        let r = one(
            dfft,
            &data.join(format!("witnessed-{ms}")),
            ms,
            witnesses,
            quorum,
            n,
            conns,
            authorities,
        )?;
        runs.push((ms, r));
    }
    println!("{TABLE_HEAD}");
    row(
        &format!("no witnesses: max rate, {conns} connections"),
        &pmax,
    );
    row(
        &format!(
            "no witnesses: half the max ({:.0}/s offered)",
            pmax.rate() / 2.0
        ),
        &phalf,
    );
    for (ms, (wmax, whalf)) in &runs {
        row(
            &format!("{quorum}-of-{witnesses} witnesses, rounds >= {ms} ms apart: max rate, {conns} connections"),
            wmax,
        );
        row(
            &format!(
                "{quorum}-of-{witnesses} witnesses, rounds >= {ms} ms apart: half its max ({:.0}/s offered)",
                wmax.rate() / 2.0
            ),
            whalf,
        );
    }
    println!();
    for (ms, (wmax, whalf)) in &runs {
        println!(
            "- rounds >= {ms} ms apart: ingest {:.0}/s = {:.1}% of the {:.0}/s without witnesses (target >= 90%); submit-to-receipt at half load p50 {:.1} ms (target <= 25), p99 {:.1} ms (target <= 150); errors {} (max), {} (half)",
            wmax.rate(),
            100.0 * wmax.rate() / pmax.rate(),
            pmax.rate(),
            whalf.p(0.5),
            whalf.p(0.99),
            wmax.errors,
            whalf.errors
        );
    }
    println!(
        "- without witnesses at half load: p50 {:.1} ms, p99 {:.1} ms; errors {} (max), {} (half)",
        phalf.p(0.5),
        phalf.p(0.99),
        pmax.errors,
        phalf.errors
    );
    Ok(())
}
