//! The server in process, on port 0, driven by `dfft_client`: submission
//! returns verified receipts, reads verify against the pinned key, and a
//! graceful shutdown leaves a store that opens with the whole tree.

use std::time::Duration;

use dfft_client::{Client, HttpTransport, Policy};
use dfft_core::note::{KeyName, SignerKey};
use dfft_core::statement::dsse::Envelope;
use dfft_server::{Config, GovernanceConfig, Limits, Server};
use serde_json::json;

const ORIGIN: &str = "in-process.dfft.example/log";

fn config(dir: &std::path::Path) -> Config {
    Config {
        data_dir: dir.to_path_buf(),
        origin: Some(ORIGIN.to_owned()),
        log_key: None,
        governance: GovernanceConfig::default(),
        limits: Limits::default(),
        store: Default::default(),
        witnesses: None,
    }
}

#[test]
fn a_server_on_port_0_driven_by_the_client() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = Server::open(config(dir.path())).unwrap();
    let log_key = server.info.log_vkey.clone();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let serving = rt.spawn(server.serve(listener, async {
        let _ = stop_rx.await;
    }));

    let gov = SignerKey::parse(
        std::fs::read_to_string(dir.path().join("governance.key"))
            .unwrap()
            .trim(),
    )
    .unwrap();
    let ec = SignerKey::from_seed(KeyName::new("eu.ec").unwrap(), [7; 32]);
    let client = Client::new(
        HttpTransport::new(&base, Duration::from_secs(10)).unwrap(),
        Policy::new(log_key.clone()).unwrap(),
    );
    let sign = |v: serde_json::Value, k: &SignerKey| {
        Envelope::sign(serde_json::to_vec(&v).unwrap(), &[k])
            .unwrap()
            .canonical_bytes()
    };
    let enrol = sign(
        json!({"kind": "authority", "action": "enroll", "authority": "eu.ec", "name": "EC", "log": ORIGIN,
               "competence": ["EEA"], "keys": [ec.verifier().to_string()], "issued_at": "2026-01-01T00:00:00Z"}),
        &gov,
    );
    let r = client.submit(&enrol).unwrap();
    assert!(r.created);
    // Genesis at 0 and its batch's index entry at 1 (docs/index.md).
    assert_eq!(r.index, 2);
    let grants: Vec<Vec<u8>> = (0..20)
        .map(|n| {
            sign(
                json!({"kind": "recognition", "authority": "eu.ec", "record": format!("eu.ec/r{n}"),
                       "action": "granted", "mechanism": "adequacy", "from": "EEA", "to": "JP",
                       "legal_reference": {"id": "CELEX:32019D0419", "title": "Decision"},
                       "effective": "2019-01-23", "issued_at": "2026-01-01T00:00:00Z"}),
                &ec,
            )
        })
        .collect();
    let results = client.submit_batch(&grants).unwrap();
    assert_eq!(results.len(), 20);
    // In order, after the enrolment's batch and its index entry; a
    // batch boundary (and its index entry) may fall between two of them.
    let mut last = 3;
    for r in &results {
        let r = r.as_ref().unwrap();
        assert!(r.created);
        assert!(r.index >= last, "{} after {last}", r.index);
        last = r.index + 1;
    }
    let third = results[3].as_ref().unwrap().index;
    // Resubmitting is answered with the first index, verified again.
    let again = client.submit(&grants[3]).unwrap();
    assert!(!again.created);
    assert_eq!(again.index, third);
    // Reads: the checkpoint verifies against the pinned key and covers all,
    // its last leaf the index entry of the last batch.
    let cp = client.checkpoint().unwrap();
    assert_eq!(cp.checkpoint.size, last + 1);
    assert_eq!(client.entry(&cp, third).unwrap(), grants[3]);

    let _ = stop_tx.send(());
    rt.block_on(serving).unwrap().unwrap();
    drop(rt);
    // What the shutdown left opens, with the whole tree. (The store alone:
    // a second `Server` would leave its sequencer thread and RocksDB open
    // while the test process exits.)
    let store = dfft_store::Store::open(&dir.path().join("db")).unwrap();
    assert_eq!(store.size().unwrap(), cp.checkpoint.size);
    drop(store);
    let vkey = std::fs::read_to_string(dir.path().join("log.vkey")).unwrap();
    assert_eq!(vkey.trim(), log_key.to_string());
}
