//! `--witness-policy FILE` (a C2SP tlog-policy) on the verifying commands:
//! `dfft verify` and `dfft route` refuse the log's uncosigned checkpoints
//! naming the witnesses missing, accept the same proof once two of three
//! witnesses (Ed25519 and ML-DSA-44) cosigned it, refuse a forged
//! cosignature, and refuse mixing the policy with the old flags.

mod common;

use common::*;
use dfft_core::note::{KeyKind, KeyName, SignerKey};
use dfft_core::tlog_proof::TlogProof;

fn witness_keys() -> Vec<SignerKey> {
    vec![
        SignerKey::from_seed_kind(
            KeyName::new("a.example/w").unwrap(),
            KeyKind::CosignatureV1,
            [21; 32],
        ),
        SignerKey::from_seed_kind(
            KeyName::new("b.example/w").unwrap(),
            KeyKind::CosignatureV1,
            [22; 32],
        ),
        SignerKey::from_seed_kind(
            KeyName::new("c.example/w").unwrap(),
            KeyKind::SubtreeV1,
            [23; 32],
        ),
    ]
}

#[test]
fn verify_and_route_enforce_the_witness_policy() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
    let reg = Registry::start(&dir.path().join("data"), &[]);
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
    std::fs::write(p("jp.tlog-proof"), r["tlog_proof"].as_str().unwrap()).unwrap();
    let log_key = reg.log_key.to_string();
    let ws = witness_keys();
    std::fs::write(
        p("policy"),
        format!(
            "# The log and two of three witnesses.\nlog {log_key} {}\nwitness A {}\nwitness B {}\nwitness C {}\ngroup two 2 A B C\nquorum two\n",
            reg.base,
            ws[0].verifier(),
            ws[1].verifier(),
            ws[2].verifier()
        ),
    )
    .unwrap();
    let policy = p("policy");

    // The log's own checkpoint has no cosignature: refused, naming them.
    let (code, out, err) = dfft(&["verify", &p("jp.tlog-proof"), "--witness-policy", &policy]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("quorum"), "{err}");
    assert!(
        err.contains("missing: group two (2 of 3, has 0), A, B, C"),
        "{err}"
    );
    let route = |extra: &[&str]| {
        let mut args = vec![
            "route",
            "--from",
            "DE",
            "--to",
            "JP",
            "--at",
            "2024-01-01",
            "--log",
            &reg.base,
        ];
        args.extend_from_slice(extra);
        dfft(&args)
    };
    let (code, out, err) = route(&["--witness-policy", &policy]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("missing: group two (2 of 3, has 0), A, B, C"),
        "{err}"
    );
    // With the log key given too (it agrees).
    let (code, _, err) = route(&["--witness-policy", &policy, "--log-key", &log_key]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("A, B, C"), "{err}");

    // Cosigned by B (Ed25519) and C (ML-DSA-44): accepted; the trusted
    // line describes the quorum.
    let mut tp = TlogProof::parse(std::fs::read(p("jp.tlog-proof")).unwrap().as_slice()).unwrap();
    for w in &ws[1..] {
        tp.checkpoint.note.add_signer(w, 1_700_000_000).unwrap();
    }
    std::fs::write(p("cosigned.tlog-proof"), tp.to_text()).unwrap();
    let (code, out, err) = dfft(&[
        "verify",
        &p("cosigned.tlog-proof"),
        "--witness-policy",
        &policy,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("two = 2 of (A, B, C)"), "{out}");
    // One cosignature only: still below the quorum, A and C missing.
    let mut one = TlogProof::parse(std::fs::read(p("jp.tlog-proof")).unwrap().as_slice()).unwrap();
    one.checkpoint
        .note
        .add_signer(&ws[1], 1_700_000_000)
        .unwrap();
    std::fs::write(p("one.tlog-proof"), one.to_text()).unwrap();
    let (code, _, err) = dfft(&["verify", &p("one.tlog-proof"), "--witness-policy", &policy]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("cosigned by B; missing: group two (2 of 3, has 1), A, C"),
        "{err}"
    );
    // A forged ML-DSA cosignature (one bit of it flipped) is refused.
    let mut forged = tp.clone();
    let mut line = forged.checkpoint.note.signatures()[2].clone();
    line.sig[100] ^= 1;
    forged.checkpoint.note.add_signature(line);
    std::fs::write(p("forged.tlog-proof"), forged.to_text()).unwrap();
    let (code, _, err) = dfft(&[
        "verify",
        &p("forged.tlog-proof"),
        "--witness-policy",
        &policy,
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("invalid signature by known key c.example/w"),
        "{err}"
    );

    // quorum none: today's behaviour, with the log key taken from the file.
    std::fs::write(p("none"), format!("log {log_key}\nquorum none\n")).unwrap();
    let (code, out, err) = route(&["--witness-policy", &p("none")]);
    assert_eq!(code, 0, "{out}{err}");

    // Usage errors: mixing the policy with the old flags, a disagreeing
    // log key, a broken policy file (its line named).
    let w = ws[0].verifier().to_string();
    let (code, _, err) = route(&["--witness-policy", &policy, "--witness", &w]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("cannot be combined with --witness-policy"),
        "{err}"
    );
    let (code, _, err) = route(&[
        "--witness-policy",
        &policy,
        "--min-witnesses",
        "1",
        "--log-key",
        &log_key,
    ]);
    assert_eq!(code, 2, "{err}");
    let other = key("other.example/log", 3).verifier().to_string();
    let (code, _, err) = route(&["--witness-policy", &policy, "--log-key", &other]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a log of the witness policy"), "{err}");
    std::fs::write(
        p("bad"),
        format!("log {log_key}\ngroup g any nobody\nquorum g\n"),
    )
    .unwrap();
    let (code, _, err) = dfft(&["verify", &p("jp.tlog-proof"), "--witness-policy", &p("bad")]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("policy line 2: member \"nobody\""), "{err}");
    let (code, _, err) = dfft(&["verify", &p("jp.tlog-proof")]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no log key"), "{err}");
    // The old flags keep working, ML-DSA witness keys included.
    let c = ws[2].verifier().to_string();
    let (code, _, err) = dfft(&[
        "verify",
        &p("cosigned.tlog-proof"),
        "--log-key",
        &log_key,
        "--witness",
        &w,
        "--witness",
        &c,
        "--min-witnesses",
        "1",
    ]);
    assert_eq!(code, 0, "{err}");
}
