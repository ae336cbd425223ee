//! The command line as an authority and a company use it: keygen, enrol
//! through governance, attest and submit with an offline proof, verify it
//! offline, ask a verified route; and the exit codes scripts rely on.

mod common;

use common::*;

/// A registry in a temp dir, with eu.ec's key pair generated into
/// `ec.key` there.
struct Setup {
    dir: tempfile::TempDir,
    reg: Registry,
    /// Path of the registry's governance key file.
    gov: String,
    /// The log's verifier key.
    log_key: String,
    /// eu.ec's verifier key, as `dfft keygen` printed it.
    vkey: String,
}

impl Setup {
    fn start() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let reg = Registry::start(&data, &[]);
        let gov = data.join("governance.key").to_string_lossy().into_owned();
        let log_key = reg.log_key.to_string();
        let ec_key = dir.path().join("ec.key").to_string_lossy().into_owned();
        let (code, vkey, err) = dfft(&["keygen", "--name", "eu.ec", "--out", &ec_key]);
        assert_eq!(code, 0, "{err}");
        Setup {
            dir,
            reg,
            gov,
            log_key,
            vkey: vkey.trim().to_string(),
        }
    }

    /// A path in the temp dir.
    fn p(&self, name: &str) -> String {
        self.dir.path().join(name).to_string_lossy().into_owned()
    }
}

#[test]
fn authority_workflow_and_offline_verification() {
    let setup = Setup::start();
    let p = |n: &str| setup.p(n);
    let reg = &setup.reg;
    let (gov, log_key, vkey) = (setup.gov.clone(), setup.log_key.clone(), setup.vkey.clone());

    // keygen
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
    let (code, out, err) = enroll_eu_ec(&vkey, &gov, &reg.base);
    assert_eq!(code, 0, "{out} {err}");
    assert!(out.contains("logged at index 2"), "{out}");

    // attest + submit, saving the offline proof
    let (code, out, err) = attest_grant(
        &p("ec.key"),
        "JP",
        "2019-01-23",
        "CELEX:32019D0419",
        "Commission Implementing Decision (EU) 2019/419",
        &["--log", &reg.base, "--proof-out", &p("jp.tlog-proof")],
    );
    assert_eq!(code, 0, "{out} {err}");
    assert!(out.contains("logged at index 4"), "{out}");

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
    std::fs::write(p("bad.tlog-proof"), text.replacen("index 4", "index 3", 1)).unwrap();
    let (code, _, err) = dfft(&["verify", &p("bad.tlog-proof"), "--log-key", &log_key]);
    assert_eq!(code, 1, "a wrong index must fail: {err}");
    assert!(!err.is_empty());

    // An invalid statement is refused before signing (exit 2), and a rule
    // violation is refused by the registry (exit 1).
    let (code, _, err) = attest_grant(
        &p("ec.key"),
        "KR",
        "2021-02-30",
        "CELEX:32022D0254",
        "t",
        &["--log", &reg.base],
    );
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = attest_grant(
        &p("ec.key"),
        "JP",
        "2019-01-24",
        "CELEX:32019D0419",
        "again",
        &["--log", &reg.base],
    );
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

/// `dfft authority enroll` of eu.ec with the verifier key `vkey`, signed
/// with the governance key file `gov`.
fn enroll_eu_ec(vkey: &str, gov: &str, base: &str) -> (i32, String, String) {
    dfft(&[
        "authority",
        "enroll",
        "--id",
        "eu.ec",
        "--name",
        "European Commission",
        "--competence",
        "EU,EEA",
        "--key",
        vkey,
        "--governance-key",
        gov,
        "--log",
        base,
    ])
}

/// `dfft attest` of an adequacy grant from the EEA to `to`, record
/// `eu.ec/adequacy/<to>`, then `rest` (`--log URL`, `--out FILE`, ...).
fn attest_grant(
    key: &str,
    to: &str,
    effective: &str,
    legal_id: &str,
    legal_title: &str,
    rest: &[&str],
) -> (i32, String, String) {
    let record = format!("eu.ec/adequacy/{}", to.to_ascii_lowercase());
    let mut args = vec![
        "attest",
        "--key",
        key,
        "--record",
        &record,
        "--action",
        "granted",
        "--mechanism",
        "adequacy",
        "--from",
        "EEA",
        "--to",
        to,
        "--effective",
        effective,
        "--legal-id",
        legal_id,
        "--legal-title",
        legal_title,
    ];
    args.extend_from_slice(rest);
    dfft(&args)
}

/// [`attest_grant`] into the file `out`.
fn attest_to_file(key: &str, to: &str, effective: &str, legal_id: &str, out: &str) {
    let (code, _, err) = attest_grant(
        key,
        to,
        effective,
        legal_id,
        "Commission Implementing Decision",
        &["--out", out],
    );
    assert_eq!(code, 0, "{err}");
}

#[test]
fn submit_several_files_in_batches_with_checked_proofs() {
    let setup = Setup::start();
    let p = |n: &str| setup.p(n);
    let reg = &setup.reg;
    let (gov, log_key) = (setup.gov.clone(), setup.log_key.clone());
    let (code, out, err) = enroll_eu_ec(&setup.vkey, &gov, &reg.base);
    assert_eq!(code, 0, "{out} {err}");

    attest_to_file(
        &p("ec.key"),
        "JP",
        "2019-01-23",
        "CELEX:32019D0419",
        &p("jp.json"),
    );
    attest_to_file(
        &p("ec.key"),
        "KR",
        "2021-12-17",
        "CELEX:32022D0254",
        &p("kr.json"),
    );
    attest_to_file(
        &p("ec.key"),
        "CH",
        "2000-07-26",
        "CELEX:32000D0518",
        &p("ch.json"),
    );
    // A second grant of the JP record: valid envelope, refused by the rules.
    attest_to_file(
        &p("ec.key"),
        "JP",
        "2019-02-01",
        "CELEX:32019D0419",
        &p("jp2.json"),
    );
    std::fs::write(p("junk.json"), b"{\"payload\": 1}").unwrap();
    std::fs::create_dir(p("proofs")).unwrap();

    // Several files with --proof-out is a usage error, and sends nothing.
    let (code, _, err) = dfft(&[
        "submit",
        &p("jp.json"),
        &p("kr.json"),
        "--log",
        &reg.base,
        "--proof-out",
        &p("x"),
    ]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(reg.checkpoint().checkpoint.size, 4);

    // Batches of two: [jp, kr], [jp2, junk is refused locally, ch]. Each
    // batch ends with the registry's index entry (docs/index.md).
    let (code, out, err) = dfft(&[
        "submit",
        &p("jp.json"),
        &p("kr.json"),
        &p("jp2.json"),
        &p("junk.json"),
        &p("ch.json"),
        "--log",
        &reg.base,
        "--batch-size",
        "2",
        "--proof-dir",
        &p("proofs"),
    ]);
    assert_eq!(
        code, 1,
        "one envelope refused, one not an envelope: {out} {err}"
    );
    assert!(out.contains("jp.json: logged at index 4"), "{out}");
    assert!(out.contains("kr.json: logged at index 5"), "{out}");
    assert!(out.contains("ch.json: logged at index 7"), "{out}");
    assert!(err.contains("jp2.json: refused (422)"), "{err}");
    assert!(err.contains("junk.json: refused"), "{err}");
    assert!(err.contains("3 of 5 envelopes logged, 2 refused"), "{err}");
    assert_eq!(reg.checkpoint().checkpoint.size, 9);
    for f in ["jp", "kr", "ch"] {
        let proof = p(&format!("proofs/{f}.json.tlog-proof"));
        let (code, out, err) = dfft(&["verify", &proof, "--log-key", &log_key]);
        assert_eq!(code, 0, "{f}: {out} {err}");
    }
    for f in ["jp2", "junk"] {
        assert!(!std::path::Path::new(&p(&format!("proofs/{f}.json.tlog-proof"))).exists());
    }

    // Again: everything already logged, at the same indices, as JSON.
    let (code, out, err) = dfft(&[
        "submit",
        &p("kr.json"),
        &p("jp.json"),
        "--log",
        &reg.base,
        "--json",
    ]);
    assert_eq!(code, 0, "{out} {err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["index"], 5);
    assert_eq!(v[1]["index"], 4);
    assert_eq!(v[1]["status"], 200);
    assert_eq!(reg.checkpoint().checkpoint.size, 9);
}

#[test]
fn submit_checks_receipts_against_the_pinned_log_key() {
    let setup = Setup::start();
    let p = |n: &str| setup.p(n);
    let reg = &setup.reg;
    let log_key = setup.log_key.clone();
    // Another key of the log's name: its signature cannot verify.
    let wrong = key("test.dfft.example/log", 98).verifier().to_string();

    // Pinned: no trust-on-first-use warning.
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
        &setup.vkey,
        "--governance-key",
        &setup.gov,
        "--log",
        &reg.base,
        "--log-key",
        &log_key,
    ]);
    assert_eq!(code, 0, "{out} {err}");
    assert!(out.contains("logged at index 2"), "{out}");
    assert!(!err.contains("trusted on first use"), "{err}");

    attest_to_file(
        &p("ec.key"),
        "KR",
        "2021-12-17",
        "CELEX:32022D0254",
        &p("kr.json"),
    );
    // The wrong key: the receipt is refused (exit 1) and no proof written,
    // although the registry did log the envelope.
    let (code, out, err) = dfft(&[
        "submit",
        &p("kr.json"),
        "--log",
        &reg.base,
        "--log-key",
        &wrong,
        "--proof-out",
        &p("kr.tlog-proof"),
    ]);
    assert_eq!(code, 1, "{out} {err}");
    assert!(err.contains("receipt does not verify"), "{err}");
    assert!(!out.contains("logged"), "{out}");
    assert!(!std::path::Path::new(&p("kr.tlog-proof")).exists());
    assert_eq!(reg.checkpoint().checkpoint.size, 6);
    // The same with several files (the batch path) and with attest --log.
    let (code, _, err) = dfft(&[
        "submit",
        &p("kr.json"),
        &p("kr.json"),
        "--log",
        &reg.base,
        "--log-key",
        &wrong,
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("receipt does not verify"), "{err}");
    let (code, _, err) = attest_grant(
        &p("ec.key"),
        "CH",
        "2000-07-26",
        "CELEX:32000D0518",
        "t",
        &["--log", &reg.base, "--log-key", &wrong],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("receipt does not verify"), "{err}");

    // The right key: verified, and the proof checks offline.
    let (code, out, err) = dfft(&[
        "submit",
        &p("kr.json"),
        "--log",
        &reg.base,
        "--log-key",
        &log_key,
        "--proof-out",
        &p("kr.tlog-proof"),
    ]);
    assert_eq!(code, 0, "{out} {err}");
    assert!(out.contains("already logged at index 4"), "{out}");
    let (code, out, err) = dfft(&["verify", &p("kr.tlog-proof"), "--log-key", &log_key]);
    assert_eq!(code, 0, "{out} {err}");

    // No key: it still works, trusting the registry's own key, and says so.
    let (code, out, err) = dfft(&["submit", &p("kr.json"), "--log", &reg.base, "--json"]);
    assert_eq!(code, 0, "{out} {err}");
    assert!(err.contains("trusted on first use"), "{err}");
    assert!(err.contains(&log_key), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["index"], 4);
    assert!(v["tlog_proof"].as_str().is_some(), "{out}");

    // A key that is not a key is a usage error; --log-key needs --log.
    let (code, _, err) = dfft(&[
        "submit",
        &p("kr.json"),
        "--log",
        &reg.base,
        "--log-key",
        "x",
    ]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = attest_grant(
        &p("ec.key"),
        "CH",
        "2000-07-26",
        "CELEX:32000D0518",
        "t",
        &["--log-key", &log_key],
    );
    assert_eq!(code, 2, "{err}");
}
