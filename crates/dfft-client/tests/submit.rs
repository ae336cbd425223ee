//! Submission: genuine receipts verify; forged ones (wrong leaf hash, bad
//! proof, a checkpoint signed by another key, an entry of another
//! statement) are refused with the error of the check that failed; the
//! log's refusals and failures are told apart from transport failures.

mod common;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use common::*;
use dfft_client::transport::{Response, TransportError};
use dfft_client::{Client, ClientError, MemoryTransport, Policy, Refusal, Transport};
use dfft_core::hex;
use dfft_core::merkle::{self, ProofError};
use dfft_core::statement::dsse::Envelope;
use dfft_core::wire;
use serde_json::json;

fn client<'a>(log: &TestLog, t: &'a MemoryTransport) -> Client<&'a MemoryTransport> {
    Client::new(t, Policy::new(log.log_key.verifier()).unwrap())
}

/// The receipt the registry gives for entry `index` at the log's size.
fn receipt(log: &TestLog, index: u64) -> wire::Receipt {
    let tp = log.tlog_proof(index);
    wire::Receipt {
        index,
        leaf_hash: hex::encode(&merkle::leaf_hash(&log.entries[index as usize])),
        checkpoint: tp.checkpoint.to_text(),
        inclusion_proof: wire::encode_hashes(&tp.proof),
        tlog_proof: tp.to_text(),
        note: None,
    }
}

fn serve(t: &MemoryTransport, status: u16, r: &wire::Receipt) {
    t.set_post("/v1/entries", status, serde_json::to_vec(r).unwrap());
}

/// A log whose last entry is a fresh grant, returned as submitted.
fn log_with_new_grant() -> (TestLog, Vec<u8>) {
    let mut log = TestLog::with_entries(40);
    let e = recognition(
        &log.ec,
        "eu.ec/adequacy/new",
        "granted",
        "EEA",
        "JP",
        "2021-01-01",
    );
    log.push(e.clone());
    (log, e)
}

#[test]
fn a_genuine_receipt_verifies() {
    let (log, sent) = log_with_new_grant();
    let t = MemoryTransport::new();
    let r = receipt(&log, log.size() - 1);
    serve(&t, 201, &r);
    let v = client(&log, &t).submit(&sent).unwrap();
    assert_eq!(v.index, log.size() - 1);
    assert!(v.created && !v.other_envelope);
    assert_eq!(v.entry, sent);
    assert_eq!(v.checkpoint, log.checkpoint());
    // Nothing the log said is lost in the verified form.
    assert_eq!(v.to_wire(), r);
    assert_eq!(t.posted(), vec![("/v1/entries".to_string(), sent)]);
}

/// Another envelope of the statement that `log`'s entry `index` carries:
/// the same payload signed by the authority and one more key.
fn other_envelope(log: &TestLog, index: usize) -> Vec<u8> {
    let logged = Envelope::parse(&log.entries[index]).unwrap();
    let extra = key("other.key", 9);
    let env = Envelope::sign(logged.payload.clone(), &[&log.ec, &extra]).unwrap();
    assert_eq!(env.statement_id(), logged.statement_id());
    env.canonical_bytes()
}

#[test]
fn a_statement_logged_under_another_signature_set_verifies_against_the_logged_entry() {
    let (log, _) = log_with_new_grant();
    let index = log.size() - 1;
    let sent = other_envelope(&log, index as usize);
    let t = MemoryTransport::new();
    let mut r = receipt(&log, index);
    r.note = Some("logged before".into());
    serve(&t, 200, &r);
    let v = client(&log, &t).submit(&sent).unwrap();
    assert!(!v.created && v.other_envelope);
    assert_eq!(v.entry, log.entries[index as usize]);
    assert_eq!(v.note.as_deref(), Some("logged before"));

    // The same answer for an envelope of another statement is refused.
    let unrelated = recognition(
        &log.ec,
        "eu.ec/adequacy/zz",
        "granted",
        "EEA",
        "US",
        "2021-01-01",
    );
    let e = client(&log, &t).submit(&unrelated).unwrap_err();
    assert!(
        matches!(&e, ClientError::BadReceipt(m) if m.contains("another statement")),
        "{e}"
    );
}

#[test]
fn forged_receipts_are_refused() {
    let (log, sent) = log_with_new_grant();
    let index = log.size() - 1;
    let good = receipt(&log, index);
    let t = MemoryTransport::new();
    let c = client(&log, &t);

    // The receipt of another entry (its own proof is good).
    serve(&t, 201, &receipt(&log, 5));
    let e = c.submit(&sent).unwrap_err();
    assert!(
        matches!(&e, ClientError::BadReceipt(m) if m.contains("not that of the entry sent")),
        "{e}"
    );

    // The right leaf hash with a proof of another index.
    serve(
        &t,
        201,
        &wire::Receipt {
            index: 5,
            ..good.clone()
        },
    );
    let e = c.submit(&sent).unwrap_err();
    assert!(matches!(e, ClientError::Inclusion { index: 5, .. }), "{e}");

    // One flipped bit in a proof hash.
    let mut proof = merkle::inclusion_proof(&log.tree, index, log.size()).unwrap();
    proof[0][0] ^= 1;
    serve(
        &t,
        201,
        &wire::Receipt {
            inclusion_proof: wire::encode_hashes(&proof),
            ..good.clone()
        },
    );
    assert!(matches!(
        c.submit(&sent),
        Err(ClientError::Inclusion {
            source: ProofError::RootMismatch { .. },
            ..
        })
    ));

    // A checkpoint signed by another key of the log's name.
    let mut impostor = log.clone();
    impostor.log_key = key(ORIGIN, 77);
    impostor.witnesses.clear();
    serve(&t, 201, &receipt(&impostor, index));
    let e = c.submit(&sent).unwrap_err();
    assert!(matches!(e, ClientError::Checkpoint(_)), "{e}");

    // 201 ("logged now") with another entry of the statement.
    let other = other_envelope(&log, index as usize);
    serve(&t, 201, &good);
    let e = c.submit(&other).unwrap_err();
    assert!(
        matches!(&e, ClientError::BadReceipt(m) if m.contains("yet it says 201")),
        "{e}"
    );

    // Not a receipt at all.
    t.set_post("/v1/entries", 201, b"{\"index\":1}".to_vec());
    assert!(matches!(
        c.submit(&sent),
        Err(ClientError::Malformed { .. })
    ));

    // The genuine one still passes.
    serve(&t, 201, &good);
    assert!(c.submit(&sent).is_ok());
}

#[test]
fn refusals_failures_and_transport_errors_are_told_apart() {
    let (log, sent) = log_with_new_grant();
    let t = MemoryTransport::new();
    let c = client(&log, &t);
    t.set_post(
        "/v1/entries",
        422,
        br#"{"error":"rule_violated","message":"record exists"}"#.to_vec(),
    );
    let e = c.submit(&sent).unwrap_err();
    assert_eq!(
        e.refusal(),
        Some(&Refusal {
            status: 422,
            code: "rule_violated".into(),
            message: "record exists".into()
        })
    );
    assert_eq!(e.to_string(), "refused (422 rule_violated): record exists");

    t.set_post(
        "/v1/entries",
        503,
        br#"{"error":"overloaded","message":"retry"}"#.to_vec(),
    );
    let e = c.submit(&sent).unwrap_err();
    assert!(
        matches!(&e, ClientError::SubmitFailed { status: 503, code: Some(c), .. } if c == "overloaded"),
        "{e}"
    );
    assert!(e.refusal().is_none());

    // Not an envelope: refused locally, nothing posted.
    let before = t.posted().len();
    assert!(matches!(c.submit(b"{}"), Err(ClientError::Usage(_))));
    assert_eq!(t.posted().len(), before);

    // A transport that cannot post.
    struct ReadOnly;
    impl Transport for ReadOnly {
        fn get(&self, _: &str) -> Result<Response, TransportError> {
            Err(TransportError::Io("offline".into()))
        }
    }
    let ro = Client::new(ReadOnly, Policy::new(log.log_key.verifier()).unwrap());
    assert!(matches!(
        ro.submit(&sent),
        Err(ClientError::Unsent {
            source: TransportError::ReadOnly,
            ..
        })
    ));
}

/// A batch answer for `log`'s current checkpoint.
fn batch_answer(log: &TestLog, results: Vec<wire::BatchItem>) -> wire::BatchReceipt {
    wire::BatchReceipt {
        checkpoint: log.checkpoint().to_text(),
        tree_size: log.size(),
        results,
    }
}

fn logged_item(log: &TestLog, index: u64, status: u16) -> wire::BatchItem {
    wire::BatchItem {
        status,
        index: Some(index),
        leaf_hash: Some(hex::encode(&merkle::leaf_hash(
            &log.entries[index as usize],
        ))),
        inclusion_proof: Some(wire::encode_hashes(
            &merkle::inclusion_proof(&log.tree, index, log.size()).unwrap(),
        )),
        ..wire::BatchItem::default()
    }
}

#[test]
fn a_batch_verifies_each_logged_entry_and_returns_refusals() {
    let mut log = TestLog::with_entries(30);
    let a = recognition(
        &log.ec,
        "eu.ec/adequacy/a",
        "granted",
        "EEA",
        "JP",
        "2021-01-01",
    );
    let b = recognition(
        &log.ec,
        "eu.ec/adequacy/b",
        "granted",
        "EEA",
        "KR",
        "2021-01-01",
    );
    log.push(a.clone());
    log.push(b.clone());
    let again = other_envelope(&log, 10);
    let refused = sign(json!({"kind": "recognition"}), &[&log.ec]);
    let (ia, ib) = (log.size() - 2, log.size() - 1);
    let mut dup = logged_item(&log, 10, 200);
    dup.entry = Some(B64.encode(&log.entries[10]));
    let answer = batch_answer(
        &log,
        vec![
            logged_item(&log, ia, 201),
            wire::BatchItem {
                status: 400,
                error: Some("malformed".into()),
                message: Some("not a statement".into()),
                ..wire::BatchItem::default()
            },
            dup,
            logged_item(&log, ib, 201),
        ],
    );
    let t = MemoryTransport::new();
    t.set_post(
        "/v1/entries/batch",
        200,
        serde_json::to_vec(&answer).unwrap(),
    );
    let c = client(&log, &t);
    let sent = [a.clone(), refused.clone(), again.clone(), b.clone()];
    let out = c.submit_batch(&sent).unwrap();
    assert_eq!(out.len(), 4);
    let r0 = out[0].as_ref().unwrap();
    assert_eq!(
        (r0.index, r0.created, r0.entry.as_slice()),
        (ia, true, a.as_slice())
    );
    assert_eq!(
        out[1],
        Err(Refusal {
            status: 400,
            code: "malformed".into(),
            message: "not a statement".into()
        })
    );
    let r2 = out[2].as_ref().unwrap();
    assert!(r2.other_envelope && !r2.created);
    assert_eq!(r2.entry, log.entries[10]);
    assert_eq!(out[3].as_ref().unwrap().index, ib);
    // The request is one JSON array of the canonical envelopes.
    let posted = t.posted();
    let body: Vec<serde_json::Value> = serde_json::from_slice(&posted[0].1).unwrap();
    assert_eq!(body.len(), 4);
    assert_eq!(serde_json::to_vec(&body[0]).unwrap(), a);

    // A forged item fails the whole batch: a proof missing a hash.
    let mut forged = answer.clone();
    forged.results[3].inclusion_proof = Some(wire::encode_hashes(
        &merkle::inclusion_proof(&log.tree, ib, log.size()).unwrap()[1..],
    ));
    t.set_post(
        "/v1/entries/batch",
        200,
        serde_json::to_vec(&forged).unwrap(),
    );
    assert!(matches!(
        c.submit_batch(&sent),
        Err(ClientError::Inclusion { .. })
    ));

    // The other envelope's logged entry swapped for one of another statement.
    let mut forged = answer.clone();
    forged.results[2] = logged_item(&log, 11, 200);
    forged.results[2].entry = Some(B64.encode(&log.entries[11]));
    t.set_post(
        "/v1/entries/batch",
        200,
        serde_json::to_vec(&forged).unwrap(),
    );
    let e = c.submit_batch(&sent).unwrap_err();
    assert!(
        matches!(&e, ClientError::BadReceipt(m) if m.starts_with("envelope 2:")),
        "{e}"
    );

    // Too few results, a tree size that is not the checkpoint's.
    let mut short = answer.clone();
    short.results.pop();
    t.set_post(
        "/v1/entries/batch",
        200,
        serde_json::to_vec(&short).unwrap(),
    );
    assert!(matches!(
        c.submit_batch(&sent),
        Err(ClientError::BadReceipt(_))
    ));
    let mut size = answer.clone();
    size.tree_size += 1;
    t.set_post("/v1/entries/batch", 200, serde_json::to_vec(&size).unwrap());
    assert!(matches!(
        c.submit_batch(&sent),
        Err(ClientError::BadReceipt(_))
    ));

    // Signed by another key.
    let mut impostor = log.clone();
    impostor.log_key = key(ORIGIN, 78);
    impostor.witnesses.clear();
    let other_key = batch_answer(&impostor, answer.results.clone());
    t.set_post(
        "/v1/entries/batch",
        200,
        serde_json::to_vec(&other_key).unwrap(),
    );
    assert!(matches!(
        c.submit_batch(&sent),
        Err(ClientError::Checkpoint(_))
    ));

    // The whole batch refused.
    t.set_post(
        "/v1/entries/batch",
        413,
        br#"{"error":"too_large","message":"too many"}"#.to_vec(),
    );
    assert_eq!(
        c.submit_batch(&sent)
            .unwrap_err()
            .refusal()
            .map(|r| r.status),
        Some(413)
    );
    assert!(matches!(
        c.submit_batch::<Vec<u8>>(&[]),
        Err(ClientError::Usage(_))
    ));
}
