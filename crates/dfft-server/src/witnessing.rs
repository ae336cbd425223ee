//! Witnessing: getting each signed checkpoint cosigned by the witnesses of
//! a C2SP tlog-policy (<https://c2sp.org/tlog-witness>), and publishing it
//! only once the policy's quorum cosigned it.
//!
//! The choice is to **fail closed**, as Tessera does by default: with a
//! policy whose quorum is not `none`, no checkpoint is served, and no
//! receipt returned, unless the quorum cosigned it. The sequencer goes on
//! committing batches (durably, each with its log-signed checkpoint) while
//! this stage witnesses the newest one; one round covers every batch
//! committed before it, so witnessing adds a round trip to each receipt but
//! does not cap the ingest rate. While the quorum cannot be reached:
//! - `/checkpoint` and every read keep serving the last cosigned checkpoint;
//! - submissions wait for a cosigned checkpoint that covers them, up to
//!   `wait`, then get 503 `awaiting_witnesses` (their entries are logged:
//!   the retry answers with the receipt once the quorum is back);
//! - once more than `max_unwitnessed` entries wait, new submissions are
//!   refused at once with 503 `awaiting_witnesses`;
//! - `/healthz` says `degraded: witness quorum ...` naming the missing
//!   witnesses, `/metrics` counts every witness request by outcome, and the
//!   log says why each witness failed; rounds are retried with backoff.
//!
//! Per witness the stage keeps the size the witness last cosigned (learnt
//! from its 200 answers and its 409 answers); a 409 is retried at once from
//! the size the witness reports. Nothing here is persisted but the cosigned
//! checkpoint (state namespace `g`, key `witnessed_checkpoint`), written
//! after the quorum and before publication, so that a restart serves it
//! again; the witnesses' sizes are relearnt from their 409s.
//!
//! Leaves out: the witness side (crate `dfft-witness`), and monitors asking
//! witnesses directly (the tlog-witness monitoring prefix).

use crate::sequencer::{Published, Shared};
use crate::state::NS_GENESIS;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use dfft_core::checkpoint::SignedCheckpoint;
use dfft_core::merkle;
use dfft_core::note::Note;
use dfft_core::policy::{Policy, PolicyWitness};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::{Duration, Instant};

/// Most receipts' proofs built at publication (more: each handler builds its own).
const MAX_PROOFS_AT_ONCE: u64 = 65_536;

/// State key of the last cosigned checkpoint (namespace `g`).
pub const WITNESSED_CHECKPOINT: &[u8] = b"witnessed_checkpoint";

/// How the log uses its witnesses.
#[derive(Debug, Clone)]
pub struct WitnessOptions {
    /// The tlog-policy: its witnesses (with URLs) and quorum.
    pub policy: Policy,
    /// Bound on one add-checkpoint request.
    pub timeout: Duration,
    /// How long a submission waits for a cosigned checkpoint covering it.
    pub wait: Duration,
    /// Entries logged but not yet cosigned beyond which new submissions
    /// are refused.
    pub max_unwitnessed: u64,
    /// Shortest time between the starts of two rounds: bounds the load on
    /// the witnesses (one ML-DSA-44 signature costs a witness about 1 ms of
    /// CPU) at the price of up to this much more latency per receipt.
    pub interval: Duration,
}

impl WitnessOptions {
    /// Defaults for a policy: 3 s per request, 10 s wait, 10,000
    /// entries, rounds at most every 10 ms.
    pub fn new(policy: Policy) -> WitnessOptions {
        WitnessOptions {
            policy,
            timeout: Duration::from_secs(3),
            wait: Duration::from_secs(10),
            max_unwitnessed: 10_000,
            interval: Duration::from_millis(10),
        }
    }
}

/// Outcomes of one add-checkpoint request, for `/metrics`.
pub const REQUEST_OUTCOMES: &[&str] = &[
    "cosigned",
    "conflict",
    "refused",
    "bad_answer",
    "unreachable",
];

/// Per-witness counters and the size it last cosigned.
#[derive(Debug)]
pub struct WitnessStats {
    /// The witness's name in the policy.
    pub name: String,
    requests: Vec<AtomicU64>,
    /// Size it last cosigned (0: unknown or none).
    pub cosigned_size: AtomicU64,
}

/// What `/healthz` and `/metrics` show of witnessing.
#[derive(Debug, Clone, Default)]
pub struct WitnessStatus {
    /// Whether the quorum cosigned the newest signed checkpoint.
    pub quorum: bool,
    /// Why not, naming the missing witnesses.
    pub reason: Option<String>,
}

/// The witnessing stage's shared part: options, status, counters, and the
/// signal the sequencer raises after each commit.
pub struct Witnessing {
    /// The options.
    pub options: WitnessOptions,
    status: RwLock<WitnessStatus>,
    /// One per policy witness, in policy order.
    pub stats: Vec<WitnessStats>,
    signal: (Mutex<u64>, Condvar),
}

impl Witnessing {
    /// A stage for these options.
    pub fn new(options: WitnessOptions) -> Witnessing {
        let stats = options
            .policy
            .witnesses()
            .iter()
            .map(|w| WitnessStats {
                name: w.name.clone(),
                requests: REQUEST_OUTCOMES.iter().map(|_| AtomicU64::new(0)).collect(),
                cosigned_size: AtomicU64::new(0),
            })
            .collect();
        Witnessing {
            options,
            status: RwLock::new(WitnessStatus::default()),
            stats,
            signal: (Mutex::new(0), Condvar::new()),
        }
    }

    /// The current status.
    pub fn status(&self) -> WitnessStatus {
        self.status
            .read()
            .map(|s| s.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    fn set_status(&self, s: WitnessStatus) {
        match self.status.write() {
            Ok(mut g) => *g = s,
            Err(p) => *p.into_inner() = s,
        }
    }

    /// Called by the sequencer after a durable commit of `size`.
    pub fn signed(&self, size: u64) {
        let (m, c) = &self.signal;
        let mut g = m.lock().unwrap_or_else(|p| p.into_inner());
        *g = (*g).max(size);
        c.notify_all();
    }

    fn wait_signed(&self, above: u64, timeout: Duration) {
        let (m, c) = &self.signal;
        let g = m.lock().unwrap_or_else(|p| p.into_inner());
        let _ = c.wait_timeout_while(g, timeout, |s| *s <= above);
    }

    fn count(&self, i: usize, outcome: &str) {
        if let Some(j) = REQUEST_OUTCOMES.iter().position(|o| *o == outcome) {
            self.stats[i].requests[j].fetch_add(1, Relaxed);
        }
    }

    /// The metrics exposition lines of witnessing.
    pub fn render(&self, out: &mut String, signed: u64, published: u64) {
        use std::fmt::Write as _;
        let _ = writeln!(out, "# HELP dfft_witness_requests_total add-checkpoint requests by witness and outcome.\n# TYPE dfft_witness_requests_total counter");
        for s in &self.stats {
            for (o, c) in REQUEST_OUTCOMES.iter().zip(&s.requests) {
                let _ = writeln!(
                    out,
                    "dfft_witness_requests_total{{witness=\"{}\",outcome=\"{o}\"}} {}",
                    s.name,
                    c.load(Relaxed)
                );
            }
        }
        let _ = writeln!(out, "# HELP dfft_witness_cosigned_size Tree size each witness last cosigned.\n# TYPE dfft_witness_cosigned_size gauge");
        for s in &self.stats {
            let _ = writeln!(
                out,
                "dfft_witness_cosigned_size{{witness=\"{}\"}} {}",
                s.name,
                s.cosigned_size.load(Relaxed)
            );
        }
        let q = u8::from(self.status().quorum);
        let _ = writeln!(out, "# HELP dfft_witness_quorum 1 while the newest signed checkpoint is cosigned by the quorum.\n# TYPE dfft_witness_quorum gauge\ndfft_witness_quorum {q}");
        let _ = writeln!(out, "# HELP dfft_unwitnessed_entries Entries logged but not yet in a cosigned checkpoint.\n# TYPE dfft_unwitnessed_entries gauge\ndfft_unwitnessed_entries {}", signed.saturating_sub(published));
    }
}

/// What one witness answered.
enum Asked {
    /// Its cosignature lines (verified).
    Cosigned(Vec<dfft_core::note::NoteSignature>),
    /// It failed; why, for the logs.
    Failed(String),
}

/// Runs the stage until the process ends (its own thread).
pub fn run(shared: Arc<Shared>, w: Arc<Witnessing>) {
    let agents: Vec<ureq::Agent> = w
        .options
        .policy
        .witnesses()
        .iter()
        .map(|_| {
            ureq::AgentBuilder::new()
                .timeout(w.options.timeout)
                .max_idle_connections_per_host(2)
                .build()
        })
        .collect();
    let mut backoff = Duration::from_millis(100);
    loop {
        let published = shared.published();
        let signed = shared.signed();
        if signed.size == published.size && shared.witnessed() {
            w.wait_signed(published.size, Duration::from_secs(1));
            continue;
        }
        let started = Instant::now();
        match round(&shared, &w, &agents, &signed) {
            Ok(()) => {
                backoff = Duration::from_millis(100);
                std::thread::sleep(w.options.interval.saturating_sub(started.elapsed()));
            }
            Err(reason) => {
                tracing::warn!(size = signed.size, %reason, "checkpoint not published");
                w.set_status(WitnessStatus {
                    quorum: false,
                    reason: Some(reason),
                });
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// One round: ask every witness about `signed` in parallel, publish it if
/// the quorum cosigned.
fn round(
    shared: &Shared,
    w: &Witnessing,
    agents: &[ureq::Agent],
    signed: &Published,
) -> Result<(), String> {
    let witnesses = w.options.policy.witnesses();
    let answers: Vec<Asked> = std::thread::scope(|s| {
        let handles: Vec<_> = witnesses
            .iter()
            .enumerate()
            .map(|(i, pw)| s.spawn(move || ask(shared, w, i, pw, &agents[i], signed)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Asked::Failed("the request thread panicked".into()))
            })
            .collect()
    });
    let mut note: Note = signed.signed.note.clone();
    let mut failures = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    for (pw, a) in witnesses.iter().zip(answers) {
        match a {
            Asked::Cosigned(lines) => {
                names.push(&pw.name);
                for l in lines {
                    note.add_signature(l);
                }
            }
            Asked::Failed(why) => {
                tracing::warn!(witness = %pw.name, size = signed.size, %why, "witness did not cosign");
                failures.push(format!("{}: {why}", pw.name));
            }
        }
    }
    let policy = &w.options.policy;
    if !policy.quorum_met(&names) {
        return Err(format!(
            "witness quorum not met for size {}: missing {} ({})",
            signed.size,
            policy.missing(&names).join(", "),
            failures.join("; ")
        ));
    }
    let cosigned = SignedCheckpoint {
        checkpoint: signed.signed.checkpoint.clone(),
        note,
    };
    let text = cosigned.to_text();
    // The receipts' proofs in this tree, built at once for the entries it
    // newly covers (each stored hash read once), so that the waiting
    // handlers do not each read their own.
    let from = shared.published().size.min(signed.size);
    let indices: Vec<u64> = if signed.size - from <= MAX_PROOFS_AT_ONCE {
        (from..signed.size).collect()
    } else {
        Vec::new()
    };
    let proofs = merkle::inclusion_proofs(&*shared.store, &indices, signed.size)
        .map(|p| indices.iter().copied().zip(p).collect())
        .unwrap_or_default();
    // Persist before publishing: a restart serves this checkpoint again.
    shared
        .store
        .put_state(&[(
            NS_GENESIS,
            WITNESSED_CHECKPOINT.to_vec(),
            Some(text.clone().into_bytes()),
        )])
        .map_err(|e| format!("storing the cosigned checkpoint: {e}"))?;
    shared.publish(Arc::new(Published {
        text,
        size: signed.size,
        root: signed.root,
        signed: cosigned,
        proofs,
    }));
    w.set_status(WitnessStatus {
        quorum: true,
        reason: None,
    });
    Ok(())
}

/// Asks one witness, retrying once from the size a 409 reports.
fn ask(
    shared: &Shared,
    w: &Witnessing,
    i: usize,
    pw: &PolicyWitness,
    agent: &ureq::Agent,
    signed: &Published,
) -> Asked {
    let Some(url) = &pw.url else {
        return Asked::Failed("the policy gives no URL for this witness".into());
    };
    let url = format!("{}/add-checkpoint", url.trim_end_matches('/'));
    let stats = &w.stats[i];
    let mut old = stats.cosigned_size.load(Relaxed);
    for _attempt in 0..3 {
        if old > signed.size {
            w.count(i, "refused");
            return Asked::Failed(format!(
                "the witness cosigned size {old}, more than this log's {}: it saw another history, or this log lost entries",
                signed.size
            ));
        }
        let proof = if old == 0 || old == signed.size {
            Vec::new()
        } else {
            match merkle::consistency_proof(&*shared.store, old, signed.size) {
                Ok(p) => p,
                Err(e) => return Asked::Failed(format!("consistency proof from {old}: {e}")),
            }
        };
        let mut body = format!("old {old}\n");
        for h in &proof {
            body.push_str(&B64.encode(h));
            body.push('\n');
        }
        body.push('\n');
        body.push_str(&signed.text);
        let started = Instant::now();
        let resp = agent
            .post(&url)
            .set("Content-Type", "text/plain; charset=utf-8")
            .send_string(&body);
        match resp {
            Ok(r) => {
                let text = match read_limited(r) {
                    Ok(t) => t,
                    Err(e) => {
                        w.count(i, "bad_answer");
                        return Asked::Failed(e);
                    }
                };
                match cosignature_lines(&signed.signed, pw, &text) {
                    Ok(lines) => {
                        w.count(i, "cosigned");
                        stats.cosigned_size.store(signed.size, Relaxed);
                        tracing::debug!(witness = %pw.name, size = signed.size, ms = started.elapsed().as_millis() as u64, "cosigned");
                        return Asked::Cosigned(lines);
                    }
                    Err(e) => {
                        w.count(i, "bad_answer");
                        return Asked::Failed(e);
                    }
                }
            }
            Err(ureq::Error::Status(409, r)) => {
                w.count(i, "conflict");
                let text = read_limited(r).unwrap_or_default();
                match text.trim_end_matches('\n').parse::<u64>() {
                    Ok(n) if text.ends_with('\n') => {
                        stats.cosigned_size.store(n, Relaxed);
                        old = n;
                        continue;
                    }
                    _ => {
                        return Asked::Failed(format!(
                            "409 with a body that is not a size: {text:?}"
                        ))
                    }
                }
            }
            Err(ureq::Error::Status(code, r)) => {
                w.count(i, "refused");
                let text = read_limited(r).unwrap_or_default();
                return Asked::Failed(format!("answered {code}: {}", text.trim()));
            }
            Err(ureq::Error::Transport(t)) => {
                w.count(i, "unreachable");
                return Asked::Failed(format!("unreachable: {t}"));
            }
        }
    }
    Asked::Failed("the witness kept answering 409".into())
}

fn read_limited(r: ureq::Response) -> Result<String, String> {
    use std::io::Read as _;
    let mut s = String::new();
    r.into_reader()
        .take(64 * 1024)
        .read_to_string(&mut s)
        .map_err(|e| format!("reading the answer: {e}"))?;
    Ok(s)
}

/// The policy witnesses whose cosignature on `cp` verifies.
pub fn cosigners<'p>(policy: &'p Policy, cp: &SignedCheckpoint) -> Vec<&'p str> {
    policy
        .witnesses()
        .iter()
        .filter(|pw| {
            cp.note
                .signatures()
                .iter()
                .any(|s| s.name == pw.key.name() && s.id == pw.key.id())
                && cp.note.verify(std::slice::from_ref(&pw.key)).is_ok()
        })
        .map(|pw| pw.name.as_str())
        .collect()
}

/// The witness's cosignature lines in a 200 answer, each verified against
/// its policy key; lines by other keys are ignored.
fn cosignature_lines(
    cp: &SignedCheckpoint,
    pw: &PolicyWitness,
    answer: &str,
) -> Result<Vec<dfft_core::note::NoteSignature>, String> {
    if answer.is_empty() || !answer.ends_with('\n') {
        return Err("200 without signature lines".into());
    }
    // The answer is signature lines: parse them as the signature block of
    // the checkpoint's note, then keep and verify this witness's.
    let text = format!("{}\n{answer}", cp.note.text());
    let note = Note::parse(text.as_bytes()).map_err(|e| format!("bad cosignature lines: {e}"))?;
    let mine: Vec<_> = note
        .signatures()
        .iter()
        .filter(|s| s.name == pw.key.name() && s.id == pw.key.id())
        .cloned()
        .collect();
    if mine.is_empty() {
        return Err(format!("no cosignature by {} in the answer", pw.key));
    }
    note.verify(std::slice::from_ref(&pw.key))
        .map_err(|e| format!("cosignature does not verify: {e}"))?;
    Ok(mine)
}
