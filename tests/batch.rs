//! `POST /v1/entries/batch`: each envelope of the array gets what a single
//! submission would get, logged entries come with proofs against one
//! checkpoint, and a bad batch changes nothing.

mod common;

use common::*;
use dfft_core::checkpoint::SignedCheckpoint;
use dfft_core::merkle;
use serde_json::Value;

fn post_batch(reg: &Registry, body: &[u8], content_type: &str) -> (u16, Value) {
    match agent()
        .post(&format!("{}/v1/entries/batch", reg.base))
        .set("Content-Type", content_type)
        .send_bytes(body)
    {
        Ok(r) => (r.status(), r.into_json().unwrap_or(Value::Null)),
        Err(ureq::Error::Status(s, r)) => (s, r.into_json().unwrap_or(Value::Null)),
        Err(e) => panic!("POST failed: {e}"),
    }
}

fn array(envelopes: &[&[u8]]) -> Vec<u8> {
    let mut b = b"[".to_vec();
    for (i, e) in envelopes.iter().enumerate() {
        if i > 0 {
            b.extend_from_slice(b",\n ");
        }
        b.extend_from_slice(e);
    }
    b.extend_from_slice(b"]");
    b
}

fn size(reg: &Registry) -> u64 {
    reg.checkpoint().checkpoint.size
}

#[test]
fn batch_results_match_single_submissions_and_carry_proofs() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::start(dir.path(), &["--max-batch-entries", "40"]);
    let gov = reg.governance();
    let ec = key("eu.ec", 41);
    let forger = key("eu.ec", 42);
    let (s, r) = reg.post(&enroll(&gov, "eu.ec", &[&ec], &["EU", "EEA"]));
    assert_eq!(s, 201, "{r}");
    let before = size(&reg);

    let grant = recognition(
        &ec,
        "eu.ec/adequacy/jp",
        "granted",
        "EEA",
        "JP",
        "2019-01-23",
    );
    let amend = recognition(
        &ec,
        "eu.ec/adequacy/jp",
        "amended",
        "EEA",
        "JP",
        "2023-04-01",
    );
    let grant_kr = recognition(
        &ec,
        "eu.ec/adequacy/kr",
        "granted",
        "EEA",
        "KR",
        "2021-12-17",
    );
    let forged = recognition(
        &forger,
        "eu.ec/adequacy/ch",
        "granted",
        "EEA",
        "CH",
        "2000-07-26",
    );
    // An event before any grant of its record: a rule violation (422).
    let orphan = recognition(
        &ec,
        "eu.ec/adequacy/nz",
        "amended",
        "EEA",
        "NZ",
        "2013-01-01",
    );
    let body = array(&[
        &grant,
        &amend,
        &forged,
        b"{\"payload\":1}",
        &grant_kr,
        &grant,
        &orphan,
    ]);
    let (s, r) = post_batch(&reg, &body, "application/json");
    assert_eq!(s, 200, "{r}");
    let results = r["results"].as_array().expect("results");
    let statuses: Vec<u64> = results
        .iter()
        .map(|x| x["status"].as_u64().unwrap())
        .collect();
    // grant, its amendment (array order is sequencing order), forged
    // signature, malformed, another grant, the first grant again (same
    // index), an orphan event.
    assert_eq!(statuses, [201, 201, 403, 400, 201, 200, 422], "{r}");
    assert_eq!(results[2]["error"], "unauthorized");
    assert_eq!(results[3]["error"], "malformed");
    assert_eq!(results[6]["error"], "rule_violated");
    assert!(
        results[6]["message"].as_str().unwrap().contains("granted"),
        "{r}"
    );

    // One checkpoint, signed by the log, covering every logged result.
    let cp = SignedCheckpoint::parse(r["checkpoint"].as_str().unwrap().as_bytes()).unwrap();
    cp.verify(&reg.log_key, &[], 0).unwrap();
    assert_eq!(r["tree_size"].as_u64(), Some(cp.checkpoint.size));
    assert_eq!(
        cp.checkpoint.size,
        before + 3 + 1,
        "exactly three new entries and the batch's index entry"
    );
    let entries: [&[u8]; 7] = [&grant, &amend, &forged, b"", &grant_kr, &grant, &orphan];
    let mut indices = Vec::new();
    for (i, x) in results.iter().enumerate() {
        if x["status"] != 201 && x["status"] != 200 {
            assert!(x.get("index").is_none());
            continue;
        }
        // The entry is the canonical envelope, which is what `sign` makes.
        let leaf = merkle::leaf_hash(entries[i]);
        assert_eq!(
            x["leaf_hash"].as_str().unwrap(),
            dfft_core::hex::encode(&leaf)
        );
        let index = x["index"].as_u64().unwrap();
        merkle::verify_inclusion(
            index,
            cp.checkpoint.size,
            &leaf,
            &b64_hashes(&x["inclusion_proof"]),
            &cp.checkpoint.root,
        )
        .unwrap_or_else(|e| panic!("result {i}: {e}"));
        indices.push(index);
    }
    assert_eq!(
        indices,
        [before, before + 1, before + 2, before],
        "array order is log order; the repeat gets the first index"
    );
    // The same envelope alone now answers 200 with the same index.
    let (s, single) = reg.post(&grant_kr);
    assert_eq!(s, 200, "{single}");
    assert_eq!(single["index"].as_u64(), Some(before + 2));
    // The record shows both events of the batch.
    let (s, rec) = reg.get_json("/v1/records/eu.ec/adequacy/jp");
    assert_eq!(s, 200, "{rec}");
    assert_eq!(rec["events"].as_array().map(|e| e.len()), Some(2), "{rec}");
}

#[test]
fn bad_batches_get_clear_errors_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::start(
        dir.path(),
        &[
            "--max-batch-entries",
            "3",
            "--max-batch-body",
            "20000",
            "--max-body",
            "1000",
        ],
    );
    let gov = reg.governance();
    let ec = key("eu.ec", 43);
    let (s, r) = reg.post(&enroll(&gov, "eu.ec", &[&ec], &["EU", "EEA"]));
    assert_eq!(s, 201, "{r}");
    let before = reg.checkpoint();
    let one = recognition(
        &ec,
        "eu.ec/adequacy/ar",
        "granted",
        "EEA",
        "AR",
        "2003-07-03",
    );
    // (name, body, content type, status, error code, part of the message)
    type Case = (
        &'static str,
        Vec<u8>,
        &'static str,
        u16,
        &'static str,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (
            "not JSON",
            b"[{".to_vec(),
            "application/json",
            400,
            "malformed",
            "JSON array",
        ),
        (
            "an object",
            one.clone(),
            "application/json",
            400,
            "malformed",
            "JSON array",
        ),
        (
            "an empty array",
            b"[]".to_vec(),
            "application/json",
            400,
            "malformed",
            "empty",
        ),
        (
            "too many envelopes",
            array(&[&one, &one, &one, &one]),
            "application/json",
            413,
            "too_large",
            "at most 3",
        ),
        (
            "wrong content type",
            array(&[&one]),
            "text/plain",
            415,
            "unsupported_media_type",
            "application/json",
        ),
    ];
    for (name, body, ct, status, error, message) in cases {
        let (s, r) = post_batch(&reg, &body, ct);
        assert_eq!(s, status, "{name}: {r}");
        assert_eq!(r["error"], error, "{name}: {r}");
        assert!(
            r["message"].as_str().unwrap_or("").contains(message),
            "{name}: {r}"
        );
        let now = reg.checkpoint();
        assert_eq!(now.checkpoint.size, before.checkpoint.size, "{name}");
        assert_eq!(now.checkpoint.root, before.checkpoint.root, "{name}");
    }
    // A body over the batch limit is refused from its headers.
    let text = headers_only_post(&reg.base, "/v1/entries/batch", 20_001);
    assert!(text.starts_with("HTTP/1.1 413"), "oversized batch: {text}");
    assert!(
        text.contains("\"too_large\"") && text.contains("20000"),
        "{text}"
    );
    // The single-entry limit does not apply to batches: a batch larger
    // than --max-body but within --max-batch-body is taken.
    let envs: Vec<Vec<u8>> = (0..3)
        .map(|i| {
            recognition(
                &ec,
                &format!("eu.ec/big/{i}"),
                "granted",
                "EEA",
                "AR",
                "2003-07-03",
            )
        })
        .collect();
    let body = array(&[&envs[0], &envs[1], &envs[2]]);
    assert!(body.len() > 1000 && body.len() < 20_000);
    let (s, r) = post_batch(&reg, &body, "application/json");
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        reg.checkpoint().checkpoint.size,
        before.checkpoint.size + 3 + 1
    );
}

/// The same envelope many times in one batch is checked once: every copy
/// gets the first one's answer (an invalid signature: 403 each; a valid
/// new statement: 201 once, then 200 with the same index), and the
/// statement is logged once.
#[test]
fn copies_in_one_batch_get_the_first_ones_answer() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::start(dir.path(), &[]);
    let gov = reg.governance();
    let ec = key("eu.ec", 43);
    assert_eq!(reg.post(&enroll(&gov, "eu.ec", &[&ec], &["EEA"])).0, 201);
    let good = recognition(&ec, "eu.ec/dup", "granted", "EEA", "JP", "2019-01-23");
    // A forged copy: same keyid, another key's signature.
    let forged = recognition(
        &key("eu.ec", 44),
        "eu.ec/dup2",
        "granted",
        "EEA",
        "JP",
        "2019-01-23",
    );
    let forged = String::from_utf8(forged)
        .unwrap()
        .replace(&key("eu.ec", 44).verifier().keyid(), &ec.verifier().keyid());
    let mut items: Vec<&[u8]> = Vec::new();
    for _ in 0..200 {
        items.push(forged.as_bytes());
        items.push(&good);
    }
    let before = size(&reg);
    let (s, v) = post_batch(&reg, &array(&items), "application/json");
    assert_eq!(s, 200, "{v}");
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 400);
    let first = results[1]["index"].as_u64().unwrap();
    assert_eq!(results[1]["status"], 201);
    for (i, r) in results.iter().enumerate() {
        if i % 2 == 0 {
            assert_eq!(r["status"], 403, "{r}");
            assert_eq!(r["message"], results[0]["message"]);
        } else if i > 1 {
            assert_eq!(r["status"], 200, "{r}");
            assert_eq!(r["index"], first);
        }
    }
    assert_eq!(
        size(&reg),
        before + 1 + 1,
        "logged once (and the batch's index entry)"
    );
}
