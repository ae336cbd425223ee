//! Complete answers against a lying server (docs/index.md): a proxy
//! between the client and the real registry (the demo, with the real EU
//! history) rewrites answers, and the client catches each lie with a
//! precise error: an event dropped from a record (the Court's invalidation
//! of Privacy Shield), a record dropped from a route, a stale map served
//! with a newer checkpoint, a map proof for another key, and an answer
//! without completeness from an "older server" (refused unless accepted).
//! The demo's answers verify as complete, offline too, and agree with a
//! full replay of the log on every route of the demo matrix.

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
        if path.starts_with("/v1/route") || path.starts_with("/v1/records") {
            if let Some(f) = &*self.rewrite.lock().unwrap() {
                let mut v: Value = serde_json::from_slice(&r.body).unwrap();
                f(path, &mut v);
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
        for (from, to) in &pairs {
            let (ans, _) = c
                .route(&q(from, to, at))
                .unwrap_or_else(|e| panic!("{from} -> {to} on {at}: {e}"));
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
