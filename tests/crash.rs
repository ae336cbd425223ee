//! Crash test: SIGKILL the server at random moments during concurrent
//! submission, 20 times. After each restart every acknowledged entry is at
//! its index, and the new checkpoint is consistent with every checkpoint
//! published before the kill.

mod common;

use common::*;
use dfft_core::merkle::{self, Hash};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const KILLS: usize = 20;

struct Seen {
    acked: BTreeMap<u64, Vec<u8>>,
    checkpoints: BTreeMap<u64, Hash>,
}

fn rng(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn sigkill_during_concurrent_submission_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let seen = Arc::new(Mutex::new(Seen {
        acked: BTreeMap::new(),
        checkpoints: BTreeMap::new(),
    }));
    let counter = Arc::new(AtomicU64::new(0));
    let authority = key("eu.ec", 21);
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("crash test seed {seed}");
    let mut total_acked_before_kills = Vec::new();

    for round in 0..=KILLS {
        let mut reg = Registry::start(dir.path(), &[]);
        // Recovery checks.
        let cp = reg.checkpoint();
        {
            let s = seen.lock().unwrap();
            for (index, entry) in &s.acked {
                assert!(
                    *index < cp.checkpoint.size,
                    "round {round}: acknowledged {index} beyond size {}",
                    cp.checkpoint.size
                );
                let (st, v) = reg.get_json(&format!("/v1/entries/{index}"));
                assert_eq!(st, 200);
                let got = base64::Engine::decode(
                    &base64::engine::general_purpose::STANDARD,
                    v["entry"].as_str().unwrap(),
                )
                .unwrap();
                assert_eq!(&got, entry, "round {round}: entry {index} changed");
            }
            for (size, root) in &s.checkpoints {
                if *size == cp.checkpoint.size {
                    assert_eq!(
                        root, &cp.checkpoint.root,
                        "round {round}: two roots for size {size}"
                    );
                    continue;
                }
                assert!(
                    *size < cp.checkpoint.size,
                    "round {round}: checkpoint rolled back from {size} to {}",
                    cp.checkpoint.size
                );
                let (st, v) = reg.get_json(&format!(
                    "/v1/proof/consistency?from={size}&to={}",
                    cp.checkpoint.size
                ));
                assert_eq!(st, 200);
                merkle::verify_consistency(
                    *size,
                    cp.checkpoint.size,
                    root,
                    &cp.checkpoint.root,
                    &b64_hashes(&v["proof"]),
                )
                .unwrap_or_else(|e| panic!("round {round}: not consistent with size {size}: {e}"));
            }
        }
        seen.lock()
            .unwrap()
            .checkpoints
            .insert(cp.checkpoint.size, cp.checkpoint.root);
        if round == 0 {
            let (s, r) = reg.post(&enroll(
                &reg.governance(),
                "eu.ec",
                &[&authority],
                &["EU", "EEA"],
            ));
            assert_eq!(s, 201, "{r}");
        }
        if round == KILLS {
            break;
        }
        // Concurrent submitters until the kill.
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        for _ in 0..4 {
            let (base, seen, counter, stop, a, log_key) = (
                reg.base.clone(),
                seen.clone(),
                counter.clone(),
                stop.clone(),
                authority.clone(),
                reg.log_key.clone(),
            );
            threads.push(std::thread::spawn(move || {
                let agent = ureq::AgentBuilder::new()
                    .timeout(Duration::from_secs(5))
                    .build();
                while !stop.load(Ordering::Relaxed) {
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    let env = recognition(
                        &a,
                        &format!("eu.ec/crash/{n}"),
                        "granted",
                        "EEA",
                        "JP",
                        "2019-01-23",
                    );
                    let r = agent
                        .post(&format!("{base}/v1/entries"))
                        .set("Content-Type", "application/json")
                        .send_bytes(&env);
                    match r {
                        Ok(resp) if resp.status() == 201 => {
                            let v: serde_json::Value = match resp.into_json() {
                                Ok(v) => v,
                                Err(_) => break, // killed mid-response: not acknowledged
                            };
                            let index = v["index"].as_u64().unwrap();
                            let cp = dfft_core::checkpoint::SignedCheckpoint::parse(
                                v["checkpoint"].as_str().unwrap().as_bytes(),
                            )
                            .unwrap();
                            cp.verify(&log_key, &[], 0).unwrap();
                            let mut s = seen.lock().unwrap();
                            s.acked.insert(index, env);
                            s.checkpoints.insert(cp.checkpoint.size, cp.checkpoint.root);
                        }
                        Ok(resp) => panic!("unexpected status {}", resp.status()),
                        Err(_) => break, // the server is gone
                    }
                }
            }));
        }
        let wait = 30 + rng(&mut seed) % 400;
        std::thread::sleep(Duration::from_millis(wait));
        reg.kill();
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            t.join().unwrap();
        }
        total_acked_before_kills.push(seen.lock().unwrap().acked.len());
    }
    let acked = seen.lock().unwrap().acked.len();
    eprintln!("crash test: {KILLS} kills, {acked} acknowledged entries, all intact; acked after each round: {total_acked_before_kills:?}");
    assert!(
        acked >= KILLS * 5,
        "too few entries were acknowledged to exercise the test: {acked}"
    );
}
