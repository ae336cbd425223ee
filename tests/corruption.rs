//! A flipped byte in a RocksDB data file is detected (block checksums) and
//! never served: every entry the registry still answers is byte for byte
//! what was logged, and the damaged ones get a 500, not other bytes.

mod common;

use common::*;
use std::process::Command;
use std::time::{Duration, Instant};

/// Stops the server with SIGTERM (a clean shutdown flushes RocksDB's
/// memtable into a table file) and waits for it.
fn stop(reg: &mut Registry) {
    let pid = reg.child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let t = Instant::now();
    while reg.child.try_wait().unwrap().is_none() {
        assert!(t.elapsed() < Duration::from_secs(30), "server did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_flipped_byte_in_a_table_file_is_never_served() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut reg = Registry::start(&data, &[]);
    let gov = reg.governance();
    let ec = key("eu.ec", 95);
    assert_eq!(reg.post(&enroll(&gov, "eu.ec", &[&ec], &["EEA"])).0, 201);
    let mut logged = Vec::new();
    for n in 0..300 {
        let mut v = recognition_json(
            "eu.ec",
            &format!("eu.ec/c{n}"),
            "granted",
            "EEA",
            "JP",
            "2019-01-23",
        );
        v["notes"] = serde_json::json!(format!("{n} {}", "y".repeat(500)));
        let body = sign(v, &[&ec]);
        let (s, r) = reg.post(&body);
        assert_eq!(s, 201, "{r}");
        logged.push((r["index"].as_u64().unwrap(), body));
    }
    stop(&mut reg);
    // Flip one byte in the middle of the largest table file.
    let mut tables: Vec<_> = std::fs::read_dir(data.join("db"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "sst"))
        .collect();
    tables.sort_by_key(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0));
    let table = tables.pop().expect("a table file after a clean shutdown");
    let mut bytes = std::fs::read(&table).unwrap();
    let at = bytes.len() / 3;
    bytes[at] ^= 0x40;
    std::fs::write(&table, &bytes).unwrap();

    // The store opens (only what a start reads is checked then); nothing
    // damaged is served.
    let reg = Registry::start(&data, &[]);
    let mut refused = 0;
    for (index, body) in &logged {
        let (s, v) = reg.get_json(&format!("/v1/entries/{index}"));
        match s {
            200 => {
                let served = dfft_core::statement::dsse::Envelope::parse(
                    &serde_json::to_vec(&v["envelope"]).unwrap(),
                )
                .unwrap()
                .canonical_bytes();
                assert_eq!(&served, body, "entry {index} served with other bytes");
            }
            500 => {
                assert_eq!(v["error"], "internal", "{v}");
                refused += 1;
            }
            other => panic!("entry {index}: {other} {v}"),
        }
    }
    assert!(refused > 0, "the flipped byte went unnoticed on every read");
}

/// A flipped byte in the middle of the write-ahead log (a commit that was
/// acknowledged): the registry refuses to start rather than recover to an
/// earlier point and silently drop acknowledged entries.
#[test]
fn a_flipped_byte_in_the_middle_of_the_wal_refuses_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut reg = Registry::start(&data, &[]);
    let gov = reg.governance();
    let ec = key("eu.ec", 96);
    assert_eq!(reg.post(&enroll(&gov, "eu.ec", &[&ec], &["EEA"])).0, 201);
    for n in 0..200 {
        let mut v = recognition_json(
            "eu.ec",
            &format!("eu.ec/w{n}"),
            "granted",
            "EEA",
            "JP",
            "2019-01-23",
        );
        v["notes"] = serde_json::json!("z".repeat(400));
        assert_eq!(reg.post(&sign(v, &[&ec])).0, 201);
    }
    // SIGKILL: nothing flushed, every commit only in the WAL.
    reg.kill();
    let mut wals: Vec<_> = std::fs::read_dir(data.join("db"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    wals.sort_by_key(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0));
    let wal = wals.pop().expect("a WAL file");
    let mut bytes = std::fs::read(&wal).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x40;
    std::fs::write(&wal, &bytes).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_dfft"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let t = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if t.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("started (or hung) on a damaged WAL");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(!status.success(), "started on a damaged WAL");
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(err.to_lowercase().contains("corrupt"), "{err}");
}
