//! The sequencer against the in-memory store with injected faults, in the
//! manner of Sunlight's sequencer tests: for each fault, what was
//! acknowledged, what is published, and whether the sequencer goes on.

use std::sync::Arc;
use std::time::Instant;

use dfft_core::merkle;
use dfft_core::note::{KeyName, SignerKey};
use dfft_core::statement::dsse::Envelope;
use dfft_core::statement::registry::{verify_signatures, Submission};
use dfft_server::error::ApiError;
use dfft_server::metrics::Metrics;
use dfft_server::sequencer::{Health, Job, Outcome, Sequencer};
use dfft_store::mem::{Fault, MemStore};
use dfft_store::LogStore;
use serde_json::{json, Value};

const ORIGIN: &str = "faults.dfft.example/log";

fn key(name: &str, seed: u8) -> SignerKey {
    SignerKey::from_seed(KeyName::new(name).unwrap(), [seed; 32])
}

struct Harness {
    store: Arc<MemStore>,
    seq: Sequencer,
    gov: SignerKey,
    ec: SignerKey,
}

fn envelope(st: &Value, keys: &[&SignerKey]) -> Envelope {
    Envelope::sign(serde_json::to_vec(st).unwrap(), keys).unwrap()
}

impl Harness {
    /// A log with its genesis and `eu.ec` enrolled.
    fn new() -> Harness {
        let store = Arc::new(MemStore::new());
        let gov = key(&format!("{ORIGIN}/governance"), 2);
        let ec = key("eu.ec", 3);
        let seq = Sequencer::open(
            store.clone() as Arc<dyn LogStore>,
            key(ORIGIN, 1),
            ORIGIN.to_owned(),
            Metrics::default(),
        )
        .unwrap();
        let mut h = Harness {
            store,
            seq,
            gov,
            ec,
        };
        let genesis = json!({"kind": "genesis", "origin": ORIGIN,
            "governance": {"keys": [h.gov.verifier().to_string()], "threshold": 1},
            "issued_at": "2026-01-01T00:00:00Z"});
        let g = envelope(&genesis, &[&h.gov]);
        assert!(matches!(
            h.run(vec![g]).pop().unwrap(),
            Ok(Outcome::Created(0, ..))
        ));
        let enrol = json!({"kind": "authority", "action": "enroll", "authority": "eu.ec", "name": "EC",
            "log": ORIGIN, "competence": ["EEA"], "keys": [h.ec.verifier().to_string()],
            "issued_at": "2026-01-01T00:00:00Z"});
        let e = envelope(&enrol, &[&h.gov]);
        assert!(matches!(
            h.run(vec![e]).pop().unwrap(),
            // Each batch ends with its index entry (docs/index.md): the
            // genesis's is entry 1.
            Ok(Outcome::Created(2, ..))
        ));
        h
    }

    fn grant(&self, n: u32) -> Envelope {
        let st = json!({"kind": "recognition", "authority": "eu.ec", "record": format!("eu.ec/r{n}"),
            "action": "granted", "mechanism": "adequacy", "from": "EEA", "to": "JP",
            "legal_reference": {"id": "CELEX:32019D0419", "title": "Decision"},
            "effective": "2019-01-23", "issued_at": "2026-01-01T00:00:00Z"});
        envelope(&st, &[&self.ec])
    }

    /// Verifies `envs` against the published snapshot, as handlers do, and
    /// sequences them as one batch; returns each answer.
    fn run(&mut self, envs: Vec<Envelope>) -> Vec<Result<Outcome, ApiError>> {
        let snap = self.seq.shared().snapshot();
        let mut rxs = Vec::new();
        let mut jobs = Vec::new();
        for env in envs {
            let sub = Submission::from_envelope(env).unwrap();
            let authority = sub
                .statement()
                .authority()
                .and_then(|a| snap.authorities.get(a.as_str()));
            let verified = verify_signatures(sub, snap.governance.as_ref(), authority).unwrap();
            let leaf = merkle::leaf_hash(verified.entry());
            let (tx, rx) = tokio::sync::oneshot::channel();
            jobs.push(Job {
                verified,
                leaf,
                queued: Instant::now(),
                reply: tx,
            });
            rxs.push(rx);
        }
        self.seq.process(jobs);
        rxs.into_iter()
            .map(|mut rx| rx.try_recv().unwrap())
            .collect()
    }

    fn published(&self) -> u64 {
        self.seq.shared().published().size
    }

    fn health(&self) -> Health {
        self.seq.shared().health()
    }
}

fn created(o: &Result<Outcome, ApiError>) -> Option<u64> {
    match o {
        Ok(Outcome::Created(i, ..)) => Some(*i),
        _ => None,
    }
}

#[test]
fn a_failed_commit_that_persisted_nothing_acknowledges_nothing_and_goes_on() {
    let mut h = Harness::new();
    h.store.inject(Fault::CommitFailsNothingPersisted, 1);
    let r = h.run(vec![h.grant(1), h.grant(2)]);
    for o in &r {
        let e = o.as_ref().unwrap_err();
        assert_eq!(e.status.as_u16(), 503);
        assert_eq!(e.retry_after, Some(1));
    }
    assert_eq!(h.published(), 4, "nothing new published");
    assert_eq!(h.store.size().unwrap(), 4, "nothing persisted");
    assert!(matches!(h.health(), Health::Degraded { .. }));
    // The retry lands at the next indexes; health is ok again.
    let r = h.run(vec![h.grant(1), h.grant(2)]);
    assert_eq!(
        r.iter().map(created).collect::<Vec<_>>(),
        [Some(4), Some(5)]
    );
    assert_eq!(h.published(), 7);
    assert_eq!(h.health(), Health::Ok);
}

#[test]
fn a_failed_commit_that_persisted_is_reloaded_and_retries_get_their_index() {
    let mut h = Harness::new();
    h.store.inject(Fault::CommitFailsButPersisted, 1);
    let r = h.run(vec![h.grant(1)]);
    assert_eq!(r[0].as_ref().unwrap_err().status.as_u16(), 503);
    // What landed is published at once (it was not before the fix).
    assert_eq!(h.store.size().unwrap(), 6);
    assert_eq!(h.published(), 6);
    // The retry is answered with the index that landed, not a second entry.
    let r = h.run(vec![h.grant(1)]);
    assert!(matches!(r[0], Ok(Outcome::Duplicate(4, _))), "{:?}", r[0]);
    assert_eq!(h.store.size().unwrap(), 6);
    // And the sequencer goes on, its index entries continuing the chain.
    let r = h.run(vec![h.grant(2)]);
    assert_eq!(created(&r[0]), Some(6));
    let ix = dfft_core::map::index::IndexEntry::parse_entry(&h.store.entry(7).unwrap().unwrap())
        .unwrap();
    assert_eq!((ix.first, ix.last, ix.previous), (6, 7, Some(5)));
    assert_eq!(h.health(), Health::Ok);
}

#[test]
fn a_full_disk_answers_507_and_writing_resumes_by_itself() {
    let mut h = Harness::new();
    h.store.inject(Fault::NoSpace, 3);
    for n in 1..=3 {
        let r = h.run(vec![h.grant(n)]);
        let e = r[0].as_ref().unwrap_err();
        assert_eq!(e.status.as_u16(), 507);
        assert_eq!(e.code, "insufficient_storage");
        assert!(e.retry_after.is_some());
        match h.health() {
            Health::Degraded { reason } => assert!(reason.contains("no_space"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(h.published(), 4);
    let metrics = h.seq.shared().metrics.render(2);
    assert!(
        metrics.contains("dfft_submissions_total{outcome=\"insufficient_storage\"} 3"),
        "{metrics}"
    );
    assert!(metrics.contains("dfft_commit_failures_total{kind=\"no_space\"} 3"));
    // Space is back (the fault used up): the next write succeeds.
    let r = h.run(vec![h.grant(1)]);
    assert_eq!(created(&r[0]), Some(4));
    assert_eq!(h.health(), Health::Ok);
}

#[test]
fn a_corrupt_read_before_signing_stops_the_sequencer_for_good() {
    let mut h = Harness::new();
    // The consistency self-check reads stored hashes: corrupt ones.
    h.store.inject(Fault::CorruptRead, 1);
    let r = h.run(vec![h.grant(1)]);
    let e = r[0].as_ref().unwrap_err();
    assert_eq!(e.status.as_u16(), 503);
    assert_eq!(e.code, "log_stopped");
    assert_eq!(e.retry_after, None, "retrying will not help");
    assert!(matches!(h.health(), Health::Fatal { .. }));
    let commits = h.store.commits();
    // Healed or not, it signs nothing more.
    h.store.heal();
    let r = h.run(vec![h.grant(2)]);
    assert_eq!(r[0].as_ref().unwrap_err().code, "log_stopped");
    assert_eq!(h.store.commits(), commits);
    assert_eq!(h.published(), 4);
    let metrics = h.seq.shared().metrics.render(2);
    assert!(
        metrics.contains("dfft_submissions_total{outcome=\"log_stopped\"} 2"),
        "{metrics}"
    );
    assert!(metrics.contains("dfft_sequencer_fatal 1"));
}

#[test]
fn a_failing_read_before_signing_is_retried() {
    let mut h = Harness::new();
    h.store.inject(Fault::ReadFails, 1);
    let r = h.run(vec![h.grant(1)]);
    assert_eq!(r[0].as_ref().unwrap_err().status.as_u16(), 503);
    assert!(matches!(h.health(), Health::Degraded { .. }));
    let r = h.run(vec![h.grant(1)]);
    assert_eq!(created(&r[0]), Some(4));
    assert_eq!(h.health(), Health::Ok);
}

/// A statement is logged once, whatever signatures carry it, within a
/// batch and across batches.
#[test]
fn the_same_statement_under_other_signatures_is_a_duplicate() {
    let mut h = Harness::new();
    let two = key("eu.ec", 4);
    // Give eu.ec a second key, so that a statement can carry two signatures.
    let up = json!({"kind": "authority", "action": "update", "authority": "eu.ec", "name": "EC",
        "log": ORIGIN, "supersedes": 2, "competence": ["EEA"],
        "keys": [h.ec.verifier().to_string(), two.verifier().to_string()],
        "issued_at": "2026-01-02T00:00:00Z"});
    let up = envelope(&up, &[&h.gov]);
    assert_eq!(created(&h.run(vec![up]).pop().unwrap()), Some(4));
    let st = json!({"kind": "recognition", "authority": "eu.ec", "record": "eu.ec/two",
        "action": "granted", "mechanism": "adequacy", "from": "EEA", "to": "JP",
        "legal_reference": {"id": "CELEX:32019D0419", "title": "Decision"},
        "effective": "2019-01-23", "issued_at": "2026-01-01T00:00:00Z"});
    let both = envelope(&st, &[&h.ec, &two]);
    let mut reversed = both.clone();
    reversed.signatures.reverse();
    let one = envelope(&st, &[&two]);
    let r = h.run(vec![both, reversed.clone()]);
    assert_eq!(created(&r[0]), Some(6));
    assert!(matches!(r[1], Ok(Outcome::Duplicate(6, _))));
    let r = h.run(vec![reversed, one]);
    assert!(r.iter().all(|o| matches!(o, Ok(Outcome::Duplicate(6, _)))));
    // A batch of duplicates only writes nothing, no index entry either.
    assert_eq!(h.store.size().unwrap(), 8);
}
