//! Issue 11's critical finding, tried as the attacker did: with 2-of-3
//! governance, an authority update is resubmitted with its signatures
//! reordered or reduced to undo a later key revocation. A statement is
//! logged once, whatever signatures carry it: the replay is answered 200
//! with the first index, nothing is logged, the revoked key stays revoked,
//! and the audit finds nothing.

mod common;

use common::*;
use dfft_core::statement::dsse::Envelope;
use serde_json::{json, Value};
use std::process::Command;

fn envelope_of(reg: &Registry, index: u64) -> Envelope {
    let (s, e) = reg.get_json(&format!("/v1/entries/{index}"));
    assert_eq!(s, 200);
    Envelope::parse(&serde_json::to_vec(&e["envelope"]).unwrap()).unwrap()
}

#[test]
fn reordered_or_reduced_signatures_cannot_undo_a_revocation() {
    let dir = tempfile::tempdir().unwrap();
    let g: Vec<_> = (0..3).map(|i| key(&format!("gov{i}"), 70 + i)).collect();
    let vkeys: Vec<String> = g.iter().map(|k| k.verifier().to_string()).collect();
    let genesis = sign(
        json!({"kind": "genesis", "origin": ORIGIN, "governance": {"keys": vkeys, "threshold": 2},
               "issued_at": "2026-01-01T00:00:00Z"}),
        &[&g[0], &g[1]],
    );
    let genesis_file = dir.path().join("genesis.json");
    std::fs::write(&genesis_file, &genesis).unwrap();
    let mut args: Vec<String> = Vec::new();
    for v in &vkeys {
        args.extend(["--governance-vkey".into(), v.clone()]);
    }
    args.extend([
        "--governance-threshold".into(),
        "2".into(),
        "--genesis".into(),
        genesis_file.to_string_lossy().into(),
    ]);
    let argv: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    let data = dir.path().join("data");
    let reg = Registry::start(&data, &argv);

    let (k0, old, new) = (key("eu.x", 80), key("eu.x", 81), key("eu.x", 82));
    let authority = |action: &str,
                     keys: &[&dfft_core::note::SignerKey],
                     competence: &[&str],
                     supersedes: Option<u64>| {
        let mut v = json!({"kind": "authority", "action": action, "authority": "eu.x", "name": "X", "log": ORIGIN,
            "competence": competence, "keys": keys.iter().map(|k| k.verifier().to_string()).collect::<Vec<_>>(),
            "issued_at": "2026-01-01T00:00:00Z"});
        if let Some(n) = supersedes {
            v["supersedes"] = json!(n);
        }
        v
    };
    let post_ok = |body: &[u8], status: u16| -> Value {
        let (s, v) = reg.post(body);
        assert_eq!(s, status, "{v}");
        v
    };
    let enrol = post_ok(
        &sign(authority("enroll", &[&k0], &["JP"], None), &[&g[0], &g[1]]),
        201,
    );
    let e1 = enrol["index"].as_u64().unwrap();
    let up1 = post_ok(
        &sign(
            authority("update", &[&k0, &old], &["JP", "US"], Some(e1)),
            &[&g[0], &g[1]],
        ),
        201,
    );
    let u1 = up1["index"].as_u64().unwrap();
    let up2 = post_ok(
        &sign(
            authority("update", &[&new], &["JP"], Some(u1)),
            &[&g[1], &g[2]],
        ),
        201,
    );
    let u2 = up2["index"].as_u64().unwrap();
    let by_old = sign(
        recognition_json("eu.x", "eu.x/us", "granted", "US", "JP", "2024-01-01"),
        &[&old],
    );
    assert_eq!(reg.post(&by_old).0, 403, "old is revoked");
    let size = reg.checkpoint().checkpoint.size;

    // The replay: the first update with its signatures reversed, then with
    // only one of them (under the threshold).
    let logged = envelope_of(&reg, u1);
    let mut reversed = logged.clone();
    reversed.signatures.reverse();
    let mut reduced = logged.clone();
    reduced.signatures.truncate(1);
    for replay in [reversed, reduced] {
        let bytes = replay.canonical_bytes();
        assert_ne!(bytes, logged.canonical_bytes());
        let r = post_ok(&bytes, 200);
        assert_eq!(r["index"], u1, "{r}");
        assert!(
            r["note"]
                .as_str()
                .unwrap()
                .contains("another signature set"),
            "{r}"
        );
        // The receipt proves the logged entry, not the replayed bytes.
        check_receipt(&reg, &r, &logged.canonical_bytes());
        // Batches answer the same, with the logged entry.
        let body = format!("[{}]", String::from_utf8(bytes).unwrap());
        let v: Value = agent()
            .post(&format!("{}/v1/entries/batch", reg.base))
            .set("Content-Type", "application/json")
            .send_string(&body)
            .unwrap()
            .into_json()
            .unwrap();
        assert_eq!(v["results"][0]["status"], 200, "{v}");
        assert_eq!(v["results"][0]["index"], u1);
        assert!(v["results"][0]["entry"].is_string());
    }
    assert_eq!(reg.checkpoint().checkpoint.size, size, "nothing was logged");
    // The revoked key stays revoked, and US stays out of its competence.
    assert_eq!(reg.post(&by_old).0, 403);
    let by_new = sign(
        recognition_json("eu.x", "eu.x/us", "granted", "US", "JP", "2024-01-01"),
        &[&new],
    );
    assert_eq!(reg.post(&by_new).0, 422, "US is not in the competence");
    let (_, auths) = reg.get_json("/v1/authorities");
    let x = auths["authorities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["authority"] == "eu.x")
        .unwrap()
        .clone();
    assert_eq!(x["set_at_index"], u2);
    assert_eq!(x["keys"], json!([new.verifier().to_string()]));

    // An old update signed before the last one (stale `supersedes`) is
    // refused even as a new statement.
    let mut stale = authority("update", &[&k0, &old], &["JP", "US"], Some(u1));
    stale["issued_at"] = json!("2026-01-02T00:00:00Z");
    let (s, v) = reg.post(&sign(stale, &[&g[0], &g[2]]));
    assert_eq!(s, 422, "{v}");
    assert!(v["message"].as_str().unwrap().contains("supersedes"), "{v}");

    // The audit finds the log clean.
    let out = Command::new(env!("CARGO_BIN_EXE_dfft"))
        .args([
            "audit",
            "--log",
            &reg.base,
            "--log-key",
            &reg.log_key.to_string(),
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["entries"]["repeated"], 0);
    assert_eq!(v["findings"], json!([]));
}
