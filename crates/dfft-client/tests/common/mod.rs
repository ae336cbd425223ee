//! In-memory logs built with dfft-core, served through `MemoryTransport`.
#![allow(dead_code)]

use dfft_client::MemoryTransport;
use dfft_core::answer::{event_proof, RecordAnswer, RouteAnswer};
use dfft_core::checkpoint::{Checkpoint, SignedCheckpoint};
use dfft_core::merkle::{self, MemoryTree};
use dfft_core::note::{KeyKind, KeyName, SignerKey};
use dfft_core::statement::dsse::Envelope;
use dfft_core::statement::registry::{Registry, RouteFilter};
use dfft_core::statement::{Date, Jurisdiction, Mechanism, Summary};
use dfft_core::tlog_proof::TlogProof;
use serde_json::{json, Value};

pub const ORIGIN: &str = "test.dfft.example/log";

pub fn key(name: &str, seed: u8) -> SignerKey {
    SignerKey::from_seed(KeyName::new(name).unwrap(), [seed; 32])
}

pub fn witness(name: &str, seed: u8) -> SignerKey {
    SignerKey::from_seed_kind(
        KeyName::new(name).unwrap(),
        KeyKind::CosignatureV1,
        [seed; 32],
    )
}

pub fn sign(statement: Value, keys: &[&SignerKey]) -> Vec<u8> {
    Envelope::sign(serde_json::to_vec(&statement).unwrap(), keys)
        .unwrap()
        .canonical_bytes()
}

pub fn recognition(
    key: &SignerKey,
    record: &str,
    action: &str,
    from: &str,
    to: &str,
    effective: &str,
) -> Vec<u8> {
    sign(
        json!({"kind": "recognition", "authority": key.name(), "record": record, "action": action,
               "mechanism": "adequacy", "from": from, "to": to,
               "legal_reference": {"id": "CELEX:32019D0419", "title": "Test decision"},
               "effective": effective, "issued_at": "2026-01-01T00:00:00Z"}),
        &[key],
    )
}

/// A log: its keys, entries and tree.
#[derive(Clone)]
pub struct TestLog {
    pub log_key: SignerKey,
    pub gov: SignerKey,
    pub ec: SignerKey,
    pub entries: Vec<Vec<u8>>,
    pub tree: MemoryTree,
    pub witnesses: Vec<SignerKey>,
}

impl TestLog {
    /// Genesis (entry 0) and the enrolment of authority `eu.ec` (entry 1).
    pub fn new() -> TestLog {
        let gov = key(&format!("{ORIGIN}/governance"), 2);
        let ec = key("eu.ec", 3);
        let mut log = TestLog {
            log_key: key(ORIGIN, 1),
            gov: gov.clone(),
            ec: ec.clone(),
            entries: Vec::new(),
            tree: MemoryTree::new(),
            witnesses: Vec::new(),
        };
        log.push(sign(
            json!({"kind": "genesis", "origin": ORIGIN, "governance": {"keys": [gov.verifier().to_string()], "threshold": 1},
                   "issued_at": "2026-01-01T00:00:00Z"}),
            &[&gov],
        ));
        log.push(sign(
            json!({"kind": "authority", "action": "enroll", "authority": "eu.ec", "name": "European Commission",
                   "log": ORIGIN, "competence": ["EEA"], "keys": [ec.verifier().to_string()], "issued_at": "2026-01-01T00:00:00Z"}),
            &[&gov],
        ));
        log
    }

    /// A genuine log of `n` entries: genesis, enrolment, then records
    /// granted (and every third one amended) from EEA to assorted places.
    pub fn with_entries(n: usize) -> TestLog {
        let mut log = TestLog::new();
        log.grow_to(n);
        log
    }

    /// Appends genuine recognitions until the log holds `n` entries.
    pub fn grow_to(&mut self, n: usize) {
        let tos = ["JP", "US", "KR", "CH", "GB", "NZ", "AR", "IL"];
        while self.entries.len() < n {
            let i = self.entries.len();
            let (record, action) = if i % 3 == 0 && i > 2 {
                (format!("eu.ec/adequacy/r{}", i - 1), "amended")
            } else {
                (format!("eu.ec/adequacy/r{i}"), "granted")
            };
            let to = tos[i % tos.len()];
            let to = if action == "amended" {
                tos[(i - 1) % tos.len()]
            } else {
                to
            };
            let e = recognition(&self.ec.clone(), &record, action, "EEA", to, "2020-01-01");
            self.push(e);
        }
    }

    pub fn push(&mut self, entry: Vec<u8>) {
        self.tree.push(merkle::leaf_hash(&entry));
        self.entries.push(entry);
    }

    pub fn size(&self) -> u64 {
        self.entries.len() as u64
    }

    /// The log's signed checkpoint at its current size (cosigned by its witnesses).
    pub fn checkpoint(&self) -> SignedCheckpoint {
        self.checkpoint_at(self.size())
    }

    /// The log's signed checkpoint of its first `size` entries.
    pub fn checkpoint_at(&self, size: u64) -> SignedCheckpoint {
        let root = merkle::tree_hash(&self.tree, size).unwrap();
        let mut keys: Vec<&SignerKey> = vec![&self.log_key];
        keys.extend(self.witnesses.iter());
        Checkpoint {
            origin: ORIGIN.into(),
            size,
            root,
            extensions: vec![],
        }
        .sign(&keys, 1_700_000_000)
        .unwrap()
    }

    /// Serves the log at its current size.
    pub fn publish(&self, t: &MemoryTransport) {
        t.publish(&self.tree, &self.entries, &self.checkpoint().to_text())
            .unwrap();
    }

    /// A copy truncated to `size` entries (to publish an older view).
    pub fn prefix(&self, size: usize) -> TestLog {
        let mut l = TestLog {
            entries: Vec::new(),
            tree: MemoryTree::new(),
            ..self.clone()
        };
        for e in &self.entries[..size] {
            l.push(e.clone());
        }
        l
    }

    /// A tlog-proof of entry `index` against the current checkpoint.
    pub fn tlog_proof(&self, index: u64) -> TlogProof {
        let proof = merkle::inclusion_proof(&self.tree, index, self.size()).unwrap();
        TlogProof {
            extra: Some(self.entries[index as usize].clone()),
            index,
            proof,
            checkpoint: self.checkpoint(),
        }
    }

    /// The route answer the server would give, at the current size.
    pub fn route_answer(
        &self,
        from: &str,
        to: &str,
        at: &str,
        mechanism: Option<&str>,
    ) -> RouteAnswer {
        let mut reg = Registry::new();
        for e in &self.entries {
            reg.apply_entry(e).unwrap();
        }
        let (from, to, at) = (
            Jurisdiction::new(from).unwrap(),
            Jurisdiction::new(to).unwrap(),
            Date::parse(at).unwrap(),
        );
        let mechanism = mechanism.map(|m| Mechanism::new(m).unwrap());
        let matches = reg.route(&from, &to, at, RouteFilter::mechanism(mechanism));
        let summary = Summary::of(matches.iter().map(|m| (m.record, m.status)));
        let records = matches
            .iter()
            .map(|m| {
                let events = m
                    .record
                    .events
                    .iter()
                    .map(|e| {
                        let proof =
                            merkle::inclusion_proof(&self.tree, e.index, self.size()).unwrap();
                        event_proof(e, &self.entries[e.index as usize], &proof)
                    })
                    .collect();
                RecordAnswer::new(m.record, Some(m.status), events)
            })
            .collect();
        RouteAnswer {
            from,
            to,
            at,
            mechanism,
            data: None,
            checkpoint: self.checkpoint().to_text(),
            records,
            summary: Some(summary),
            completeness: None,
        }
    }
}
