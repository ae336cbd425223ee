//! Witness quorums from C2SP tlog-policy files: a checkpoint below the
//! quorum is refused with the witnesses missing named, a forged
//! cosignature of either type (Ed25519 cosignature/v1, ML-DSA-44
//! subtree/v1) is refused, a 2-of-3 group is met by any two, online and
//! offline (tlog-proof files, saved route answers).

mod common;

use common::*;
use dfft_client::offline::{verify_route_with, verify_tlog_proof, Completeness};
use dfft_core::answer::RouteAnswer;

/// The test log's answers carry no completeness part (this file is about
/// the witness quorum; completeness: tests/detect.rs, tests/lying_server.rs).
fn verify_route(
    a: &RouteAnswer,
    p: &Policy,
) -> Result<dfft_core::answer::VerifiedRoute, ClientError> {
    verify_route_with(a, p, Completeness::AcceptIncomplete)
}
use dfft_client::{Client, ClientError, MemoryTransport, Policy};
use dfft_core::answer::AnswerError;
use dfft_core::checkpoint::{CheckpointError, SignedCheckpoint};
use dfft_core::note::{KeyKind, KeyName, NoteError, SignerKey};
use dfft_core::policy::Policy as CorePolicy;

fn mldsa(name: &str, seed: u8) -> SignerKey {
    SignerKey::from_seed_kind(KeyName::new(name).unwrap(), KeyKind::SubtreeV1, [seed; 32])
}

/// Witnesses A and B (Ed25519) and C (ML-DSA-44).
fn witnesses() -> Vec<SignerKey> {
    vec![
        witness("a.example/w", 11),
        witness("b.example/w", 12),
        mldsa("c.example/w", 13),
    ]
}

fn policy_text(log: &TestLog, ws: &[SignerKey]) -> String {
    format!(
        "# Two of three witnesses.\nlog {}\nwitness A {}\nwitness B {}\nwitness C {} https://c.example/w/\ngroup two-of-three 2 A B C\nquorum two-of-three\n",
        log.log_key.verifier(),
        ws[0].verifier(),
        ws[1].verifier(),
        ws[2].verifier()
    )
}

fn policy(log: &TestLog, ws: &[SignerKey]) -> Policy {
    Policy::from_policy(CorePolicy::parse(&policy_text(log, ws)).unwrap(), None).unwrap()
}

/// A log of 12 entries cosigned by the witnesses `by` (indexes into `ws`).
fn log_cosigned_by(ws: &[SignerKey], by: &[usize]) -> TestLog {
    let mut log = TestLog::with_entries(12);
    log.witnesses = by.iter().map(|&i| ws[i].clone()).collect();
    log
}

#[test]
fn quorum_met_by_any_two_of_three() {
    let ws = witnesses();
    for by in [[0usize, 1], [0, 2], [1, 2]] {
        let log = log_cosigned_by(&ws, &by);
        let p = policy(&log, &ws);
        let t = MemoryTransport::new();
        log.publish(&t);
        let cp = Client::new(&t, p.clone()).checkpoint().unwrap();
        let names = p.verify(&cp).unwrap();
        assert_eq!(names.len(), 2, "{by:?}");
        verify_tlog_proof(log.tlog_proof(4).to_text().as_bytes(), &p, None).unwrap();
        verify_route(&log.route_answer("DE", "JP", "2026-06-01", None), &p).unwrap();
    }
    // All three is fine too.
    let log = log_cosigned_by(&ws, &[2, 1, 0]);
    assert_eq!(
        policy(&log, &ws).verify(&log.checkpoint()).unwrap(),
        ["A", "B", "C"]
    );
}

#[test]
fn below_quorum_is_refused_naming_the_missing_witnesses() {
    let ws = witnesses();
    for (by, missing) in [
        (vec![2usize], vec!["A", "B"]),
        (vec![0], vec!["B", "C"]),
        (vec![], vec!["A", "B", "C"]),
    ] {
        let log = log_cosigned_by(&ws, &by);
        let p = policy(&log, &ws);
        let t = MemoryTransport::new();
        log.publish(&t);
        let check = |err: ClientError| {
            let text = err.to_string();
            let (ClientError::Checkpoint(CheckpointError::QuorumNotMet {
                quorum, missing: m, ..
            })
            | ClientError::Answer(AnswerError::Checkpoint(CheckpointError::QuorumNotMet {
                quorum,
                missing: m,
                ..
            }))) = err
            else {
                panic!("{text}")
            };
            assert_eq!(quorum, "two-of-three");
            let want: Vec<String> =
                std::iter::once(format!("group two-of-three (2 of 3, has {})", by.len()))
                    .chain(missing.iter().map(|s| s.to_string()))
                    .collect();
            assert_eq!(m, want, "{text}");
            for name in &missing {
                assert!(text.contains(name), "{text}");
            }
        };
        check(Client::new(&t, p.clone()).checkpoint().unwrap_err());
        check(verify_tlog_proof(log.tlog_proof(4).to_text().as_bytes(), &p, None).unwrap_err());
        check(verify_route(&log.route_answer("DE", "JP", "2026-06-01", None), &p).unwrap_err());
    }
}

/// The log's checkpoint with byte `at` of signature line `line` flipped.
fn forged(log: &TestLog, line: usize, at: usize) -> String {
    let mut cp = log.checkpoint();
    let mut s = cp.note.signatures()[line].clone();
    s.sig[at] ^= 0x10;
    cp.note.add_signature(s);
    // The forged line is now last; reparse to be sure it is well-formed.
    SignedCheckpoint::parse(cp.to_text().as_bytes())
        .unwrap()
        .to_text()
}

#[test]
fn forged_cosignatures_of_both_types_are_refused() {
    let ws = witnesses();
    // All three cosign, so the quorum would be met without the forged one.
    let log = log_cosigned_by(&ws, &[0, 1, 2]);
    let p = policy(&log, &ws);
    for (line, at, who) in [
        (1usize, 30usize, "a.example/w"),
        (3, 1000, "c.example/w"),
        (3, 5, "c.example/w"),
    ] {
        let text = forged(&log, line, at);
        let t = MemoryTransport::new();
        t.publish(&log.tree, &log.entries, &text).unwrap();
        let err = Client::new(&t, p.clone()).checkpoint().unwrap_err();
        assert!(
            matches!(
                &err,
                ClientError::Checkpoint(CheckpointError::Note(NoteError::InvalidSignature { name, .. })) if name == who
            ),
            "line {line} byte {at}: {err}"
        );
        // Offline: a tlog-proof carrying the forged checkpoint.
        let mut tp = log.tlog_proof(4);
        tp.checkpoint = SignedCheckpoint::parse(text.as_bytes()).unwrap();
        assert!(verify_tlog_proof(tp.to_text().as_bytes(), &p, None).is_err());
        let mut answer = log.route_answer("DE", "JP", "2026-06-01", None);
        answer.checkpoint = text;
        assert!(verify_route(&answer, &p).is_err());
    }
    // A cosignature by a witness key that is not in the policy is ignored:
    // a stranger cannot make up the quorum.
    let stranger = mldsa("a.example/w", 99);
    let log = log_cosigned_by(&[ws[0].clone(), stranger], &[0, 1]);
    let err = policy(&log, &ws).verify(&log.checkpoint()).unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Checkpoint(CheckpointError::QuorumNotMet { .. })
        ),
        "{err}"
    );
}

#[test]
fn policy_pins_one_log() {
    let ws = witnesses();
    let log = log_cosigned_by(&ws, &[0, 1]);
    let core = CorePolicy::parse(&policy_text(&log, &ws)).unwrap();
    // The log key may be given if it agrees.
    let p = Policy::from_policy(core.clone(), Some(log.log_key.verifier())).unwrap();
    assert_eq!(p.log_key(), &log.log_key.verifier());
    let other = key("other.example/log", 5).verifier();
    let err = Policy::from_policy(core.clone(), Some(other.clone())).unwrap_err();
    assert!(
        matches!(err, ClientError::Usage(ref m) if m.contains("not a log of the witness policy")),
        "{err}"
    );
    // A policy without logs needs the log key; one with two, a choice.
    let no_logs = format!("witness A {}\nquorum A\n", ws[0].verifier());
    let no_logs = CorePolicy::parse(&no_logs).unwrap();
    assert!(Policy::from_policy(no_logs.clone(), None).is_err());
    let p = Policy::from_policy(no_logs, Some(log.log_key.verifier())).unwrap();
    p.verify(&log.checkpoint()).unwrap();
    let two = format!("{}log {other}\n", policy_text(&log, &ws));
    let two = CorePolicy::parse(&two).unwrap();
    let err = Policy::from_policy(two.clone(), None).unwrap_err();
    assert!(
        err.to_string().contains("choose one with --log-key"),
        "{err}"
    );
    // Pinned to our log, a checkpoint of the policy's other log is refused.
    let p = Policy::from_policy(two, Some(other)).unwrap();
    assert!(matches!(
        p.verify(&log.checkpoint()),
        Err(ClientError::Checkpoint(CheckpointError::WrongOrigin { .. }))
    ));
    // The flags' k of n builds the same kind of policy.
    let p = Policy::from_keys(
        log.log_key.verifier(),
        ws.iter().map(|w| w.verifier()).collect(),
        2,
    )
    .unwrap();
    p.verify(&log.checkpoint()).unwrap();
    let log1 = log_cosigned_by(&ws, &[2]);
    let err = p.verify(&log1.checkpoint()).unwrap_err();
    assert!(
        err.to_string().contains("a.example/w, b.example/w"),
        "{err}"
    );
}
