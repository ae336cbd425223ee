//! The command line as an authority and a company use it: keygen, enrol
//! through governance, attest and submit with an offline proof, verify it
//! offline, ask a verified route; and the exit codes scripts rely on.

mod common;

use common::*;
use std::process::Command;

fn dfft(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dfft"))
        .args(args)
        .output()
        .expect("run dfft");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn authority_workflow_and_offline_verification() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let reg = Registry::start(&data, &[]);
    let p = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
    let gov = data.join("governance.key").to_string_lossy().into_owned();
    let log_key = reg.log_key.to_string();

    // keygen
    let (code, vkey, err) = dfft(&["keygen", "--name", "eu.ec", "--out", &p("ec.key")]);
    assert_eq!(code, 0, "{err}");
    let vkey = vkey.trim().to_string();
    assert!(vkey.starts_with("eu.ec+"), "{vkey}");
    // Refuses to overwrite a key.
    assert_eq!(
        dfft(&["keygen", "--name", "eu.ec", "--out", &p("ec.key")]).0,
        2
    );
    // Refuses a bad name.
    assert_eq!(
        dfft(&["keygen", "--name", "bad name", "--out", &p("x.key")]).0,
        2
    );

    // enrol through governance
    let (code, out, err) = dfft(&[
        "authority",
        "enroll",
        "--id",
        "eu.ec",
        "--name",
        "European Commission",
        "--competence",
        "EU,EEA",
        "--key",
        &vkey,
        "--governance-key",
        &gov,
        "--log",
        &reg.base,
    ]);
    assert_eq!(code, 0, "{out} {err}");
    assert!(out.contains("logged at index 1"), "{out}");

    // attest + submit, saving the offline proof
    let (code, out, err) = dfft(&[
        "attest",
        "--key",
        &p("ec.key"),
        "--record",
        "eu.ec/adequacy/jp",
        "--action",
        "granted",
        "--mechanism",
        "adequacy",
        "--from",
        "EEA",
        "--to",
        "JP",
        "--effective",
        "2019-01-23",
        "--legal-id",
        "CELEX:32019D0419",
        "--legal-title",
        "Commission Implementing Decision (EU) 2019/419",
        "--log",
        &reg.base,
        "--proof-out",
        &p("jp.tlog-proof"),
    ]);
    assert_eq!(code, 0, "{out} {err}");
    assert!(out.contains("logged at index 2"), "{out}");

    // offline verification, and its failure modes
    let (code, out, err) = dfft(&["verify", &p("jp.tlog-proof"), "--log-key", &log_key]);
    assert_eq!(code, 0, "{out} {err}");
    assert!(
        out.contains("eu.ec/adequacy/jp"),
        "verify prints the statement: {out}"
    );
    let other = key("test.dfft.example/log", 99).verifier().to_string();
    let (code, _, err) = dfft(&["verify", &p("jp.tlog-proof"), "--log-key", &other]);
    assert_eq!(code, 1, "wrong log key must fail: {err}");
    let text = std::fs::read_to_string(p("jp.tlog-proof")).unwrap();
    std::fs::write(p("bad.tlog-proof"), text.replacen("index 2", "index 1", 1)).unwrap();
    let (code, _, err) = dfft(&["verify", &p("bad.tlog-proof"), "--log-key", &log_key]);
    assert_eq!(code, 1, "a wrong index must fail: {err}");
    assert!(!err.is_empty());

    // An invalid statement is refused before signing (exit 2), and a rule
    // violation is refused by the registry (exit 1).
    let (code, _, err) = dfft(&[
        "attest",
        "--key",
        &p("ec.key"),
        "--record",
        "eu.ec/adequacy/kr",
        "--action",
        "granted",
        "--mechanism",
        "adequacy",
        "--from",
        "EEA",
        "--to",
        "KR",
        "--effective",
        "2021-02-30",
        "--legal-id",
        "CELEX:32022D0254",
        "--legal-title",
        "t",
        "--log",
        &reg.base,
    ]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = dfft(&[
        "attest",
        "--key",
        &p("ec.key"),
        "--record",
        "eu.ec/adequacy/jp",
        "--action",
        "granted",
        "--mechanism",
        "adequacy",
        "--from",
        "EEA",
        "--to",
        "JP",
        "--effective",
        "2019-01-24",
        "--legal-id",
        "CELEX:32019D0419",
        "--legal-title",
        "again",
        "--log",
        &reg.base,
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("422"), "{err}");

    // A verified route answer, saved and re-verified offline.
    let (code, out, err) = dfft(&[
        "route",
        "--from",
        "DE",
        "--to",
        "JP",
        "--at",
        "2024-01-01",
        "--log",
        &reg.base,
        "--log-key",
        &log_key,
        "--json",
        "--save",
        &p("route.json"),
    ]);
    assert_eq!(code, 0, "{out} {err}");
    assert!(out.contains("eu.ec/adequacy/jp"), "{out}");
    let (code, out, err) = dfft(&["route", "--answer", &p("route.json"), "--log-key", &log_key]);
    assert_eq!(code, 0, "{out} {err}");

    // Audit of the live log passes.
    let (code, out, err) = dfft(&[
        "audit",
        "--log",
        &reg.base,
        "--log-key",
        &log_key,
        "--state",
        &p("audit.json"),
    ]);
    assert_eq!(code, 0, "{out} {err}");
}
