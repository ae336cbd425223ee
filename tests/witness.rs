//! `dfft witness` as a process: every answer of the C2SP tlog-witness
//! spec for the matching request, keys and names across restarts, the log
//! list and SIGHUP, concurrent requests for one origin (exactly one wins),
//! and SIGKILL under load (never two inconsistent cosigned checkpoints for
//! one origin; the state after restart covers every 200 answered).
//! Cosignatures are checked with core's note verification.

use dfft_core::checkpoint::Checkpoint;
use dfft_core::merkle::{consistency_proof, leaf_hash, Hash, MemoryTree, EMPTY_ROOT};
use dfft_core::note::{KeyKind, KeyName, Note, SignerKey, VerifierKey};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

const NAME: &str = "witness.test.example/w1";

/// A log for the tests: its key, and a tree whose roots it signs.
struct Log {
    key: SignerKey,
    origin: String,
    tree: MemoryTree,
    roots: Vec<Hash>,
}

impl Log {
    /// A log of `n` leaves; `fork` changes the leaves from that index on.
    fn new(origin: &str, seed: u8, n: u32, fork: Option<(u32, u8)>) -> Log {
        let key = SignerKey::from_seed(KeyName::new(origin).unwrap(), [seed; 32]);
        let mut tree = MemoryTree::new();
        let mut roots = vec![tree.root()];
        for i in 0..n {
            let tag = match fork {
                Some((at, t)) if i >= at => t,
                _ => 0,
            };
            let mut leaf = i.to_be_bytes().to_vec();
            leaf.push(tag);
            tree.push(leaf_hash(&leaf));
            roots.push(tree.root());
        }
        Log {
            key,
            origin: origin.to_string(),
            tree,
            roots,
        }
    }
    fn note(&self, size: u64) -> String {
        self.note_root(size, self.roots[size as usize])
    }
    fn note_root(&self, size: u64, root: Hash) -> String {
        Checkpoint {
            origin: self.origin.clone(),
            size,
            root,
            extensions: vec![],
        }
        .sign(&[&self.key], 0)
        .unwrap()
        .to_text()
    }
    fn proof(&self, from: u64, to: u64) -> Vec<Hash> {
        if from == 0 || from == to {
            return vec![];
        }
        consistency_proof(&self.tree, from, to).unwrap()
    }
    fn body(&self, old: u64, size: u64) -> String {
        dfft_witness::request::AddCheckpoint::to_body(old, &self.proof(old, size), &self.note(size))
    }
    fn list_entry(&self) -> String {
        format!("vkey {}\n", self.key.verifier())
    }
}

fn log_list(logs: &[&Log]) -> String {
    let mut s = "# test list\nlogs/v0\n".to_string();
    for l in logs {
        s.push_str(&l.list_entry());
        s.push_str("qpd 86400\ncontact test\n\n");
    }
    s
}

/// A running `dfft witness`.
struct Witness {
    child: Child,
    base: String,
    /// The Ed25519 cosignature/v1 key.
    vkey: VerifierKey,
    /// The ML-DSA-44 subtree/v1 key.
    mldsa: VerifierKey,
}

fn command(dir: &Path, list: &Path, extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dfft"));
    cmd.arg("witness")
        .arg("--data")
        .arg(dir)
        .arg("--log-list")
        .arg(list)
        .args(["--listen", "127.0.0.1:0"])
        .args(extra)
        .env("RUST_LOG", "warn");
    cmd
}

impl Witness {
    fn start(dir: &Path, list: &Path, extra: &[&str]) -> Witness {
        let mut child = command(dir, list, extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn dfft witness");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if std::env::var_os("DFFT_TEST_VERBOSE").is_some() {
                    eprintln!("[witness] {line}");
                }
                let _ = tx.send(line);
            }
        });
        let (mut base, mut vkeys) = (None, Vec::new());
        while base.is_none() {
            let Ok(line) = rx.recv_timeout(Duration::from_secs(60)) else {
                let _ = child.kill();
                panic!("witness did not start: {:?}", child.wait());
            };
            if let Some(v) = line.strip_prefix("witness vkey:") {
                let v = v.split_whitespace().next().unwrap();
                vkeys.push(VerifierKey::parse(v).expect("printed vkey"));
            }
            if let Some(a) = line.strip_prefix("listening on ") {
                base = Some(a.trim().to_string());
            }
        }
        assert_eq!(vkeys.len(), 2, "two vkeys printed");
        Witness {
            child,
            base: base.unwrap(),
            vkey: vkeys[0].clone(),
            mldsa: vkeys[1].clone(),
        }
    }
    fn keys(&self) -> Vec<VerifierKey> {
        vec![self.vkey.clone(), self.mldsa.clone()]
    }
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
    fn hup(&self) {
        let ok = Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    }
    fn post(&self, body: &str) -> Answer {
        post(&agent(), &self.base, body).expect("witness reachable")
    }
    fn get(&self, path: &str) -> Answer {
        get(&agent(), &self.base, path).expect("witness reachable")
    }
}

impl Drop for Witness {
    fn drop(&mut self) {
        self.kill();
    }
}

struct Answer {
    status: u16,
    content_type: String,
    body: String,
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(20))
        .build()
}

fn answer(r: Result<ureq::Response, ureq::Error>) -> Result<Answer, String> {
    let r = match r {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(ureq::Error::Transport(t)) => return Err(t.to_string()),
    };
    Ok(Answer {
        status: r.status(),
        content_type: r.content_type().to_string(),
        body: r.into_string().unwrap_or_default(),
    })
}

fn post(a: &ureq::Agent, base: &str, body: &str) -> Result<Answer, String> {
    answer(a.post(&format!("{base}/add-checkpoint")).send_string(body))
}

fn get(a: &ureq::Agent, base: &str, path: &str) -> Result<Answer, String> {
    answer(a.get(&format!("{base}{path}")).call())
}

/// Verifies a 200 answer's cosignature lines over `note` with both witness
/// keys (Ed25519 cosignature/v1 and ML-DSA-44 subtree/v1): one line each,
/// non-zero timestamps.
fn verify_cosignature(note: &str, lines: &str, keys: &[VerifierKey]) {
    assert!(!lines.is_empty() && lines.ends_with('\n'), "{lines:?}");
    assert_eq!(lines.lines().count(), keys.len(), "{lines:?}");
    for l in lines.lines() {
        assert!(l.starts_with("\u{2014} "), "{l:?}");
    }
    let n = Note::parse(format!("{note}{lines}").as_bytes()).expect("note with cosignatures");
    let ok = n.verify(keys).expect("cosignatures verify");
    assert_eq!(ok.len(), keys.len());
    for v in ok {
        assert!(v.timestamp.expect("a cosignature has a timestamp") > 0);
    }
}

fn origin_path(origin: &str) -> String {
    format!(
        "/{}/checkpoint",
        dfft_core::hex::encode(&Sha256::digest(origin.as_bytes()))
    )
}

fn write_list(path: &Path, logs: &[&Log]) {
    std::fs::write(path, log_list(logs)).unwrap();
}

#[test]
fn answers_each_status_of_the_spec() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("w");
    let list = dir.path().join("logs");
    let log = Log::new("log.test.example/a", 1, 40, None);
    let fresh = Log::new("log.test.example/b", 2, 40, None);
    let stranger = Log::new("log.test.example/unknown", 3, 40, None);
    write_list(&list, &[&log, &fresh]);

    // First start needs a name, and a schemeless URL-like one.
    let out = command(&data, &list, &[]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--name"));
    let out = command(&data, &list, &["--name", "https://w.example/x"])
        .output()
        .unwrap();
    assert!(!out.status.success());

    let w = Witness::start(&data, &list, &["--name", NAME, "--max-body", "4096"]);
    assert_eq!(w.vkey.name(), NAME);
    assert_eq!(w.vkey.kind(), KeyKind::CosignatureV1);
    assert_eq!(w.mldsa.kind(), KeyKind::SubtreeV1);
    assert_eq!(w.mldsa.name(), NAME);
    let file = std::fs::read_to_string(data.join("witness.vkey")).unwrap();
    assert_eq!(file, format!("{}\n", w.vkey));
    let mfile = std::fs::read_to_string(data.join("witness-mldsa.vkey")).unwrap();
    assert_eq!(mfile, format!("{}\n", w.mldsa));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in ["witness.key", "witness-mldsa.key"] {
            let mode = std::fs::metadata(data.join(f))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{f}");
        }
    }
    assert_eq!(w.get("/healthz").status, 200);

    // Nothing cosigned yet: 404 on the monitoring path.
    assert_eq!(w.get(&origin_path(&log.origin)).status, 404);

    // 200: the first checkpoint, from old 0.
    let a = w.post(&log.body(0, 10));
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(
        a.content_type.starts_with("text/plain"),
        "{}",
        a.content_type
    );
    verify_cosignature(&log.note(10), &a.body, &w.keys());
    // 200: a consistent extension.
    let a = w.post(&log.body(10, 17));
    assert_eq!(a.status, 200, "{}", a.body);
    verify_cosignature(&log.note(17), &a.body, &w.keys());
    // 200: the same checkpoint again.
    assert_eq!(w.post(&log.body(17, 17)).status, 200);

    // The monitoring path: the log's signature and the cosignature.
    let m = w.get(&origin_path(&log.origin));
    assert_eq!(m.status, 200);
    let n = Note::parse(m.body.as_bytes()).unwrap();
    assert_eq!(
        dfft_core::checkpoint::Checkpoint::parse(n.text())
            .unwrap()
            .size,
        17
    );
    let ok = n
        .verify(&[log.key.verifier(), w.vkey.clone(), w.mldsa.clone()])
        .unwrap();
    assert_eq!(ok.len(), 3);
    assert_eq!(w.get(&origin_path("no.such/log")).status, 404);
    assert_eq!(w.get(&origin_path(&log.origin).to_uppercase()).status, 404);

    // 404: unknown origin.
    assert_eq!(w.post(&stranger.body(0, 5)).status, 404);

    // 403: signed by a key not trusted for the origin.
    let impostor = Log {
        key: SignerKey::from_seed(KeyName::new(&log.origin).unwrap(), [99; 32]),
        origin: log.origin.clone(),
        tree: log.tree.clone(),
        roots: log.roots.clone(),
    };
    assert_eq!(w.post(&impostor.body(17, 20)).status, 403);
    // 403: a bad signature by the trusted key.
    let good = log.note(20);
    let (text, sig) = good.split_once("\n\n").unwrap();
    let mut raw = sig.to_string();
    let flip = raw.len() - 5;
    let c = if &raw[flip..flip + 1] == "A" {
        "B"
    } else {
        "A"
    };
    raw.replace_range(flip..flip + 1, c);
    let forged = format!("{text}\n\n{raw}");
    let body = dfft_witness::request::AddCheckpoint::to_body(17, &log.proof(17, 20), &forged);
    assert_eq!(w.post(&body).status, 403);

    // 400: old size larger than the checkpoint.
    assert_eq!(
        w.post(&log.body(17, 20).replacen("old 17", "old 21", 1))
            .status,
        400
    );
    // 400: malformed bodies.
    for bad in [
        "".to_string(),
        "old 17\n".to_string(),
        format!("old 017\n\n{}", log.note(20)),
        format!("old 17\nnot base64\n\n{}", log.note(20)),
        format!("old 17\n\n{}", log.note(20).replace("\n\n", "\n")),
    ] {
        assert_eq!(w.post(&bad).status, 400, "{bad:?}");
    }
    // 413: a body over the limit.
    let big = format!("old 17\n\n{}{}", log.note(20), "x".repeat(5000));
    assert_eq!(w.post(&big).status, 413);

    // 409: old is not the latest; the answer is the latest size.
    for old in [0, 10, 16, 18] {
        let body =
            dfft_witness::request::AddCheckpoint::to_body(old, &log.proof(old, 20), &log.note(20));
        let a = w.post(&body);
        assert_eq!(a.status, 409, "old {old}: {}", a.body);
        assert_eq!(a.content_type, "text/x.tlog.size");
        assert_eq!(a.body, "17\n");
    }

    // 422: a consistency proof that does not verify.
    let wrong =
        dfft_witness::request::AddCheckpoint::to_body(17, &log.proof(16, 20), &log.note(20));
    assert_eq!(w.post(&wrong).status, 422);
    let mut tampered = log.proof(17, 20);
    tampered[0][0] ^= 1;
    let body = dfft_witness::request::AddCheckpoint::to_body(17, &tampered, &log.note(20));
    assert_eq!(w.post(&body).status, 422);
    // 422: same size, another root.
    let other = dfft_witness::request::AddCheckpoint::to_body(17, &[], &log.note_root(17, [5; 32]));
    assert_eq!(w.post(&other).status, 422);
    // 422: a proof with old 0 (on a log with nothing cosigned yet).
    let body = dfft_witness::request::AddCheckpoint::to_body(0, &[[1; 32]], &fresh.note(5));
    assert_eq!(w.post(&body).status, 422);
    // 422: a size-0 checkpoint whose root is not the empty tree's.
    let body = dfft_witness::request::AddCheckpoint::to_body(0, &[], &fresh.note_root(0, [5; 32]));
    assert_eq!(w.post(&body).status, 422);
    // ... and 200 for the real empty tree.
    let body =
        dfft_witness::request::AddCheckpoint::to_body(0, &[], &fresh.note_root(0, EMPTY_ROOT));
    assert_eq!(w.post(&body).status, 200);

    // None of the refusals moved the state.
    let a = w.post(&log.body(17, 20));
    assert_eq!(a.status, 200, "{}", a.body);
    drop(w);

    // Restart: the same keys, the state kept; a different name is refused.
    let out = command(&data, &list, &["--name", "other.test.example/w"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("differs"));
    let w2 = Witness::start(&data, &list, &["--name", NAME]);
    assert_eq!(w2.vkey, VerifierKey::parse(file.trim()).unwrap());
    assert_eq!(w2.mldsa, VerifierKey::parse(mfile.trim()).unwrap());
    let a = w2.post(&log.body(0, 25));
    assert_eq!(a.status, 409);
    assert_eq!(a.body, "20\n");
    assert_eq!(w2.post(&log.body(20, 25)).status, 200);
}

#[test]
fn bad_log_list_at_start_and_sighup_adds_logs_only() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("w");
    let list = dir.path().join("logs");
    let a = Log::new("log.test.example/a", 1, 20, None);
    let b = Log::new("log.test.example/b", 2, 20, None);

    std::fs::write(&list, "logs/v1\n").unwrap();
    let out = command(&data, &list, &["--name", NAME]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("log list") && err.contains("logs/v0"), "{err}");

    write_list(&list, &[&a]);
    let w = Witness::start(&data, &list, &["--name", NAME]);
    assert_eq!(w.post(&a.body(0, 5)).status, 200);
    assert_eq!(w.post(&b.body(0, 5)).status, 404);

    // SIGHUP with b added: b is cosigned.
    write_list(&list, &[&a, &b]);
    w.hup();
    let t = Instant::now();
    loop {
        let s = w.post(&b.body(0, 5)).status;
        if s == 200 {
            break;
        }
        assert_eq!(s, 404);
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "SIGHUP did not add the log"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // A list that removes a log, or a broken one, is refused: both stay.
    for bad in [log_list(&[&b]), "garbage\n".to_string()] {
        std::fs::write(&list, bad).unwrap();
        w.hup();
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(w.get("/healthz").status, 200);
    }
    assert_eq!(w.post(&a.body(5, 8)).status, 200);
    assert_eq!(w.post(&b.body(5, 8)).status, 200);
}

#[test]
fn concurrent_requests_for_one_origin_exactly_one_wins() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("w");
    let list = dir.path().join("logs");
    let log = Arc::new(Log::new("log.test.example/a", 1, 200, None));
    write_list(&list, &[&log]);
    let w = Witness::start(&data, &list, &["--name", NAME]);
    let base = w.base.clone();
    // Each round starts from the size the witness holds; the winner of a
    // round can be any of its 24 sizes, so the next start is past it.
    let mut old = 0u64;
    for round in 0..3u64 {
        let threads: Vec<_> = (0..24u64)
            .map(|i| {
                let (log, base) = (log.clone(), base.clone());
                std::thread::spawn(move || {
                    let size = old + 1 + i;
                    let a = post(&agent(), &base, &log.body(old, size)).unwrap();
                    (size, a.status, a.body)
                })
            })
            .collect();
        let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let won: Vec<_> = results.iter().filter(|r| r.1 == 200).collect();
        assert_eq!(
            won.len(),
            1,
            "round {round}: {:?}",
            results.iter().map(|r| r.1).collect::<Vec<_>>()
        );
        let winner = won[0].0;
        verify_cosignature(&log.note(winner), &won[0].2, &w.keys());
        for r in &results {
            if r.1 != 200 {
                assert_eq!(r.1, 409, "{}", r.2);
                assert_eq!(r.2, format!("{winner}\n"));
            }
        }
        let m = w.get(&origin_path(&log.origin));
        let n = Note::parse(m.body.as_bytes()).unwrap();
        assert_eq!(Checkpoint::parse(n.text()).unwrap().size, winner);
        // Move to the next round's old size.
        let next = winner + 10;
        assert_eq!(w.post(&log.body(winner, next)).status, 200);
        old = next;
    }
}

/// What the load threads saw answered 200, per origin: size -> root.
type Cosigned = Arc<Mutex<BTreeMap<String, BTreeMap<u64, Hash>>>>;

fn load_thread(
    base: Arc<Mutex<String>>,
    logs: Arc<Vec<(Log, Log)>>,
    which: usize,
    vkey: Vec<VerifierKey>,
    stop: Arc<AtomicBool>,
    seen: Cosigned,
    mut rng: u64,
) {
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let a = agent();
    let mut old = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let (x, y) = &logs[which];
        let fork = if next() % 2 == 0 { x } else { y };
        let max = fork.roots.len() as u64 - 1;
        let size = (old + 1 + next() % 8).min(max);
        let b = base.lock().unwrap().clone();
        let Ok(ans) = post(&a, &b, &fork.body(old, size)) else {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        };
        match ans.status {
            200 => {
                verify_cosignature(&fork.note(size), &ans.body, &vkey);
                let mut s = seen.lock().unwrap();
                let m = s.entry(fork.origin.clone()).or_default();
                let root = fork.roots[size as usize];
                if let Some(r) = m.insert(size, root) {
                    assert_eq!(r, root, "two roots cosigned at size {size}");
                }
                old = size;
                if size == max {
                    old = 0; // learn the size again from a 409
                }
            }
            409 => old = ans.body.trim().parse().unwrap(),
            // The other fork's proof: refused, never cosigned.
            422 => {}
            s => panic!("unexpected {s}: {}", ans.body),
        }
    }
}

#[test]
fn sigkill_under_load_never_cosigns_two_inconsistent_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("w");
    let list = dir.path().join("logs");
    // Two logs; each signs two forks that share their first 30 leaves.
    let logs: Arc<Vec<(Log, Log)>> = Arc::new(
        (0..2u8)
            .map(|i| {
                let o = format!("log.test.example/{i}");
                (
                    Log::new(&o, 10 + i, 4000, Some((30, 1))),
                    Log::new(&o, 10 + i, 4000, Some((30, 2))),
                )
            })
            .collect(),
    );
    write_list(&list, &[&logs[0].0, &logs[1].0]);
    let mut w = Witness::start(&data, &list, &["--name", NAME]);
    let vkey = w.keys();
    let base = Arc::new(Mutex::new(w.base.clone()));
    let stop = Arc::new(AtomicBool::new(false));
    let seen: Cosigned = Arc::default();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (base, logs, vkey, stop, seen) = (
                base.clone(),
                logs.clone(),
                vkey.clone(),
                stop.clone(),
                seen.clone(),
            );
            std::thread::spawn(move || {
                load_thread(
                    base,
                    logs,
                    t % 2,
                    vkey,
                    stop,
                    seen,
                    0x9e37_79b9 + t as u64 * 7919,
                )
            })
        })
        .collect();
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("witness kill test seed {seed}");
    for round in 0..6 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(200 + seed % 600));
        w.kill();
        // Every size answered 200 before the kill.
        let before: BTreeMap<String, u64> = seen
            .lock()
            .unwrap()
            .iter()
            .map(|(o, m)| (o.clone(), *m.keys().last().unwrap()))
            .collect();
        w = Witness::start(&data, &list, &["--name", NAME]);
        assert_eq!(w.keys(), vkey);
        for (o, max) in &before {
            let m = w.get(&origin_path(o));
            assert_eq!(m.status, 200, "round {round}: {o}");
            let n = Note::parse(m.body.as_bytes()).unwrap();
            let cp = Checkpoint::parse(n.text()).unwrap();
            assert!(
                cp.size >= *max,
                "round {round}: {o} restarted at {} below the answered {max}",
                cp.size
            );
            assert_eq!(n.verify(&vkey).unwrap().len(), 2);
        }
        *base.lock().unwrap() = w.base.clone();
    }
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    // For each origin, every cosigned (size, root) is a tree head of ONE
    // of the two forks: never two inconsistent checkpoints.
    let seen = seen.lock().unwrap();
    let mut total = 0;
    for (i, (x, y)) in logs.iter().enumerate() {
        let m = &seen[&x.origin];
        total += m.len();
        let on = |f: &Log| m.iter().all(|(s, r)| f.roots[*s as usize] == *r);
        assert!(
            on(x) || on(y),
            "log {i}: cosigned checkpoints of both forks"
        );
        assert!(
            m.keys().any(|&s| s > 30),
            "log {i}: never got past the fork point"
        );
    }
    eprintln!("{total} distinct cosigned checkpoints over 6 kills");
    // The final state agrees.
    for (x, y) in logs.iter() {
        let n = Note::parse(w.get(&origin_path(&x.origin)).body.as_bytes()).unwrap();
        let cp = Checkpoint::parse(n.text()).unwrap();
        let m = &seen[&x.origin];
        assert!(cp.size >= *m.keys().last().unwrap());
        assert!(x.roots[cp.size as usize] == cp.root || y.roots[cp.size as usize] == cp.root);
    }
}

#[test]
fn no_mldsa_returns_the_ed25519_cosignature_only() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("w");
    let list = dir.path().join("logs");
    let log = Log::new("log.test.example/a", 1, 20, None);
    write_list(&list, &[&log]);
    let w = Witness::start(&data, &list, &["--name", NAME, "--no-mldsa"]);
    let a = w.post(&log.body(0, 5));
    assert_eq!(a.status, 200);
    verify_cosignature(&log.note(5), &a.body, std::slice::from_ref(&w.vkey));
}

#[test]
fn journal_torn_tail_is_dropped_damage_before_it_refuses_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("w");
    let list = dir.path().join("logs");
    let log = Log::new("log.test.example/a", 1, 20, None);
    write_list(&list, &[&log]);
    let mut w = Witness::start(&data, &list, &["--name", NAME]);
    for (old, size) in [(0, 3), (3, 6), (6, 9)] {
        assert_eq!(w.post(&log.body(old, size)).status, 200);
    }
    w.kill();
    let journal = data.join("journal");
    let good = std::fs::read(&journal).unwrap();
    assert!(good.len() > 100, "three frames in the journal");

    // A torn tail (half a frame of garbage at the end): dropped, state kept.
    let mut torn = good.clone();
    torn.extend_from_slice(&good[good.len() - 60..good.len() - 20]);
    std::fs::write(&journal, &torn).unwrap();
    let w = Witness::start(&data, &list, &["--name", NAME]);
    let a = w.post(&log.body(0, 12));
    assert_eq!(a.status, 409);
    assert_eq!(a.body, "9\n");
    drop(w);

    // Damage before the tail: the start is refused, naming the file.
    std::fs::remove_file(data.join("state")).unwrap();
    let mut bad = good.clone();
    bad[40] ^= 0x40;
    std::fs::write(&journal, &bad).unwrap();
    let out = command(&data, &list, &[]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("journal") && err.contains("refusing to start"),
        "{err}"
    );
}
