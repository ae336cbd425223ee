//! Known-answer tests of the map (docs/index.md) against the vectors in
//! testdata/map/vectors.json, written by an independent implementation
//! (scripts/map_vectors.py) from the document alone.

use std::collections::BTreeMap;

use dfft_core::hex;
use dfft_core::map::index::IndexEntry;
use dfft_core::map::proof::{MapProof, MapProofError};
use dfft_core::map::tree::{self, MemNodes};
use dfft_core::map::{chain_all, MapKey};
use dfft_core::merkle::Hash;
use dfft_core::statement::{AuthorityId, Destination, Jurisdiction, RecordId};
use serde_json::Value;

fn vectors() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/map/vectors.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("vectors")).expect("json")
}

fn h(v: &Value) -> Hash {
    hex::decode32(v.as_str().expect("hex string")).expect("32 bytes of hex")
}

fn bytes(v: &Value) -> Vec<u8> {
    let s = v.as_str().expect("hex");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn key_of(parts: &[&str]) -> MapKey {
    match parts {
        ["record", id] => MapKey::Record(RecordId::new(id).unwrap()),
        ["route", to, from] => MapKey::Route {
            to: Destination::new(to).unwrap(),
            from: Jurisdiction::new(from).unwrap(),
        },
        ["authority", id] => MapKey::Authority(AuthorityId::new(id).unwrap()),
        ["authorities"] => MapKey::Authorities,
        _ => panic!("unknown key {parts:?}"),
    }
}

#[test]
fn key_hashes() {
    let v = vectors();
    for k in v["keys"].as_array().unwrap() {
        let parts: Vec<&str> = k["parts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        assert_eq!(key_of(&parts).hash(), h(&k["hash"]), "{parts:?}");
    }
}

#[test]
fn chain_values() {
    let v = vectors();
    for c in v["chains"].as_array().unwrap() {
        let items: Vec<Vec<u8>> = c["items"].as_array().unwrap().iter().map(bytes).collect();
        assert_eq!(chain_all(&items), Some(h(&c["value"])), "{}", c["desc"]);
    }
}

#[test]
fn roots_and_proofs() {
    let v = vectors();
    for t in v["trees"].as_array().unwrap() {
        let desc = t["desc"].as_str().unwrap();
        let kv: BTreeMap<Hash, Hash> = t["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (h(&e[0]), h(&e[1])))
            .collect();
        let root = h(&t["root"]);
        // One batch, and one key per batch: the same root.
        let mut one = MemNodes::new();
        assert_eq!(one.apply(&kv).unwrap(), root, "{desc}");
        let mut each = MemNodes::new();
        for (k, val) in &kv {
            each.apply(&[(*k, *val)].into()).unwrap();
        }
        assert_eq!(each.root(), root, "{desc}");
        for p in t["proofs"].as_array().unwrap() {
            let key = h(&p["key"]);
            let want_value = p["value"].as_str().map(|_| h(&p["value"]));
            let want = bytes(&p["proof"]);
            let (value, proof) = tree::prove(&one, &key).unwrap();
            assert_eq!(value, want_value, "{desc}");
            assert_eq!(proof.to_bytes(), want, "{desc}: proof bytes");
            let parsed = MapProof::parse(&want).unwrap();
            assert_eq!(parsed, proof);
            parsed.verify(&root, &key, want_value.as_ref()).unwrap();
        }
    }
}

#[test]
fn bad_proofs_are_refused_with_the_error_named() {
    let v = vectors();
    for b in v["bad_proofs"].as_array().unwrap() {
        let desc = b["desc"].as_str().unwrap();
        let want = b["want_err"].as_str().unwrap();
        let root = h(&b["root"]);
        let key = h(&b["key"]);
        let value = b["value"].as_str().map(|_| h(&b["value"]));
        let got = MapProof::parse(&bytes(&b["proof"]))
            .and_then(|p| p.verify(&root, &key, value.as_ref()));
        let kind = match got {
            Err(MapProofError::Encoding(_)) => "encoding",
            Err(MapProofError::RootMismatch { .. }) => "root",
            Err(MapProofError::Present) => "present",
            Err(MapProofError::Absent) => "absent",
            Err(e) => panic!("{desc}: unexpected {e}"),
            Ok(()) => panic!("{desc}: accepted"),
        };
        assert_eq!(kind, want, "{desc}");
    }
}

#[test]
fn index_payloads() {
    let v = vectors();
    for ix in v["index_payloads"].as_array().unwrap() {
        let payload = ix["payload"].as_str().unwrap();
        let parsed = IndexEntry::parse_payload(payload.as_bytes()).unwrap();
        assert_eq!(parsed.first, ix["first"].as_u64().unwrap());
        assert_eq!(parsed.last, ix["last"].as_u64().unwrap());
        assert_eq!(parsed.previous, ix["previous"].as_u64());
        assert_eq!(parsed.log, ix["log"].as_str().unwrap());
        assert_eq!(parsed.payload(), payload.as_bytes());
        // Not canonical: a space, reordered members.
        let spaced = payload.replacen(':', ": ", 1);
        assert!(IndexEntry::parse_payload(spaced.as_bytes()).is_err());
        let extra = payload.replacen('{', "{\"extra\":1,", 1);
        assert!(IndexEntry::parse_payload(extra.as_bytes()).is_err());
    }
}
