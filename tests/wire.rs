//! The real server's answers parse as the core's wire types, and
//! `dfft_client` submits to it and verifies what it gets back: single and
//! batch receipts, a statement logged earlier under another signature set,
//! refusals; info, authorities, proofs and error bodies.

mod common;

use common::*;
use dfft_client::{announce, Client, ClientError, HttpTransport, Policy};
use dfft_core::merkle;
use dfft_core::statement::dsse::Envelope;
use dfft_core::wire;
use serde_json::json;
use std::time::Duration;

fn parse<T: serde::de::DeserializeOwned>(reg: &Registry, path: &str, status: u16) -> T {
    let (s, body) = reg.get(path);
    assert_eq!(s, status, "{path}: {}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("{path}: {e}: {}", String::from_utf8_lossy(&body)))
}

#[test]
fn the_client_submits_to_the_real_server_and_verifies_its_wire_answers() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::start(dir.path(), &[]);
    let transport = HttpTransport::new(&reg.base, Duration::from_secs(30)).unwrap();
    let client = Client::new(transport, Policy::new(reg.log_key.clone()).unwrap());

    let info = announce::info(client.transport()).unwrap();
    assert_eq!(info.log_vkey, reg.log_key.to_string());
    assert_eq!(info.origin, ORIGIN);
    assert_eq!(info.governance.as_ref().map(|g| g.threshold), Some(1));
    assert_eq!(info.root().unwrap(), reg.checkpoint().checkpoint.root);

    // A single submission, then the same envelope again.
    let gov = reg.governance();
    let ec = key("eu.ec", 3);
    let enrol = enroll(&gov, "eu.ec", &[&ec], &["EEA"]);
    let r = client.submit(&enrol).unwrap();
    assert_eq!((r.index, r.created, r.other_envelope), (2, true, false));
    let again = client.submit(&enrol).unwrap();
    assert_eq!((again.index, again.created), (2, false));

    // The same statement under another signature set: the receipt is for
    // the logged entry.
    let grant = recognition(
        &ec,
        "eu.ec/adequacy/jp",
        "granted",
        "EEA",
        "JP",
        "2019-01-23",
    );
    let g = client.submit(&grant).unwrap();
    let env = Envelope::parse(&grant).unwrap();
    let other = Envelope::sign(env.payload.clone(), &[&ec, &key("other.key", 9)])
        .unwrap()
        .canonical_bytes();
    let o = client.submit(&other).unwrap();
    assert!(o.other_envelope && !o.created, "{o:?}");
    assert_eq!((o.index, &o.entry), (g.index, &grant));
    assert!(o.note.is_some());

    // A refusal by the rules.
    let twice = recognition(
        &ec,
        "eu.ec/adequacy/jp",
        "granted",
        "EEA",
        "JP",
        "2019-02-01",
    );
    let e = client.submit(&twice).unwrap_err();
    let refusal = e.refusal().unwrap_or_else(|| panic!("{e}"));
    assert_eq!(
        (refusal.status, refusal.code.as_str()),
        (422, "rule_violated")
    );

    // A batch: new, refused, logged under another signature set.
    let kr = recognition(
        &ec,
        "eu.ec/adequacy/kr",
        "granted",
        "EEA",
        "KR",
        "2021-12-17",
    );
    let bad = sign(json!({"kind": "recognition", "authority": "eu.ec"}), &[&ec]);
    let out = client
        .submit_batch(&[kr.clone(), bad, other.clone()])
        .unwrap();
    let k = out[0].as_ref().unwrap();
    assert!(k.created && k.entry == kr);
    assert_eq!(out[1].as_ref().unwrap_err().status, 400);
    let o2 = out[2].as_ref().unwrap();
    assert!(o2.other_envelope && o2.entry == grant && o2.index == g.index);
    assert_eq!(k.checkpoint, o2.checkpoint, "one checkpoint per batch");

    // The authorities, proofs and errors parse as their wire types.
    let auth: wire::Authorities = parse(&reg, "/v1/authorities", 200);
    let a = &auth.authorities[0];
    // Entry 1 is the genesis batch's index entry (docs/index.md).
    assert_eq!((a.authority.as_str(), a.set_at_index), ("eu.ec", 2));
    assert_eq!(a.entry_bytes().unwrap(), enrol);
    let cp = dfft_core::checkpoint::SignedCheckpoint::parse(auth.checkpoint.as_bytes()).unwrap();
    merkle::verify_inclusion(
        2,
        cp.checkpoint.size,
        &merkle::leaf_hash(&enrol),
        &a.proof().unwrap(),
        &cp.checkpoint.root,
    )
    .unwrap();

    let size = reg.checkpoint().checkpoint.size;
    let inc: wire::InclusionProof = parse(
        &reg,
        &format!("/v1/proof/inclusion?index=2&size={size}"),
        200,
    );
    assert_eq!(inc.leaf().unwrap(), merkle::leaf_hash(&enrol));
    merkle::verify_inclusion(
        2,
        size,
        &inc.leaf().unwrap(),
        &inc.proof_hashes().unwrap(),
        &reg.checkpoint().checkpoint.root,
    )
    .unwrap();

    let old = r.checkpoint.checkpoint;
    let now = reg.checkpoint().checkpoint;
    let c: wire::ConsistencyProof = parse(
        &reg,
        &format!("/v1/proof/consistency?from={}&to={}", old.size, now.size),
        200,
    );
    merkle::verify_consistency(
        c.from,
        c.to,
        &old.root,
        &now.root,
        &c.proof_hashes().unwrap(),
    )
    .unwrap();

    let e: wire::ErrorBody = parse(&reg, "/v1/no-such-thing", 404);
    assert_eq!(e.error, "not_found");

    // A client pinning another key refuses the server's genuine receipts.
    let wrong = Client::new(
        HttpTransport::new(&reg.base, Duration::from_secs(30)).unwrap(),
        Policy::new(key(ORIGIN, 97).verifier()).unwrap(),
    );
    assert!(matches!(
        wrong.submit(&enrol),
        Err(ClientError::Checkpoint(_))
    ));
}
