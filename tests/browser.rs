//! The explorer in a real browser: Debian's Chromium, headless, driven by
//! tests/browser/explorer.py (Selenium, chromedriver, axe-core), which
//! this test runs against two registries it starts: the demo (the real EU
//! history), grown by one statement after a copy of its data was taken,
//! and that copy (the same log rolled back). The statuses the browser must
//! read from the page are the ones the core computes (`RouteAnswer::verify`).
//! See the script for what it checks. Needs `scripts/setup-browser`
//! (scripts/test runs it); set DFFT_BROWSER_OUT=DIR to keep the
//! screenshots and measurements (docs/explorer.md uses them).

mod common;

use common::*;
use dfft_core::answer::RouteAnswer;
use dfft_core::policy::Policy;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

fn browser_python() -> PathBuf {
    let out = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/setup-browser"))
        .output()
        .expect("scripts/setup-browser runs");
    assert!(
        out.status.success(),
        "scripts/setup-browser failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let py = String::from_utf8(out.stdout).unwrap();
    PathBuf::from(py.lines().last().expect("the python path").trim())
}

#[test]
fn explorer_verifies_in_chromium_refuses_lies_and_raises_the_rollback_alarm() {
    let python = browser_python();
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    let mut reg = Registry::start_cmd(&a, &["demo"]);
    let vkey = reg.log_key.to_string();
    let origin = reg.checkpoint().checkpoint.origin;
    reg.kill();
    copy_dir(&a, &b);
    let reg = Registry::start_cmd(&a, &["demo"]);
    let old = Registry::start_cmd(&b, &["demo"]);
    assert_eq!(old.log_key.to_string(), vkey);
    // Grow the log past the copy.
    let extra = key("test.extra", 9);
    let (s, body) = reg.post(&enroll_in(
        &origin,
        &reg.governance(),
        "test.extra",
        &[&extra],
        &["DE"],
    ));
    assert!((200..300).contains(&s), "{s}: {body}");
    let (grown, rolled) = (reg.checkpoint(), old.checkpoint());
    assert!(grown.checkpoint.size > rolled.checkpoint.size);

    let policy = Policy::from_keys(reg.log_key.clone(), Vec::new(), 0).unwrap();
    let mut expected = serde_json::Map::new();
    for at in ["2014-01-01", "2016-01-01", "2021-01-01", "2024-01-01"] {
        let (s, body) = reg.get(&format!("/v1/route?from=DE&to=US&at={at}"));
        assert_eq!(s, 200);
        let ans: RouteAnswer = serde_json::from_slice(&body).unwrap();
        let ok = ans.verify(&policy).unwrap();
        let st: serde_json::Map<String, Value> = ok
            .records
            .iter()
            .map(|(h, s)| (h.record.to_string(), json!(s.as_str())))
            .collect();
        expected.insert(at.to_owned(), Value::Object(st));
    }
    assert_eq!(
        expected["2021-01-01"]["eu.ec/eu-adq-us-privacyshield-2016"],
        "ended"
    );
    let work = tempfile::tempdir().unwrap();
    let out = std::env::var_os("DFFT_BROWSER_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| work.path().to_path_buf());
    std::fs::create_dir_all(&out).unwrap();
    let exp = work.path().join("expected.json");
    std::fs::write(&exp, Value::Object(expected).to_string()).unwrap();
    // A witness that never cosigned this log.
    let witness = dfft_core::note::SignerKey::from_seed_kind(
        dfft_core::note::KeyName::new("witness.test/absent").unwrap(),
        dfft_core::note::KeyKind::CosignatureV1,
        [5; 32],
    )
    .verifier()
    .to_string();
    let axe = python.parent().unwrap().join("../../axe.min.js");
    let run = Command::new(&python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/explorer.py"))
        .args(["--good", &reg.base, "--old", &old.base, "--vkey", &vkey])
        .args(["--witness-vkey", &witness])
        .arg("--expected")
        .arg(&exp)
        .arg("--axe")
        .arg(&axe)
        .arg("--out")
        .arg(&out)
        .env("SE_OFFLINE", "true")
        .output()
        .expect("the browser test runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(run.status.success(), "browser test failed:\n{text}");
    assert!(text.contains("checks passed"), "{text}");
    eprintln!("{}", text.trim());
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    eprintln!("{report:#}");
}
