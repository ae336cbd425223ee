//! `--counterparties`: a generated, clearly labelled DPF-sized programme on
//! the demo registry, then the counterparty measurements of issue 16.
//!
//! 1. `dfft demo` (the real data, with `us.doc` administering the DPF
//!    programmes), then `--active` + `--inactive` generated organisations
//!    ("Generated organisation N (benchmark, not real)") under
//!    `us.doc/us-doc-dpf-eu-2023`, each with five years of events from
//!    2021-07 (listed, a yearly recertification; the inactive ones end
//!    lapsed, withdrawn or removed, some active ones lapse and are
//!    reinstated), signed with the demo's `us.doc` key and submitted through
//!    the real batch API, each organisation's history inside one batch so
//!    that its events keep their order.
//! 2. A bulk check: `dfft check --counterparties` of `--checks` rows
//!    (random organisations, random kinds of data), every answer verified
//!    and saved, timed end to end as a child process.
//! 3. Single counterparty answers: closed loop (maximum rate), then paced
//!    at half of it (open loop: latency from each request's scheduled
//!    time).
//!
//! Leaves out: organisation search timing (one scan per search), and
//! other programmes (the UK Extension is the same code).

use crate::http::Conn;
use crate::ingest::{ingest, sign, Bodies};
use crate::machine::cpu_now;
use crate::reads::{reads, PathGen};
use crate::report::{merge, row, Run, TABLE_HEAD};
use crate::server::start_with;
use anyhow::{bail, Context as _};
use dfft_core::note::SignerKey;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const PROGRAMME: &str = "us.doc/us-doc-dpf-eu-2023";

fn rng(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

/// The days from 2021-07-01 on, as `YYYY-MM-DD` (index: days after it).
fn days(n: usize) -> Vec<String> {
    let mut d = dfft_core::statement::Date::parse("2021-07-01").expect("date");
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(d.to_string());
        d = d.next_day().expect("day");
    }
    out
}

/// The history of generated organisation `i`: (action, day offset, data).
fn history(
    i: usize,
    active: bool,
    seed: &mut u64,
) -> Vec<(&'static str, u64, &'static [&'static str])> {
    let data: &'static [&'static str] = if rng(seed) % 10 < 7 {
        &["hr", "non_hr"]
    } else {
        &["non_hr"]
    };
    let start = (i as u64 * 7) % 360;
    let mut ev = vec![("listed", start, data)];
    for y in 1..5u64 {
        ev.push(("recertified", start + 365 * y, data));
    }
    if active {
        if rng(seed) % 10 == 0 {
            ev.push(("lapsed", start + 365 * 4 + 30, data));
            ev.push(("reinstated", start + 365 * 4 + 60, data));
        }
    } else {
        let when = start + 365 * (1 + rng(seed) % 4) + 20;
        ev.retain(|e| e.1 < when);
        let end = match rng(seed) % 20 {
            0..=11 => "lapsed",
            12..=16 => "withdrawn",
            _ => "removed",
        };
        ev.push((end, when, data));
    }
    ev
}

fn statement(i: usize, action: &str, day: &str, data: &[&str]) -> Value {
    let org = format!("gen-{i:05}");
    let mut s = json!({"kind": "listing", "authority": "us.doc", "programme": PROGRAMME,
        "record": format!("{PROGRAMME}/{org}"), "action": action,
        "organisation": {"programme_id": org, "name": format!("Generated organisation {i} (benchmark, not real)")},
        "data": data, "effective": day, "issued_at": "2026-01-01T00:00:00Z"});
    if i % 10 == 0 {
        s["organisation"]["former_names"] = json!([format!("Generated former name {i}")]);
    }
    if action == "removed" {
        s["reason"] = json!("generated for a benchmark");
    }
    s
}

/// Paced GETs at `rate` per second for `secs`: latency from each request's
/// scheduled time.
async fn paced(
    addr: &str,
    conns: usize,
    secs: u64,
    rate: f64,
    gen: PathGen,
) -> anyhow::Result<Run> {
    let start = Instant::now();
    let total = (rate * secs as f64) as usize;
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let (gen, addr, next) = (gen.clone(), addr.to_string(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut c = Conn::open(&addr).await?;
            let (mut lat, mut errors) = (Vec::new(), 0);
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let due = start + Duration::from_secs_f64(i as f64 / rate);
                tokio::time::sleep_until(due.into()).await;
                let (s, _) = c.request("GET", &gen(i as u64 * 2654435761), None).await?;
                if s != 200 {
                    errors += 1;
                }
                lat.push(due.elapsed().as_secs_f64() * 1e3);
            }
            let ops = lat.len();
            anyhow::Ok((lat, errors, ops))
        }));
    }
    merge(tasks, start).await
}

/// The run (module docs).
#[allow(clippy::too_many_arguments)]
pub fn run(
    dfft: &Path,
    data: &Path,
    active: usize,
    inactive: usize,
    checks: usize,
    conns: usize,
    secs: u64,
) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let t = Instant::now();
    let (server, _) = start_with(dfft, data, &["demo"])?;
    println!(
        "demo started and loaded in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let key = SignerKey::parse(
        std::fs::read_to_string(data.join("demo-keys/us.doc.DEMO.key"))
            .context("the demo's us.doc key")?
            .trim(),
    )?;
    let vkey = std::fs::read_to_string(data.join("log.vkey")).context("log.vkey")?;
    let vkey = vkey.trim();
    // Histories, packed whole into batches of at most 64 envelopes.
    let n = active + inactive;
    let mut seed = 0x5eed_u64;
    let mut batches: Vec<Vec<Vec<u8>>> = vec![Vec::new()];
    let mut events = 0;
    let t = Instant::now();
    let calendar = days(2200);
    for i in 0..n {
        let h = history(i, i < active, &mut seed);
        if batches.last().map_or(0, Vec::len) + h.len() > 64 {
            batches.push(Vec::new());
        }
        for (action, day, d) in h {
            let env = sign(&statement(i, action, &calendar[day as usize], d), &key);
            batches.last_mut().expect("a batch").push(env);
            events += 1;
        }
    }
    println!(
        "signed {events} listing events of {n} organisations in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let bodies = Bodies::from_batches(batches);
    let load = rt.block_on(ingest(&server.addr, 4, Arc::new(bodies), None))?;
    if load.errors > 0 {
        bail!("{} listing events were refused", load.errors);
    }
    println!(
        "loaded {} listing events in {:.1} s ({:.0}/s through POST /v1/entries/batch)",
        load.ops,
        load.secs,
        load.ops as f64 / load.secs
    );
    println!("server RSS after the load: {}", server.rss());

    // The bulk check.
    let dir = data.with_extension("bulk");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let csv = dir.join("parties.csv");
    let mut text = String::from("org,to,at,data\n");
    for _ in 0..checks {
        let i = rng(&mut seed) as usize % n;
        let d = ["hr", "non_hr", ""][rng(&mut seed) as usize % 3];
        text.push_str(&format!("gen-{i:05},US,2026-06-01,{d}\n"));
    }
    std::fs::write(&csv, text)?;
    for save in [true, false] {
        let answers = dir.join("answers");
        let _ = std::fs::remove_dir_all(&answers);
        let mut cmd = std::process::Command::new(dfft);
        cmd.args(["check", "--counterparties"]).arg(&csv).args([
            "--from",
            "DE",
            "--log",
            &format!("http://{}", server.addr),
            "--log-key",
            vkey,
        ]);
        if save {
            cmd.arg("--answers").arg(&answers);
        }
        let t = Instant::now();
        let out = cmd.output()?;
        let bulk = t.elapsed();
        if !out.status.success() {
            bail!(
                "dfft check --counterparties failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let rows = stdout.lines().count().saturating_sub(1);
        let listed = stdout.lines().filter(|l| l.contains(",listed,")).count();
        let (saved, bytes) = if save {
            let mut n = 0;
            let mut b = 0;
            for e in std::fs::read_dir(&answers)? {
                n += 1;
                b += e?.metadata()?.len();
            }
            (n, b)
        } else {
            (0, 0)
        };
        println!(
            "bulk{}: {rows} counterparties checked and verified in {:.2} s ({:.0}/s; {listed} listed; {saved} answer files, {:.0} MB)",
            if save { ", answers saved" } else { ", answers not saved" },
            bulk.as_secs_f64(),
            rows as f64 / bulk.as_secs_f64(),
            bytes as f64 / 1e6
        );
    }

    // Single answers.
    let gen: PathGen = Arc::new(move |r| {
        format!(
            "/v1/counterparty?from=DE&to=US&org=gen-{:05}&at=2026-06-01",
            r as usize % n
        )
    });
    println!();
    println!("{TABLE_HEAD}");
    let pid = server.child.id();
    let before = cpu_now(pid);
    let mut max = rt.block_on(reads(&server.addr, conns, secs, gen.clone()))?;
    let after = cpu_now(pid);
    max.cpu = crate::machine::Cpu {
        server: after.server - before.server,
        generator: after.generator - before.generator,
    };
    row(
        &format!("counterparty answer, {n} organisations, closed loop, {conns} connections"),
        &max,
    );
    let half = max.rate() / 2.0;
    let before = cpu_now(pid);
    let mut h = rt.block_on(paced(&server.addr, conns, secs, half, gen))?;
    let after = cpu_now(pid);
    h.cpu = crate::machine::Cpu {
        server: after.server - before.server,
        generator: after.generator - before.generator,
    };
    row(
        &format!("counterparty answer at half rate ({half:.0}/s), open loop"),
        &h,
    );
    server.stop();
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
