//! Complete answers against a lying server (docs/index.md): a proxy
//! between the client and the real registry (the demo, with the real EU
//! history) rewrites answers, and the client catches each lie with a
//! precise error: an event dropped from a record (the Court's invalidation
//! of Privacy Shield), a record dropped from a route, a stale map served
//! with a newer checkpoint, a map proof for another key, and an answer
//! without completeness from an "older server" (refused unless accepted),
//! a record denied with another record's proof of absence;
//! and in the authority listing: an authority dropped, a statement about
//! one dropped, a state that its statements do not give.
//! The demo's answers verify as complete, offline too, and agree with a
//! full replay of the log and with the matrix cell on every route of the
//! demo matrix.

mod common;

use common::*;
use dfft_client::audit::check_route_complete;
use dfft_client::offline::{verify_route_json, Completeness};
use dfft_client::transport::{Response, TransportError};
use dfft_client::{Auditor, Client, ClientError, HttpTransport, Policy, RouteQuery, Transport};
use dfft_core::map::complete::CompletenessError;
use dfft_core::statement::{Date, Jurisdiction};
use serde_json::Value;
use std::sync::Mutex;
use std::time::Duration;

const PRIVACY_SHIELD: &str = "eu.ec/eu-adq-us-privacyshield-2016";

type Rewrite = Box<dyn Fn(&str, &mut Value) + Send + Sync>;

/// A proxy that rewrites the JSON answers of registry questions.
struct Proxy {
    inner: HttpTransport,
    rewrite: Mutex<Option<Rewrite>>,
}

impl Proxy {
    fn set(&self, f: impl Fn(&str, &mut Value) + Send + Sync + 'static) {
        *self.rewrite.lock().unwrap() = Some(Box::new(f));
    }
}

impl Transport for Proxy {
    fn get(&self, path: &str) -> Result<Response, TransportError> {
        let mut r = self.inner.get(path)?;
        if path.starts_with("/v1/route")
            || path.starts_with("/v1/records")
            || path.starts_with("/v1/authorities")
        {
            if let Some(f) = &*self.rewrite.lock().unwrap() {
                let mut v: Value = serde_json::from_slice(&r.body).unwrap();
                f(path, &mut v);
                // A rewrite may change the status too.
                if let Some(status) = v.get("__status").and_then(Value::as_u64) {
                    r.status = status as u16;
                    v.as_object_mut().unwrap().remove("__status");
                }
                r.body = serde_json::to_vec(&v).unwrap();
            }
        }
        Ok(r)
    }
}

fn client(reg: &Registry) -> Client<Proxy> {
    let inner = HttpTransport::new(&reg.base, Duration::from_secs(30)).unwrap();
    let proxy = Proxy {
        inner,
        rewrite: Mutex::new(None),
    };
    Client::new(proxy, Policy::new(reg.log_key.clone()).unwrap())
}

fn q(from: &str, to: &str, at: &str) -> RouteQuery {
    RouteQuery {
        from: Jurisdiction::new(from).unwrap(),
        to: Jurisdiction::new(to).unwrap(),
        at: Date::parse(at).unwrap(),
        mechanism: None,
        data: None,
    }
}

fn incomplete(e: ClientError) -> CompletenessError {
    match e {
        ClientError::Incomplete(c) => c,
        other => panic!("expected a completeness error, got {other}"),
    }
}

#[test]
fn every_lie_is_caught_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::start_cmd(dir.path(), &["demo"]);
    let c = client(&reg);

    // The truth first: complete, and Privacy Shield has its invalidation.
    let (ans, v) = c
        .route(&q("DE", "US", "2021-01-01"))
        .expect("honest answer");
    assert!(ans.completeness.is_some());
    assert!(v
        .records
        .iter()
        .any(|(h, _)| h.record.as_str() == PRIVACY_SHIELD));
    let (hist, _) = c.record(PRIVACY_SHIELD).expect("honest history");
    assert!(hist.record.events.len() >= 2);

    // 1. An event dropped from a record: the invalidation (its last event).
    c.transport().set(|path, v| {
        if path.starts_with("/v1/records") {
            v["events"].as_array_mut().unwrap().pop();
        }
    });
    let e = incomplete(c.record(PRIVACY_SHIELD).unwrap_err());
    assert!(
        matches!(&e, CompletenessError::Events { record, .. } if record == PRIVACY_SHIELD),
        "{e}"
    );
    // The same lie inside a route answer dated before the invalidation
    // took effect, so the status still holds and only the map catches it.
    c.transport().set(|path, v| {
        if path.starts_with("/v1/route") {
            for r in v["records"].as_array_mut().unwrap() {
                if r["record"] == PRIVACY_SHIELD {
                    r["events"].as_array_mut().unwrap().pop();
                }
            }
        }
    });
    let e = incomplete(c.route(&q("DE", "US", "2017-01-01")).unwrap_err());
    assert!(
        matches!(&e, CompletenessError::Events { record, .. } if record == PRIVACY_SHIELD),
        "{e}"
    );

    // 2. A record dropped from a route.
    c.transport().set(|path, v| {
        if path.starts_with("/v1/route") {
            v["records"]
                .as_array_mut()
                .unwrap()
                .retain(|r| r["record"] != PRIVACY_SHIELD);
        }
    });
    let e = incomplete(c.route(&q("DE", "US", "2021-01-01")).unwrap_err());
    assert!(
        matches!(&e, CompletenessError::Omitted { record, key } if record == PRIVACY_SHIELD && key.starts_with("route US ")),
        "{e}"
    );
    // Dropped from the list of a route key as well: the key's proof fails.
    c.transport().set(|path, v| {
        if path.starts_with("/v1/route") {
            v["records"]
                .as_array_mut()
                .unwrap()
                .retain(|r| r["record"] != PRIVACY_SHIELD);
            for k in v["completeness"]["keys"].as_array_mut().unwrap() {
                if let Some(ids) = k.get_mut("ids").and_then(Value::as_array_mut) {
                    ids.retain(|i| i != PRIVACY_SHIELD);
                }
            }
        }
    });
    let e = incomplete(c.route(&q("DE", "US", "2021-01-01")).unwrap_err());
    assert!(
        matches!(&e, CompletenessError::Ids { key } if key.starts_with("route US ")),
        "{e}"
    );

    // 3. A stale map: the completeness of an older answer with a newer
    // checkpoint (one more entry logged in between).
    c.transport().set(|_, _| {});
    let (old, _) = c.route(&q("DE", "US", "2021-01-01")).unwrap();
    let gov = reg.governance();
    let ppc = key("xx.test", 77);
    let origin = c.checkpoint().unwrap().checkpoint.origin;
    let (st, r) = reg.post(&enroll_in(&origin, &gov, "xx.test", &[&ppc], &["JP"]));
    assert_eq!(st, 201, "{r}");
    let old_part = serde_json::to_value(old.completeness.clone().unwrap()).unwrap();
    c.transport().set(move |path, v| {
        if path.starts_with("/v1/route") {
            v["completeness"] = old_part.clone();
        }
    });
    let e = incomplete(c.route(&q("DE", "US", "2021-01-01")).unwrap_err());
    assert!(matches!(e, CompletenessError::Stale { .. }), "{e}");
    // Or a whole older answer's completeness under the older checkpoint is
    // fine; with an inclusion proof forged for the new size it is not.
    let old_part = serde_json::to_value(old.completeness.clone().unwrap()).unwrap();
    c.transport().set(move |path, v| {
        if path.starts_with("/v1/route") {
            let new_proof = v["completeness"]["index_proof"].clone();
            v["completeness"] = old_part.clone();
            v["completeness"]["index_proof"] = new_proof;
        }
    });
    let e = incomplete(c.route(&q("DE", "US", "2021-01-01")).unwrap_err());
    assert!(
        matches!(
            e,
            CompletenessError::Stale { .. } | CompletenessError::IndexInclusion(_)
        ),
        "{e}"
    );

    // 4. A map proof for another key: Privacy Shield's record proof swapped
    // with Safe Harbor's.
    c.transport().set(|path, v| {
        if path.starts_with("/v1/route") {
            let keys = v["completeness"]["keys"].as_array_mut().unwrap();
            let find = |keys: &[Value], id: &str| {
                keys.iter()
                    .position(|k| k["key"][0] == "record" && k["key"][1] == id)
                    .unwrap()
            };
            let a = find(keys, PRIVACY_SHIELD);
            let b = find(keys, "eu.ec/eu-adq-us-safeharbor-2000");
            let (pa, pb) = (keys[a]["proof"].clone(), keys[b]["proof"].clone());
            keys[a]["proof"] = pb;
            keys[b]["proof"] = pa;
        }
    });
    let e = incomplete(c.route(&q("DE", "US", "2021-01-01")).unwrap_err());
    assert!(
        matches!(&e, CompletenessError::Proof { key, .. } if key.starts_with("record ")),
        "{e}"
    );

    // 6. A record denied. An honest 404 carries the map's proof that the
    // record's key has no value; that proof does not deny another record,
    // and a 404 without one is not proof of absence.
    c.transport().set(|_, _| {});
    let e = c.record("eu.ec/no-such-record").unwrap_err();
    assert!(
        matches!(&e, ClientError::Absent { record, .. } if record == "eu.ec/no-such-record"),
        "{e}"
    );
    let (st, absent) = reg.get_json("/v1/records/eu.ec/no-such-record");
    assert_eq!(st, 404);
    assert!(absent["completeness"].is_object(), "{absent}");
    c.transport().set(move |path, v| {
        if path.starts_with("/v1/records") {
            *v = absent.clone();
            v["__status"] = 404.into();
        }
    });
    let e = incomplete(c.record(PRIVACY_SHIELD).unwrap_err());
    assert!(
        matches!(&e, CompletenessError::NoProof(key) if key == &format!("record {PRIVACY_SHIELD}")),
        "{e}"
    );
    // The proof of another record's absence relabelled as this record's:
    // its key's proof fails (the key is present in the map).
    let (_, absent) = reg.get_json("/v1/records/eu.ec/no-such-record");
    c.transport().set(move |path, v| {
        if path.starts_with("/v1/records") {
            *v = absent.clone();
            v["completeness"]["keys"][0]["key"][1] = PRIVACY_SHIELD.into();
            v["__status"] = 404.into();
        }
    });
    let e = incomplete(c.record(PRIVACY_SHIELD).unwrap_err());
    assert!(
        matches!(&e, CompletenessError::Proof { key, .. } if key == &format!("record {PRIVACY_SHIELD}")),
        "{e}"
    );

    // 5. An older server: no completeness part. Refused by default,
    // accepted (and said so) only when asked.
    c.transport().set(|path, v| {
        if path.starts_with("/v1/route") {
            v.as_object_mut().unwrap().remove("completeness");
        }
    });
    let e = incomplete(c.route(&q("DE", "US", "2021-01-01")).unwrap_err());
    assert_eq!(e, CompletenessError::Missing);
    let lax = client(&reg).with_completeness(Completeness::AcceptIncomplete);
    lax.transport().set(|path, v| {
        if path.starts_with("/v1/route") {
            v.as_object_mut().unwrap().remove("completeness");
        }
    });
    let (ans, _) = lax.route(&q("DE", "US", "2021-01-01")).unwrap();
    assert!(ans.completeness.is_none());
}

#[test]
fn demo_answers_are_complete_offline_and_agree_with_the_replay_on_every_matrix_route() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::start_cmd(dir.path(), &["demo"]);
    let policy = Policy::new(reg.log_key.clone()).unwrap();
    let c = Client::new(
        HttpTransport::new(&reg.base, Duration::from_secs(30)).unwrap(),
        policy.clone(),
    );
    let mut auditor = Auditor::new();
    let cp = c.checkpoint().unwrap();
    let report = auditor.advance(&c, &cp, None, &mut |_| {}).unwrap();
    assert!(
        report.counts.index >= 1,
        "the audit recomputed the index entries"
    );
    let mut checked = 0;
    for at in ["2014-01-01", "2021-01-01", "2024-01-01"] {
        // Every route of the demo matrix on that day.
        let (st, m) = reg.get_json(&format!("/v1/matrix?at={at}"));
        assert_eq!(st, 200, "{m}");
        let mut pairs: Vec<(String, String)> = m["pairs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["from"].as_str().unwrap().to_owned(),
                    p["to"].as_str().unwrap().to_owned(),
                )
            })
            .filter(|(_, to)| to != "*")
            .collect();
        pairs.push(("DE".into(), "US".into()));
        pairs.sort();
        pairs.dedup();
        let matrix: dfft_core::wire::Matrix = serde_json::from_value(m.clone()).unwrap();
        for (from, to) in &pairs {
            let (ans, v) = c
                .route(&q(from, to, at))
                .unwrap_or_else(|e| panic!("{from} -> {to} on {at}: {e}"));
            // The matrix cell is the one the complete route answer proves.
            matrix
                .check_cell(from, to, &ans, &v)
                .unwrap_or_else(|e| panic!("matrix cell {from} -> {to} on {at}: {e}"));
            // A matrix that leaves a record in force out of the cell is caught.
            if let Some(p) = matrix
                .pairs
                .iter()
                .position(|p| &p.from == from && &p.to == to && !p.records.is_empty())
            {
                let mut lie = matrix.clone();
                lie.pairs[p].records.pop();
                assert!(lie.check_cell(from, to, &ans, &v).is_err());
            }
            // The same checkpoint for every answer: nothing is logged meanwhile.
            assert_eq!(ans.checkpoint.as_bytes(), cp.to_text().as_bytes());
            check_route_complete(auditor.registry(), &ans)
                .unwrap_or_else(|e| panic!("{from} -> {to} on {at}: replay disagrees: {e}"));
            let saved = serde_json::to_vec(&ans).unwrap();
            verify_route_json(&saved, &policy, Completeness::Required)
                .unwrap_or_else(|e| panic!("{from} -> {to} on {at} offline: {e}"));
            checked += 1;
        }
    }
    assert!(checked >= 9);
}

#[test]
fn authority_listing_lies_are_caught_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::start_cmd(dir.path(), &["demo"]);
    let c = client(&reg);
    // An authority with three statements: enrolled, updated (a new key),
    // retired.
    let gov = reg.governance();
    let origin = c.checkpoint().unwrap().checkpoint.origin;
    let (k1, k2) = (key("xx.dpa", 71), key("xx.dpa", 72));
    let (st, r) = reg.post(&enroll_in(&origin, &gov, "xx.dpa", &[&k1], &["JP"]));
    assert_eq!(st, 201, "{r}");
    let enrolled = r["index"].as_u64().unwrap();
    let update = serde_json::json!({"kind": "authority", "action": "update", "authority": "xx.dpa",
        "name": "XX DPA", "competence": ["JP"], "keys": [k2.verifier().to_string()],
        "log": origin, "supersedes": enrolled, "issued_at": "2026-01-02T00:00:00Z"});
    let (st, r) = reg.post(&sign(update, &[&gov]));
    assert_eq!(st, 201, "{r}");
    let updated = r["index"].as_u64().unwrap();
    let retire = serde_json::json!({"kind": "authority", "action": "retire", "authority": "xx.dpa",
        "log": origin, "supersedes": updated, "issued_at": "2026-01-03T00:00:00Z"});
    let (st, r) = reg.post(&sign(retire, &[&gov]));
    assert_eq!(st, 201, "{r}");
    let retired = r["index"].as_u64().unwrap();

    // The truth: every authority the full replay knows, in the state it
    // gives, the retired one with its three statements.
    let (listing, v) = c.authorities().expect("honest listing");
    let mut auditor = Auditor::new();
    auditor
        .advance(&c, &v.checkpoint, None, &mut |_| {})
        .unwrap();
    let mut replayed: Vec<_> = auditor.registry().authorities().cloned().collect();
    replayed.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(v.authorities, replayed);
    let xx = v
        .authorities
        .iter()
        .find(|a| a.id.as_str() == "xx.dpa")
        .unwrap();
    assert!(xx.retired);
    assert_eq!(xx.set_at_index, retired);
    assert_eq!(
        xx.keys,
        vec![k2.verifier()],
        "retiring keeps the updated keys"
    );
    let item = listing
        .authorities
        .iter()
        .find(|a| a.authority == "xx.dpa")
        .unwrap();
    let indices: Vec<u64> = item.statements.iter().map(|s| s.index).collect();
    assert_eq!(indices, [enrolled, updated, retired]);
    // Offline, from the saved listing.
    let saved: dfft_core::wire::Authorities =
        serde_json::from_slice(&serde_json::to_vec(&listing).unwrap()).unwrap();
    dfft_client::offline::verify_authorities(&saved, c.policy(), Completeness::Required).unwrap();

    // 1. An authority dropped from the listing.
    c.transport().set(|_, v| {
        v["authorities"]
            .as_array_mut()
            .unwrap()
            .retain(|a| a["authority"] != "eu.ec");
    });
    let e = incomplete(c.authorities().unwrap_err());
    assert!(
        matches!(&e, CompletenessError::Ids { key } if key == "authorities"),
        "{e}"
    );
    // ... and from the `authorities` key's list too: its proof fails.
    c.transport().set(|_, v| {
        v["authorities"]
            .as_array_mut()
            .unwrap()
            .retain(|a| a["authority"] != "eu.ec");
        for k in v["completeness"]["keys"].as_array_mut().unwrap() {
            if let Some(ids) = k.get_mut("ids").and_then(Value::as_array_mut) {
                ids.retain(|i| i != "eu.ec");
            }
        }
    });
    let e = incomplete(c.authorities().unwrap_err());
    assert!(
        matches!(&e, CompletenessError::Ids { key } if key == "authorities"),
        "{e}"
    );

    // 2. A statement dropped: the enrolment (the state still follows from
    // the others, so only the map catches it).
    c.transport().set(|_, v| {
        for a in v["authorities"].as_array_mut().unwrap() {
            if a["authority"] == "xx.dpa" {
                a["statements"].as_array_mut().unwrap().remove(0);
            }
        }
    });
    let e = incomplete(c.authorities().unwrap_err());
    assert!(
        matches!(&e, CompletenessError::AuthorityStatements { authority, statements: 2 } if authority == "xx.dpa"),
        "{e}"
    );
    // The retirement dropped (a retired authority shown as active): the
    // claimed state no longer follows from the statements shown.
    c.transport().set(|_, v| {
        for a in v["authorities"].as_array_mut().unwrap() {
            if a["authority"] == "xx.dpa" {
                a["statements"].as_array_mut().unwrap().pop();
            }
        }
    });
    let e = c.authorities().unwrap_err();
    assert!(
        matches!(&e, ClientError::Answer(dfft_core::answer::AnswerError::Authority { authority, .. }) if authority == "xx.dpa"),
        "{e}"
    );

    // 3. A state its statements do not give: another competence.
    c.transport().set(|_, v| {
        for a in v["authorities"].as_array_mut().unwrap() {
            if a["authority"] == "eu.ec" {
                a["competence"] = serde_json::json!(["EEA", "US"]);
            }
        }
    });
    let e = c.authorities().unwrap_err();
    assert!(
        matches!(&e, ClientError::Answer(dfft_core::answer::AnswerError::Authority { authority, .. }) if authority == "eu.ec"),
        "{e}"
    );
}
