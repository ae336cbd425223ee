//! Ingest: pre-signed statements of enrolled benchmark authorities, POSTed
//! singly or in batches over many keep-alive connections (closed loop or
//! paced), and the bulk load that grows the log through the real sequencer
//! in-process, without HTTP. Leaves out reads and the report's layout.

use crate::http::Conn;
use crate::machine::threads;
use crate::report::{merge, Run};
use anyhow::Context as _;
use dfft_core::note::{KeyName, SignerKey};
use dfft_core::statement::dsse::Envelope;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Request bodies for an ingest run: single envelopes for `/v1/entries`
/// (`per_request == 1`) or JSON arrays of `per_request` envelopes for
/// `/v1/entries/batch`.
pub struct Bodies {
    bodies: Vec<Vec<u8>>,
    /// Envelopes in each body.
    counts: Vec<usize>,
    per_request: usize,
}

impl Bodies {
    pub fn single(envelopes: Vec<Vec<u8>>) -> Bodies {
        Bodies {
            counts: vec![1; envelopes.len()],
            bodies: envelopes,
            per_request: 1,
        }
    }
    pub fn batched(envelopes: Vec<Vec<u8>>, n: usize) -> Bodies {
        let groups = envelopes
            .chunks(n.max(1))
            .map(<[Vec<u8>]>::to_vec)
            .collect();
        Bodies {
            per_request: n.max(1),
            ..Bodies::from_batches(groups)
        }
    }
    /// One batch body per group of envelopes (groups of any size up to
    /// the server's batch cap), in order.
    pub fn from_batches(groups: Vec<Vec<Vec<u8>>>) -> Bodies {
        let counts = groups.iter().map(Vec::len).collect();
        let bodies = groups
            .iter()
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
            per_request: 64,
        }
    }

    pub fn path(&self) -> &'static str {
        if self.per_request == 1 {
            "/v1/entries"
        } else {
            "/v1/entries/batch"
        }
    }
}

/// How many results of a batch answer say 201 (no JSON parse: the
/// generator's CPU is the server's too on this machine).
pub fn count_created(body: &[u8]) -> usize {
    const NEEDLE: &[u8] = b"\"status\":201";
    body.windows(NEEDLE.len()).filter(|w| *w == NEEDLE).count()
}

/// POSTs every body, closed loop (`rate == None`, in requests per second)
/// or paced. Counts entries; latency is per request.
pub async fn ingest(
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

// ------------------------------------------------------------ statements

pub fn sign(statement: &Value, key: &SignerKey) -> Vec<u8> {
    let bytes = serde_json::to_vec(statement).expect("json");
    Envelope::sign(bytes, &[key])
        .expect("sign")
        .canonical_bytes()
}

pub fn authority_keys(n: usize) -> Vec<SignerKey> {
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
pub fn presign(keys: &[SignerKey], run: &str, from: usize, to: usize) -> Vec<Vec<u8>> {
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

/// Grows the log in `data` to `target` entries through the real sequencer,
/// without HTTP: producer threads sign statements and verify them as the
/// server's handlers do; this thread sequences them in batches of 8,192, each
/// one synced RocksDB write with its signed checkpoint.
pub fn bulk_load(data: &Path, keys: &[SignerKey], target: u64) -> anyhow::Result<()> {
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
