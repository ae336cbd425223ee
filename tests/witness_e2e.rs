//! Our registry, our witness and our client together: `dfft witness`
//! cosigns a checkpoint of a real `dfft serve` log (Ed25519 and ML-DSA-44),
//! and `dfft verify --witness-policy` accepts the receipt carrying both
//! cosignatures under a policy that needs both, and refuses it without them.

mod common;

use common::*;
use dfft_core::checkpoint::SignedCheckpoint;
use dfft_core::tlog_proof::TlogProof;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn registry_checkpoint_cosigned_by_our_witness_passes_a_client_policy() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
    let reg = Registry::start(&dir.path().join("log"), &[]);
    let gov = reg.governance();
    let ec = key("eu.ec", 11);
    let (st, r) = reg.post(&enroll(&gov, "eu.ec", &[&ec], &["EU", "EEA"]));
    assert_eq!(st, 201, "{r}");
    let (st, r) = reg.post(&recognition(
        &ec,
        "eu.ec/adequacy/jp",
        "granted",
        "EEA",
        "JP",
        "2019-01-23",
    ));
    assert_eq!(st, 201, "{r}");
    let proof = TlogProof::parse(r["tlog_proof"].as_str().unwrap().as_bytes()).unwrap();

    // The witness, with the registry's log in its list.
    std::fs::write(p("logs"), format!("logs/v0\nvkey {}\n", reg.log_key)).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_dfft"))
        .args([
            "witness",
            "--listen",
            "127.0.0.1:0",
            "--name",
            "witness.test.example/w1",
            "--data",
        ])
        .arg(p("witness"))
        .arg("--log-list")
        .arg(p("logs"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let (mut base, mut vkeys) = (None, Vec::new());
    while base.is_none() {
        let line = lines.next().expect("witness output").unwrap();
        if let Some(v) = line.strip_prefix("witness vkey:") {
            vkeys.push(v.split_whitespace().next().unwrap().to_string());
        }
        base = line
            .strip_prefix("listening on ")
            .map(|s| s.trim().to_string());
    }
    let base = base.unwrap();
    std::thread::spawn(move || for _ in lines {});

    // Ask it to cosign the receipt's checkpoint (nothing cosigned yet: old 0).
    let note = proof.checkpoint.to_text();
    let body = dfft_witness::request::AddCheckpoint::to_body(0, &[], &note);
    let a = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(20))
        .build();
    let resp = a
        .post(&format!("{base}/add-checkpoint"))
        .send_string(&body)
        .unwrap();
    assert_eq!(resp.status(), 200);
    let cosigs = resp.into_string().unwrap();
    assert_eq!(cosigs.lines().count(), 2);

    std::fs::write(
        p("policy"),
        format!(
            "log {}\nwitness W {}\nwitness WM {}\ngroup both all W WM\nquorum both\n",
            reg.log_key, vkeys[0], vkeys[1]
        ),
    )
    .unwrap();
    let verify = |file: &str| {
        Command::new(env!("CARGO_BIN_EXE_dfft"))
            .args(["verify", file, "--witness-policy", &p("policy")])
            .env_remove("DFFT_LOG_KEY")
            .env_remove("DFFT_WITNESS_POLICY")
            .output()
            .unwrap()
    };
    // Without the cosignatures: below the quorum.
    std::fs::write(p("plain.tlog-proof"), proof.to_text()).unwrap();
    let out = verify(&p("plain.tlog-proof"));
    assert!(
        !out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // With them: accepted.
    let mut cosigned = proof.clone();
    cosigned.checkpoint = SignedCheckpoint::parse(format!("{note}{cosigs}").as_bytes()).unwrap();
    std::fs::write(p("cosigned.tlog-proof"), cosigned.to_text()).unwrap();
    let out = verify(&p("cosigned.tlog-proof"));
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = child.kill();
    let _ = child.wait();
}
