//! The map function and the index entry over a small log: a writer that
//! does what the sequencer does (rules, map batch, index entry last in
//! every batch), the auditor's replay (`MapReplay`) accepting it, the map
//! compared with one derived independently from the final registry state,
//! and each kind of bad index entry caught and named.

use std::collections::BTreeMap;

use dfft_core::map::index::{IndexEntry, IndexMismatch, MapReplay};
use dfft_core::map::tree::MemNodes;
use dfft_core::map::{chain_all, entry_item, id_item, MapBatch, MapKey};
use dfft_core::merkle::{leaf_hash, Hash};
use dfft_core::note::{KeyName, SignerKey};
use dfft_core::statement::dsse::Envelope;
use dfft_core::statement::registry::{Change, Registry, RuleError};
use dfft_core::statement::StatementError;
use serde_json::{json, Value};

const ORIGIN: &str = "registry.example.org/log";

fn key(name: &str, seed: u8) -> SignerKey {
    SignerKey::from_seed(KeyName::new(name).unwrap(), [seed; 32])
}

fn env(statement: &Value, signers: &[&SignerKey]) -> Vec<u8> {
    Envelope::sign(serde_json::to_vec(statement).unwrap(), signers)
        .unwrap()
        .to_entry()
        .unwrap()
}

fn rec(record: &str, action: &str, mechanism: &str, to: &str, effective: &str) -> Value {
    json!({"kind":"recognition","authority":"eu.ec","record":record,"action":action,
        "mechanism":mechanism,"from":"EEA","to":to,
        "legal_reference":{"id":"CELEX:32019D0419","title":"Decision"},
        "effective":effective,"issued_at":"2024-01-01T00:00:00Z"})
}

/// A log written in batches, each ending with its index entry.
struct Writer {
    log_key: SignerKey,
    reg: Registry,
    nodes: MemNodes,
    entries: Vec<Vec<u8>>,
}

impl Writer {
    fn batch(&mut self, statements: Vec<Vec<u8>>) {
        let first = self.entries.len() as u64;
        let mut batch = MapBatch::new();
        for e in statements {
            let index = self.entries.len() as u64;
            let change = self.reg.apply_entry(&e).unwrap();
            let nodes = &self.nodes;
            batch
                .apply(index, &leaf_hash(&e), &change, |k| {
                    dfft_core::map::tree::get(nodes, k)
                })
                .unwrap();
            self.entries.push(e);
        }
        let root = self.nodes.apply(batch.updates()).unwrap();
        let last = self.entries.len() as u64;
        let ix = IndexEntry {
            log: ORIGIN.into(),
            first,
            last,
            map_root: root,
            previous: first.checked_sub(1),
        };
        let bytes = ix.sign(&self.log_key).unwrap();
        assert!(matches!(
            self.reg.apply_entry(&bytes).unwrap(),
            Change::Index(_)
        ));
        self.entries.push(bytes);
    }
}

fn log() -> Writer {
    let gov = key("gov-a", 1);
    let ec = key("eu.ec", 10);
    let mut w = Writer {
        log_key: key(ORIGIN, 9),
        reg: Registry::new(),
        nodes: MemNodes::new(),
        entries: Vec::new(),
    };
    let g = json!({"kind":"genesis","origin":ORIGIN,"governance":{"keys":[gov.verifier().to_string()],"threshold":1},"issued_at":"2024-01-01T00:00:00Z"});
    let enroll = json!({"kind":"authority","action":"enroll","authority":"eu.ec","name":"EC",
        "competence":["EEA"],"keys":[ec.verifier().to_string()],"issued_at":"2024-01-01T00:00:00Z"});
    w.batch(vec![env(&g, &[&gov]), env(&enroll, &[&gov])]);
    w.batch(vec![
        env(
            &rec("eu.ec/jp", "granted", "adequacy", "JP", "2019-01-23"),
            &[&ec],
        ),
        env(
            &rec("eu.ec/scc", "granted", "scc", "*", "2021-06-27"),
            &[&ec],
        ),
    ]);
    w.batch(vec![env(
        &rec("eu.ec/jp", "amended", "adequacy", "JP", "2023-04-01"),
        &[&ec],
    )]);
    w.batch(vec![
        env(
            &rec("eu.ec/jp2", "granted", "adequacy", "JP", "2024-01-01"),
            &[&ec],
        ),
        env(
            &rec("eu.ec/us", "granted", "adequacy", "US", "2023-07-10"),
            &[&ec],
        ),
    ]);
    w
}

fn replay(entries: &[Vec<u8>], log_key: &SignerKey) -> Result<u64, IndexMismatch> {
    let mut reg = Registry::new();
    let mut m = MapReplay::new(ORIGIN, &log_key.verifier());
    for (i, e) in entries.iter().enumerate() {
        let change = reg.apply_entry(e).unwrap();
        m.apply(i as u64, e, &leaf_hash(e), &change)?;
    }
    Ok(m.checked())
}

#[test]
fn the_auditor_recomputes_every_index_entry() {
    let w = log();
    assert_eq!(replay(&w.entries, &w.log_key), Ok(4));
}

#[test]
fn the_map_is_what_the_final_state_gives() {
    let w = log();
    // Independently of MapBatch: values from the registry's final state.
    let leaf = |i: u64| leaf_hash(&w.entries[i as usize]);
    let mut want: BTreeMap<Hash, Hash> = BTreeMap::new();
    let mut routes: BTreeMap<MapKey, Vec<(u64, String)>> = BTreeMap::new();
    for r in w.reg.records() {
        let items = r.events.iter().map(|e| entry_item(e.index, &leaf(e.index)));
        want.insert(
            MapKey::Record(r.record.clone()).hash(),
            chain_all(items).unwrap(),
        );
        routes
            .entry(MapKey::Route {
                to: r.to.clone(),
                from: r.from.clone(),
            })
            .or_default()
            .push((r.events[0].index, r.record.to_string()));
    }
    for (k, mut ids) in routes {
        ids.sort();
        want.insert(
            k.hash(),
            chain_all(ids.iter().map(|(_, id)| id_item(id))).unwrap(),
        );
    }
    let mut auth_ids = Vec::new();
    for a in w.reg.authorities() {
        // One statement each here (the enrolment).
        want.insert(
            MapKey::Authority(a.id.clone()).hash(),
            chain_all([entry_item(a.set_at_index, &leaf(a.set_at_index))]).unwrap(),
        );
        auth_ids.push(id_item(a.id.as_str()));
    }
    want.insert(MapKey::Authorities.hash(), chain_all(auth_ids).unwrap());
    assert_eq!(w.nodes.root(), dfft_core::map::reference::root(&want));
}

/// Replaces entry `at` (an index entry) with `ix` signed by `signer`.
fn tampered(
    w: &Writer,
    at: usize,
    f: impl Fn(&mut IndexEntry),
    signer: &SignerKey,
) -> Vec<Vec<u8>> {
    let mut entries = w.entries.clone();
    let mut ix = IndexEntry::parse_entry(&entries[at]).unwrap();
    f(&mut ix);
    entries[at] = ix.sign(signer).unwrap();
    entries
}

#[test]
fn a_wrong_index_entry_is_named() {
    let w = log();
    // Entry 5 is the second index entry (covers 3..=5).
    let bad_root = tampered(&w, 5, |ix| ix.map_root[0] ^= 1, &w.log_key);
    assert!(matches!(
        replay(&bad_root, &w.log_key),
        Err(IndexMismatch::Root {
            index: 5,
            first: 3,
            ..
        })
    ));
    let msg = replay(&bad_root, &w.log_key).unwrap_err().to_string();
    assert!(msg.contains("index entry at 5"), "{msg}");
    let bad_first = tampered(
        &w,
        5,
        |ix| {
            ix.first = 2;
            ix.previous = Some(1)
        },
        &w.log_key,
    );
    assert!(matches!(
        replay(&bad_first, &w.log_key),
        Err(IndexMismatch::Field {
            index: 5,
            field: "first",
            ..
        })
    ));
    let bad_last = tampered(&w, 5, |ix| ix.last = 6, &w.log_key);
    assert!(matches!(
        replay(&bad_last, &w.log_key),
        Err(IndexMismatch::Field {
            index: 5,
            field: "last",
            ..
        })
    ));
    let bad_log = tampered(&w, 5, |ix| ix.log = "other.example/log".into(), &w.log_key);
    assert!(matches!(
        replay(&bad_log, &w.log_key),
        Err(IndexMismatch::Field {
            index: 5,
            field: "log",
            ..
        })
    ));
    let forged = tampered(&w, 5, |_| {}, &key("eu.ec", 10));
    assert!(matches!(
        replay(&forged, &w.log_key),
        Err(IndexMismatch::Entry { index: 5, .. })
    ));
}

#[test]
fn nobody_can_submit_an_index_entry() {
    let mut w = log();
    let ix = IndexEntry::parse_entry(&w.entries[2]).unwrap();
    let env = Envelope::sign(ix.payload(), &[&w.log_key]).unwrap();
    let e = w.reg.append_envelope(env).unwrap_err();
    assert!(
        matches!(e, RuleError::Statement(StatementError::ReservedKind { ref kind }) if kind == "index"),
        "{e:?}"
    );
}
