//! The explorer's in-browser verifier (`crates/dfft-server/src/explorer/
//! assets/verify.mjs`), run with node: against the core's test vectors
//! (tests/js/vectors.mjs), and against real answers of the demo registry
//! with the core as oracle (tests/js/answers.mjs: the statuses it computes
//! are the ones `dfft_core::answer` computes, and every lie is refused);
//! its copy of the group membership tables is the core's.

mod common;

use common::*;
use dfft_core::answer::{RecordHistory, RouteAnswer};
use dfft_core::note::{KeyName, SignerKey};
use dfft_core::policy::Policy;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const PS: &str = "eu.ec/eu-adq-us-privacyshield-2016";
const SH: &str = "eu.ec/eu-adq-us-safeharbor-2000";

fn node(script: &str, args: &[&Path]) {
    let out = Command::new("node")
        .arg(Path::new(ROOT).join(script))
        .args(args)
        .output()
        .expect("node is needed for the explorer's verifier tests (scripts/setup installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{script} failed:\n{text}");
    assert!(text.contains("checks passed"), "{text}");
    eprintln!("{}", text.trim());
}

#[test]
fn verifier_passes_the_core_vectors_in_node() {
    node("tests/js/vectors.mjs", &[]);
}

#[test]
fn verifier_membership_tables_are_the_cores() {
    let js = std::fs::read_to_string(
        Path::new(ROOT).join("crates/dfft-server/src/explorer/assets/verify.mjs"),
    )
    .unwrap();
    let start = js.find("// BEGIN MEMBERSHIPS").unwrap();
    let end = js.find("// END MEMBERSHIPS").unwrap();
    let block = &js[start..end];
    let obj = &block[block.find('{').unwrap()..=block.rfind('}').unwrap()];
    let got: Value = serde_json::from_str(obj).expect("the MEMBERSHIPS block is JSON");
    let mut want = serde_json::Map::new();
    for (name, rows) in dfft_core::statement::jurisdiction::membership_tables() {
        let rows: Vec<Value> = rows
            .iter()
            .map(|(c, from, until)| json!([c, from.to_string(), until.map(|u| u.to_string())]))
            .collect();
        want.insert(name.to_owned(), Value::Array(rows));
    }
    assert_eq!(got, Value::Object(want));
}

#[test]
fn verifier_payload_type_is_the_cores() {
    let js = std::fs::read_to_string(
        Path::new(ROOT).join("crates/dfft-server/src/explorer/assets/verify.mjs"),
    )
    .unwrap();
    let want = format!(
        "export const PAYLOAD_TYPE = \"{}\";",
        dfft_core::statement::dsse::PAYLOAD_TYPE
    );
    assert!(js.contains(&want), "verify.mjs must say {want}");
}

#[test]
fn verifier_checks_real_answers_as_the_core_does_and_refuses_lies() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::start_cmd(dir.path(), &["demo"]);
    let out = tempfile::tempdir().unwrap();
    let policy = Policy::from_keys(reg.log_key.clone(), Vec::new(), 0).unwrap();
    let save = |name: &str, body: &[u8]| std::fs::write(out.path().join(name), body).unwrap();

    let mut route = serde_json::Map::new();
    for at in ["2014-01-01", "2016-01-01", "2021-01-01", "2024-01-01"] {
        let (s, body) = reg.get(&format!("/v1/route?from=DE&to=US&at={at}"));
        assert_eq!(s, 200);
        save(&format!("route-{at}.json"), &body);
        // The oracle: the core's own verification of the same answer.
        let a: RouteAnswer = serde_json::from_slice(&body).unwrap();
        let ok = a.verify(&policy).unwrap();
        let c = a.completeness.as_ref().expect("complete answers");
        let cp = dfft_core::checkpoint::SignedCheckpoint::parse(a.checkpoint.as_bytes()).unwrap();
        c.verify_route(&cp, &reg.log_key, &a).unwrap();
        let statuses: serde_json::Map<String, Value> = ok
            .records
            .iter()
            .map(|(h, st)| (h.record.to_string(), json!(st.as_str())))
            .collect();
        route.insert(at.to_owned(), Value::Object(statuses));
    }
    // Routes with rules (data/rules.json): the verifier recomputes each
    // summary as the core does, and refuses a summary that lies.
    let mut rules = serde_json::Map::new();
    for (i, q) in [
        "from=CN&to=JP&at=2024-06-01",
        "from=CN&to=JP&at=2024-06-01&data=health",
        "from=TR&to=US&at=2024-06-01",
        "from=TR&to=US&at=2024-09-01",
        "from=SA&to=US&at=2024-01-01",
        "from=PE&to=CL&at=2025-01-01",
    ]
    .iter()
    .enumerate()
    {
        let (s, body) = reg.get(&format!("/v1/route?{q}"));
        assert_eq!(s, 200);
        save(&format!("rules-{i}.json"), &body);
        let a: RouteAnswer = serde_json::from_slice(&body).unwrap();
        let ok = a.verify(&policy).unwrap();
        rules.insert(format!("rules-{i}.json"), json!(ok.summary));
    }
    assert_eq!(rules["rules-0.json"]["verdict"], "restricted");
    assert_eq!(rules["rules-1.json"]["verdict"], "allowed");
    assert_eq!(rules["rules-4.json"]["verdict"], "conditions");
    assert_eq!(rules["rules-5.json"]["verdict"], "no_information");

    // Counterparty answers (statements v2): a made-up organisation listed
    // with the demo's us.doc key, and one never listed.
    let doc = SignerKey::parse(
        std::fs::read_to_string(dir.path().join("demo-keys/us.doc.DEMO.key"))
            .unwrap()
            .trim(),
    )
    .unwrap();
    let listing = json!({"kind": "listing", "authority": "us.doc", "programme": "us.doc/us-doc-dpf-eu-2023",
        "record": "us.doc/us-doc-dpf-eu-2023/acme", "action": "listed",
        "organisation": {"programme_id": "acme", "name": "Test organisation (made up)"},
        "data": ["non_hr"], "effective": "2023-08-01", "issued_at": "2023-08-01T00:00:00Z"});
    let env =
        dfft_core::statement::dsse::Envelope::sign(serde_json::to_vec(&listing).unwrap(), &[&doc])
            .unwrap();
    assert_eq!(reg.post(&env.canonical_bytes()).0, 201);
    let mut parties = serde_json::Map::new();
    for (name, q) in [
        ("party-listed.json", "org=acme&at=2024-01-01&data=non_hr"),
        ("party-hr.json", "org=acme&at=2024-01-01&data=hr"),
        ("party-absent.json", "org=initech&at=2024-01-01"),
    ] {
        let (s, body) = reg.get(&format!("/v1/counterparty?from=DE&to=US&{q}"));
        assert_eq!(s, 200);
        save(name, &body);
        let a: dfft_core::counterparty::CounterpartyAnswer = serde_json::from_slice(&body).unwrap();
        let v = a.verify(&policy, &reg.log_key).unwrap();
        parties.insert(name.to_owned(), json!(v.verdict.verdict));
    }
    assert_eq!(parties["party-listed.json"], "listed");

    // The facts the scenario stands on.
    assert_eq!(route["2014-01-01"][SH], "in_force");
    assert_eq!(route["2021-01-01"][PS], "ended");

    let (s, body) = reg.get(&format!("/v1/records/{PS}?at=2021-01-01"));
    assert_eq!(s, 200);
    save("record.json", &body);
    let h: RecordHistory = serde_json::from_slice(&body).unwrap();
    h.verify(&policy).unwrap();
    let (s, body) = reg.get("/v1/records/eu.ec/no-such-record");
    assert_eq!(s, 404);
    save("absent.json", &body);

    let (s, body) = reg.get("/v1/authorities");
    assert_eq!(s, 200);
    save("authorities.json", &body);
    let listing: dfft_core::wire::Authorities = serde_json::from_slice(&body).unwrap();
    let verified = listing.verify(&policy).unwrap();
    let mut authorities: Vec<String> = verified
        .authorities
        .iter()
        .map(|a| a.id.to_string())
        .collect();
    authorities.sort();
    assert!(authorities.len() >= 2, "{authorities:?}");

    save("log.vkey", reg.log_key.to_string().as_bytes());
    let origin = reg.checkpoint().checkpoint.origin;
    let other = SignerKey::from_seed(KeyName::new(&origin).unwrap(), [7; 32]).verifier();
    save("other.vkey", other.to_string().as_bytes());
    save(
        "expected.json",
        serde_json::to_string(&json!({
            "route": route,
            "rules": rules,
            "parties": parties,
            "privacy_shield": PS,
            "record_at": "2021-01-01",
            "record_status": h.record.status.map(|s| s.as_str()),
            "absent": "eu.ec/no-such-record",
            "authorities": authorities,
        }))
        .unwrap()
        .as_bytes(),
    );
    node("tests/js/answers.mjs", &[out.path()]);
}

#[test]
fn verifier_checks_witness_cosignatures_and_the_quorum() {
    use dfft_core::note::{KeyKind, Note};
    let out = tempfile::tempdir().unwrap();
    let log = SignerKey::from_seed(KeyName::new("example.org/log").unwrap(), [1; 32]);
    let w = |name: &str, seed: u8| {
        SignerKey::from_seed_kind(
            KeyName::new(name).unwrap(),
            KeyKind::CosignatureV1,
            [seed; 32],
        )
    };
    let (w1, w2) = (w("w1.example/witness", 2), w("w2.example/witness", 3));
    let body = "example.org/log\n5\nPyO6EEnQhTr/RzwwaPaAlBxyn7IRBzSr5exF9QgdmDE=\n";
    let note = Note::sign(body, &[&log, &w1], 1_767_225_600).unwrap();
    let save = |name: &str, text: String| std::fs::write(out.path().join(name), text).unwrap();
    save("checkpoint", note.to_text());
    save("log.vkey", log.verifier().to_string());
    save("w1.vkey", w1.verifier().to_string());
    save("w2.vkey", w2.verifier().to_string());
    node("tests/js/cosign.mjs", &[out.path()]);
}
