//! Bring-your-own keys: a log key from a file, and governance keys that stay
//! offline (k of n) with a genesis signed offline; refusals are clear.

mod common;

use common::*;
use serde_json::json;
use std::process::Command;

#[test]
fn offline_governance_keys_and_own_log_key() {
    let dir = tempfile::tempdir().unwrap();
    let log = key(ORIGIN, 51);
    let g: Vec<_> = (0..3).map(|i| key(&format!("gov{i}"), 52 + i)).collect();
    let log_file = dir.path().join("log.key");
    std::fs::write(&log_file, log.to_private_string()).unwrap();
    let vkeys: Vec<String> = g.iter().map(|k| k.verifier().to_string()).collect();
    let genesis = sign(
        json!({"kind": "genesis", "origin": ORIGIN, "governance": {"keys": vkeys, "threshold": 2}, "issued_at": "2026-01-01T00:00:00Z"}),
        &[&g[0], &g[2]],
    );
    let genesis_file = dir.path().join("genesis.json");
    std::fs::write(&genesis_file, &genesis).unwrap();
    let data = dir.path().join("data");
    let mut args: Vec<String> = vec!["--log-key".into(), log_file.to_string_lossy().into()];
    for v in &vkeys {
        args.push("--governance-vkey".into());
        args.push(v.clone());
    }
    args.extend([
        "--governance-threshold".into(),
        "2".into(),
        "--genesis".into(),
        genesis_file.to_string_lossy().into(),
    ]);
    let argv: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    let reg = Registry::start(&data, &argv);
    assert_eq!(reg.log_key, log.verifier());
    assert!(
        !data.join("governance.key").exists(),
        "no governance key is created when they are offline"
    );
    let (_, info) = reg.get_json("/v1/info");
    assert_eq!(info["governance"]["threshold"], 2);
    assert_eq!(info["governance"]["keys"].as_array().unwrap().len(), 3);
    assert_eq!(info["tree_size"], 1);
    let (s, e) = reg.get_json("/v1/entries/0");
    assert_eq!(s, 200);
    assert_eq!(e["statement"]["kind"], "genesis");

    // Enrolment needs two of the three offline keys.
    let a = key("eu.ec", 60);
    let st = json!({"kind": "authority", "action": "enroll", "authority": "eu.ec", "name": "EC", "competence": ["EU"],
                    "log": ORIGIN, "keys": [a.verifier().to_string()], "issued_at": "2026-01-01T00:00:00Z"});
    assert_eq!(reg.post(&sign(st.clone(), &[&g[1]])).0, 403);
    assert_eq!(reg.post(&sign(st, &[&g[1], &g[2]])).0, 201);
    drop(reg);

    // Later starts need only the log key; the origin is remembered.
    let mut reg = Registry::start_cmd(&data, &["serve", "--log-key", log_file.to_str().unwrap()]);
    assert_eq!(reg.checkpoint().checkpoint.size, 2);
    reg.kill();

    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_dfft"))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let d = data.to_str().unwrap();
    // Another origin on an existing log is refused.
    let (ok, err) = run(&[
        "serve",
        "--data",
        d,
        "--log-key",
        log_file.to_str().unwrap(),
        "--origin",
        "other.example/log",
    ]);
    assert!(!ok && err.contains("holds the log"), "{err}");
    // A log key of another name is refused.
    let wrong = dir.path().join("wrong.key");
    std::fs::write(&wrong, key("other.example/log", 61).to_private_string()).unwrap();
    let (ok, err) = run(&["serve", "--data", d, "--log-key", wrong.to_str().unwrap()]);
    assert!(!ok && err.contains("named after the origin"), "{err}");
    // Another key with the right name does not verify the stored checkpoint.
    let impostor = dir.path().join("impostor.key");
    std::fs::write(&impostor, key(ORIGIN, 62).to_private_string()).unwrap();
    let (ok, err) = run(&[
        "serve",
        "--data",
        d,
        "--log-key",
        impostor.to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("refusing to start"), "{err}");
    // Offline governance keys without a genesis cannot create a log.
    let fresh = dir.path().join("fresh");
    let (ok, err) = run(&[
        "serve",
        "--data",
        fresh.to_str().unwrap(),
        "--origin",
        ORIGIN,
        "--governance-vkey",
        &vkeys[0],
    ]);
    assert!(!ok && err.contains("--genesis"), "{err}");
    // A new log needs an origin.
    let (ok, err) = run(&[
        "serve",
        "--data",
        dir.path().join("fresh2").to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("--origin"), "{err}");

    // An existing log whose key file went missing is refused, and no new
    // key is made (a monitor reading log.vkey must not pin a wrong key).
    let gen_dir = dir.path().join("generated");
    let mut r = Registry::start(&gen_dir, &[]);
    r.kill();
    let vkey_before = std::fs::read_to_string(gen_dir.join("log.vkey")).unwrap();
    std::fs::remove_file(gen_dir.join("log.key")).unwrap();
    let (ok, err) = run(&["serve", "--data", gen_dir.to_str().unwrap()]);
    assert!(!ok && err.contains("log.key"), "{err}");
    assert!(!gen_dir.join("log.key").exists());
    assert_eq!(
        std::fs::read_to_string(gen_dir.join("log.vkey")).unwrap(),
        vkey_before
    );
}
