//! The verifying client commands against the real server: `dfft audit`
//! passes on a genuine log, route answers verify online and offline, and
//! an entry signed by an unenrolled key, planted in the store behind the
//! server's back (with a checkpoint the log key signs), makes `dfft audit`
//! and `dfft monitor` fail with a clear report.

mod common;

use common::*;
use dfft_core::checkpoint::Checkpoint;
use dfft_core::merkle;
use dfft_core::note::SignerKey;
use dfft_store::{Commit, Store};
use serde_json::Value;
use std::path::Path;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Appends `entry` to the stored log and signs a checkpoint for it with the
/// log's key, as a dishonest operator could; the server must be stopped.
fn plant(dir: &Path, entry: Vec<u8>) -> u64 {
    let store = Store::open(&dir.join("db")).unwrap();
    let size = store.size().unwrap();
    let mut frontier = store.frontier(size).unwrap();
    let leaf = merkle::leaf_hash(&entry);
    let mut nodes = Vec::new();
    frontier.append(leaf, |id, h| nodes.push((id, *h)));
    let log_key =
        SignerKey::parse(std::fs::read_to_string(dir.join("log.key")).unwrap().trim()).unwrap();
    let cp = Checkpoint {
        origin: ORIGIN.into(),
        size: size + 1,
        root: frontier.root(),
        extensions: vec![],
    }
    .sign(&[&log_key], 0)
    .unwrap();
    store
        .commit(&Commit {
            first_index: size,
            entries: vec![(entry, leaf)],
            nodes,
            checkpoint: cp.to_text(),
            state: vec![],
        })
        .unwrap();
    size
}

#[test]
fn audit_passes_then_catches_an_entry_by_an_unenrolled_key() {
    let dir = tempfile::tempdir().unwrap();
    let client_dir = tempfile::tempdir().unwrap();
    let state = client_dir.path().join("state.json");
    let answer = client_dir.path().join("answer.json");
    let hook_out = client_dir.path().join("hook.json");
    let mut reg = Registry::start(dir.path(), &[]);
    let gov = reg.governance();
    let ec = key("eu.ec", 11);
    let (st, r) = reg.post(&enroll(&gov, "eu.ec", &[&ec], &["EU", "EEA"]));
    assert_eq!(st, 201, "{r}");
    for i in 0..5 {
        let (st, r) = reg.post(&recognition(
            &ec,
            &format!("eu.ec/adequacy/r{i}"),
            "granted",
            "EEA",
            "JP",
            "2019-01-23",
        ));
        assert_eq!(st, 201, "{r}");
    }
    let vkey = reg.log_key.to_string();
    let base = reg.base.clone();

    // A genuine log passes, and the state records it.
    let (code, out, err) = dfft(&[
        "audit",
        "--log",
        &base,
        "--log-key",
        &vkey,
        "--state",
        s(&state),
        "--json",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ok"], true);
    // Genesis, enrolment and five events, each in its batch with its index entry.
    assert_eq!(v["replayed"], 14);
    assert_eq!(v["entries"]["index"], 7);
    assert_eq!(v["entries"]["recognition"], 5);

    // Route answers verify online (with a replay) and offline.
    let (code, out, err) = dfft(&[
        "route",
        "--from",
        "DE",
        "--to",
        "JP",
        "--at",
        "2024-01-01",
        "--log",
        &base,
        "--log-key",
        &vkey,
        "--state",
        s(&state),
        "--audit",
        "--save",
        s(&answer),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("5 record(s)"), "{out}");
    let (code, out, err) = dfft(&[
        "route",
        "--answer",
        s(&answer),
        "--log-key",
        &vkey,
        "--json",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["records"].as_array().unwrap().len(), 5);
    // Offline, against another key: refused.
    let other = key(ORIGIN, 99).verifier().to_string();
    let (code, _, err) = dfft(&["route", "--answer", s(&answer), "--log-key", &other]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("not signed by the log key"), "{err}");

    // Plant an entry that claims to be eu.ec's but is signed by a key eu.ec never enrolled.
    reg.kill();
    let planted = recognition(
        &key("eu.ec", 66),
        "eu.ec/adequacy/planted",
        "granted",
        "EEA",
        "RU",
        "2024-01-01",
    );
    let index = plant(dir.path(), planted);
    assert_eq!(index, 14);
    let reg = Registry::start(dir.path(), &[]);
    let base = reg.base.clone();

    let (code, out, err) = dfft(&[
        "audit",
        "--log",
        &base,
        "--log-key",
        &vkey,
        "--state",
        s(&state),
        "--quiet",
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("audit FAILED: entry 14:"), "{err}");
    assert!(
        err.contains("is not a current key of authority `eu.ec`"),
        "{err}"
    );
    let (code, out, _) = dfft(&[
        "audit",
        "--log",
        &base,
        "--log-key",
        &vkey,
        "--json",
        "--quiet",
    ]);
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["error"]["kind"], "rule");
    assert_eq!(v["error"]["index"], 14);
    // The state still holds the last good audit.
    let st: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(st["audited_size"], 14);

    // The monitor alerts, through its hook too.
    let hook = format!("cat > '{}'", s(&hook_out));
    let (code, out, err) = dfft(&[
        "monitor",
        "--log",
        &base,
        "--log-key",
        &vkey,
        "--once",
        "--quiet",
        "--hook",
        &hook,
    ]);
    assert_eq!(code, 1, "{out}{err}");
    let alert: Value = serde_json::from_slice(&std::fs::read(&hook_out).unwrap()).unwrap();
    assert_eq!(alert["kind"], "rule");
    assert_eq!(alert["index"], 14);
}
