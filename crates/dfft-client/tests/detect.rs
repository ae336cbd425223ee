//! Acceptance tests: a genuine log passes; every kind of tampering, a wrong
//! key, a rollback and a fork are each caught with the right error.

mod common;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use common::*;
use dfft_client::audit::{check_route_complete, Counts};
use dfft_client::offline::{verify_route_with, verify_tlog_proof, Completeness};

/// These answers are built by hand without a completeness part: they test
/// the entries' checks (completeness is tested against a server, tests/lying_server.rs).
fn verify_route(
    a: &dfft_core::answer::RouteAnswer,
    p: &dfft_client::Policy,
) -> Result<dfft_core::answer::VerifiedRoute, ClientError> {
    verify_route_with(a, p, Completeness::AcceptIncomplete)
}
use dfft_client::{
    Auditor, Client, ClientError, InconsistencyKind, MemoryTransport, Policy, RouteQuery, State,
    Watch,
};
use dfft_core::answer::AnswerError;
use dfft_core::checkpoint::CheckpointError;
use dfft_core::merkle::{self, ProofError};
use dfft_core::statement::registry::RuleError;
use dfft_core::statement::{Date, Jurisdiction};
use dfft_core::tile::{encode_bundle, Tile};

fn policy(log: &TestLog) -> Policy {
    Policy::new(log.log_key.verifier()).unwrap()
}

fn no_progress() -> impl FnMut(dfft_client::Progress) {
    |_| {}
}

fn audit(
    client: &Client<&MemoryTransport>,
    trusted: Option<&dfft_core::checkpoint::SignedCheckpoint>,
) -> Result<dfft_client::AuditReport, ClientError> {
    let cp = client.checkpoint()?;
    Auditor::new().advance(client, &cp, trusted, &mut no_progress())
}

#[test]
fn genuine_log_passes_every_check() {
    let log = TestLog::with_entries(700);
    let t = MemoryTransport::new();
    log.publish(&t);
    let client = Client::new(&t, policy(&log));
    let mut state = State::new(log.log_key.verifier());
    let up = client.update(&mut state).unwrap();
    assert_eq!(up.checkpoint, log.checkpoint());
    assert!(up.previous.is_none());
    for i in [0u64, 1, 255, 256, 511, 512, 699] {
        assert_eq!(
            client.entry(&up.checkpoint, i).unwrap(),
            log.entries[i as usize]
        );
    }
    assert_eq!(client.tree_hash(700).unwrap(), log.tree.root());
    let report = audit(&client, None).unwrap();
    assert_eq!(report.replayed, 700);
    assert_eq!(
        report.counts,
        Counts {
            genesis: 1,
            authority: 1,
            recognition: 698,
            repeated: 0,
            index: 0,
        }
    );
    assert_eq!(report.authorities, 1);

    // The offline proof of every sort of entry verifies.
    for i in [0u64, 1, 2, 699] {
        let v =
            verify_tlog_proof(log.tlog_proof(i).to_text().as_bytes(), &policy(&log), None).unwrap();
        assert_eq!(v.index, i);
        assert_eq!(v.entry, log.entries[i as usize]);
    }
}

#[test]
fn log_that_grows_is_followed_with_consistency_proofs() {
    let mut log = TestLog::with_entries(300);
    let t = MemoryTransport::new();
    log.publish(&t);
    let client = Client::new(&t, policy(&log));
    let mut state = State::new(log.log_key.verifier());
    client.update(&mut state).unwrap();
    let mut auditor = Auditor::new();
    let first = auditor
        .advance(
            &client,
            &client.checkpoint().unwrap(),
            state.checkpoint(),
            &mut no_progress(),
        )
        .unwrap();
    assert_eq!(first.replayed, 300);
    log.grow_to(1000);
    log.publish(&t);
    let up = client.update(&mut state).unwrap();
    assert_eq!(up.previous.unwrap().checkpoint.size, 300);
    merkle::verify_consistency(
        300,
        1000,
        &log.checkpoint_at(300).checkpoint.root,
        &log.tree.root(),
        &up.proof,
    )
    .unwrap();
    let mut done = Vec::new();
    let second = auditor
        .advance(
            &client,
            &up.checkpoint,
            Some(&log.checkpoint_at(300)),
            &mut |p| done.push(p.done),
        )
        .unwrap();
    assert_eq!((second.from_size, second.replayed), (300, 700));
    assert_eq!(second.consistent_with.len(), 1);
    assert_eq!(done.last(), Some(&700));
    // Nothing new: nothing to do.
    assert_eq!(
        auditor
            .advance(
                &client,
                &up.checkpoint,
                state.checkpoint(),
                &mut no_progress()
            )
            .unwrap()
            .replayed,
        0
    );
}

#[test]
fn tampered_proof_is_caught() {
    let log = TestLog::with_entries(40);
    let mut tp = log.tlog_proof(17);
    tp.proof[2][5] ^= 0x10;
    let err = verify_tlog_proof(tp.to_text().as_bytes(), &policy(&log), None).unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Inclusion {
                index: 17,
                size: 40,
                source: ProofError::RootMismatch { .. }
            }
        ),
        "{err}"
    );
    // A tampered entry (the proof's extra data) is caught the same way.
    let mut tp = log.tlog_proof(17);
    tp.extra = Some(log.entries[18].clone());
    let err = verify_tlog_proof(tp.to_text().as_bytes(), &policy(&log), None).unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Inclusion {
                source: ProofError::RootMismatch { .. },
                ..
            }
        ),
        "{err}"
    );
    // And the wrong index.
    let mut tp = log.tlog_proof(17);
    tp.index = 16;
    let err = verify_tlog_proof(tp.to_text().as_bytes(), &policy(&log), None).unwrap_err();
    assert!(
        matches!(err, ClientError::Inclusion { index: 16, .. }),
        "{err}"
    );
}

#[test]
fn wrong_key_is_caught() {
    let log = TestLog::with_entries(40);
    let text = log.tlog_proof(5).to_text();
    // Same origin, another key: the log key did not sign it.
    let impostor = Policy::new(key(ORIGIN, 99).verifier()).unwrap();
    let err = verify_tlog_proof(text.as_bytes(), &impostor, None).unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Checkpoint(CheckpointError::NotSignedByLog(_))
        ),
        "{err}"
    );
    // Another log altogether.
    let other = Policy::new(key("other.example/log", 1).verifier()).unwrap();
    let err = verify_tlog_proof(text.as_bytes(), &other, None).unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Checkpoint(CheckpointError::WrongOrigin { .. })
        ),
        "{err}"
    );
    // Online too.
    let t = MemoryTransport::new();
    log.publish(&t);
    let err = Client::new(&t, impostor).checkpoint().unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Checkpoint(CheckpointError::NotSignedByLog(_))
        ),
        "{err}"
    );
    // A witness key cannot stand in for the log key.
    assert!(matches!(
        Policy::new(witness("w1", 7).verifier()),
        Err(ClientError::Usage(_))
    ));
}

#[test]
fn truncated_or_reordered_proof_is_caught() {
    let log = TestLog::with_entries(1000);
    let tp = log.tlog_proof(333);
    assert!(tp.proof.len() >= 3);
    let mut short = tp.clone();
    short.proof.pop();
    let err = verify_tlog_proof(short.to_text().as_bytes(), &policy(&log), None).unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Inclusion {
                source: ProofError::WrongProofSize { .. },
                ..
            }
        ),
        "{err}"
    );
    let mut long = tp.clone();
    long.proof.push([0; 32]);
    let err = verify_tlog_proof(long.to_text().as_bytes(), &policy(&log), None).unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Inclusion {
                source: ProofError::WrongProofSize { .. },
                ..
            }
        ),
        "{err}"
    );
    let mut swapped = tp.clone();
    swapped.proof.swap(0, 1);
    let err = verify_tlog_proof(swapped.to_text().as_bytes(), &policy(&log), None).unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Inclusion {
                source: ProofError::RootMismatch { .. },
                ..
            }
        ),
        "{err}"
    );
    // A file cut short is not a proof at all.
    let text = tp.to_text();
    for cut in [text.len() - 3, text.len() / 2, 10] {
        let err = verify_tlog_proof(&text.as_bytes()[..cut], &policy(&log), None).unwrap_err();
        assert!(
            matches!(err, ClientError::ProofFile(_) | ClientError::Checkpoint(_)),
            "{cut}: {err}"
        );
        assert!(err.is_usage() || matches!(err, ClientError::Checkpoint(_)));
    }
}

#[test]
fn entry_swapped_in_a_bundle_is_caught() {
    let log = TestLog::with_entries(600);
    let t = MemoryTransport::new();
    log.publish(&t);
    // Swap entries 300 and 301 in bundle 1.
    let mut entries: Vec<Vec<u8>> = log.entries[256..512].to_vec();
    entries.swap(44, 45);
    let path = format!(
        "/{}",
        Tile {
            level: None,
            index: 1,
            width: 256
        }
        .path()
    );
    t.set(
        &path,
        encode_bundle(entries.iter().map(Vec::as_slice)).unwrap(),
    );
    let client = Client::new(&t, policy(&log));
    let cp = client.checkpoint().unwrap();
    let err = client.entry(&cp, 300).unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Inclusion {
                index: 300,
                source: ProofError::RootMismatch { .. },
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(client.entry(&cp, 299).unwrap(), log.entries[299]);
    let err = audit(&client, None).unwrap_err();
    assert!(
        matches!(err, ClientError::TreeMismatch { size: 600, .. }),
        "{err}"
    );
    // A dropped entry (bundle too short) is malformed.
    t.set(
        &path,
        encode_bundle(entries[..255].iter().map(Vec::as_slice)).unwrap(),
    );
    let err = audit(&client, None).unwrap_err();
    assert!(matches!(err, ClientError::Malformed { .. }), "{err}");
}

#[test]
fn rollback_is_caught_with_evidence() {
    let log = TestLog::with_entries(600);
    let t = MemoryTransport::new();
    log.publish(&t);
    let client = Client::new(&t, policy(&log));
    let mut state = State::new(log.log_key.verifier());
    client.update(&mut state).unwrap();
    // The log now serves an older view, signed by its key.
    let old = log.prefix(500);
    t.clear();
    old.publish(&t);
    let err = client.update(&mut state).unwrap_err();
    let ev = err.inconsistency().expect("inconsistency");
    assert_eq!(ev.kind, InconsistencyKind::Rollback);
    assert_eq!(
        (ev.trusted.checkpoint.size, ev.presented.checkpoint.size),
        (600, 500)
    );
    ev.trusted.verify(&log.log_key.verifier(), &[], 0).unwrap();
    ev.presented
        .verify(&log.log_key.verifier(), &[], 0)
        .unwrap();
    assert_eq!(ev.to_json()["kind"], "rollback");
    // The state did not move.
    assert_eq!(state.checkpoint().unwrap().checkpoint.size, 600);
    // The auditor refuses it too.
    let err = audit(&client, state.checkpoint()).unwrap_err();
    assert_eq!(
        err.inconsistency().map(|i| i.kind),
        Some(InconsistencyKind::Rollback)
    );
}

#[test]
fn forked_log_is_caught_with_a_checkable_proof() {
    // Two logs with one key: the same first 400 entries, then they differ.
    let base = TestLog::with_entries(400);
    let mut a = base.clone();
    a.grow_to(450);
    let mut b = base.clone();
    b.push(recognition(
        &b.ec.clone(),
        "eu.ec/adequacy/fork",
        "granted",
        "EEA",
        "CN",
        "2021-01-01",
    ));
    b.grow_to(600);

    let t = MemoryTransport::new();
    a.publish(&t);
    let client = Client::new(&t, policy(&a));
    let mut state = State::new(a.log_key.verifier());
    client.update(&mut state).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    state.save(&path).unwrap();

    // Later (another run), the log shows fork B.
    t.clear();
    b.publish(&t);
    let mut state = State::load(&path, client.policy()).unwrap();
    let err = client.update(&mut state).unwrap_err();
    let ev = err.inconsistency().expect("inconsistency").clone();
    assert_eq!(ev.kind, InconsistencyKind::Fork);
    assert_eq!(
        (ev.trusted.checkpoint.size, ev.presented.checkpoint.size),
        (450, 600)
    );
    // The evidence stands on its own: the proof leads from B's root to a
    // root of size 450 that is not A's.
    let implied = ev.implied_root.unwrap();
    assert_ne!(implied, a.tree.root());
    assert_eq!(implied, merkle::tree_hash(&b.tree, 450).unwrap());
    merkle::verify_consistency(450, 600, &implied, &b.tree.root(), &ev.proof).unwrap();
    assert!(
        merkle::verify_consistency(450, 600, &a.tree.root(), &b.tree.root(), &ev.proof).is_err()
    );
    assert_eq!(state.checkpoint().unwrap().checkpoint.size, 450);

    // The auditor catches it too, fresh or following the log.
    let err = audit(&client, state.checkpoint()).unwrap_err();
    assert_eq!(
        err.inconsistency().map(|i| i.kind),
        Some(InconsistencyKind::Fork),
        "{err}"
    );
    let ta = MemoryTransport::new();
    a.publish(&ta);
    let mut auditor = Auditor::new();
    let client_a = Client::new(&ta, policy(&a));
    auditor
        .advance(
            &client_a,
            &client_a.checkpoint().unwrap(),
            None,
            &mut no_progress(),
        )
        .unwrap();
    let cp_b = client.checkpoint().unwrap();
    let err = auditor
        .advance(&client, &cp_b, None, &mut no_progress())
        .unwrap_err();
    assert_eq!(
        err.inconsistency().map(|i| i.kind),
        Some(InconsistencyKind::Fork),
        "{err}"
    );

    // Same size, different roots.
    let b450 = b.prefix(450);
    t.clear();
    b450.publish(&t);
    let err = client.update(&mut state).unwrap_err();
    let ev = err.inconsistency().expect("inconsistency");
    assert_eq!(ev.kind, InconsistencyKind::Fork);
    assert!(ev.proof.is_empty());
    assert_ne!(ev.trusted.checkpoint.root, ev.presented.checkpoint.root);
}

#[test]
fn auditor_proves_a_fork_from_the_entries_when_tiles_lie() {
    let base = TestLog::with_entries(400);
    let mut a = base.clone();
    a.grow_to(450);
    let mut b = base.clone();
    b.push(recognition(
        &b.ec.clone(),
        "eu.ec/adequacy/fork",
        "granted",
        "EEA",
        "CN",
        "2021-01-01",
    ));
    b.grow_to(600);
    let t = MemoryTransport::new();
    b.publish(&t);
    // Break the tiles the consistency proof 450 -> 600 reads.
    let path = format!(
        "/{}",
        Tile {
            level: Some(0),
            index: 2,
            width: 88
        }
        .path()
    );
    let mut body = t.body(&path).unwrap();
    body[32 * 50] ^= 1;
    t.set(&path, body);
    let client = Client::new(&t, policy(&b));
    let mut state = State::new(a.log_key.verifier());
    let trusted = a.checkpoint();
    client.observe(&mut state, &trusted).unwrap();
    let err = client.update(&mut state).unwrap_err();
    assert!(matches!(err, ClientError::TilesMismatch { .. }), "{err}");
    let err = audit(&client, Some(&trusted)).unwrap_err();
    let ev = err.inconsistency().expect("inconsistency");
    assert_eq!(ev.kind, InconsistencyKind::Fork);
    merkle::verify_consistency(
        450,
        600,
        &ev.implied_root.unwrap(),
        &b.tree.root(),
        &ev.proof,
    )
    .unwrap();
}

#[test]
fn lying_tiles_are_not_mistaken_for_a_fork() {
    let log = TestLog::with_entries(450);
    let t = MemoryTransport::new();
    log.prefix(300).publish(&t);
    let client = Client::new(&t, policy(&log));
    let mut state = State::new(log.log_key.verifier());
    client.update(&mut state).unwrap();
    log.publish(&t);
    // Corrupt one hash of a level-0 tile that the proof 300 -> 450 reads.
    let path = format!(
        "/{}",
        Tile {
            level: Some(0),
            index: 1,
            width: 194
        }
        .path()
    );
    let mut body = t.body(&path).unwrap();
    body[32 * 100] ^= 1;
    t.set(&path, body);
    let err = client.update(&mut state).unwrap_err();
    assert!(
        matches!(err, ClientError::TilesMismatch { size: 450, .. }),
        "{err}"
    );
    assert_eq!(state.checkpoint().unwrap().checkpoint.size, 300);
}

#[test]
fn partial_tile_falls_back_to_full_tile() {
    let mut log = TestLog::with_entries(300);
    let t = MemoryTransport::new();
    log.publish(&t);
    let cp300 = log.checkpoint();
    log.grow_to(600);
    log.publish(&t);
    // A log that keeps no partial tiles once they are full.
    let partial_tile = format!(
        "/{}",
        Tile {
            level: Some(0),
            index: 1,
            width: 44
        }
        .path()
    );
    let partial_bundle = format!(
        "/{}",
        Tile {
            level: None,
            index: 1,
            width: 44
        }
        .path()
    );
    assert!(t.remove(&partial_tile).is_some());
    assert!(t.remove(&partial_bundle).is_some());
    let client = Client::new(&t, policy(&log));
    assert_eq!(client.entry(&cp300, 290).unwrap(), log.entries[290]);
    let full_tile = format!(
        "/{}",
        Tile {
            level: Some(0),
            index: 1,
            width: 256
        }
        .path()
    );
    let reqs = t.requests();
    assert!(
        reqs.contains(&partial_tile) && reqs.contains(&full_tile),
        "{reqs:?}"
    );
    // The auditor replays the older checkpoint from full bundles.
    let report = Auditor::new()
        .advance(&client, &cp300, None, &mut no_progress())
        .unwrap();
    assert_eq!(report.replayed, 300);
}

#[test]
fn audit_catches_an_entry_by_an_unenrolled_key() {
    let mut log = TestLog::with_entries(100);
    let stranger = key("eu.ec", 66); // claims to be eu.ec, with a key never enrolled
    log.push(recognition(
        &stranger,
        "eu.ec/adequacy/planted",
        "granted",
        "EEA",
        "RU",
        "2022-01-01",
    ));
    log.grow_to(120);
    let t = MemoryTransport::new();
    log.publish(&t);
    let client = Client::new(&t, policy(&log));
    let err = audit(&client, None).unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Rule {
                index: 100,
                source: RuleError::UnknownKey { .. }
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("entry 100"), "{err}");
    // An unknown authority altogether.
    let mut log = TestLog::with_entries(10);
    log.push(recognition(
        &key("uk.ico", 8),
        "uk.ico/adequacy/x",
        "granted",
        "GB",
        "US",
        "2022-01-01",
    ));
    let t = MemoryTransport::new();
    log.publish(&t);
    let err = audit(&Client::new(&t, policy(&log)), None).unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Rule {
                index: 10,
                source: RuleError::UnknownAuthority { .. }
            }
        ),
        "{err}"
    );
}

#[test]
fn witness_policy_k_of_n() {
    let mut log = TestLog::with_entries(20);
    let (w1, w2, w3) = (
        witness("w1.example", 11),
        witness("w2.example", 12),
        witness("w3.example", 13),
    );
    log.witnesses = vec![w1.clone(), w2.clone()];
    let t = MemoryTransport::new();
    log.publish(&t);
    let all = vec![w1.verifier(), w2.verifier(), w3.verifier()];
    let p = policy(&log).with_witnesses(all.clone(), 2).unwrap();
    Client::new(&t, p).checkpoint().unwrap();
    let p = policy(&log).with_witnesses(all.clone(), 3).unwrap();
    let err = Client::new(&t, p.clone()).checkpoint().unwrap_err();
    let ClientError::Checkpoint(CheckpointError::QuorumNotMet {
        cosigned, missing, ..
    }) = &err
    else {
        panic!("{err}")
    };
    assert_eq!(cosigned, &["w1.example", "w2.example"]);
    assert_eq!(missing.last().map(String::as_str), Some("w3.example"));
    let err = verify_tlog_proof(log.tlog_proof(3).to_text().as_bytes(), &p, None).unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Checkpoint(CheckpointError::QuorumNotMet { .. })
        ),
        "{err}"
    );
    assert!(policy(&log).with_witnesses(all.clone(), 4).is_err());
    assert!(policy(&log)
        .with_witnesses(vec![log.log_key.verifier()], 1)
        .is_err());
}

#[test]
fn route_answers_verify_and_tampering_is_caught() {
    let mut log = TestLog::with_entries(30);
    log.push(recognition(
        &log.ec.clone(),
        "eu.ec/adequacy/us-old",
        "granted",
        "EEA",
        "US",
        "2010-01-01",
    ));
    log.push(recognition(
        &log.ec.clone(),
        "eu.ec/adequacy/us-old",
        "invalidated",
        "EEA",
        "US",
        "2015-10-06",
    ));
    let answer = log.route_answer("DE", "US", "2016-01-01", None);
    assert!(!answer.records.is_empty());
    let p = policy(&log);
    let v = verify_route(&answer, &p).unwrap();
    assert!(v
        .records
        .iter()
        .any(|(h, s)| h.record.as_str() == "eu.ec/adequacy/us-old" && s.as_str() == "ended"));

    // Served online, with the question checked.
    let t = MemoryTransport::new();
    log.publish(&t);
    let q = RouteQuery {
        from: Jurisdiction::new("DE").unwrap(),
        to: Jurisdiction::new("US").unwrap(),
        at: Date::parse("2016-01-01").unwrap(),
        mechanism: None,
        data: None,
    };
    t.set(&q.path(), serde_json::to_vec(&answer).unwrap());
    let client = Client::new(&t, p.clone());
    // Built by hand, without a completeness part: refused unless accepted.
    assert!(matches!(
        client.route(&q),
        Err(ClientError::Incomplete(
            dfft_core::map::complete::CompletenessError::Missing
        ))
    ));
    let client = client.with_completeness(Completeness::AcceptIncomplete);
    client.route(&q).unwrap();
    let other = RouteQuery {
        at: Date::parse("2017-01-01").unwrap(),
        ..q.clone()
    };
    t.set(&other.path(), serde_json::to_vec(&answer).unwrap());
    assert!(matches!(
        client.route(&other),
        Err(ClientError::WrongAnswer(_))
    ));

    // A status the entries do not give.
    let mut bad = answer.clone();
    let r = bad
        .records
        .iter_mut()
        .find(|r| r.record == "eu.ec/adequacy/us-old")
        .unwrap();
    r.status = Some(dfft_core::statement::Status::InForce);
    assert!(matches!(
        verify_route(&bad, &p),
        Err(ClientError::Answer(AnswerError::Record { .. }))
    ));
    // A tampered inclusion proof.
    let mut bad = answer.clone();
    let mut h = B64
        .decode(&bad.records[0].events[0].inclusion_proof[0])
        .unwrap();
    h[0] ^= 1;
    bad.records[0].events[0].inclusion_proof[0] = B64.encode(h);
    assert!(matches!(
        verify_route(&bad, &p),
        Err(ClientError::Answer(AnswerError::Proof { .. }))
    ));
    // A dropped event: the status is recomputed from what is cited, so the
    // answer no longer adds up.
    let mut bad = answer.clone();
    let r = bad
        .records
        .iter_mut()
        .find(|r| r.record == "eu.ec/adequacy/us-old")
        .unwrap();
    r.events.pop();
    assert!(verify_route(&bad, &p).is_err());
    // A dropped record verifies on its own, but the audited registry shows it.
    let mut partial = answer.clone();
    partial
        .records
        .retain(|r| r.record != "eu.ec/adequacy/us-old");
    // With the summary of the whole answer it no longer adds up...
    assert!(matches!(
        verify_route(&partial, &p),
        Err(ClientError::Answer(AnswerError::Summary { .. }))
    ));
    // ...but a liar leaves the summary out (or recomputes it).
    partial.summary = None;
    verify_route(&partial, &p).unwrap();
    let cp = client.checkpoint().unwrap();
    let mut auditor = Auditor::new();
    auditor
        .advance(&client, &cp, None, &mut no_progress())
        .unwrap();
    check_route_complete(auditor.registry(), &answer).unwrap();
    assert!(matches!(
        check_route_complete(auditor.registry(), &partial),
        Err(ClientError::WrongAnswer(_))
    ));
    // A checkpoint from another key.
    let mut bad = answer.clone();
    let mut forged = log.clone();
    forged.log_key = key(ORIGIN, 42);
    bad.checkpoint = forged.checkpoint().to_text();
    assert!(matches!(
        verify_route(&bad, &p),
        Err(ClientError::Answer(AnswerError::Checkpoint(_)))
    ));
}

#[test]
fn watched_records_and_routes_report_changes() {
    let mut log = TestLog::with_entries(10);
    log.push(recognition(
        &log.ec.clone(),
        "eu.ec/adequacy/us",
        "granted",
        "EEA",
        "US",
        "2020-01-01",
    ));
    let t = MemoryTransport::new();
    log.publish(&t);
    let client = Client::new(&t, policy(&log));
    let mut auditor = Auditor::new();
    auditor
        .advance(
            &client,
            &client.checkpoint().unwrap(),
            None,
            &mut no_progress(),
        )
        .unwrap();
    let watches = vec![
        Watch::record("eu.ec/adequacy/us").unwrap(),
        Watch::route("DE:US").unwrap(),
    ];
    let today = Date::parse("2026-01-01").unwrap();
    let mut seen = Default::default();
    let first = dfft_client::watch::watch_changes(&watches, auditor.registry(), today, &mut seen);
    assert_eq!(first.len(), 2);
    assert!(first.iter().all(|c| c.before.is_none()));
    assert!(dfft_client::watch::watch_changes(
        &watches,
        auditor.registry(),
        today.next_day().unwrap(),
        &mut seen
    )
    .is_empty());
    log.push(recognition(
        &log.ec.clone(),
        "eu.ec/adequacy/us",
        "suspended",
        "EEA",
        "US",
        "2025-06-01",
    ));
    log.publish(&t);
    auditor
        .advance(
            &client,
            &client.checkpoint().unwrap(),
            None,
            &mut no_progress(),
        )
        .unwrap();
    let changes = dfft_client::watch::watch_changes(&watches, auditor.registry(), today, &mut seen);
    assert_eq!(changes.len(), 2);
    assert!(
        changes[0].after[0].contains("suspended"),
        "{:?}",
        changes[0]
    );
}

/// The map root of `log`'s entries, as the registry's map function gives it.
fn map_root(log: &TestLog) -> dfft_core::merkle::Hash {
    use dfft_core::map::{tree, MapBatch};
    let mut reg = dfft_core::statement::registry::Registry::new();
    let mut nodes = tree::MemNodes::new();
    let mut batch = MapBatch::new();
    for (i, e) in log.entries.iter().enumerate() {
        let change = reg.apply_entry(e).unwrap();
        batch
            .apply(i as u64, &merkle::leaf_hash(e), &change, |k| {
                tree::get(&nodes, k)
            })
            .unwrap();
    }
    nodes.apply(batch.updates()).unwrap()
}

#[test]
fn the_audit_recomputes_every_index_entry_and_names_a_wrong_one() {
    use dfft_core::map::index::{IndexEntry, IndexMismatch};
    for wrong in [false, true] {
        let mut log = TestLog::with_entries(10);
        let mut root = map_root(&log);
        if wrong {
            root[0] ^= 1;
        }
        let ix = IndexEntry {
            log: ORIGIN.into(),
            first: 0,
            last: 10,
            map_root: root,
            previous: None,
        };
        log.push(ix.sign(&log.log_key).unwrap());
        let t = MemoryTransport::new();
        log.publish(&t);
        let client = Client::new(&t, policy(&log));
        match (wrong, audit(&client, None)) {
            (false, Ok(report)) => assert_eq!(report.counts.index, 1),
            (true, Err(ClientError::Index(IndexMismatch::Root { index, first, .. }))) => {
                assert_eq!((index, first), (10, 0));
            }
            (w, other) => panic!("wrong root {w}: {other:?}"),
        }
    }
}
