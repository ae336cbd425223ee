//! A real full disk: the registry's data directory on a small tmpfs, filled
//! up while it runs. Submissions get 507 with Retry-After, /healthz says
//! "degraded", nothing acknowledged is lost, and writing resumes by itself
//! once space is freed. Needs permission to mount a tmpfs (root, as in CI);
//! where that is refused the test says so and checks nothing more: the
//! sequencer's side of the same fault is covered without privileges by
//! crates/dfft-server/tests/sequencer_faults.rs (injected no-space fault).

mod common;

use common::*;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Unmounts the tmpfs when the test ends, however it ends.
struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn mount_tmpfs(at: &Path, size: &str) -> Option<Mount> {
    std::fs::create_dir_all(at).unwrap();
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(at)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then(|| Mount(at.to_path_buf()))
}

/// POST returning the status, the JSON body and the Retry-After header.
fn post_full(base: &str, bytes: &[u8]) -> (u16, serde_json::Value, Option<String>) {
    match agent()
        .post(&format!("{base}/v1/entries"))
        .set("Content-Type", "application/json")
        .send_bytes(bytes)
    {
        Ok(r) => (r.status(), r.into_json().unwrap_or_default(), None),
        Err(ureq::Error::Status(s, r)) => {
            let ra = r.header("Retry-After").map(str::to_owned);
            (s, r.into_json().unwrap_or_default(), ra)
        }
        Err(e) => panic!("POST failed: {e}"),
    }
}

#[test]
fn a_full_disk_answers_507_loses_nothing_and_writing_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("mnt");
    let Some(_mount) = mount_tmpfs(&mnt, "48m") else {
        eprintln!(
            "disk_full: cannot mount a tmpfs here (not permitted); the real disk-full check did not run"
        );
        return;
    };
    let data = mnt.join("data");
    let mut reg = Registry::start(&data, &[]);
    let gov = reg.governance();
    let ec = key("eu.ec", 90);
    assert_eq!(reg.post(&enroll(&gov, "eu.ec", &[&ec], &["EEA"])).0, 201);
    let grant = |n: usize| {
        let mut v = recognition_json(
            "eu.ec",
            &format!("eu.ec/r{n}"),
            "granted",
            "EEA",
            "JP",
            "2019-01-23",
        );
        // Large-ish statements fill the WAL faster.
        v["notes"] = serde_json::json!("x".repeat(8000));
        sign(v, &[&ec])
    };
    let mut acked: Vec<(u64, Vec<u8>)> = Vec::new();
    for n in 0..20 {
        let body = grant(n);
        let (s, v) = reg.post(&body);
        assert_eq!(s, 201, "{v}");
        acked.push((v["index"].as_u64().unwrap(), body));
    }
    // Fill the disk.
    let filler = mnt.join("filler");
    let mut f = std::fs::File::create(&filler).unwrap();
    let chunk = vec![0u8; 1 << 20];
    while f.write_all(&chunk).is_ok() {}
    let _ = f.sync_all();
    // Writes now fail with 507 (the first few may still fit in space the
    // store had already reserved).
    let mut n = 20;
    let mut refused = None;
    for _ in 0..200 {
        let body = grant(n);
        n += 1;
        let (s, v, retry_after) = post_full(&reg.base, &body);
        match s {
            201 => acked.push((v["index"].as_u64().unwrap(), body)),
            507 => {
                refused = Some((v, retry_after));
                break;
            }
            other => panic!("unexpected {other}: {v}"),
        }
    }
    let (v, retry_after) = refused.expect("no 507 although the disk is full");
    assert_eq!(v["error"], "insufficient_storage", "{v}");
    assert!(retry_after.is_some(), "507 carries Retry-After");
    let (s, health) = reg.get("/healthz");
    let health = String::from_utf8_lossy(&health).into_owned();
    assert_eq!(s, 200, "reads are still served");
    assert!(health.starts_with("degraded"), "{health}");
    // Reads still work while full.
    assert_eq!(reg.get(&format!("/v1/entries/{}", acked[0].0)).0, 200);

    // Space returns: writing resumes by itself.
    drop(f);
    std::fs::remove_file(&filler).unwrap();
    let t = Instant::now();
    loop {
        let body = grant(n);
        let (s, v, _) = post_full(&reg.base, &body);
        if s == 201 {
            acked.push((v["index"].as_u64().unwrap(), body));
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "writing did not resume: {s} {v}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let (_, health) = reg.get("/healthz");
    assert_eq!(String::from_utf8_lossy(&health), "ok\n");

    // Nothing acknowledged was lost, across a hard restart too.
    reg.kill();
    let reg = Registry::start(&data, &[]);
    for (index, body) in &acked {
        let (s, v) = reg.get_json(&format!("/v1/entries/{index}"));
        assert_eq!(s, 200, "entry {index}");
        let logged = dfft_core::statement::dsse::Envelope::parse(
            &serde_json::to_vec(&v["envelope"]).unwrap(),
        )
        .unwrap();
        assert_eq!(&logged.canonical_bytes(), body, "entry {index}");
    }
}
