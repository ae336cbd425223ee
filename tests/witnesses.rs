//! Witnesses for real: three `dfft witness` processes and `dfft serve`
//! with a 2-of-3 tlog-policy (one witness named by its Ed25519
//! cosignature/v1 key, two by their ML-DSA-44 subtree/v1 keys).
//!
//! The log publishes with one witness killed, stops publishing new
//! checkpoints with two killed (a submission is logged but answered 503
//! awaiting_witnesses, `/checkpoint` stays), and resumes when one is
//! restarted on its data directory; no checkpoint it ever served lacks the
//! quorum, and every acknowledged entry is in the final tree. A saved
//! receipt then verifies offline with `dfft verify --witness-policy`, and is
//! refused under a policy asking for all three, naming the missing witness.

mod common;

use common::*;
use dfft_core::checkpoint::SignedCheckpoint;
use dfft_core::note::VerifierKey;
use dfft_core::policy::Policy;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_dfft");

/// A `dfft witness` process on a fixed loopback port.
struct WitnessProc {
    child: Option<Child>,
    dir: PathBuf,
    addr: String,
    name: String,
    log_list: PathBuf,
}

impl WitnessProc {
    fn start(dir: &Path, addr: &str, name: &str, log_list: &Path) -> WitnessProc {
        let mut w = WitnessProc {
            child: None,
            dir: dir.to_path_buf(),
            addr: addr.to_string(),
            name: name.to_string(),
            log_list: log_list.to_path_buf(),
        };
        w.restart();
        w
    }

    fn restart(&mut self) {
        let mut child = Command::new(BIN)
            .args([
                "witness", "--listen", &self.addr, "--name", &self.name, "--data",
            ])
            .arg(&self.dir)
            .arg("--log-list")
            .arg(&self.log_list)
            .env("RUST_LOG", "warn")
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
        loop {
            let line = rx
                .recv_timeout(Duration::from_secs(30))
                .expect("witness did not start");
            if line.starts_with("listening on ") {
                break;
            }
        }
        self.child = Some(child);
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn vkey(&self, file: &str) -> VerifierKey {
        VerifierKey::parse(std::fs::read_to_string(self.dir.join(file)).unwrap().trim()).unwrap()
    }
}

impl Drop for WitnessProc {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_addr() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

fn cosigners<'p>(policy: &'p Policy, cp: &SignedCheckpoint) -> Vec<&'p str> {
    policy
        .witnesses()
        .iter()
        .filter(|w| {
            cp.note
                .signatures()
                .iter()
                .any(|s| s.name == w.key.name() && s.id == w.key.id())
                && cp.note.verify(std::slice::from_ref(&w.key)).is_ok()
        })
        .map(|w| w.name.as_str())
        .collect()
}

#[test]
fn two_of_three_real_witnesses() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    // The log key first, so that the witnesses can list the log.
    let log_key_file = root.join("log.key");
    let out = Command::new(BIN)
        .args(["keygen", "--name", ORIGIN, "--out"])
        .arg(&log_key_file)
        .output()
        .unwrap();
    assert!(out.status.success());
    let log_vkey = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let log_list = root.join("logs.txt");
    std::fs::write(&log_list, format!("logs/v0\nvkey {log_vkey}\n")).unwrap();

    let mut witnesses: Vec<WitnessProc> = (1..=3)
        .map(|i| {
            let dir = root.join(format!("w{i}"));
            WitnessProc::start(
                &dir,
                &free_addr(),
                &format!("witness-{i}.test.example"),
                &log_list,
            )
        })
        .collect();
    let mut policy_text = String::new();
    for (i, w) in witnesses.iter().enumerate() {
        let file = if i == 0 {
            "witness.vkey"
        } else {
            "witness-mldsa.vkey"
        };
        policy_text.push_str(&format!(
            "witness w{} {} http://{}\n",
            i + 1,
            w.vkey(file),
            w.addr
        ));
    }
    let all3 = format!("{policy_text}group all3 all w1 w2 w3\nquorum all3\n");
    policy_text.push_str(&format!(
        "log {log_vkey}\ngroup two 2 w1 w2 w3\nquorum two\n"
    ));
    let policy_file = root.join("policy.txt");
    std::fs::write(&policy_file, &policy_text).unwrap();
    let policy = Policy::parse(&policy_text).unwrap();

    let reg_dir = root.join("log");
    let reg = Registry::start(
        &reg_dir,
        &[
            "--log-key",
            log_key_file.to_str().unwrap(),
            "--witness-policy",
            policy_file.to_str().unwrap(),
            "--witness-wait",
            "2",
            "--witness-timeout-ms",
            "1000",
        ],
    );

    // Everything /checkpoint serves, checked in the background.
    let done = Arc::new(AtomicBool::new(false));
    let bad = Arc::new(Mutex::new(Vec::<String>::new()));
    let watcher = {
        let (done, bad, base, policy, log) = (
            done.clone(),
            bad.clone(),
            reg.base.clone(),
            policy.clone(),
            reg.log_key.clone(),
        );
        std::thread::spawn(move || {
            while !done.load(Ordering::SeqCst) {
                let (s, body) = get(&base, "/checkpoint");
                if s == 200 {
                    let cp = SignedCheckpoint::parse(&body).unwrap();
                    cp.verify(&log, &[], 0).unwrap();
                    let c = cosigners(&policy, &cp);
                    if !policy.quorum_met(&c) {
                        bad.lock()
                            .unwrap()
                            .push(format!("size {} cosigned by {c:?}", cp.checkpoint.size));
                    }
                } else if s != 503 {
                    bad.lock()
                        .unwrap()
                        .push(format!("/checkpoint answered {s}"));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    let wait_checkpoint = |min: u64| {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (s, body) = reg.get("/checkpoint");
            if s == 200 {
                let cp = SignedCheckpoint::parse(&body).unwrap();
                if cp.checkpoint.size >= min {
                    return cp;
                }
            }
            assert!(
                Instant::now() < deadline,
                "no cosigned checkpoint of size {min}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let cp = wait_checkpoint(1);
    assert_eq!(cosigners(&policy, &cp).len(), 3);

    let gov = reg.governance();
    let ec = key("eu.ec", 7);
    let mut acknowledged: Vec<(u64, Vec<u8>)> = Vec::new();
    let enrol = enroll(&gov, "eu.ec", &[&ec], &["EEA"]);
    let (s, r) = reg.post(&enrol);
    assert_eq!(s, 201, "{r}");
    let (i, cp) = check_receipt(&reg, &r, &enrol);
    assert!(policy.quorum_met(&cosigners(&policy, &cp)));
    acknowledged.push((i, enrol));

    // One witness killed: receipts keep coming, cosigned by the other two.
    witnesses[0].kill();
    let mut saved_receipt = String::new();
    for n in 0..4 {
        let e = recognition(
            &ec,
            &format!("eu.ec/r{n}"),
            "granted",
            "EEA",
            "JP",
            "2019-01-23",
        );
        let (s, r) = reg.post(&e);
        assert_eq!(s, 201, "{r}");
        let (i, cp) = check_receipt(&reg, &r, &e);
        assert_eq!(cosigners(&policy, &cp), vec!["w2", "w3"]);
        saved_receipt = r["tlog_proof"].as_str().unwrap().to_string();
        acknowledged.push((i, e));
    }

    // Two killed: logged, not acknowledged; nothing new published.
    witnesses[1].kill();
    let held = recognition(&ec, "eu.ec/held", "granted", "EEA", "JP", "2019-01-23");
    let before = reg.get("/checkpoint").1;
    let (s, r) = reg.post(&held);
    assert_eq!(s, 503, "{r}");
    assert_eq!(r["error"], "awaiting_witnesses", "{r}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        reg.get("/checkpoint").1,
        before,
        "published without the quorum"
    );
    let (_, health) = reg.get("/healthz");
    let health = String::from_utf8(health).unwrap();
    assert!(
        health.starts_with("degraded: witness quorum not met"),
        "{health}"
    );
    assert!(health.contains("w1") && health.contains("w2"), "{health}");

    // One restarted on its data directory: publication resumes; the retry
    // of the held entry gets its receipt.
    witnesses[0].restart();
    let deadline = Instant::now() + Duration::from_secs(30);
    let r = loop {
        let (s, r) = reg.post(&held);
        if s == 200 {
            break r;
        }
        assert_eq!(s, 503, "{r}");
        assert!(Instant::now() < deadline, "publication never resumed");
        std::thread::sleep(Duration::from_millis(200));
    };
    let (i, cp) = check_receipt(&reg, &r, &held);
    assert_eq!(cosigners(&policy, &cp), vec!["w1", "w3"]);
    acknowledged.push((i, held));

    done.store(true, Ordering::SeqCst);
    watcher.join().unwrap();
    assert!(bad.lock().unwrap().is_empty(), "{:?}", bad.lock().unwrap());

    // Nothing acknowledged lost.
    let cp = wait_checkpoint(acknowledged.last().unwrap().0 + 1);
    for (index, entry) in &acknowledged {
        assert!(*index < cp.checkpoint.size);
        let (s, v) = reg.get_json(&format!("/v1/entries/{index}"));
        assert_eq!(s, 200);
        use base64::Engine as _;
        let got = base64::engine::general_purpose::STANDARD
            .decode(v["entry"].as_str().unwrap())
            .unwrap();
        assert_eq!(&got, entry);
    }

    // The saved receipt verifies offline under the 2-of-3 policy, and is
    // refused under all-of-3, naming the witness that did not cosign.
    let proof_file = root.join("r.tlog-proof");
    std::fs::write(&proof_file, &saved_receipt).unwrap();
    let ok = Command::new(BIN)
        .arg("verify")
        .arg(&proof_file)
        .arg("--witness-policy")
        .arg(&policy_file)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let all_file = root.join("all3.txt");
    std::fs::write(&all_file, format!("log {log_vkey}\n{all3}")).unwrap();
    let refused = Command::new(BIN)
        .arg("verify")
        .arg(&proof_file)
        .arg("--witness-policy")
        .arg(&all_file)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("w1"), "{err}");
}
