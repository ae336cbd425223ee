//! The log side of witnessing, in process: a server with a 2-of-3 witness
//! policy and three small tlog-witness peers that can be switched off.
//! The log publishes with one witness down, holds new checkpoints back
//! with two down (submissions get 503 awaiting_witnesses, `/checkpoint`
//! stays at the last cosigned size), and resumes when one returns; every
//! checkpoint it ever served meets the quorum, and every acknowledged
//! entry is in the final tree. (The same with real `dfft witness`
//! processes: tests/witnesses.rs at the workspace root.)

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use dfft_core::checkpoint::SignedCheckpoint;
use dfft_core::merkle;
use dfft_core::note::{KeyKind, KeyName, SignerKey};
use dfft_core::policy::Policy;
use dfft_core::statement::dsse::Envelope;
use dfft_server::witnessing::WitnessOptions;
use dfft_server::{Config, GovernanceConfig, Limits, Server};
use serde_json::json;

const ORIGIN: &str = "witnessed.dfft.example/log";

/// A minimal tlog-witness: checks old size, proof and log signature,
/// remembers (size, root), cosigns with cosignature/v1.
struct FakeWitness {
    key: SignerKey,
    log: dfft_core::note::VerifierKey,
    up: AtomicBool,
    state: Mutex<(u64, [u8; 32])>,
}

async fn add_checkpoint(State(w): State<Arc<FakeWitness>>, body: String) -> Response {
    if !w.up.load(Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, "down\n").into_response();
    }
    let Some((head, cp_text)) = body.split_once("\n\n") else {
        return (StatusCode::BAD_REQUEST, "no blank line").into_response();
    };
    let mut lines = head.lines();
    let old: u64 = match lines.next().and_then(|l| l.strip_prefix("old ")) {
        Some(n) => n.parse().unwrap(),
        None => return (StatusCode::BAD_REQUEST, "no old line").into_response(),
    };
    let proof: Vec<[u8; 32]> = lines
        .map(|l| B64.decode(l).unwrap().try_into().unwrap())
        .collect();
    let cp = SignedCheckpoint::parse(cp_text.as_bytes()).unwrap();
    if cp.verify(&w.log, &[], 0).is_err() {
        return (StatusCode::FORBIDDEN, "bad log signature").into_response();
    }
    let mut st = w.state.lock().unwrap();
    if old != st.0 {
        return (
            StatusCode::CONFLICT,
            [("content-type", "text/x.tlog.size")],
            format!("{}\n", st.0),
        )
            .into_response();
    }
    let c = &cp.checkpoint;
    if old > c.size {
        return (StatusCode::BAD_REQUEST, "old > size").into_response();
    }
    if old > 0 && merkle::verify_consistency(old, c.size, &st.1, &c.root, &proof).is_err() {
        return (StatusCode::UNPROCESSABLE_ENTITY, "bad proof").into_response();
    }
    *st = (c.size, c.root);
    let mut note = cp.note.clone();
    note.add_signer(&w.key, 1_700_000_000).unwrap();
    let line = note
        .signatures()
        .iter()
        .find(|s| s.name == w.key.name())
        .unwrap()
        .to_line();
    (StatusCode::OK, line).into_response()
}

fn sign(v: serde_json::Value, k: &SignerKey) -> Vec<u8> {
    Envelope::sign(serde_json::to_vec(&v).unwrap(), &[k])
        .unwrap()
        .canonical_bytes()
}

fn grant(ec: &SignerKey, n: u32) -> Vec<u8> {
    sign(
        json!({"kind": "recognition", "authority": "eu.ec", "record": format!("eu.ec/r{n}"),
               "action": "granted", "mechanism": "adequacy", "from": "EEA", "to": "JP",
               "legal_reference": {"id": "CELEX:32019D0419", "title": "Decision"},
               "effective": "2019-01-23", "issued_at": "2026-01-01T00:00:00Z"}),
        ec,
    )
}

fn post(agent: &ureq::Agent, base: &str, body: &[u8]) -> (u16, serde_json::Value) {
    let r = agent
        .post(&format!("{base}/v1/entries"))
        .set("Content-Type", "application/json")
        .send_bytes(body);
    let r = match r {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{e}"),
    };
    let status = r.status();
    (status, r.into_json().unwrap_or(serde_json::Value::Null))
}

fn get(agent: &ureq::Agent, base: &str, path: &str) -> (u16, String) {
    match agent.get(&format!("{base}{path}")).call() {
        Ok(r) => (r.status(), r.into_string().unwrap()),
        Err(ureq::Error::Status(s, r)) => (s, r.into_string().unwrap_or_default()),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn two_of_three_publishes_with_one_down_holds_with_two_down_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // The log key first, so that the witnesses know it.
    let log_key = SignerKey::from_seed(KeyName::new(ORIGIN).unwrap(), [42; 32]);
    let key_file = dir.path().join("log.key");
    dfft_keys::write_secret(&key_file, &log_key.to_private_string()).unwrap();
    let mut witnesses = Vec::new();
    let mut policy = String::new();
    for i in 0..3u8 {
        let key = SignerKey::from_seed_kind(
            KeyName::new(&format!("w{i}.witness.example")).unwrap(),
            KeyKind::CosignatureV1,
            [i + 1; 32],
        );
        let w = Arc::new(FakeWitness {
            key,
            log: log_key.verifier(),
            up: AtomicBool::new(true),
            state: Mutex::new((0, merkle::EMPTY_ROOT)),
        });
        let app = axum::Router::new()
            .route("/add-checkpoint", axum::routing::post(add_checkpoint))
            .with_state(w.clone());
        let l = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        rt.spawn(async move { axum::serve(l, app).await });
        policy.push_str(&format!("witness w{i} {} {url}\n", w.key.verifier()));
        witnesses.push(w);
    }
    policy.push_str("group two 2 w0 w1 w2\nquorum two\n");
    let policy_text = policy.clone();
    let policy = Policy::parse(&policy).unwrap();
    let mut options = WitnessOptions::new(policy.clone());
    options.wait = Duration::from_millis(1500);
    options.timeout = Duration::from_millis(500);
    let server = Server::open(Config {
        data_dir: dir.path().to_path_buf(),
        origin: Some(ORIGIN.to_owned()),
        log_key: Some(key_file),
        governance: GovernanceConfig::default(),
        limits: Limits::default(),
        store: Default::default(),
        witnesses: Some(options),
    })
    .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let serving = rt.spawn(server.serve(listener, async {
        let _ = stop_rx.await;
    }));
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(20))
        .build();

    // Every checkpoint ever served, checked in the background: each one
    // must meet the quorum.
    let done = Arc::new(AtomicBool::new(false));
    let served = Arc::new(Mutex::new(Vec::<u64>::new()));
    let watcher = {
        let (done, served, base, agent, policy) = (
            done.clone(),
            served.clone(),
            base.clone(),
            agent.clone(),
            policy.clone(),
        );
        let log = log_key.verifier();
        std::thread::spawn(move || {
            while !done.load(Ordering::SeqCst) {
                let (s, body) = get(&agent, &base, "/checkpoint");
                if s == 200 {
                    let cp = SignedCheckpoint::parse(body.as_bytes()).unwrap();
                    cp.verify(&log, &[], 0).unwrap();
                    let names: Vec<&str> = policy
                        .witnesses()
                        .iter()
                        .filter(|w| cp.note.verify(std::slice::from_ref(&w.key)).is_ok())
                        .map(|w| w.name.as_str())
                        .collect();
                    assert!(
                        policy.quorum_met(&names),
                        "served a checkpoint of size {} cosigned only by {names:?}",
                        cp.checkpoint.size
                    );
                    served.lock().unwrap().push(cp.checkpoint.size);
                } else {
                    assert_eq!(s, 503, "{body}");
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };

    // The genesis gets cosigned.
    let deadline = Instant::now() + Duration::from_secs(10);
    while get(&agent, &base, "/checkpoint").0 != 200 {
        assert!(Instant::now() < deadline, "genesis never cosigned");
        std::thread::sleep(Duration::from_millis(20));
    }
    let gov = SignerKey::parse(
        std::fs::read_to_string(dir.path().join("governance.key"))
            .unwrap()
            .trim(),
    )
    .unwrap();
    let ec = SignerKey::from_seed(KeyName::new("eu.ec").unwrap(), [7; 32]);
    let enrol = sign(
        json!({"kind": "authority", "action": "enroll", "authority": "eu.ec", "name": "EC", "log": ORIGIN,
               "competence": ["EEA"], "keys": [ec.verifier().to_string()], "issued_at": "2026-01-01T00:00:00Z"}),
        &gov,
    );
    let mut acknowledged: Vec<(u64, Vec<u8>)> = Vec::new();
    let (s, r) = post(&agent, &base, &enrol);
    assert_eq!(s, 201, "{r}");
    acknowledged.push((r["index"].as_u64().unwrap(), enrol));
    let cosigned_receipt = |r: &serde_json::Value| {
        let cp = SignedCheckpoint::parse(r["checkpoint"].as_str().unwrap().as_bytes()).unwrap();
        let names: Vec<&str> = policy
            .witnesses()
            .iter()
            .filter(|w| cp.note.verify(std::slice::from_ref(&w.key)).is_ok())
            .map(|w| w.name.as_str())
            .collect();
        assert!(policy.quorum_met(&names), "receipt below quorum: {names:?}");
        names.len()
    };
    assert_eq!(cosigned_receipt(&r), 3);

    // One witness down: still publishing, receipts cosigned by the other two.
    witnesses[0].up.store(false, Ordering::SeqCst);
    for n in 0..5 {
        let e = grant(&ec, n);
        let (s, r) = post(&agent, &base, &e);
        assert_eq!(s, 201, "{r}");
        assert_eq!(cosigned_receipt(&r), 2);
        acknowledged.push((r["index"].as_u64().unwrap(), e));
    }
    let (_, m) = get(&agent, &base, "/metrics");
    assert!(m.contains("dfft_witness_quorum 1"), "{m}");

    // Two down: the entry is logged but not acknowledged; the checkpoint
    // stays; health names the missing witnesses.
    witnesses[1].up.store(false, Ordering::SeqCst);
    let held = grant(&ec, 100);
    let before = get(&agent, &base, "/checkpoint").1;
    let (s, r) = post(&agent, &base, &held);
    assert_eq!(s, 503, "{r}");
    assert_eq!(r["error"], "awaiting_witnesses", "{r}");
    assert_eq!(get(&agent, &base, "/checkpoint").1, before);
    let (hs, health) = get(&agent, &base, "/healthz");
    assert_eq!(hs, 200);
    assert!(
        health.starts_with("degraded: witness quorum not met")
            && health.contains("w0")
            && health.contains("w1"),
        "{health}"
    );
    let (_, m) = get(&agent, &base, "/metrics");
    assert!(m.contains("dfft_witness_quorum 0"), "{m}");
    // The held entry and its batch's index entry.
    assert!(m.contains("dfft_unwitnessed_entries 2"), "{m}");
    // Answers are still given, and proven complete, for the published
    // tree, although the store's map already holds the held batch (the
    // handlers read the map as it stood at the published checkpoint).
    let client_policy =
        Policy::parse(&format!("log {}\n{}", log_key.verifier(), policy_text)).unwrap();
    let (s, body) = get(&agent, &base, "/v1/route?from=DE&to=JP&at=2024-01-01");
    assert_eq!(s, 200, "{body}");
    let ans: dfft_core::answer::RouteAnswer = serde_json::from_str(&body).unwrap();
    assert_eq!(ans.checkpoint, before);
    let verified = ans.verify(&client_policy).unwrap();
    let cp = &verified.checkpoint;
    ans.completeness
        .as_ref()
        .expect("a completeness part")
        .verify_route(cp, &log_key.verifier(), &ans)
        .unwrap();
    let mut ids: Vec<&str> = ans.records.iter().map(|r| r.record.as_str()).collect();
    ids.sort();
    assert_eq!(
        ids,
        ["eu.ec/r0", "eu.ec/r1", "eu.ec/r2", "eu.ec/r3", "eu.ec/r4"],
        "the held grant is not in the published tree"
    );
    let (s, body) = get(&agent, &base, "/v1/records/eu.ec/r2");
    assert_eq!(s, 200, "{body}");
    let (s, body) = get(&agent, &base, "/v1/records/eu.ec/r100");
    assert_eq!(s, 404, "{body}");

    // One returns: publication resumes, the retry gets its receipt (200:
    // it was logged while the quorum was down).
    witnesses[0].up.store(true, Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(15);
    let r = loop {
        let (s, r) = post(&agent, &base, &held);
        if s == 200 {
            break r;
        }
        assert_eq!(s, 503, "{r}");
        assert!(Instant::now() < deadline, "publication never resumed");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(cosigned_receipt(&r), 2);
    acknowledged.push((r["index"].as_u64().unwrap(), held));
    // Health follows the witnessing rounds: a round still running against
    // the state before the witness came back may report it once more.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (hs, health) = get(&agent, &base, "/healthz");
        if (hs, health.as_str()) == (200, "ok\n") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "health never recovered: {hs} {health}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    done.store(true, Ordering::SeqCst);
    watcher.join().unwrap();
    let served = served.lock().unwrap().clone();
    assert!(served.windows(2).all(|w| w[0] <= w[1]), "{served:?}");

    // Nothing acknowledged is lost: each is at its index in the final tree.
    let (_, cp) = get(&agent, &base, "/checkpoint");
    let cp = SignedCheckpoint::parse(cp.as_bytes()).unwrap();
    for (index, entry) in &acknowledged {
        assert!(*index < cp.checkpoint.size);
        let (s, body) = get(&agent, &base, &format!("/v1/entries/{index}"));
        assert_eq!(s, 200);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(B64.decode(v["entry"].as_str().unwrap()).unwrap(), *entry);
    }

    let _ = stop_tx.send(());
    rt.block_on(serving).unwrap().unwrap();
}
