//! Bring-your-own keys: a log key from a file, and governance keys that stay
//! offline (k of n) with a genesis signed offline; refusals are clear. Key
//! files are written exclusively, never through a symbolic link, mode 0600.

mod common;

use common::*;
use dfft_core::note::SignerKey;
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
    // The genesis and its batch's index entry.
    assert_eq!(info["tree_size"], 2);
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
    assert_eq!(statements(&reg), 2);
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

#[cfg(unix)]
fn mode(p: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
#[test]
fn key_files_are_exclusive_never_through_links_and_mode_0600() {
    use dfft_keys::{temp_path, write_secret, KeyError};
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);

    // A new key: mode 0600, one line, no temp file left.
    write_secret(&p("a.key"), "secret").unwrap();
    assert_eq!(mode(&p("a.key")), 0o600);
    assert_eq!(std::fs::read_to_string(p("a.key")).unwrap(), "secret\n");
    assert!(!temp_path(&p("a.key")).exists());
    assert_eq!(temp_path(&p("a.key")), p("a.key.tmp"));
    // Never overwritten.
    let e = write_secret(&p("a.key"), "other").unwrap_err();
    assert!(matches!(e, KeyError::Exists { .. }), "{e}");
    assert_eq!(std::fs::read_to_string(p("a.key")).unwrap(), "secret\n");

    // A leftover temp file is refused, named, and left alone.
    std::fs::write(p("b.key.tmp"), "half a key").unwrap();
    let e = write_secret(&p("b.key"), "secret").unwrap_err();
    assert!(matches!(e, KeyError::LeftoverTemp { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("b.key.tmp") && msg.contains("remove it"),
        "{msg}"
    );
    assert!(!p("b.key").exists());
    assert_eq!(
        std::fs::read_to_string(p("b.key.tmp")).unwrap(),
        "half a key"
    );
    // Once removed, as the message says, the write goes through.
    std::fs::remove_file(p("b.key.tmp")).unwrap();
    write_secret(&p("b.key"), "secret").unwrap();
    assert_eq!(std::fs::read_to_string(p("b.key")).unwrap(), "secret\n");

    // A link at the key path, to an existing file or to nowhere: refused,
    // its target untouched (or not created).
    std::fs::write(p("target"), "precious").unwrap();
    let target_mode = mode(&p("target"));
    symlink(p("target"), p("c.key")).unwrap();
    let e = write_secret(&p("c.key"), "secret").unwrap_err();
    assert!(matches!(e, KeyError::Symlink { .. }), "{e}");
    assert!(e.to_string().contains("c.key"), "{e}");
    assert_eq!(std::fs::read_to_string(p("target")).unwrap(), "precious");
    assert_eq!(mode(&p("target")), target_mode);
    symlink(p("nowhere"), p("d.key")).unwrap();
    let e = write_secret(&p("d.key"), "secret").unwrap_err();
    assert!(matches!(e, KeyError::Symlink { .. }), "{e}");
    assert!(!p("nowhere").exists());
    assert!(!temp_path(&p("d.key")).exists());

    // A link at the temp path: refused, nothing written through it.
    symlink(p("target"), p("e.key.tmp")).unwrap();
    let e = write_secret(&p("e.key"), "secret").unwrap_err();
    assert!(matches!(e, KeyError::Symlink { .. }), "{e}");
    assert!(e.to_string().contains("e.key.tmp"), "{e}");
    assert_eq!(std::fs::read_to_string(p("target")).unwrap(), "precious");
    symlink(p("nowhere2"), p("f.key.tmp")).unwrap();
    assert!(matches!(
        write_secret(&p("f.key"), "secret").unwrap_err(),
        KeyError::Symlink { .. }
    ));
    assert!(!p("nowhere2").exists() && !p("f.key").exists());

    // `dfft keygen` refuses a link at --out (usage error, exit 2).
    symlink(p("nowhere3"), p("g.key")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dfft"))
        .args(["keygen", "--name", "eu.ec", "--out"])
        .arg(p("g.key"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("g.key") && err.contains("symbolic link"),
        "{err}"
    );
    assert!(!p("nowhere3").exists());

    // The server's own key files are 0600; a link at DIR/log.key of a new
    // log is refused before anything is written through it.
    let data = p("data");
    let mut reg = Registry::start(&data, &[]);
    reg.kill();
    assert_eq!(mode(&data.join("log.key")), 0o600);
    assert_eq!(mode(&data.join("governance.key")), 0o600);
    let fresh = p("fresh");
    std::fs::create_dir(&fresh).unwrap();
    symlink(p("stolen.key"), fresh.join("log.key")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dfft"))
        .args([
            "serve",
            "--origin",
            ORIGIN,
            "--listen",
            "127.0.0.1:0",
            "--data",
        ])
        .arg(&fresh)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("log.key") && err.contains("symbolic link"),
        "{err}"
    );
    assert!(!p("stolen.key").exists());
}

/// `--governance-vkey`/`--governance-threshold` pin the genesis: a swapped
/// `--genesis` file is refused before it is logged, and a later start
/// checks the stored genesis.
#[test]
fn pinned_governance_refuses_another_genesis() {
    let dir = tempfile::tempdir().unwrap();
    let g: Vec<_> = (0..3).map(|i| key(&format!("gov{i}"), 70 + i)).collect();
    let x: Vec<_> = (0..2).map(|i| key(&format!("evil{i}"), 80 + i)).collect();
    let vk =
        |ks: &[SignerKey]| -> Vec<String> { ks.iter().map(|k| k.verifier().to_string()).collect() };
    let (gv, xv) = (vk(&g), vk(&x));
    let genesis = |keys: &[String], threshold: usize, signers: &[&SignerKey], name: &str| {
        let st = json!({"kind": "genesis", "origin": ORIGIN, "governance": {"keys": keys, "threshold": threshold},
                        "issued_at": "2026-01-01T00:00:00Z"});
        let p = dir.path().join(name);
        std::fs::write(&p, sign(st, signers)).unwrap();
        p.to_string_lossy().into_owned()
    };
    let swapped = genesis(&xv, 1, &[&x[0]], "swapped.json");
    let weaker = genesis(&gv, 1, &[&g[0]], "weaker.json");
    let right = genesis(&gv, 2, &[&g[0], &g[1]], "right.json");
    let data = dir.path().join("data");
    let d = data.to_string_lossy().into_owned();
    let pin = |keys: &[String], threshold: Option<&str>| -> Vec<String> {
        let mut a = Vec::new();
        for k in keys {
            a.extend(["--governance-vkey".to_string(), k.clone()]);
        }
        if let Some(t) = threshold {
            a.extend(["--governance-threshold".to_string(), t.to_string()]);
        }
        a
    };
    // A refused start exits; one that wrongly starts is stopped after a
    // while and reported as a success.
    let run = |extra: &[String]| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_dfft"))
            .args([
                "serve",
                "--origin",
                ORIGIN,
                "--listen",
                "127.0.0.1:0",
                "--data",
                &d,
            ])
            .args(extra)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let t = std::time::Instant::now();
        let ok = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status.success();
            }
            if t.elapsed() > std::time::Duration::from_secs(30) {
                let _ = child.kill();
                let _ = child.wait();
                break true;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
        (ok, err)
    };
    let with_genesis = |mut a: Vec<String>, file: &str| {
        a.extend(["--genesis".to_string(), file.to_string()]);
        a
    };

    // Someone else's keys in the genesis file: refused, both sets named.
    let (ok, err) = run(&with_genesis(pin(&gv, Some("2")), &swapped));
    assert!(!ok && err.contains("refusing to start"), "{err}");
    assert!(
        err.contains(&xv[0]) && err.contains(&gv[2]),
        "names both key sets: {err}"
    );
    // The right keys with a lower threshold: refused too.
    let (ok, err) = run(&with_genesis(pin(&gv, Some("2")), &weaker));
    assert!(
        !ok && err.contains("threshold 1") && err.contains("threshold 2"),
        "{err}"
    );
    // Keys pinned without a threshold still catch the swap.
    let (ok, err) = run(&with_genesis(pin(&gv, None), &swapped));
    assert!(!ok && err.contains("refusing to start"), "{err}");

    // Nothing was logged: the right genesis (keys in another order) starts
    // the log at entry 0.
    let mut rev = gv.clone();
    rev.reverse();
    let args = with_genesis(pin(&rev, Some("2")), &right);
    let argv: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    let mut reg = Registry::start(&data, &argv);
    let (_, info) = reg.get_json("/v1/info");
    assert_eq!(info["tree_size"], 2);
    assert_eq!(info["governance"]["threshold"], 2);
    reg.kill();

    // Later starts check the stored genesis against what is pinned.
    let (ok, err) = run(&pin(&xv, Some("2")));
    assert!(!ok && err.contains("refusing to start"), "{err}");
    assert!(
        err.contains(&xv[1]) && err.contains(&gv[0]),
        "names both key sets: {err}"
    );
    let (ok, err) = run(&pin(&[], Some("1")));
    assert!(
        !ok && err.contains("threshold 2") && err.contains("threshold 1"),
        "{err}"
    );
    let (ok, err) = run(&pin(&gv[..2], None));
    assert!(
        !ok && err.contains("refusing to start"),
        "a subset is another set: {err}"
    );
    let args = pin(&gv, Some("2"));
    let argv: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    let mut reg = Registry::start(&data, &argv);
    assert_eq!(statements(&reg), 1);
    reg.kill();
}
