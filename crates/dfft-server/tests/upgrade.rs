//! A log written before statements were deduplicated: an old server logged
//! a repeated statement and gave it an effect. On open, the statement index
//! is built once, the repeat is found, and the registry state is rebuilt
//! by the core rules, under which the repeat has no effect.

use std::sync::Arc;
use std::time::Instant;

use dfft_core::checkpoint::Checkpoint;
use dfft_core::merkle;
use dfft_core::note::{KeyName, SignerKey};
use dfft_core::statement::dsse::Envelope;
use dfft_core::statement::registry::{verify_signatures, RecordHead, Submission};
use dfft_core::statement::{Date, Status};
use dfft_server::metrics::Metrics;
use dfft_server::sequencer::{Job, Outcome, Sequencer, NS_RECORD, NS_STATEMENT};
use dfft_store::mem::MemStore;
use dfft_store::{Commit, LogStore};
use serde_json::{json, Value};

const ORIGIN: &str = "upgrade.dfft.example/log";

fn key(name: &str, seed: u8) -> SignerKey {
    SignerKey::from_seed(KeyName::new(name).unwrap(), [seed; 32])
}

fn envelope(st: &Value, keys: &[&SignerKey]) -> Envelope {
    Envelope::sign(serde_json::to_vec(st).unwrap(), keys).unwrap()
}

fn rec(action: &str, effective: &str) -> Value {
    json!({"kind": "recognition", "authority": "eu.ec", "record": "eu.ec/jp", "action": action,
        "mechanism": "adequacy", "from": "EEA", "to": "JP",
        "legal_reference": {"id": "CELEX:32019D0419", "title": "Decision"},
        "effective": effective, "issued_at": "2026-01-01T00:00:00Z"})
}

fn open(store: &Arc<MemStore>) -> Sequencer {
    Sequencer::open(
        store.clone() as Arc<dyn LogStore>,
        key(ORIGIN, 1),
        ORIGIN.to_owned(),
        Metrics::default(),
    )
    .unwrap()
}

fn run(seq: &mut Sequencer, env: Envelope) -> Outcome {
    let snap = seq.shared().snapshot();
    let sub = Submission::from_envelope(env).unwrap();
    let a = sub
        .statement()
        .authority()
        .and_then(|a| snap.authorities.get(a.as_str()));
    let verified = verify_signatures(sub, snap.governance.as_ref(), a).unwrap();
    let leaf = merkle::leaf_hash(verified.entry());
    let (tx, mut rx) = tokio::sync::oneshot::channel();
    seq.process(vec![Job {
        verified,
        leaf,
        queued: Instant::now(),
        reply: tx,
    }]);
    rx.try_recv().unwrap().unwrap()
}

fn head(store: &MemStore) -> RecordHead {
    serde_json::from_slice(&store.state(NS_RECORD, b"eu.ec/jp").unwrap().unwrap()).unwrap()
}

#[test]
fn an_old_logs_repeated_statement_loses_its_effect_on_upgrade() {
    let store = Arc::new(MemStore::new());
    let gov = key(&format!("{ORIGIN}/governance"), 2);
    let (ec, ec2) = (key("eu.ec", 3), key("eu.ec", 4));
    let mut seq = open(&store);
    let genesis = json!({"kind": "genesis", "origin": ORIGIN,
        "governance": {"keys": [gov.verifier().to_string()], "threshold": 1},
        "issued_at": "2026-01-01T00:00:00Z"});
    run(&mut seq, envelope(&genesis, &[&gov]));
    let enrol = json!({"kind": "authority", "action": "enroll", "authority": "eu.ec", "name": "EC",
        "log": ORIGIN, "competence": ["EEA"],
        "keys": [ec.verifier().to_string(), ec2.verifier().to_string()],
        "issued_at": "2026-01-01T00:00:00Z"});
    run(&mut seq, envelope(&enrol, &[&gov]));
    run(&mut seq, envelope(&rec("granted", "2019-01-23"), &[&ec]));
    let suspend = envelope(&rec("suspended", "2020-01-01"), &[&ec, &ec2]);
    run(&mut seq, suspend.clone());
    // Reinstated the same day: the log order decides between the two.
    run(&mut seq, envelope(&rec("reinstated", "2020-01-01"), &[&ec]));
    let d = |s: &str| Date::parse(s).unwrap();
    assert_eq!(
        head(&store).status_on(d("2024-01-01")),
        Some(Status::InForce)
    );
    drop(seq);

    // What an old server did with the suspension resent, signatures
    // reversed: a new entry, and a new event on the record.
    let mut replay = suspend.clone();
    replay.signatures.reverse();
    let entry = replay.canonical_bytes();
    let leaf = merkle::leaf_hash(&entry);
    let size = store.size().unwrap();
    let mut frontier = store.frontier(size).unwrap();
    let mut commit = Commit {
        first_index: size,
        ..Default::default()
    };
    frontier.append(leaf, |id, h| commit.nodes.push((id, *h)));
    let mut h = head(&store);
    let mut ev = h.events[1].clone();
    ev.index = size;
    h.events.push(ev);
    commit.state.push((
        NS_RECORD,
        b"eu.ec/jp".to_vec(),
        serde_json::to_vec(&h).unwrap(),
    ));
    commit.entries.push((entry, leaf));
    let cp = Checkpoint {
        origin: ORIGIN.to_owned(),
        size: size + 1,
        root: frontier.root(),
        extensions: vec![],
    };
    commit.checkpoint = cp.sign(&[&key(ORIGIN, 1)], 1).unwrap().to_text();
    store.commit(&commit).unwrap();
    // ...and it had no statement index.
    let mut wipe: Vec<dfft_store::StateWrite> = store
        .state_all(NS_STATEMENT)
        .unwrap()
        .into_iter()
        .map(|(k, _)| (NS_STATEMENT, k, None))
        .collect();
    wipe.push((b'g', b"statement_index".to_vec(), None));
    store.put_state(&wipe).unwrap();
    assert_eq!(
        head(&store).status_on(d("2024-01-01")),
        Some(Status::Suspended)
    );

    // The upgrade: the repeat loses its effect.
    let mut seq = open(&store);
    let h = head(&store);
    assert_eq!(h.events.len(), 3, "{h:?}");
    assert_eq!(h.status_on(d("2024-01-01")), Some(Status::InForce));
    assert_eq!(
        store.state_all(NS_STATEMENT).unwrap().len(),
        5,
        "every statement indexed once"
    );
    // And the same statement offered again is a duplicate of its first
    // entry (each batch above ended with its index entry: 1, 3, 5, ...).
    assert!(matches!(run(&mut seq, suspend), Outcome::Duplicate(6, _)));
    // The log's last leaf is an index entry again, continuing the chain
    // past the entry the old server appended, and the map was rebuilt.
    let size = store.size().unwrap();
    let ix =
        dfft_core::map::index::IndexEntry::parse_entry(&store.entry(size - 1).unwrap().unwrap())
            .unwrap();
    assert_eq!(ix.last, size - 1);
    assert_eq!(
        ix.previous,
        Some(9),
        "the last index entry before the old server's entry"
    );
}
